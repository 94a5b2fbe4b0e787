"""The environment's customer-managed KMS key: every data store, log group and backup uses it.

Creates: a symmetric key with yearly rotation and an explicit key policy, and ``alias/<name>``.

Kept with the data: where the profile protects or retains data (production), the key and its alias
are ``protect``ed and ``retain_on_delete`` too. A destroy that keeps the RDS final snapshot, the
retained backups, the Redis snapshots and the kept bucket but schedules the key's deletion would
make all of them unreadable (``aws-protected-data-dependencies-protected``).

Key policy, and why it names no roles: the account root statement delegates use of the key to
IAM, and each role's identity policy grants exactly the actions it needs on this one key (the
backup role: ``kms:GenerateDataKey`` and ``kms:Decrypt``). KMS rejects principals that do not
exist yet, so naming the roles here would tie the key to them. The only service principal is
CloudWatch Logs, scoped by encryption context to this account's log groups in this region. No
statement has a wildcard principal.

Identity policies name the key by its alias (``key_statement``), not its ARN: the ARN holds a
random key id, unknown until KMS creates the key, and every policy document must be readable by
the policy pack in a new stack's first preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components import partition

if TYPE_CHECKING:
    from config import Settings


@dataclass(frozen=True, kw_only=True)
class KmsKeyArgs:
    alias: str
    """``alias/platform-<stack>``."""
    deletion_window_days: int
    """The profile's ``kms_deletion_window_days`` (30 in production: time to notice a mistaken deletion)."""
    tags: Mapping[str, str]
    protect: bool = False
    """The profile's ``protect_data``: the key is protected like the data it encrypts."""
    retain_on_delete: bool = False
    """Kept by a destroy whenever anything it encrypts is kept (protected stores, retained backups)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> KmsKeyArgs:
        profile = settings.profile
        return cls(alias=f"alias/{settings.name}", deletion_window_days=profile.kms_deletion_window_days,
                   tags=settings.tags, protect=profile.protect_data,
                   retain_on_delete=profile.protect_data or profile.backups.retain_on_delete)


def key_policy(account_id: str, region: str, partition: str, dns_suffix: str) -> dict[str, Any]:
    root = f"arn:{partition}:iam::{account_id}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountRootDelegatesToIam",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.{dns_suffix}"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                           "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*",
                }},
            },
        ],
    }


def key_statement(sid: str, actions: str | Sequence[str], *, account_id: pulumi.Input[str], region: str,
                  alias: pulumi.Input[str], condition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An identity-policy statement granting ``actions`` on the key behind ``alias`` only.

    Named by alias because the key's ARN holds a random id, unknown until KMS creates the key (so
    in the first preview of a stack): ``key/*`` in this account and region, narrowed to the one key
    that ``alias`` points at (``kms:ResourceAliases``; the stack owns the alias and alias names are
    unique per account and region). Only key-resource operations evaluate that condition key, which
    is all an IRSA role is ever granted here (Decrypt, GenerateDataKey).
    """
    return {"Sid": sid, "Effect": "Allow", "Action": actions if isinstance(actions, str) else list(actions),
            "Resource": partition.arn("kms", region, account_id, "key/*"),
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}, **(condition or {})}}


class KmsKey(pulumi.ComponentResource):
    """Creates: the key (rotation on, explicit policy) and its alias."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]
    alias: pulumi.Output[str]

    def __init__(self, name: str, args: KmsKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:KmsKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.retain_on_delete)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self))
        part = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self))
        policy = pulumi.Output.all(identity.account_id, region.region, part.partition, part.dns_suffix).apply(
            lambda ar: json.dumps(key_policy(*ar)))

        key = aws.kms.Key(
            f"{name}-key",
            description=f"Data encryption key for {args.alias.removeprefix('alias/')}",
            enable_key_rotation=True,
            deletion_window_in_days=args.deletion_window_days,
            policy=policy,
            tags=dict(args.tags),
            opts=child,
        )
        alias = aws.kms.Alias(f"{name}-alias", name=args.alias, target_key_id=key.key_id, opts=child)

        self.arn = key.arn
        self.key_id = key.key_id
        self.alias = alias.name
        self.register_outputs({"arn": self.arn, "alias": self.alias})
