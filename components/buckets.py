"""The settings every private bucket of ours gets, in one place (the backup bucket, the bootstrap's
state bucket): owner-enforced objects, all public access blocked, versioning, SSE-KMS with a bucket
key. Each is its own resource since the AWS provider split them from ``aws.s3.Bucket``; ``opts``
carries the bucket's parent, ``depends_on`` and its protect/retain (a kept bucket keeps its settings).
"""

from __future__ import annotations

from typing import NamedTuple

import pulumi
import pulumi_aws as aws


class PrivateBucket(NamedTuple):
    public_access: aws.s3.BucketPublicAccessBlock
    """A bucket policy with a ``*`` principal must wait for it."""
    versioning: aws.s3.BucketVersioning
    """S3 refuses a replication configuration on either side until versioning is on."""


def private_bucket_settings(name: str, bucket: aws.s3.Bucket, kms_key_arn: pulumi.Input[str],
                            opts: pulumi.ResourceOptions) -> PrivateBucket:
    """Creates ``<name>-ownership``, ``-public-access``, ``-versioning`` and ``-encryption``."""
    aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                   rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
    public = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
        ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
    versioning = aws.s3.BucketVersioning(f"{name}-versioning", bucket=bucket.id,
                                         versioning_configuration={"status": "Enabled"}, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption", bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": kms_key_arn},
                "bucket_key_enabled": True}],
        opts=opts)
    return PrivateBucket(public_access=public, versioning=versioning)
