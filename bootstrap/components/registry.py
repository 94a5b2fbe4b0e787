"""The account's ECR singletons and the application repositories every environment shares.

Creates:
- a KMS key ``alias/platform-registry`` for every repository below;
- one pull-through cache rule per upstream the platform's images come from
  (:data:`PULL_THROUGH_CACHES`: ECR Public, Quay, registry.k8s.io, GitHub CR, Docker Hub), the
  chart images included; Docker Hub's rule authenticates with the Secrets Manager secret
  ``ecr-pullthroughcache/docker-hub`` (created empty here: an administrator puts
  ``{"username", "accessToken"}`` once, so the token never passes through Pulumi state);
- the registry policy letting the cluster node roles create those prefixes' repositories on
  first pull (``ecr:CreateRepository``, ``ecr:BatchImportUpstreamImage``), nothing else;
- a repository creation template per prefix (our key, immutable tags, scan on push, a
  lifecycle) and the role ECR assumes to apply them (a KMS key in a template needs one);
- one repository per application image, ``platform/<service>``: built once per commit, tagged
  with the commit SHA (immutable), pulled by every environment (other accounts by account root,
  which delegates to their IAM).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap.components.permissions import READ_IMAGE_ACTIONS, REGISTRY_KEY_ALIAS, SHARED_REPOSITORY_PREFIX
from components import partition
from components.kms import KmsKey, KmsKeyArgs

PULL_THROUGH_PREFIX = "ecr-public"
"""The prefix the platform's images use (components.kubernetes.ECR_PUBLIC_CACHE_PREFIX; a test
keeps them equal). Kept here rather than imported: those modules load the Kubernetes SDK, which
this program never needs."""
CACHE_UPSTREAM = "public.ecr.aws"
PULL_THROUGH_CACHES = {CACHE_UPSTREAM: PULL_THROUGH_PREFIX, "quay.io": "quay", "registry.k8s.io": "registry-k8s",
                       "ghcr.io": "ghcr", "registry-1.docker.io": "docker-hub"}
"""Upstream registry → repository prefix (components.kubernetes.PULL_THROUGH_CACHES; a test keeps
them equal, Docker Hub's ``docker.io`` being ECR's ``registry-1.docker.io``)."""
CREDENTIAL_UPSTREAMS = {"registry-1.docker.io": "ecr-pullthroughcache/docker-hub"}
"""Upstreams ECR only pulls from with a credential: the Secrets Manager secret's name (ECR
requires the ``ecr-pullthroughcache/`` prefix)."""
CACHE_FIRST_PULL_ACTIONS = ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"]
TEMPLATE_ROLE = "platform-ecr-creation-template"
ECR_SERVICE_PRINCIPAL = partition.service_principal("ecr")
"""The same in every partition (components/partition.py ``service_principal``)."""
UNTAGGED_EXPIRY_DAYS = 3
KEEP_TAGGED = 100
"""Commits kept per application repository: production may run an image weeks old."""


def lifecycle_policy(keep_tagged: int = KEEP_TAGGED) -> dict[str, Any]:
    return {"rules": [
        {"rulePriority": 1, "description": f"Expire untagged images after {UNTAGGED_EXPIRY_DAYS} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": UNTAGGED_EXPIRY_DAYS}, "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"Keep the last {keep_tagged} tagged images",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": keep_tagged}, "action": {"type": "expire"}},
    ]}


def cached_repositories(account_id: str, region: str, partition: str) -> list[str]:
    return [f"arn:{partition}:ecr:{region}:{account_id}:repository/{p}/*" for p in PULL_THROUGH_CACHES.values()]


def registry_policy(account_id: str, region: str, partition: str, node_role_arns: Sequence[str]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "NodesFillThePullThroughCache", "Effect": "Allow",
        "Principal": {"AWS": sorted(node_role_arns)},
        "Action": CACHE_FIRST_PULL_ACTIONS,
        "Resource": cached_repositories(account_id, region, partition),
    }]}


def template_role_trust(account_id: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "EcrAppliesTheTemplate", "Effect": "Allow", "Principal": {"Service": ECR_SERVICE_PRINCIPAL},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]}


def template_role_policy(account_id: str, region: str, partition: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "CreateCachedRepositories", "Effect": "Allow",
         "Action": ["ecr:CreateRepository", "ecr:TagResource", "ecr:PutLifecyclePolicy"],
         "Resource": cached_repositories(account_id, region, partition)},
        {"Sid": "EncryptWithTheRegistryKey", "Effect": "Allow",
         "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
         "Resource": f"arn:{partition}:kms:{region}:{account_id}:key/*",
         "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": REGISTRY_KEY_ALIAS},
                       "Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]}


def repository_policy(node_role_arns: Sequence[str], pull_accounts: Sequence[str], partition: str) -> dict[str, Any]:
    principals = sorted(node_role_arns) + [f"arn:{partition}:iam::{a}:root" for a in sorted(pull_accounts)]
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "EnvironmentsPull", "Effect": "Allow", "Principal": {"AWS": principals},
        "Action": READ_IMAGE_ACTIONS}]}


@dataclass(frozen=True, kw_only=True)
class RegistryArgs:
    account_id: pulumi.Input[str]
    region: str
    node_role_arns: Sequence[str]
    services: Sequence[str]
    pull_accounts: Sequence[str]
    tags: Mapping[str, str]


class Registry(pulumi.ComponentResource):
    """Creates: the key, cache rule, registry policy, creation template (+ its role), shared repositories."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:bootstrap:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = pulumi.Output.from_input(args.account_id)
        part = partition.current(self).partition
        where = pulumi.Output.all(account, part)
        key = KmsKey(f"{name}-key", KmsKeyArgs(alias=REGISTRY_KEY_ALIAS, deletion_window_days=30, tags=args.tags),
                     opts=child)
        for upstream, prefix in PULL_THROUGH_CACHES.items():
            credential = None
            if upstream in CREDENTIAL_UPSTREAMS:
                credential = aws.secretsmanager.Secret(
                    f"{name}-{prefix}-credential", name=CREDENTIAL_UPSTREAMS[upstream],
                    description=f"{upstream} credential of the ECR pull-through cache (value put by an administrator)",
                    tags=dict(args.tags), opts=child).arn
            aws.ecr.PullThroughCacheRule(f"{name}-{prefix}-cache", ecr_repository_prefix=prefix,
                                         upstream_registry_url=upstream, credential_arn=credential, opts=child)
        if args.node_role_arns:
            aws.ecr.RegistryPolicy(f"{name}-policy", policy=where.apply(
                lambda w: json.dumps(registry_policy(w[0], args.region, w[1], args.node_role_arns))), opts=child)
        role = aws.iam.Role(f"{name}-template-role", name=TEMPLATE_ROLE,
                            description="ECR applies the pull-through repository creation template",
                            assume_role_policy=account.apply(lambda a: json.dumps(template_role_trust(a))),
                            tags=dict(args.tags), opts=child)
        aws.iam.RolePolicy(f"{name}-template-role-policy", role=role.id, name="creation-template",
                           policy=where.apply(lambda w: json.dumps(template_role_policy(w[0], args.region, w[1]))),
                           opts=child)
        for upstream, prefix in PULL_THROUGH_CACHES.items():
            aws.ecr.RepositoryCreationTemplate(
                f"{name}-{prefix}-template", prefix=prefix, applied_fors=["PULL_THROUGH_CACHE"],
                description=f"Repositories the {upstream} pull-through cache creates",
                image_tag_mutability="IMMUTABLE",
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
                lifecycle_policy=json.dumps(lifecycle_policy(keep_tagged=30)),
                custom_role_arn=partition.arn("iam", "", account, pulumi.Output.concat("role/", role.name), parent=self),
                resource_tags=dict(args.tags), opts=child)

        self.repository_urls: dict[str, pulumi.Output[str]] = {}
        for service in args.services:
            repo_name = f"{SHARED_REPOSITORY_PREFIX}/{service}"
            repo = aws.ecr.Repository(
                f"{name}-{service}", name=repo_name, image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
                tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self, protect=True))
            aws.ecr.LifecyclePolicy(f"{name}-{service}-lifecycle", repository=repo.name,
                                    policy=json.dumps(lifecycle_policy()), opts=child)
            if args.node_role_arns or args.pull_accounts:
                aws.ecr.RepositoryPolicy(f"{name}-{service}-policy", repository=repo.name, policy=part.apply(
                    lambda p: json.dumps(repository_policy(args.node_role_arns, args.pull_accounts, p))), opts=child)
            self.repository_urls[service] = pulumi.Output.concat(
                partition.ecr_registry(account, args.region, parent=self), "/", repo_name)
        self.register_outputs({"repositoryUrls": self.repository_urls})
