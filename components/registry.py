"""ECR repositories for the platform's services, and the images this program builds into them.

Creates, per service: a KMS-encrypted repository (scan on push, tag mutability per profile,
force-delete for throw-away environments), a lifecycle policy (untagged images expire, the last
N tagged images are kept) and a repository policy that lets only the given roles pull. For each
configured build: a ``docker.Image`` pushed with credentials from the ECR authorization token.

Consumers use ``images[service]``: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``,
built from names known before anything exists, so a new stack's first preview (and the policy
pack in it) can read every image reference; a digest is unknown until the push. Tags are immutable
in every environment (``RegistryProfile``), so the tag pins the image. When this program builds the
image, the reference also depends on the push: a workload using it rolls only after the image is in
the repository.

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
from config import PROJECT_DIR, RegistryProfile

if TYPE_CHECKING:
    from components.kms import KmsKey
    from config import Settings

PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


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
    builds: Mapping[str, ImageBuild] = field(default_factory=dict)
    tags: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, *, account_id: pulumi.Input[str], kms: KmsKey,
                      pull_role_arns: Sequence[pulumi.Input[str]]) -> ContainerRegistryArgs:
        builds = {"backup": ImageBuild.of(BACKUP_BUILD_CONTEXT)}
        if settings.app.build_context:
            builds["app"] = ImageBuild.of(settings.app.build_context)
        return cls(prefix=settings.name, account_id=account_id, region=settings.region, services=settings.services,
                   profile=settings.profile.registry, kms_key_arn=kms.arn, pull_role_arns=pull_role_arns,
                   image_tag=settings.image_tag, builds=builds, tags=settings.tags)


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
            reference = pulumi.Output.concat(registry, "/", repo.name, ":", args.image_tag if build is None else build.tag)
            if build is None:
                self.images[service] = reference
                continue
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

        self.register_outputs({"repositoryUrls": self.repository_urls, "images": self.images})
