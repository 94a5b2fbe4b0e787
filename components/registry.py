"""ECR repositories for the platform's services, and the images this program builds into them.

Creates, per service: a KMS-encrypted repository (scan on push, tag mutability per profile,
force-delete for throw-away environments), a lifecycle policy (untagged images expire, the last
N tagged images are kept) and a repository policy that lets only the given roles pull. For each
configured build: a ``docker.Image`` pushed with credentials from the ECR authorization token.

Consumers use ``images[service]``:

- an image this program builds: ``<account>.dkr.ecr.<region>.<dns suffix>/<repository>:src-<hex>``,
  built from names known before anything exists, so a new stack's first preview (and the policy
  pack in it) can read it; a digest is unknown until the push. Tags are immutable in every
  environment (``RegistryProfile``), so the tag pins the image, and the reference depends on the
  push: a workload using it rolls only after the image is in the repository;
- any other (the app, unless ``app.buildContext`` is set): bootstrap's shared repository
  ``platform/<service>`` at ``platform:imageTag``, in ``platform:registryAccount`` (default: this
  account), by the digest ``aws.ecr.get_image`` reports. The lookup is an invoke, so it runs in every
  preview: an image nobody pushed fails the preview with how to push it (``MissingImageError``) instead
  of a Deployment waiting on a pull that never succeeds, and the reference is immutable.

Third-party images are pulled through the account's ECR pull-through caches (``public_cache`` is
the ECR Public one). Their rules, the registry policy letting the node roles fill them and the
repository creation templates (our KMS key, immutable tags, a lifecycle) are account-and-region
singletons: the bootstrap project owns them (bootstrap/components/registry.py), never a platform
stack — staging and production may share an account, and two owners of one rule conflict at
``pulumi up``. A stack that created them before moves them without deleting the live rules:
docs/first-deployment.md, "Pull-through cache rules move to bootstrap".
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components import partition
from components.kubernetes import ECR_PUBLIC_CACHE_PREFIX
from config import PROJECT_DIR, ConfigError, RegistryProfile

if TYPE_CHECKING:
    from components.kms import KmsKey
    from config import Settings

PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


SHARED_REPOSITORY_PREFIX = "platform"
"""Bootstrap's shared repositories are ``platform/<service>`` (bootstrap.components.permissions
keeps the same constant; a test keeps them equal)."""
PUSH_SCRIPT = ".github/scripts/build-image.sh"
"""What deploy.yml's ``build`` job runs to push ``platform/app:<commit SHA>``; also by hand."""


PLATFORM = "linux/amd64"
BACKUP_BUILD_CONTEXT = "images/backup"
SOURCE_DIGEST = "SOURCE_DIGEST"
"""Build argument carrying the context's digest (the Dockerfile may label the image with it); the
policy pack's ``aws-ecr-immutable-tag-per-build`` reads it (policies/rules/preflight.py)."""
SOURCE_TAG_HEX = 20


def context_digest(directory: Path, *, dockerfile: str = "Dockerfile", platform: str = PLATFORM) -> str:
    """SHA-256 over a build: the Dockerfile's name and the platform, then every file and symlink of
    the context in relative-path order, each as its kind (file, executable, link), path, size and
    bytes. Nothing else (mtimes, owner, the machine) enters, so two checkouts of one commit agree
    and any change to what ``docker build`` reads changes it. ``.dockerignore`` is not applied: an
    ignored file changes the tag needlessly, never the other way round."""
    h = hashlib.sha256(f"{dockerfile}\0{platform}\0".encode())
    entries = []
    for top, dirs, files in os.walk(directory, followlinks=False):
        entries += [Path(top, f) for f in files]
        entries += [Path(top, d) for d in dirs if Path(top, d).is_symlink()]
    for path in sorted(entries, key=lambda p: p.relative_to(directory).as_posix()):
        rel = path.relative_to(directory).as_posix().encode()
        if path.is_symlink():
            kind, data = b"l", os.readlink(path).encode()
        else:
            kind, data = (b"x" if path.stat().st_mode & 0o111 else b"f"), path.read_bytes()
        h.update(b"%s %d %s %d\0" % (kind, len(rel), rel, len(data)) + data)
    return h.hexdigest()


