"""IRSA roles: one ServiceAccount's role with one narrow inline policy (``service_account_role``).

The application and the Postgres exporter in managed mode may read exactly one Secrets Manager
secret (the RDS-managed master secret): the password stays in Secrets Manager; the pod fetches it
at start with its own short-lived credentials. cert-manager's DNS-01 role (components/ingress.py)
may write only the ACME challenge TXT record of the preview wildcard in the one hosted zone.

Every ARN in these documents is built from names known before anything exists (account, region,
role and instance names, the key alias), never from another resource's output: in a new stack's
first preview those outputs are unknown, and the policy pack cannot pass a document it cannot read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components import partition
from components.connections import RdsMasterSecretGrant
from components.kms import key_statement

if TYPE_CHECKING:
    from config import Settings

ROLE_NAME_MAX = 64


@dataclass(frozen=True, kw_only=True)
class Irsa:
    account_id: pulumi.Input[str]
    """From ``aws.get_caller_identity_output()``: an invoke, so known in every preview."""
    region: str
    oidc_provider_arn: str
    oidc_provider_url: str
    """Issuer without scheme, e.g. ``oidc.eks.eu-west-1.amazonaws.com/id/ABC``."""
    tags: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, *, account_id: pulumi.Input[str]) -> Irsa:
        return cls(account_id=account_id, region=settings.region, oidc_provider_arn=settings.cluster.oidc_provider_arn,
                   oidc_provider_url=settings.cluster.oidc_provider_url, tags=settings.tags)


def role_arn(account_id: pulumi.Input[str], role: aws.iam.Role) -> pulumi.Output[str]:
    """The role's ARN from its explicit name: known in preview, and it still depends on the role."""
    return partition.arn("iam", "", account_id, pulumi.Output.concat("role/", role.name))


def trust_policy(oidc_provider_arn: str, oidc_provider_url: str, namespace: pulumi.Input[str],
                 service_account: str) -> dict[str, Any]:
    """Only ``service_account`` in ``namespace``, through the cluster's OIDC provider (sub and aud pinned)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{oidc_provider_url}:sub": pulumi.Output.concat("system:serviceaccount:", namespace, ":",
                                                                 service_account),
                f"{oidc_provider_url}:aud": "sts.amazonaws.com",
            }},
        }],
    }


def rds_secret_statement(account_id: pulumi.Input[str], region: str, db_instance_identifier: str,
                         sid: str = "TheDatabaseSecret") -> dict[str, Any]:
    """``GetSecretValue`` on the one master secret of ``db_instance_identifier``.

    RDS names the secret ``rds!db-<uuid>`` and its ARN ends in a random suffix, so neither is known
    before RDS creates it. RDS tags it ``aws:rds:primaryDBInstanceArn`` (the instance ARN, known from
    the explicit identifier); ``aws:`` tags are reserved, so no one else can put that tag on another
    secret to widen this grant.
    """
    return {
        "Sid": sid, "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": partition.arn("secretsmanager", region, account_id, "secret:rds!db-*"),
        "Condition": {"StringEquals": {
            "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn":
                partition.arn("rds", region, account_id, f"db:{db_instance_identifier}"),
        }},
    }


def secret_reader_policy(irsa: Irsa, grant: RdsMasterSecretGrant) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        rds_secret_statement(irsa.account_id, irsa.region, grant.db_instance_identifier),
        key_statement("DecryptThroughSecretsManager", "kms:Decrypt", account_id=irsa.account_id,
                      region=irsa.region, alias=grant.kms_alias,
                      condition={"StringEquals": {"kms:ViaService": partition.service_host("secretsmanager", irsa.region)}}),
    ]}


def secret_reader_role(name: str, *, role_name: str, irsa: Irsa, namespace: pulumi.Input[str], service_account: str,
                       grant: RdsMasterSecretGrant, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Creates the role (``{name}-role``) and its inline policy (``{name}-policy``); returns the role ARN."""
    return service_account_role(name, role_name=role_name, irsa=irsa, namespace=namespace,
                                service_account=service_account, policy=secret_reader_policy(irsa, grant), parent=parent)


def service_account_role(name: str, *, role_name: str, irsa: Irsa, namespace: pulumi.Input[str],
                         service_account: str, policy: dict[str, Any], parent: pulumi.Resource) -> pulumi.Output[str]:
    """A role only ``service_account`` in ``namespace`` may assume, with one inline ``policy``: the role
    (``{name}-role``) and its policy (``{name}-policy``); returns the role ARN."""
    if len(role_name) > ROLE_NAME_MAX:
        raise ValueError(f"IAM role name {role_name!r} is {len(role_name)} characters; the limit is {ROLE_NAME_MAX}")
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-role", name=role_name,
                        assume_role_policy=pulumi.Output.json_dumps(
                            trust_policy(irsa.oidc_provider_arn, irsa.oidc_provider_url, namespace, service_account)),
                        tags=dict(irsa.tags), opts=child)
    aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=pulumi.Output.json_dumps(policy), opts=child)
    return role_arn(irsa.account_id, role)


def drill_policy(bucket_arn: pulumi.Input[str], *, account_id: pulumi.Input[str], region: str,
                 kms_alias: pulumi.Input[str], backup_prefix: str, report_prefix: str) -> dict[str, Any]:
    """The restore drill (components/drills.py): read the backups, write its reports, nothing else.

    No database secret and no ``PutObject`` on ``backup_prefix``: the drill restores into its own
    throw-away server and must never be able to touch the backups it proves. KMS only through S3
    (``kms:ViaService``): the key decrypts the objects it reads and encrypts the report it writes.
    """
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadBackups", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": pulumi.Output.concat(bucket_arn, "/", backup_prefix, "*")},
        {"Sid": "ListBackups", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [backup_prefix, f"{backup_prefix}*"]}}},
        {"Sid": "WriteReports", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": pulumi.Output.concat(bucket_arn, "/", report_prefix, "*")},
        key_statement("TheDataKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], account_id=account_id,
                      region=region, alias=kms_alias,
                      condition={"StringEquals": {"kms:ViaService": partition.service_host("s3", region)}}),
    ]}


def scoped_role(name: str, *, role_name: str, irsa: Irsa, namespace: pulumi.Input[str], service_account: str,
                policy: dict[str, Any], description: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """Creates a role only ``service_account`` in ``namespace`` assumes (``{name}-role``) and its inline
    ``policy`` (``{name}-policy``); returns the role ARN."""
    if len(role_name) > ROLE_NAME_MAX:
        raise ValueError(f"IAM role name {role_name!r} is {len(role_name)} characters; the limit is {ROLE_NAME_MAX}")
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-role", name=role_name, description=description,
                        assume_role_policy=pulumi.Output.json_dumps(
                            trust_policy(irsa.oidc_provider_arn, irsa.oidc_provider_url, namespace, service_account)),
                        max_session_duration=3600, tags=dict(irsa.tags), opts=child)
    aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=pulumi.Output.json_dumps(policy), opts=child)
    return role_arn(irsa.account_id, role)
