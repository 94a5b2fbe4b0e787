"""S3: every bucket private, encrypted with a customer key, versioned and expiring.

In pulumi-aws v7 a bucket's settings are separate resources (versioning, encryption, public
access block, ...), so most rules here are stack rules that join each companion to its bucket
through the ``bucket`` property (its property dependency in preview, its value in an export).
"""

from __future__ import annotations

from ._core import (
    as_list,
    by_type,
    expect_flag,
    get,
    is_unknown,
    related,
    resource_rule,
    stack_rule,
    truthy,
    unknown_msg,
)
from ._docs import allows, document_state, public_statements, statements

BUCKET = "aws:s3/bucket:Bucket"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
ACL = "aws:s3/bucketAcl:BucketAcl"
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"

_PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
_PUBLIC_GRANTEES = ("acs.amazonaws.com/groups/global/AllUsers",
                    "acs.amazonaws.com/groups/global/AuthenticatedUsers")


def _companions(resources, companion_type, bucket):
    return [c for c in by_type(resources, companion_type)
            if bucket in related(c, [bucket], "bucket", "bucket", "id")]


@resource_rule(
    "aws-s3-no-public-acl", types=(BUCKET, ACL), severity="critical",
    description="S3 buckets grant nothing to the public through ACLs.",
    rows=("S3-05",), anchors=("checkov:CKV_AWS_20", "checkov:CKV_AWS_57", "trivy:AWS-0092",
                              "fsbp:S3.2", "fsbp:S3.3"),
    fix="remove the public canned ACL and AllUsers/AuthenticatedUsers grants; keep ACLs disabled "
        "(BucketOwnershipControls BucketOwnerEnforced) and grant access with IAM instead")
def no_public_acl(props, ctx):
    acl = props.get("acl")
    if is_unknown(acl):
        yield unknown_msg("acl")
    elif acl in _PUBLIC_ACLS:
        yield f"the bucket ACL is '{acl}', which makes objects readable by anyone"
    grants = as_list(props.get("grants")) + as_list(get(props, "accessControlPolicy.grants"))
    for grant in grants:
        uri = get(grant, "uri") or get(grant, "grantee.uri") or ""
        if is_unknown(uri):
            yield unknown_msg("grants[].uri")
        elif any(uri.endswith(g) for g in _PUBLIC_GRANTEES):
            yield f"an ACL grant is given to the public group {uri.rsplit('/', 1)[-1]}"


@stack_rule(
    "aws-s3-encryption-kms", types=(BUCKET, SSE), severity="high",
    description="Every S3 bucket has default encryption with a customer-managed KMS key and "
                "an S3 Bucket Key.",
    rows=("S3-01", "S3-02", "S3-03"),
    anchors=("checkov:CKV_AWS_19", "checkov:CKV_AWS_145", "trivy:AWS-0088", "trivy:AWS-0132",
             "fsbp:S3.17"),
    fix="add a BucketServerSideEncryptionConfiguration for the bucket with "
        "sseAlgorithm 'aws:kms', kmsMasterKeyId = the stack's KMS key and bucketKeyEnabled true")
def encryption(resources, ctx):
    for bucket in by_type(resources, BUCKET):
        rules = [r for c in _companions(resources, SSE, bucket) for r in as_list(c.props.get("rules"))]
        rules += as_list(get(bucket.props, "serverSideEncryptionConfiguration.rules"))
        if not rules:
            yield bucket.urn, (f"bucket '{bucket.name}' has no server-side encryption "
                               "configuration (S3 falls back to SSE-S3 with an AWS-owned key)")
            continue
        for rule in rules:
            algorithm = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
            key = get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")
            if is_unknown(algorithm):
                yield bucket.urn, unknown_msg("rules[].applyServerSideEncryptionByDefault.sseAlgorithm")
            elif algorithm not in ("aws:kms", "aws:kms:dsse"):
                yield bucket.urn, (f"bucket '{bucket.name}' is encrypted with '{algorithm}', "
                                   "not a KMS key")
            elif key is None or key == "":
                yield bucket.urn, (f"bucket '{bucket.name}' uses the AWS-managed aws/s3 key, "
                                   "not a customer-managed key")
            if not is_unknown(algorithm) and algorithm == "aws:kms" and not truthy(
                    get(rule, "bucketKeyEnabled")):
                yield bucket.urn, f"bucket '{bucket.name}' does not enable the S3 Bucket Key"


_PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@stack_rule(
    "aws-s3-public-access-block", types=(BUCKET, PAB), severity="high",
    description="Every S3 bucket has a public access block with all four settings on.",
    rows=("S3-04",),
    anchors=("checkov:CKV2_AWS_6", "checkov:CKV_AWS_53", "checkov:CKV_AWS_54", "checkov:CKV_AWS_55",
             "checkov:CKV_AWS_56", "trivy:AWS-0094", "trivy:AWS-0086", "trivy:AWS-0087",
             "trivy:AWS-0091", "trivy:AWS-0093", "fsbp:S3.8"),
    fix="add a BucketPublicAccessBlock for the bucket with blockPublicAcls, blockPublicPolicy, "
        "ignorePublicAcls and restrictPublicBuckets all true")
def public_access_block(resources, ctx):
    for bucket in by_type(resources, BUCKET):
        blocks = _companions(resources, PAB, bucket)
        if not blocks:
            yield bucket.urn, f"bucket '{bucket.name}' has no BucketPublicAccessBlock"
        for block in blocks:
            for flag in _PAB_FLAGS:
                off = f"the public access block of bucket '{bucket.name}' leaves {flag} off"
                yield from ((block.urn, what) for what in expect_flag(block.props.get(flag), flag, True, off))


@stack_rule(
    "aws-s3-versioning", types=(BUCKET, VERSIONING), severity="high",
    description="Every S3 bucket (the pg_dump backup bucket above all) has versioning enabled.",
    rows=("S3-09",), anchors=("checkov:CKV_AWS_21", "trivy:AWS-0090", "fsbp:S3.14"),
    fix="add a BucketVersioning for the bucket with versioningConfiguration.status 'Enabled'")
def versioning(resources, ctx):
    for bucket in by_type(resources, BUCKET):
        configs = _companions(resources, VERSIONING, bucket)
        inline = get(bucket.props, "versioning.enabled")
        if not configs and not truthy(inline):
            yield bucket.urn, f"bucket '{bucket.name}' has no BucketVersioning (versioning is off)"
        for config in configs:
            status = get(config.props, "versioningConfiguration.status")
            if is_unknown(status):
                yield config.urn, unknown_msg("versioningConfiguration.status")
            elif status != "Enabled":
                yield config.urn, f"versioning of bucket '{bucket.name}' is '{status}', not 'Enabled'"


@stack_rule(
    "aws-s3-lifecycle", types=(BUCKET, LIFECYCLE), severity="medium",
    description="Every S3 bucket has lifecycle rules that expire objects and noncurrent versions "
                "and abort incomplete multipart uploads.",
    rows=("S3-12",), anchors=("checkov:CKV2_AWS_61", "checkov:CKV_AWS_300", "fsbp:S3.13"),
    fix="add a BucketLifecycleConfiguration with an Enabled rule setting expiration.days, "
        "noncurrentVersionExpiration.noncurrentDays and abortIncompleteMultipartUpload.daysAfterInitiation")
def lifecycle(resources, ctx):
    for bucket in by_type(resources, BUCKET):
        rules = [r for c in _companions(resources, LIFECYCLE, bucket) for r in as_list(c.props.get("rules"))]
        rules = [r for r in rules if isinstance(r, dict) and r.get("status", "Enabled") == "Enabled"]
        if not rules:
            yield bucket.urn, f"bucket '{bucket.name}' has no enabled lifecycle rule"
            continue
        for part in ("expiration", "noncurrentVersionExpiration", "abortIncompleteMultipartUpload"):
            if not any(r.get(part) not in (None, {}, []) for r in rules):
                yield bucket.urn, f"the lifecycle rules of bucket '{bucket.name}' set no {part}"


