"""What each CI role may do: IAM documents as plain dicts, pure functions of the account.

- ``preview``: read-only. It may read what ``pulumi preview`` of staging reads (describe calls,
  the staging cluster's endpoint, the shared images), read the state and write only lock files,
  and decrypt the state key. PR code runs with it, so it holds nothing production: production is
  another account with its own key, and its previews run in the deploy workflow (environment
  ``production``), never in a PR.
- ``deploy-<env>``: manages the resources of stack ``<env>``: names start ``platform-<env>``
  and every mutating statement is conditioned on the stack tag the platform puts on everything
  (``aws:RequestTag/stack`` to create, ``aws:ResourceTag/stack`` to change).
- ``ephemeral``: the same for PR stacks only: names ``platform-pr-*``, tag ``stack`` = ``pr-*``.
- ``image-push``: pushes to the shared repositories ``platform/*``; nothing else.

Actions AWS cannot scope to a resource (its Service Authorization Reference lists no resource
type for them: ``sts:GetCallerIdentity``, ``ec2:Describe*``, ``kms:CreateKey``, ...) are granted on
``*``, always in their own statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SHARED_REPOSITORY_PREFIX = "platform"
"""Application images shared by every environment: ``platform/<service>``."""
STATE_KEY_ALIAS = "alias/platform-state"
PLATFORM_PROJECT = "platform"
"""The project whose stacks the CI roles deploy (``Pulumi.yaml`` ``name``)."""
REGISTRY_KEY_ALIAS = "alias/platform-registry"

READ_ANYWHERE = ["sts:GetCallerIdentity", "ecr:GetAuthorizationToken", "kms:ListAliases", "logs:DescribeLogGroups",
                 "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                 "ec2:DescribeSecurityGroupRules", "ec2:DescribeAvailabilityZones", "ec2:DescribeNetworkInterfaces",
                 "rds:DescribeDBInstances", "rds:DescribeDBSubnetGroups", "rds:DescribeDBParameterGroups",
                 "rds:DescribeDBParameters", "rds:DescribeDBEngineVersions", "elasticache:DescribeReplicationGroups",
                 "elasticache:DescribeCacheClusters", "elasticache:DescribeCacheSubnetGroups",
                 "elasticache:DescribeCacheParameterGroups"]
"""Describe calls take no resource ARN (or are issued account-wide by the provider's refresh)."""
PUSH_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:DescribeImages",
                "ecr:GetDownloadUrlForLayer"]
