"""The DIY state backend and the account's ECR singletons, as planned."""

from __future__ import annotations

import json

from bootstrap_helpers import STACKS, account_of, document, inputs, plan_of, policy_of

from components import kubernetes

S3 = "aws:s3/"


def _on_bucket(plan, kind: str, name: str):
    return inputs(plan.get(f"{S3}{kind}", name))


@STACKS
def test_state_bucket_is_named_for_account_and_region_and_kept(stack):
    bootstrap_plan = plan_of(stack)
    bucket = bootstrap_plan.get(f"{S3}bucket:Bucket", "state-bucket")
    assert inputs(bucket)["bucket"] == f"platform-state-{account_of(bootstrap_plan)}-eu-west-1"
    assert bucket.protect and bucket.retain_on_delete, bucket.urn
    key = bootstrap_plan.get("aws:kms/key:Key", "state-key")
    assert key.protect and key.retain_on_delete and inputs(key)["enableKeyRotation"] is True, key.urn


@STACKS
def test_state_bucket_versioned_kms_encrypted_private(stack):
    bootstrap_plan = plan_of(stack)
    p = bootstrap_plan
    assert _on_bucket(p, "bucketVersioning:BucketVersioning", "state-versioning")[
        "versioningConfiguration"] == {"status": "Enabled"}
    [rule] = _on_bucket(p, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                        "state-encryption")["rules"]
    key_arn = p.get("aws:kms/key:Key", "state-key").outputs["arn"]
    assert rule == {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
                    "bucketKeyEnabled": True}
    block = _on_bucket(p, "bucketPublicAccessBlock:BucketPublicAccessBlock", "state-public-access")
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets")), block
    assert _on_bucket(p, "bucketOwnershipControls:BucketOwnershipControls", "state-ownership")[
        "rule"] == {"objectOwnership": "BucketOwnerEnforced"}


@STACKS
def test_state_bucket_policy_denies_plain_http_and_non_kms_writes(stack):
    bootstrap_plan = plan_of(stack)
    statements = {s["Sid"]: s for s in document(bootstrap_plan.get(f"{S3}bucketPolicy:BucketPolicy", "state-policy"),
                                                "policy")["Statement"]}
    tls = statements["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyNonKmsUploads"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}


@STACKS
def test_state_lifecycle_never_expires_current_state(stack):
    bootstrap_plan = plan_of(stack)
    [rule] = _on_bucket(bootstrap_plan, "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                        "state-lifecycle")["rules"]
    assert "expiration" not in rule and rule["noncurrentVersionExpiration"] == {"noncurrentDays": 90}


@STACKS
def test_pull_through_cache_uses_the_prefix_the_platform_pulls_from(stack):
    bootstrap_plan = plan_of(stack)
    rule = inputs(bootstrap_plan.get("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "registry-ecr-public-cache"))
    assert rule == {"ecrRepositoryPrefix": kubernetes.ECR_PUBLIC_CACHE_PREFIX, "upstreamRegistryUrl": "public.ecr.aws"}


@STACKS
def test_registry_policy_lets_only_the_node_roles_fill_the_cache(stack):
    bootstrap_plan = plan_of(stack)
    account = account_of(bootstrap_plan)
    env = bootstrap_plan.stack.split("-")[0]
    [st] = document(bootstrap_plan.get("aws:ecr/registryPolicy:RegistryPolicy", "registry-policy"), "policy")["Statement"]
    assert st["Principal"] == {"AWS": [f"arn:aws:iam::{account}:role/platform-{env}-nodes"]}
    assert st["Action"] == ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"]
    assert st["Resource"] == [f"arn:aws:ecr:eu-west-1:{account}:repository/{p}/*"
                              for p in ("ecr-public", "quay", "registry-k8s", "ghcr", "docker-hub")]


@STACKS
def test_a_cache_rule_and_template_for_every_upstream_the_platform_pulls_from(stack):
    bootstrap_plan = plan_of(stack)
    rules = {inputs(r)["upstreamRegistryUrl"].replace("registry-1.", ""): inputs(r)["ecrRepositoryPrefix"]
             for r in bootstrap_plan.resources if r.type == "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"}
    templates = {inputs(r)["prefix"] for r in bootstrap_plan.resources
                 if r.type == "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"}
    assert rules == dict(kubernetes.PULL_THROUGH_CACHES) and templates == set(rules.values()), rules


@STACKS
def test_creation_template_encrypts_with_our_key_immutable_with_lifecycle(stack):
    bootstrap_plan = plan_of(stack)
    t = inputs(bootstrap_plan.get("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
                                  "registry-ecr-public-template"))
    key_arn = bootstrap_plan.get("aws:kms/key:Key", "registry-key-key").outputs["arn"]
    assert (t["prefix"], t["appliedFors"], t["imageTagMutability"]) == ("ecr-public", ["PULL_THROUGH_CACHE"],
                                                                        "IMMUTABLE")
    assert t["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}]
    assert t["customRoleArn"].endswith(":role/platform-ecr-creation-template")
    assert {r["selection"]["tagStatus"] for r in json.loads(t["lifecyclePolicy"])["rules"]} == {
        "untagged", "tagged"}


def test_shared_app_repository_only_in_the_build_account():
    repo = inputs(plan_of("staging-eu-west-1").get("aws:ecr/repository:Repository", "registry-app"))
    assert repo["name"] == "platform/app" and repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    assert not plan_of("production-eu-west-1").by_type("aws:ecr/repository:Repository")


def test_production_account_pulls_the_shared_images():
    policy = document(plan_of("staging-eu-west-1").get("aws:ecr/repositoryPolicy:RepositoryPolicy",
                                                                  "registry-app-policy"), "policy")
    [st] = policy["Statement"]
    assert "arn:aws:iam::210987654321:root" in st["Principal"]["AWS"]
    assert not any(a.startswith(("ecr:Put", "ecr:Delete", "ecr:Upload")) for a in st["Action"]), st["Action"]


def test_production_deploys_read_the_shared_images_where_they_are():
    # The platform's production stack looks up platform/app in the build account (platform:registryAccount):
    # its deploy role may describe those images there, the only cross-account grant it has.
    [shared] = [s for s in policy_of(plan_of("production-eu-west-1"), "deploy-production")["Statement"]
                if s["Sid"] == "SharedImages"]
    assert shared["Resource"] == "arn:aws:ecr:eu-west-1:123456789012:repository/platform/*", shared
    assert "ecr:DescribeImages" in shared["Action"]
