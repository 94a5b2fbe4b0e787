"""ECR: immutable, scanned, KMS-encrypted repositories with a lifecycle policy, never public."""

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
    unknown_msg,
)
from ._docs import public_statements

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
REGISTRY_POLICY = "aws:ecr/registryPolicy:RegistryPolicy"


@resource_rule(
    "aws-ecr-immutable-tags", types=(REPOSITORY,), severity="high",
    description="ECR image tags are immutable.",
    rows=("ECR-01",), anchors=("checkov:CKV_AWS_51", "trivy:AWS-0031", "fsbp:ECR.2"),
    fix="set imageTagMutability 'IMMUTABLE' (images are tagged with the git SHA, never reused)")
def immutable(props, ctx):
    value = props.get("imageTagMutability", "MUTABLE")
    if is_unknown(value):
        yield unknown_msg("imageTagMutability")
    elif value not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"imageTagMutability is '{value}': a pushed tag can be overwritten"


@resource_rule(
    "aws-ecr-scan-on-push", types=(REPOSITORY,), severity="high",
    description="ECR scans every image on push.",
    rows=("ECR-02",), anchors=("checkov:CKV_AWS_163", "trivy:AWS-0030", "fsbp:ECR.1"),
    fix="set imageScanningConfiguration.scanOnPush true")
def scan_on_push(props, ctx):
    yield from expect_flag(get(props, "imageScanningConfiguration.scanOnPush"), "imageScanningConfiguration.scanOnPush", True,
                           "imageScanningConfiguration.scanOnPush is not true")


@resource_rule(
    "aws-ecr-kms-encryption", types=(REPOSITORY,), severity="medium",
    description="ECR repositories are encrypted with KMS.",
    rows=("ECR-03",), anchors=("checkov:CKV_AWS_136",),
    fix="set encryptionConfigurations [{encryptionType: 'KMS', kmsKey: <the stack's key ARN>}]")
def kms(props, ctx):
    configs = as_list(props.get("encryptionConfigurations"))
    types = [get(c, "encryptionType", "AES256") for c in configs] or ["AES256"]
    if any(is_unknown(t) for t in types):
        yield unknown_msg("encryptionConfigurations[].encryptionType")
    elif "KMS" not in types and "KMS_DSSE" not in types:
        yield "the repository uses AES256 (S3-managed keys), not KMS"


@resource_rule(
    "aws-ecr-policy-not-public", types=(REPOSITORY_POLICY, REGISTRY_POLICY), severity="high",
    description="ECR repository and registry policies grant nothing to Principal '*' without a condition.",
    rows=("ECR-05",), anchors=("checkov:CKV_AWS_32", "trivy:AWS-0032"),
    fix="name the pulling roles (the cluster node role) as Principal instead of '*'")
def policy_not_public(props, ctx):
    yield from public_statements(
        props.get("policy"), invalid="the repository policy is not a JSON document, so it cannot be verified")


@stack_rule(
    "aws-ecr-lifecycle-policy", types=(REPOSITORY, LIFECYCLE), severity="medium",
    description="Every ECR repository has a lifecycle policy.",
    rows=("ECR-06",), anchors=("fsbp:ECR.3", "controltower:CT.ECR.PR.1"),
    fix="add a LifecyclePolicy for the repository (expire untagged images, keep the last N tagged)")
def lifecycle(resources, ctx):
    policies = by_type(resources, LIFECYCLE)
    for repo in by_type(resources, REPOSITORY):
        if not any(repo in related(p, [repo], "repository", "name", "id") for p in policies):
            yield repo.urn, f"repository '{repo.name}' has no LifecyclePolicy: images pile up forever"