READ_IMAGE_ACTIONS = ["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                      "ecr:BatchCheckLayerAvailability"]


@dataclass(frozen=True, kw_only=True)
class Account:
    account_id: str
    partition: str
    """``aws``, ``aws-cn``, ``aws-us-gov``: from ``aws.get_partition()``, never a literal."""
    region: str
    state_bucket: str
    image_account: str
    """Owner of the shared ``platform/*`` repositories the environments here read (this account, or
    the build account for production: ``bootstrap:imageRegistryAccount``)."""

    def arn(self, service: str, resource: str) -> str:
        region = "" if service in ("iam", "s3") else self.region
        account = "" if service == "s3" else self.account_id
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def shared_images(self) -> str:
        return f"arn:{self.partition}:ecr:{self.region}:{self.image_account}:repository/{SHARED_REPOSITORY_PREFIX}/*"


@dataclass(frozen=True, kw_only=True)
class StackScope:
    """Which platform stacks a role manages."""

    name_prefix: str
    """``platform-staging`` (matches ``platform-staging*``) or ``platform-pr-``."""
    stack_condition: tuple[str, str]
    """(operator, value) on the ``stack`` tag: ``("StringEquals", "staging")``, ``("StringLike", "pr-*")``."""
    cluster: str
    """EKS cluster the stack deploys to (``aws eks update-kubeconfig``)."""
    state_stack: str
    """Stack name (or ``pr-*``) whose state files the role may write."""


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(sid: str, actions: list[str], resources: list[str] | str,
           condition: dict[str, Any] | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        st["Condition"] = condition
    return st


def _key_by_alias(a: Account, sid: str, actions: list[str], alias: str) -> dict[str, Any]:
    # The key's ARN holds a random id; the alias names the one key (alias names are unique).
    return _allow(sid, actions, a.arn("kms", "key/*"),
                  {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}})


def state_files(a: Account, stack: str, *, write: bool) -> list[str]:
    """Objects of ``stack`` (a name or ``pr-*``) in the DIY backend's project layout
    (``.pulumi/<kind>/<project>/<stack>...``): its lock files, and to update also its checkpoint,
    history and backups. No role writes another environment's state."""
    base = a.arn("s3", f"{a.state_bucket}/.pulumi")
    files = [f"{base}/locks/{PLATFORM_PROJECT}/{stack}/*"]
    if write:
        files += [f"{base}/stacks/{PLATFORM_PROJECT}/{stack}.json*", f"{base}/history/{PLATFORM_PROJECT}/{stack}/*",
                  f"{base}/backups/{PLATFORM_PROJECT}/{stack}/*"]
    return files


def state_statements(a: Account, stack: str, *, write: bool) -> list[dict[str, Any]]:
    """Read the backend (``.pulumi/``), write only ``stack``'s files; a read-only role only its locks."""
    bucket = a.arn("s3", a.state_bucket)
    return [
        _allow("StateList", ["s3:ListBucket"], bucket, {"StringLike": {"s3:prefix": [".pulumi/*"]}}),
        _allow("StateRead", ["s3:GetObject"], f"{bucket}/.pulumi/*"),
        _allow("StateWrite" if write else "StateLocks", ["s3:PutObject", "s3:DeleteObject"],
               state_files(a, stack, write=write)),
        _key_by_alias(a, "StateKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], STATE_KEY_ALIAS),
    ]


def preview_policy(a: Account, cluster: str) -> dict[str, Any]:
    return document(
        _allow("ReadAnywhere", READ_ANYWHERE, "*"),
        _allow("Cluster", ["eks:DescribeCluster"], a.arn("eks", f"cluster/{cluster}")),
        _allow("SharedImages", READ_IMAGE_ACTIONS, a.shared_images()),
        *state_statements(a, "staging", write=False),
    )


def image_push_policy(a: Account) -> dict[str, Any]:
    return document(
        _allow("EcrLogin", ["ecr:GetAuthorizationToken"], "*"),
        _allow("PushSharedImages", PUSH_ACTIONS, a.arn("ecr", f"repository/{SHARED_REPOSITORY_PREFIX}/*")),
    )


def deploy_policy(a: Account, scope: StackScope) -> dict[str, Any]:
    """Everything ``pulumi up`` of the platform program manages, for the stacks in ``scope``."""
    p = scope.name_prefix
    names = f"{p}*"
    op, value = scope.stack_condition
    request_tag = {op: {"aws:RequestTag/stack": value}}
    resource_tag = {op: {"aws:ResourceTag/stack": value}}
    return document(
        _allow("ReadAnywhere", READ_ANYWHERE, "*"),
        _allow("Cluster", ["eks:DescribeCluster"], a.arn("eks", f"cluster/{scope.cluster}")),
        _allow("SharedImages", READ_IMAGE_ACTIONS, a.shared_images()),
        *state_statements(a, scope.state_stack, write=True),
        # kms:CreateKey has no resource type; the request must carry the stack's tag.
        _allow("KmsCreate", ["kms:CreateKey"], "*", request_tag),
        _allow("KmsManage", ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:PutKeyPolicy",
                             "kms:EnableKeyRotation", "kms:ScheduleKeyDeletion", "kms:TagResource",
                             "kms:UntagResource", "kms:ListResourceTags", "kms:UpdateKeyDescription",
                             "kms:CreateGrant", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*",
                             "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
               a.arn("kms", "key/*"), resource_tag),
        _allow("KmsAliases", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
               a.arn("kms", f"alias/{names}")),
        _allow("IamCreate", ["iam:CreateRole", "iam:TagRole"], a.arn("iam", f"role/{names}"), request_tag),
        _allow("IamManage", ["iam:GetRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
                             "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:GetRolePolicy",
                             "iam:DeleteRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
                             "iam:ListInstanceProfilesForRole", "iam:TagRole", "iam:UntagRole"],
               a.arn("iam", f"role/{names}"), resource_tag),
        _allow("Buckets", ["s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:GetBucket*", "s3:PutBucket*",
                           "s3:DeleteBucketPolicy", "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration",
                           "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
                           "s3:GetObjectLockConfiguration", "s3:PutObjectLockConfiguration"],
               a.arn("s3", names)),
        _allow("Repositories", ["ecr:CreateRepository", "ecr:DeleteRepository", "ecr:DescribeRepositories",
                                "ecr:PutLifecyclePolicy", "ecr:GetLifecyclePolicy", "ecr:DeleteLifecyclePolicy",
                                "ecr:SetRepositoryPolicy", "ecr:GetRepositoryPolicy", "ecr:DeleteRepositoryPolicy",
                                "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability",
                                "ecr:TagResource", "ecr:UntagResource", "ecr:ListTagsForResource", *PUSH_ACTIONS],
               a.arn("ecr", f"repository/{names}")),
        _allow("Databases", ["rds:CreateDBInstance", "rds:DeleteDBInstance", "rds:ModifyDBInstance",
                             "rds:RebootDBInstance", "rds:CreateDBSubnetGroup", "rds:DeleteDBSubnetGroup",
                             "rds:ModifyDBSubnetGroup", "rds:CreateDBParameterGroup", "rds:DeleteDBParameterGroup",
                             "rds:ModifyDBParameterGroup", "rds:CreateDBSnapshot", "rds:AddTagsToResource",
                             "rds:RemoveTagsFromResource", "rds:ListTagsForResource"],
               [a.arn("rds", f"{kind}:{names}") for kind in ("db", "subgrp", "pg", "snapshot")]),
        # RDS creates the master secret (rds!db-<uuid>) with the caller's permissions.
        _allow("DatabaseSecret", ["secretsmanager:CreateSecret", "secretsmanager:TagResource",
                                  "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret",
                                  "secretsmanager:RotateSecret"],
               a.arn("secretsmanager", "secret:rds!db-*"), {"StringLike": {
                   "aws:ResourceTag/aws:rds:primaryDBInstanceArn": a.arn("rds", f"db:{names}")}}),
        _allow("Caches", ["elasticache:CreateReplicationGroup", "elasticache:DeleteReplicationGroup",
                          "elasticache:ModifyReplicationGroup", "elasticache:CreateCacheSubnetGroup",
                          "elasticache:DeleteCacheSubnetGroup", "elasticache:ModifyCacheSubnetGroup",
                          "elasticache:CreateCacheCluster", "elasticache:DeleteCacheCluster",
                          "elasticache:CreateSnapshot", "elasticache:AddTagsToResource",
                          "elasticache:RemoveTagsFromResource", "elasticache:ListTagsForResource"],
               [a.arn("elasticache", f"{kind}:{names}")
                for kind in ("replicationgroup", "cluster", "subnetgroup", "parametergroup", "snapshot")]),
        _allow("LogGroups", ["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
                             "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey",
                             "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"],
               [a.arn("logs", f"log-group:/aws/rds/instance/{names}"), a.arn("logs", f"log-group:/{names}")]),
        _allow("SecurityGroupCreate", ["ec2:CreateSecurityGroup", "ec2:CreateTags"],
               [a.arn("ec2", "security-group/*"), a.arn("ec2", "vpc/*")], request_tag),
        _allow("SecurityGroupManage", ["ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
                                       "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
                                       "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules",
                                       "ec2:CreateTags", "ec2:DeleteTags"],
               [a.arn("ec2", "security-group/*"), a.arn("ec2", "security-group-rule/*")], resource_tag),
    )