@resource_rule(
    "aws-s3-acls-disabled", types=(OWNERSHIP,), severity="medium",
    description="S3 object ownership is BucketOwnerEnforced (ACLs disabled).",
    rows=("S3-06",), anchors=("checkov:CKV2_AWS_65", "fsbp:S3.12"),
    fix="set rule.objectOwnership to 'BucketOwnerEnforced' (the AWS default for new buckets)")
def acls_disabled(props, ctx):
    ownership = get(props, "rule.objectOwnership")
    if is_unknown(ownership):
        yield unknown_msg("rule.objectOwnership")
    elif ownership != "BucketOwnerEnforced":
        yield f"object ownership is '{ownership}', which keeps ACLs in use"


@resource_rule(
    "aws-s3-policy-not-public", types=(POLICY, BUCKET), severity="high",
    description="S3 bucket policies grant nothing to Principal '*' without a condition.",
    rows=("S3-07",), anchors=("checkov:CKV_AWS_70", "checkov:CKV_AWS_93", "fsbp:S3.6"),
    fix="name the IAM role(s) that need access as Principal, or add a Condition "
        "(aws:PrincipalAccount / aws:SourceVpce) to the statement")
def policy_not_public(props, ctx):
    yield from public_statements(
        props.get("policy"), invalid="the bucket policy is not a JSON document, so it cannot be verified")


@stack_rule(
    "aws-s3-deny-insecure-transport", types=(BUCKET, POLICY), severity="medium",
    description="Every S3 bucket policy denies requests that do not use TLS.",
    rows=("S3-08",), anchors=("checkov:CKV_AWS_379", "fsbp:S3.5", "cis-aws:2.1.1"),
    fix="add a BucketPolicy with a Deny statement for Principal '*', Action 's3:*' on the bucket "
        "and its objects, Condition Bool aws:SecureTransport 'false'")
def deny_insecure_transport(resources, ctx):
    for bucket in by_type(resources, BUCKET):
        policies = [c.props.get("policy") for c in _companions(resources, POLICY, bucket)]
        if bucket.props.get("policy"):
            policies.append(bucket.props["policy"])
        if any(document_state(p) == "unknown" for p in policies):
            yield bucket.urn, unknown_msg("policy")
            continue
        denies = [st for p in policies for st in statements(p) if not allows(st)
                  and str(get(st, "Condition.Bool.aws:SecureTransport", "")).lower() == "false"]
        if not denies:
            yield bucket.urn, f"no policy of bucket '{bucket.name}' denies non-TLS (aws:SecureTransport=false) requests"


@stack_rule(
    "aws-s3-backup-object-lock", types=(BUCKET, OBJECT_LOCK), severity="medium",
    description="Backup buckets keep objects under Object Lock (WORM) retention.",
    rows=("S3-13",), anchors=("checkov:CKV_AWS_143", "fsbp:S3.15"), category="protection",
    fix="create the bucket with objectLockEnabled true and add a BucketObjectLockConfiguration "
        "with a GOVERNANCE/COMPLIANCE defaultRetention no longer than the lifecycle expiry")
def backup_object_lock(resources, ctx):
    for bucket in by_type(resources, BUCKET):
        if "backup" not in bucket.name:
            continue
        if not truthy(bucket.props.get("objectLockEnabled")):
            yield bucket.urn, f"backup bucket '{bucket.name}' is created without Object Lock"
            continue
        locks = _companions(resources, OBJECT_LOCK, bucket)
        if not any(get(lock.props, "rule.defaultRetention") for lock in locks):
            yield bucket.urn, f"backup bucket '{bucket.name}' has no default Object Lock retention"

