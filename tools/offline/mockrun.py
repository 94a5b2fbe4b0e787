"""Run the real ``__main__.py`` under Pulumi's mock runtime and record the resource graph.

The mock monitor sees every ``RegisterResource`` request exactly as the engine would: type,
name, parent, dependencies, options (``protect``, ``retainOnDelete``, ...) and the serialized
inputs with secrets still marked. Outputs come from ``Mocks``, which shape ids, ARNs and
endpoints like AWS's so that string-building code in the program sees realistic values.

Each run happens in a fresh ``contextvars.Context`` with its own event loop, so runs are
independent (tests run several stacks in one process).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import copy
import hashlib
import json
import logging
import runpy
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from policies import constraints
from tools.cli import ROOT, UsageError
from tools.offline import urns
from tools.wire import is_secret, secret


@dataclass
class Recorded:
    """One registered resource, in the shape of a ``pulumi stack export`` entry."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    id: str = ""
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    """Wire form: secrets are ``tools.wire.secret(...)`` until exported."""
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    """Alias URNs, computed as the engine does (``tools/offline/urns.py``)."""


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Recorded]
    stack_outputs: dict[str, Any]
    warnings: list[str]
    errors: list[str]

    def by_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def get(self, type_: str, name: str) -> Recorded:
        for r in self.resources:
            if r.type == type_ and r.name == name:
                return r
        known = sorted(r.name for r in self.resources if r.type == type_)
        raise KeyError(f"no {type_} named {name!r} in the plan (have: {known})")

    @property
    def stack_urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{self.project}-{self.stack}"


# ------------------------------------------------------------------------------------------
# Mocks: realistic ids, ARNs and endpoints, and the provider functions the program calls.
# ------------------------------------------------------------------------------------------


def _suffix(*parts: str, length: int = 7) -> str:
    """Deterministic random-looking suffix, like Pulumi's autonaming (stable golden files)."""
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def image_digest(registry_id: str, repository: str, tag: str) -> str:
    """The digest the mocks report for ``<registry_id>``'s ``<repository>:<tag>`` (stable, distinct per image)."""
    return "sha256:" + hashlib.sha256(f"{registry_id}/{repository}:{tag}".encode()).hexdigest()


