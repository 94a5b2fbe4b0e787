"""The DIY Pulumi backend of this account: a state bucket and the secrets-provider key.

Creates: a KMS key ``alias/platform-state`` (rotation, 30-day deletion window; also the bucket's
SSE-KMS key), and the bucket ``platform-state-<account>-<region>``: versioned (a bad write or a
deleted stack can be rolled back), SSE-KMS with a bucket key, all public access blocked, ACLs
disabled, a policy denying plain HTTP and non-KMS uploads, noncurrent versions kept 90 days.
Both are ``protect``ed and retained if the bootstrap stack is ever deleted: they hold every
other stack's state.

Use: ``pulumi login s3://<bucket>`` and ``--secrets-provider awskms://alias/platform-state?region=<region>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from bootstrap.components.permissions import STATE_KEY_ALIAS
from components.buckets import private_bucket_settings
from components.kms import key_policy

NONCURRENT_DAYS = 90


@dataclass(frozen=True, kw_only=True)
class StateBackendArgs:
    account_id: pulumi.Input[str]
    region: str
    tags: Mapping[str, str]


def bucket_name(account_id: str, region: str) -> str:
    return f"platform-state-{account_id}-{region}"


def bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Denies only (the public-access block forbids any public grant): no plain HTTP, no non-KMS writes."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyNonKmsUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": f"{bucket_arn}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
    ]}


class StateBackend(pulumi.ComponentResource):
    """Creates: the key and its alias, the bucket and its versioning, encryption,
    public-access block, ownership controls, lifecycle and policy."""

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:bootstrap:StateBackend", name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        # Not components.kms.KmsKey: this key must be retained too (a component's children do not
        # inherit retain_on_delete), and it decrypts every stack's secrets.
        part = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self))
        policy = pulumi.Output.all(args.account_id, part.partition, part.dns_suffix).apply(
            lambda a: json.dumps(key_policy(a[0], args.region, a[1], a[2])))
        key = aws.kms.Key(f"{name}-key", description="Pulumi state: bucket encryption and the secrets provider",
                          enable_key_rotation=True, deletion_window_in_days=30, policy=policy, tags=dict(args.tags),
                          opts=keep)
        alias = aws.kms.Alias(f"{name}-key-alias", name=STATE_KEY_ALIAS, target_key_id=key.key_id, opts=keep)
        physical = pulumi.Output.from_input(args.account_id).apply(lambda a: bucket_name(a, args.region))
        bucket = aws.s3.Bucket(f"{name}-bucket", bucket=physical, tags=dict(args.tags), opts=keep)
        arn = pulumi.Output.concat("arn:", part.partition, ":s3:::", bucket.bucket)
        # The bucket's settings are kept with it: a destroy that keeps the state must not strip its
        # encryption, public-access block, policy or versioning (aws-protected-data-dependencies-protected).
        on_bucket = pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[bucket]))
        public = private_bucket_settings(name, bucket, key.arn, on_bucket).public_access
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket.id,
            rules=[{"id": "old-state-versions", "status": "Enabled", "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_DAYS},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1}}],
            opts=on_bucket)
        # After the public-access block: a policy with Principal "*" (denies only) must not race it.
        aws.s3.BucketPolicy(f"{name}-policy", bucket=bucket.id, policy=arn.apply(lambda a: json.dumps(bucket_policy(a))),
                            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(depends_on=[public])))
        self.bucket: pulumi.Output[str] = bucket.bucket
        self.key_alias: pulumi.Output[str] = alias.name
        self.register_outputs({"bucket": self.bucket, "keyAlias": self.key_alias})