@dataclass(frozen=True, kw_only=True)
class ImageBuild:
    context: str
    """Build context, relative to the project directory (stable in state across machines)."""
    digest: str
    """``context_digest`` of the context: the image's tag is ``src-<first 20 hex>``."""
    dockerfile: str = "Dockerfile"
    """Relative to ``context``."""

    @classmethod
    def of(cls, context: str, dockerfile: str = "Dockerfile") -> ImageBuild:
        return cls(context=context, dockerfile=dockerfile,
                   digest=context_digest(PROJECT_DIR / context, dockerfile=dockerfile))

    @property
    def tag(self) -> str:
        """From the content, never from the stack file: tags are immutable, so a changed build must
        get a new tag (ECR refuses an existing one), and an unchanged build keeps its tag (no push)."""
        return f"src-{self.digest[:SOURCE_TAG_HEX]}"


@dataclass(frozen=True, kw_only=True)
class ContainerRegistryArgs:
    prefix: str
    """Repository names are ``<prefix>/<service>``; the prefix includes the stack (platform-pr-7)."""
    account_id: pulumi.Input[str]
    """From ``aws.get_caller_identity_output()``: an invoke, so known in every preview."""
    region: str
    services: Sequence[str]
    profile: RegistryProfile
    kms_key_arn: pulumi.Input[str]
    pull_role_arns: Sequence[pulumi.Input[str]]
    """The only principals the repository policy admits to pull (cluster nodes, IRSA roles). ECR
    rejects a principal that does not exist yet: pass a stack role's ARN as an Output of that role
    (``irsa.role_arn``) so the repository policy is written after it."""
    image_tag: str
    """The git SHA in CI; config validation rejects 'latest'."""
    shared: Sequence[str] = ()
    """Services not built here whose image a workload runs: ``images[service]`` is bootstrap's shared
    ``platform/<service>:<image_tag>`` by digest. Looked up only when needed: once both tracks run
    a release image, ``platform:imageTag`` need not name a pushed image."""
    registry_account: pulumi.Input[str]
    """Owner of the shared ``platform/<service>`` repositories."""
    stack: str
    """For the fix a missing shared image's error names (``--stack``)."""
    builds: Mapping[str, ImageBuild] = field(default_factory=dict)
    tags: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, *, account_id: pulumi.Input[str], kms: KmsKey,
                      pull_role_arns: Sequence[pulumi.Input[str]]) -> ContainerRegistryArgs:
        builds = {"backup": ImageBuild.of(BACKUP_BUILD_CONTEXT)}
        if settings.app.build_context:
            builds["app"] = ImageBuild.of(settings.app.build_context)
        # The app tracks without a release image run the shared image (config.TrackSettings.image).
        shared = ("app",) if "app" not in builds and any(t.image is None for t in settings.release.tracks) else ()
        return cls(prefix=settings.name, account_id=account_id, region=settings.region, services=settings.services,
                   profile=settings.profile.registry, kms_key_arn=kms.arn, pull_role_arns=pull_role_arns,
                   image_tag=settings.image_tag, shared=shared, registry_account=settings.registry_account or account_id,
                   stack=settings.stack, builds=builds, tags=settings.tags)


def lifecycle_policy(profile: RegistryProfile) -> dict[str, Any]:
    return {"rules": [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images after {profile.untagged_expiry_days} day(s)",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                          "countUnit": "days", "countNumber": profile.untagged_expiry_days},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the last {profile.keep_tagged_images} tagged images",
            "selection": {"tagStatus": "tagged", "tagPatternList": ["*"],
                          "countType": "imageCountMoreThan", "countNumber": profile.keep_tagged_images},
            "action": {"type": "expire"},
        },
    ]}


def pull_policy(role_arns: Sequence[str]) -> dict[str, Any]:
    # Allow-only: same-account identities still need an IAM grant, and no other account or
    # anonymous principal can pull. (A Deny on "*" would also block CI's push, which checks layers.)
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PullFromClusterRoles",
            "Effect": "Allow",
            "Principal": {"AWS": sorted(role_arns)},
            "Action": PULL_ACTIONS,
        }],
    }


class MissingImageError(ConfigError):
    """The shared image a track would run is not in the registry (a clean preview error, no traceback)."""


def missing_image_problem(*, repository: str, tag: str, account: str, registry: str, region: str, stack: str,
                          reason: str) -> str:
    return (f"platform:imageTag = {tag!r}: no image {repository}:{tag} in the ECR registry of account {account} "
            f"({region}), so the app tracks without a release image have nothing to run ({reason}). Fix: push it "
            f"(deploy.yml's build job pushes {repository}:<commit SHA> on every merge to main; by hand: "
            f"REGISTRY={registry} REPOSITORY={repository} SHA={tag} CONTEXT=<app dir> "
            f"AWS_REGION={region} {PUSH_SCRIPT}), or pulumi config set platform:imageTag <a pushed commit SHA> "
            f"--stack {stack}; platform:registryAccount names the account that owns it (docs/first-deployment.md)")