class PlatformMocks(pulumi_mocks.Mocks):
    def __init__(self, *, region: str, account_id: str, stack: str, first_preview: bool = False,
                 missing_images: frozenset[str] = frozenset()):
        self.missing_images = missing_images
        """``<repository>:<tag>`` images no one pushed: ``aws.ecr.get_image`` fails for them as ECR's does."""
        self.region = region
        self.account = account_id
        self.stack = stack
        # The region's partition, as the real provider reports it (aws-cn: arn:aws-cn:, amazonaws.com.cn).
        self.partition = constraints.partition_of(region)
        self.dns_suffix = constraints.dns_suffix(region)
        self.first_preview = first_preview
        """Answer like the engine in the first preview of a new stack: a resource to create has no
        id and no computed outputs yet (only its inputs), so everything derived from them is unknown."""
        self.provider_regions: dict[str, str] = {}
        """Explicit ``aws`` providers by id -> their region: a second-region provider's resources and
        invokes answer in that region (ARNs, hosts, getRegion)."""

    def in_region_of(self, provider: str | None) -> PlatformMocks:
        """These mocks as seen through ``provider`` (a ``<urn>::<id>`` reference; the default: the stack's region)."""
        region = self.provider_regions.get(str(provider or "").rsplit("::", 1)[-1])
        if region is None or region == self.region:
            return self
        view = copy.copy(self)
        view.region = region
        return view

    # Provider functions ------------------------------------------------------------------
    def call(self, args: pulumi_mocks.MockCallArgs):
        if self.in_region_of(args.provider) is not self:
            return self.in_region_of(args.provider).call(pulumi_mocks.MockCallArgs(args.token, args.args, ""))
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": self.account, "arn": f"arn:{self.partition}:iam::{self.account}:role/ci",
                    "id": self.account, "userId": "AROAMOCKMOCKMOCK:ci"}
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.{self.dns_suffix}", "description": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": self.partition, "dnsSuffix": self.dns_suffix, "id": self.partition,
                    "reverseDnsPrefix": ".".join(reversed(self.dns_suffix.split(".")))}
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"authorizationToken": "bW9jazptb2Nr", "userName": "AWS", "password": "mock-ecr-token",
                    "proxyEndpoint": f"https://{self.account}.dkr.ecr.{self.region}.{self.dns_suffix}",
                    "expiresAt": "2099-01-01T00:00:00Z", "id": self.region}
        if token == "aws:ecr/getImage:getImage":
            return self._ecr_image(args.args)
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args.get("id", "vpc-0mock"), "cidrBlock": "10.0.0.0/16", "arn": "mock"}
        if token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args.get("id", "subnet-0mock"), "cidrBlock": "10.0.1.0/24",
                    "availabilityZone": f"{self.region}a"}
        if token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": [], "id": "mock"}
        if token == "github:index/getTeam:getTeam":
            slug = str(args.args.get("slug", "team"))
            return {"id": str(int(_suffix(slug, length=7), 16)), "nodeId": f"T_{_suffix(slug, length=12)}",
                    "slug": slug, "name": slug, "privacy": "closed", "members": [], "repositories": []}
        return {}

    # Resources -----------------------------------------------------------------------------
    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if args.typ == "pulumi:providers:aws" and isinstance(args.inputs.get("region"), str):
            rid = f"{args.name}-{_uuid(self.stack, args.name)}"
            self.provider_regions[rid] = args.inputs["region"]
            return rid, dict(args.inputs)
        if self.in_region_of(args.provider) is not self:
            view = self.in_region_of(args.provider)
            return view.new_resource(pulumi_mocks.MockResourceArgs(args.typ, args.name, args.inputs, None,
                                                                   args.resource_id, args.custom))
        inputs = dict(args.inputs)
        if self.first_preview and args.custom:
            return "", inputs
        typ, name = args.typ, args.name
        physical = inputs.get("name") or f"{name}-{_suffix(self.stack, typ, name)}"
        state: dict[str, Any] = dict(inputs)
        rid = physical if isinstance(physical, str) else f"{name}-{_suffix(typ, name)}"
        shaper = _SHAPERS.get(typ)
        if typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            state.setdefault("arn", self._arn(service, f"{service}/{rid}"))
            state["tagsAll"] = dict(inputs.get("tags") or {})
        if typ.startswith("kubernetes:") and typ != "kubernetes:helm.sh/v3:Release":
            meta = dict(inputs.get("metadata") or {})
            meta.setdefault("name", f"{name}-{_suffix(self.stack, typ, name, length=8)}")
            meta["uid"] = _uuid(self.stack, typ, name)
            state["metadata"] = meta
            rid = f"{meta.get('namespace')}/{meta['name']}" if meta.get("namespace") else meta["name"]
        if shaper is not None:
            rid, extra = shaper(self, name, rid, inputs)
            state.update(extra)
        return rid, state

    def _ecr_image(self, args: Mapping[str, Any]) -> Any:
        registry, repository = str(args.get("registryId") or self.account), str(args["repositoryName"])
        tag = str(args.get("imageTag"))
        if f"{repository}:{tag}" in self.missing_images:  # the provider's DescribeImages error
            return {}, [("imageTag", f"reading ECR Image: ImageNotFoundException: The image with imageId "
                                     f"{{imageTag:'{tag}'}} does not exist within the repository with name "
                                     f"'{repository}' in the registry with id '{registry}'")]
        digest = image_digest(registry, repository, tag)
        return {"id": digest, "imageDigest": digest, "imageTag": tag, "imageTags": [tag], "registryId": registry,
                "repositoryName": repository, "imagePushedAt": 1764547200, "imageSizeInBytes": 52_428_800,
                "imageUri": f"{registry}.dkr.ecr.{self.region}.{self.dns_suffix}/{repository}@{digest}",
                "mostRecent": False, "region": self.region}

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _kms_key(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    key_id = _uuid(m.stack, "kms", name)
    return key_id, {"keyId": key_id, "arn": m._arn("kms", f"key/{key_id}")}


def _kms_alias(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    alias = inputs.get("name", f"alias/{rid}")
    return alias, {"arn": m._arn("kms", alias), "targetKeyArn": inputs.get("targetKeyId", "")}


def _ecr_repo(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    return rid, {"arn": m._arn("ecr", f"repository/{rid}"), "registryId": m.account,
                 "repositoryUrl": f"{m.account}.dkr.ecr.{m.region}.{m.dns_suffix}/{rid}"}


def _rds_instance(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    ident = inputs.get("identifier") or rid
    host = f"{ident}.c{_suffix(m.stack, 'rds', length=10)}.{m.region}.rds.{m.dns_suffix}"
    port = inputs.get("port", 5432)
    secret = m._arn("secretsmanager", f"secret:rds!db-{_uuid(m.stack, 'rds-secret', name)}-AbCdEf")
    return ident, {"address": host, "endpoint": f"{host}:{port}", "port": port,
                   "arn": m._arn("rds", f"db:{ident}"), "resourceId": f"db-{_suffix(name, length=26).upper()}",
                   "masterUserSecrets": [{"secretArn": secret, "secretStatus": "active",
                                          "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", "")}]}


def _elasticache(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    ident = inputs.get("replicationGroupId") or rid
    host = f"clustercfg.{ident}.{_suffix(m.stack, 'ec', length=6)}.euw1.cache.{m.dns_suffix}"
    return ident, {"configurationEndpointAddress": host, "primaryEndpointAddress": "",
                   "arn": m._arn("elasticache", f"replicationgroup:{ident}"), "port": inputs.get("port", 6379)}


def _bucket(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{_suffix(m.stack, name, length=20)}"
    return bucket, {"bucket": bucket, "arn": f"arn:{m.partition}:s3:::{bucket}",
                    "bucketRegionalDomainName": f"{bucket}.s3.{m.region}.{m.dns_suffix}", "region": m.region}


def _iam_role(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    role = inputs.get("name") or rid
    return role, {"arn": f"arn:{m.partition}:iam::{m.account}:role/{role}", "uniqueId": f"AROA{_suffix(name, length=17).upper()}"}


def _security_group(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    sg = f"sg-{_suffix(m.stack, 'sg', name, length=17)}"
    return sg, {"arn": m._arn("ec2", f"security-group/{sg}"), "ownerId": m.account}


def _log_group(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    group = inputs.get("name") or rid
    return group, {"arn": m._arn("logs", f"log-group:{group}")}


def _oidc_provider(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    host = str(inputs.get("url", "https://oidc.example")).removeprefix("https://")
    arn = f"arn:{m.partition}:iam::{m.account}:oidc-provider/{host}"
    return arn, {"arn": arn}


def _ecr_registry_singleton(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("prefix") or inputs.get("ecrRepositoryPrefix") or m.account), {"registryId": m.account}


def _github_environment(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('repository')}:{inputs.get('environment')}", {}


def _github_deployment_policy(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    policy_id = str(int(_suffix(m.stack, name, length=7), 16))
    return f"{inputs.get('repository')}:{inputs.get('environment')}:{policy_id}", {}


def _github_ruleset(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    ruleset_id = int(_suffix(m.stack, name, length=7), 16)
    return str(ruleset_id), {"rulesetId": ruleset_id, "nodeId": f"RRS_{_suffix(name, length=12)}",
                             "etag": _suffix(m.stack, name, length=16)}


def _random_password(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    # A fixed, obviously fake value: the plan redacts it anyway (it is a secret output).
    value = "mock-" + _suffix(m.stack, name, length=int(inputs.get("length", 32)) - 5)
    return "none", {"result": value, "bcryptHash": "$2a$10$mock"}


def _random_id(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    raw = bytes.fromhex(_suffix(m.stack, name, str(inputs.get("keepers")), length=2 * int(inputs["byteLength"])))
    b64 = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return b64, {"hex": raw.hex(), "b64Url": b64, "b64Std": base64.b64encode(raw).decode(),
                 "dec": str(int.from_bytes(raw, "big"))}


def _docker_image(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    image = inputs.get("imageName", name)
    digest = "sha256:" + hashlib.sha256(str(image).encode()).hexdigest()
    return f"{image}@{digest}", {"repoDigest": f"{str(image).split(':')[0]}@{digest}", "imageName": image}


def _helm_release(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
    release = inputs.get("name") or name
    ns = inputs.get("namespace", "default")
    return f"{ns}/{release}", {"name": release, "status": {"status": "deployed", "name": release,
                                                            "namespace": ns, "version": inputs.get("version")}}


def _simple(prefix: str):
    def shape(m: PlatformMocks, name: str, rid: str, inputs: dict) -> tuple[str, dict]:
        return f"{prefix}{_suffix(m.stack, name, length=17)}", {}
    return shape


_SHAPERS = {
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:ecr/repository:Repository": _ecr_repo,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _elasticache,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:iam/role:Role": _iam_role,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _simple("sgr-"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _simple("sgr-"),
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomId:RandomId": _random_id,
    "docker:index/image:Image": _docker_image,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    # The bootstrap project (bootstrap/): account singletons and the GitHub provider's resources.
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": _ecr_registry_singleton,
    "aws:ecr/registryPolicy:RegistryPolicy": _ecr_registry_singleton,
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": _ecr_registry_singleton,
    "github:index/repositoryEnvironment:RepositoryEnvironment": _github_environment,
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy":
        _github_deployment_policy,
    "github:index/repositoryRuleset:RepositoryRuleset": _github_ruleset,
}


# ------------------------------------------------------------------------------------------
# The recording monitor.
# ------------------------------------------------------------------------------------------


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: PlatformMocks, observe: Callable[[Recorded], None] | None = None):
        super().__init__(mocks)
        self.observe = observe
        """Called with each resource as it is registered (the plan starts rendering Releases then)."""
        self.recorded: dict[str, Recorded] = {}
        self.order: list[str] = []
        self.outputs: dict[str, dict[str, Any]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # MockMonitor puts only the parent's last type, the root stack's included, before the type;
        # the engine puts the whole parent chain: a component moved under another changes every
        # descendant's URN, and the plan must show that.
        return urns.create_urn(name, type_, parent, pulumi.get_project(), pulumi.get_stack())

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        urn = response.urn
        inputs = json_format.MessageToDict(request.object)
        outputs = json_format.MessageToDict(response.object) if request.custom else {}
        self.recorded[urn] = Recorded(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            id=response.id if request.custom else "",
            provider=request.provider,
            # Sorted: the SDK gathers dependencies asynchronously, in no stable order.
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items())},
            inputs=inputs,
            outputs=outputs,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            delete_before_replace=bool(request.deleteBeforeReplace),
            additional_secret_outputs=list(request.additionalSecretOutputs),
            ignore_changes=list(request.ignoreChanges),
            replace_on_changes=list(request.replaceOnChanges),
            aliases=self._aliases(request, urn),
        )
        self.order.append(urn)
        if self.observe is not None:
            self.observe(self.recorded[urn])
        return response

    def _aliases(self, request, urn: str) -> list[str]:  # noqa: ANN001 - a RegisterResourceRequest
        specs = [{"urn": a.urn} if a.urn else json_format.MessageToDict(a.spec) for a in request.aliases]
        parent = self.recorded.get(request.parent)
        stack, project, _, _ = urns.parts(urn)
        return urns.alias_urns(name=request.name, type_=request.type, parent=request.parent, project=project,
                               stack=stack, specs=specs, parent_aliases=parent.aliases if parent else [])

    def RegisterResourceOutputs(self, request):  # noqa: N802 - gRPC method name
        self.outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.errors if record.levelno >= logging.ERROR else self.warnings).append(record.getMessage())


def run_program(stack: str, config: Mapping[str, Any], *, secret_keys: set[str] | frozenset[str] = frozenset(),
                project: str = "platform", program: Path = ROOT / "__main__.py",
                first_preview: bool = False, missing_images: frozenset[str] = frozenset(),
                observe: Callable[[Recorded], None] | None = None) -> Plan:
    """Runs ``program`` for ``stack`` with engine-shaped ``config`` and returns the recorded plan.

    ``first_preview``: computed outputs of new resources are unknown, as in the first
    ``pulumi preview`` of a stack (inputs that depend on them carry the unknown sentinel).
    ``missing_images``: ``<repository>:<tag>`` that ``aws.ecr.get_image`` does not find (never pushed).
    ``observe``: called with each resource as it is registered.
    Raises whatever the program raises (``config.ConfigError`` for bad configuration).
    """
    region = str(config.get("aws:region", "us-east-1"))
    account = _account_from(config)
    mocks = PlatformMocks(region=region, account_id=account, stack=stack, first_preview=first_preview,
                          missing_images=missing_images)
    monitor = RecordingMonitor(mocks, observe)
    collector = _WarningCollector()
    logger = logging.getLogger(f"platform.mockrun.{stack}")
    logger.propagate = False
    logger.handlers = [collector]
    logger.setLevel(logging.WARNING)

    def execute() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            set_all_config(dict(config), sorted(secret_keys))
            pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True,
                                     logger=logger, monitor=monitor)
            # The SDK keeps a faulted Output in SETTINGS.outputs to report at exit, and that set is
            # a ContextVar whose default is the first set ever assigned: every run of this process
            # would share it, and a run that failed half-way (a failed invoke) would hand its faulted
            # futures, bound to a closed event loop, to the next one. Each run gets its own.
            pulumi.runtime.settings.SETTINGS.outputs = set()
            if str(ROOT) not in sys.path:
                sys.path.insert(0, str(ROOT))
            with program_modules(program.parent):
                _sync_await(run_pulumi_func(lambda: _run_and_export(program)))
        finally:
            # A program that failed half-way leaves registrations pending: cancel them here, as
            # asyncio.run does, rather than let the garbage collector complain about each one.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
            asyncio.set_event_loop(None)

    caught: list[warnings.WarningMessage] = []

    def record(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        # Provider SDKs warn at import time about every deprecated class they *define*
        # (pulumi_aws.s3 defines BucketV2); only warnings from code the program runs count.
        if not _importing():
            caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        contextvars.Context().run(execute)
    python_warnings = [f"{w.category.__name__}: {w.message}" for w in caught
                       if issubclass(w.category, (DeprecationWarning, UserWarning, FutureWarning))
                       and "pulumi" in str(w.filename)]

    resources = urns.by_dependency(
        monitor.recorded.values(), urn=lambda r: r.urn,
        edges=lambda r: urns.graph_edges(r.parent, r.dependencies, r.provider, r.property_dependencies))
    stack_urn = f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"
    for r in resources:
        if r.urn in monitor.outputs and not r.custom:
            r.outputs = monitor.outputs[r.urn]
    return Plan(project=project, stack=stack, resources=resources,
                stack_outputs=monitor.outputs.get(stack_urn, {}),
                warnings=collector.warnings + python_warnings, errors=collector.errors)


_OTHER_CHECKOUTS: dict[Path, dict[str, ModuleType]] = {}
"""The modules of each other checkout planned in this process, kept for its next stack."""


def _own_module(name: str, names: frozenset[str]) -> bool:
    return name.split(".", 1)[0] in names


@contextmanager
def program_modules(directory: Path) -> Iterator[None]:
    """The program in ``directory`` imports its own ``config``, ``components``, ... .

    A program in this repository needs nothing. A program in another checkout of it (``tools plan
    -C ../base``: the PR's merge base, planned by the head's tools) must not see the head's
    modules of the same names, or the "base" plan would be the base's ``__main__.py`` composing
    the head's components. Its modules are swapped in for the run and out again afterwards (kept
    for the next stack of the same checkout); ``tools`` itself is always the running one. The
    checkout's ``config.ConfigError`` is not the head's class: it is re-raised as ``UsageError``.
    """
    directory = directory.resolve()
    # A project that is a package of its checkout (bootstrap/) imports the checkout's modules:
    # it belongs to that checkout, and this checkout's bootstrap needs no swap at all (swapping the
    # platform's ``components`` out under it left its classes' modules missing from sys.modules).
    if (directory / "__init__.py").is_file():
        directory = directory.parent
    if directory == ROOT.resolve():
        yield
        return
    modules = {p.stem for p in directory.glob("*.py")} | {d.name for d in directory.iterdir()
                                                          if (d / "__init__.py").is_file()}
    names = frozenset(modules - {"__main__", "tools", "tests"})
    ours = {m: mod for m, mod in sys.modules.items() if _own_module(m, names)}
    for m in ours:
        del sys.modules[m]
    sys.modules.update(_OTHER_CHECKOUTS.get(directory, {}))
    sys.path.insert(0, str(directory))
    try:
        yield
    except Exception as exc:
        if "config" in names and type(exc).__name__ == "ConfigError" and type(exc).__module__ == "config":
            raise UsageError(f"{directory}: {exc}") from None
        raise
    finally:
        sys.path.remove(str(directory))
        theirs = {m: mod for m, mod in sys.modules.items() if _own_module(m, names)}
        for m in theirs:
            del sys.modules[m]
        _OTHER_CHECKOUTS.clear()  # one other checkout at a time (the merge base): no pile-up in tests
        _OTHER_CHECKOUTS[directory] = theirs
        sys.modules.update(ours)


def _importing() -> bool:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _run_and_export(program: Path) -> None:
    runpy.run_path(str(program), run_name="__main__")
    # set_mocks() registers the root Stack's outputs before the program runs; the real language
    # host does it afterwards. Register them again so `pulumi.export`s reach the monitor.
    root = pulumi.runtime.settings.get_root_resource()
    root._outputs_registered = False  # type: ignore[union-attr]
    root._finish()  # type: ignore[union-attr]


def _account_from(config: Mapping[str, Any]) -> str:
    # The AWS provider's own account guard, when a stack sets it (the bootstrap stacks do).
    allowed = config.get("aws:allowedAccountIds")
    if isinstance(allowed, str) and allowed.startswith("["):
        accounts = json.loads(allowed)
        if accounts:
            return str(accounts[0])
    for value in config.values():
        if isinstance(value, str) and value.startswith("arn:aws") and ":iam::" in value:
            return value.split(":")[4]
    return "123456789012"


# ------------------------------------------------------------------------------------------
# Wire values -> export values (the conversions themselves: tools/wire.py)
# ------------------------------------------------------------------------------------------


def mark_secret_outputs(r: Recorded) -> dict[str, Any]:
    """Outputs as the engine stores them: additionalSecretOutputs and secret inputs stay secret."""
    out = dict(r.outputs)
    for key in set(r.additional_secret_outputs) | {k for k, v in r.inputs.items() if is_secret(v)}:
        if key in out and not is_secret(out[key]):
            out[key] = secret(out[key])
    return out
