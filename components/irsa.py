"""IRSA roles that may read exactly one Secrets Manager secret (the RDS-managed master secret).

Used by the application and the Postgres exporter in managed mode: the password stays in
Secrets Manager; the pod fetches it at start with its own short-lived credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class Irsa:
    region: str
    oidc_provider_arn: str
    oidc_provider_url: str
    """Issuer without scheme, e.g. ``oidc.eks.eu-west-1.amazonaws.com/id/ABC``."""
    tags: Mapping[str, str]


def trust_policy(irsa: Irsa, namespace: pulumi.Input[str], service_account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": irsa.oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{irsa.oidc_provider_url}:sub": pulumi.Output.concat("system:serviceaccount:", namespace, ":",
                                                                      service_account),
                f"{irsa.oidc_provider_url}:aud": "sts.amazonaws.com",
            }},
        }],
    }


def secret_reader_policy(irsa: Irsa, secret_arn: pulumi.Input[str],
                         kms_key_arn: pulumi.Input[str] | None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [{"Sid": "TheDatabaseSecret", "Effect": "Allow",
                                         "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}]
    if kms_key_arn is not None:
        statements.append({"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt",
                           "Resource": kms_key_arn, "Condition": {"StringEquals": {
                               "kms:ViaService": f"secretsmanager.{irsa.region}.amazonaws.com"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def secret_reader_role(name: str, *, role_name: str, irsa: Irsa, namespace: pulumi.Input[str], service_account: str,
                       secret_arn: pulumi.Input[str], kms_key_arn: pulumi.Input[str] | None,
                       parent: pulumi.Resource) -> pulumi.Output[str]:
    """Creates the role (``{name}-role``) and its inline policy (``{name}-policy``); returns the role ARN."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(f"{name}-role", name=role_name,
                        assume_role_policy=pulumi.Output.json_dumps(trust_policy(irsa, namespace, service_account)),
                        tags=dict(irsa.tags), opts=child)
    aws.iam.RolePolicy(f"{name}-policy", role=role.id,
                       policy=pulumi.Output.json_dumps(secret_reader_policy(irsa, secret_arn, kms_key_arn)),
                       opts=child)
    return role.arn
