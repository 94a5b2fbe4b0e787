"""ECR repositories for the platform's services, and the images this program builds into them.

Creates, per service: a KMS-encrypted repository (scan on push, tag mutability per profile,
force-delete for throw-away environments), a lifecycle policy (untagged images expire, the last
N tagged images are kept) and a repository policy that lets only the given roles pull. For each
configured build: a ``docker.Image`` pushed with credentials from the ECR authorization token.

Consumers use ``images[service]``: the pushed image by digest when this program built it, else
``<repository>:<tag>`` (an image pushed by the service's own CI).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from config import RegistryProfile

PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]


@dataclass(frozen=True, kw_only=True)
class ImageBuild:
    context: str
    """Build context, relative to the project directory (stable in state across machines)."""
    dockerfile: str = "Dockerfile"
    """Relative to ``context``."""


@dataclass(frozen=True, kw_only=True)
class ContainerRegistryArgs:
    prefix: str
    """Repository names are ``<prefix>/<service>``; the prefix includes the stack (platform-pr-7)."""
    services: Sequence[str]
    profile: RegistryProfile
    kms_key_arn: pulumi.Input[str]
    pull_role_arns: Sequence[pulumi.Input[str]]
    """The only principals the repository policy admits to pull (cluster nodes, IRSA roles)."""
    image_tag: str
    """The git SHA in CI; config validation rejects 'latest'."""
    builds: Mapping[str, ImageBuild] = field(default_factory=dict)
    tags: Mapping[str, str]


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

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:ContainerRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        unknown = set(args.builds) - set(args.services)
        if unknown:
            raise ValueError(f"builds for services without a repository: {sorted(unknown)}")

        self.repository_urls = {}
        self.images = {}
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
            build = args.builds.get(service)
            if build is None:
                self.images[service] = pulumi.Output.concat(repo.repository_url, ":", args.image_tag)
                continue
            token = aws.ecr.get_authorization_token_output(registry_id=repo.registry_id,
                                                           opts=pulumi.InvokeOptions(parent=self))
            image = docker.Image(
                f"{name}-{service}-image",
                image_name=pulumi.Output.concat(repo.repository_url, ":", args.image_tag),
                build=docker.DockerBuildArgs(
                    context=build.context,
                    dockerfile=f"{build.context}/{build.dockerfile}",
                    platform="linux/amd64",
                ),
                registry=docker.RegistryArgs(
                    server=repo.repository_url,
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                ),
                opts=child,
            )
            self.images[service] = image.repo_digest

        self.register_outputs({"repositoryUrls": self.repository_urls, "images": self.images})