def shared_image(service: str, tag: str, *, account: pulumi.Input[str], region: str, stack: str,
                 parent: pulumi.Resource) -> pulumi.Output[str]:
    """``<account>.dkr.ecr.<region>.<suffix>/platform/<service>@sha256:<digest>``: the digest
    ``platform/<service>:<tag>`` has now (``aws.ecr.get_image``); raises ``MissingImageError`` without one."""
    repository = f"{SHARED_REPOSITORY_PREFIX}/{service}"
    found = aws.ecr.get_image_output(repository_name=repository, image_tag=tag, registry_id=account,
                                     opts=pulumi.InvokeOutputOptions(parent=parent))

    registry = partition.ecr_registry(account, region, parent=parent)

    def missing(exc: Exception) -> pulumi.Output[str]:
        def fail(where: list[str]) -> str:
            raise MissingImageError([missing_image_problem(repository=repository, tag=tag, account=where[0],
                                                      registry=where[1], region=region, stack=stack, reason=str(exc))])
        return pulumi.Output.all(account, registry).apply(fail)

    return pulumi.Output.concat(registry, "/", repository, "@", found.image_digest.recover(missing))


class ContainerRegistry(pulumi.ComponentResource):
    """Creates: per service a repository, lifecycle policy and pull policy; images for builds."""

    repository_urls: dict[str, pulumi.Output[str]]
    images: dict[str, pulumi.Output[str]]
    public_cache: pulumi.Output[str]
    """``<account>.dkr.ecr.<region>.amazonaws.com/ecr-public``: prefix an ECR Public repository
    (``docker/library/redis:7.4.5-alpine``) to pull it through the cache bootstrap owns."""

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:ContainerRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        unknown = set(args.builds) - set(args.services)
        if unknown:
            raise ValueError(f"builds for services without a repository: {sorted(unknown)}")
        both = set(args.builds) & set(args.shared)
        if both:
            raise ValueError(f"services both built here and run from the shared repository: {sorted(both)}")

        self.repository_urls = {}
        self.images = {}
        registry = partition.ecr_registry(args.account_id, args.region, parent=self)
        self.public_cache = pulumi.Output.concat(registry, "/", ECR_PUBLIC_CACHE_PREFIX)
        for service in args.services:
            repo = aws.ecr.Repository(
                f"{name}-{service}",
                name=f"{args.prefix}/{service}",
                image_tag_mutability="IMMUTABLE" if args.profile.immutable_tags else "MUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
                force_delete=args.profile.force_delete,
                tags=dict(args.tags),
                opts=child,
            )
            aws.ecr.LifecyclePolicy(f"{name}-{service}-lifecycle", repository=repo.name,
                                    policy=json.dumps(lifecycle_policy(args.profile)), opts=child)
            aws.ecr.RepositoryPolicy(
                f"{name}-{service}-pull",
                repository=repo.name,
                policy=pulumi.Output.all(*args.pull_role_arns).apply(lambda arns: json.dumps(pull_policy(arns))),
                opts=child,
            )
            self.repository_urls[service] = repo.repository_url
            # repo.name echoes the explicit name (known in preview) and depends on the repository.
            build = args.builds.get(service)
            if build is None:
                continue
            reference = pulumi.Output.concat(registry, "/", repo.name, ":", build.tag)
            token = aws.ecr.get_authorization_token_output(registry_id=args.account_id,
                                                           opts=pulumi.InvokeOptions(parent=self))
            image = docker.Image(
                f"{name}-{service}-image",
                image_name=reference,
                build=docker.DockerBuildArgs(
                    context=build.context,
                    dockerfile=f"{build.context}/{build.dockerfile}",
                    platform=PLATFORM,
                    args={SOURCE_DIGEST: build.digest},
                ),
                registry=docker.RegistryArgs(
                    server=registry,
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                ),
                opts=child,
            )
            # The same known reference, carrying a dependency on the push (an image's URN is known
            # in preview; its repo_digest is not).
            self.images[service] = pulumi.Output.all(reference, image.urn).apply(lambda v: v[0])

        for service in args.shared:
            self.images[service] = shared_image(service, args.image_tag, account=args.registry_account,
                                                region=args.region, stack=args.stack, parent=self)
        self.register_outputs({"repositoryUrls": self.repository_urls, "images": self.images})
