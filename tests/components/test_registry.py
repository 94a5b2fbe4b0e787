"""ECR: per-stack repositories, scan on push, tag mutability, KMS, lifecycle, pull policy, images."""

from __future__ import annotations

import json

import pytest
from helpers import environment_of, inputs

from components import registry
from components.registry import context_digest
from config import PROFILES
from config import PROJECT_DIR as ROOT
from tools import wire
from tools.offline import mockrun

REPO, IMAGE = "aws:ecr/repository:Repository", "docker:index/image:Image"
SERVICES = ("app", "backup")


def _repos(plan: mockrun.Plan) -> list[mockrun.Recorded]:
    return [plan.get(REPO, f"registry-{s}") for s in SERVICES]


def test_repositories_are_named_per_stack(plan: mockrun.Plan) -> None:
    for service, repo in zip(SERVICES, _repos(plan), strict=True):
        assert inputs(repo)["name"] == f"platform-{plan.stack}/{service}", repo.urn


def test_scan_on_push(plan: mockrun.Plan) -> None:
    for repo in _repos(plan):
        assert inputs(repo)["imageScanningConfiguration"] == {"scanOnPush": True}, repo.urn


def test_tags_are_immutable_in_every_environment(plan: mockrun.Plan) -> None:
    for repo in _repos(plan):
        assert inputs(repo)["imageTagMutability"] == "IMMUTABLE", repo.urn


def test_encrypted_with_the_environment_key(plan: mockrun.Plan) -> None:
    key_arn = plan.get("aws:kms/key:Key", "kms-key").outputs["arn"]
    for repo in _repos(plan):
        assert inputs(repo)["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn}], repo.urn


@pytest.mark.parametrize(("stack", "force"), [("pr-7", True), ("staging", False), ("production", False)])
def test_force_delete_only_for_ephemeral(plan: mockrun.Plan, force: bool) -> None:
    for repo in _repos(plan):
        assert inputs(repo)["forceDelete"] is force, repo.urn


def test_lifecycle_follows_the_profile(plan: mockrun.Plan) -> None:
    profile = PROFILES[environment_of(plan.stack)].registry
    policy = plan.get("aws:ecr/lifecyclePolicy:LifecyclePolicy", "registry-app-lifecycle")
    untagged, tagged = (r["selection"] for r in json.loads(inputs(policy)["policy"])["rules"])
    assert untagged["tagStatus"] == "untagged" and untagged["countNumber"] == profile.untagged_expiry_days, policy.urn
    assert tagged["countType"] == "imageCountMoreThan" and tagged["countNumber"] == profile.keep_tagged_images


def test_pulls_only_by_node_and_backup_roles(plan: mockrun.Plan) -> None:
    node_role = f"role/platform-{'staging' if plan.stack == 'pr-7' else plan.stack}-nodes"
    backup_role = plan.get("aws:iam/role:Role", "backups-role").outputs["arn"]
    for service in SERVICES:
        policy = plan.get("aws:ecr/repositoryPolicy:RepositoryPolicy", f"registry-{service}-pull")
        (statement,) = json.loads(inputs(policy)["policy"])["Statement"]
        principals = statement["Principal"]["AWS"]
        assert statement["Effect"] == "Allow" and len(principals) == 2, policy.urn
        assert backup_role in principals and any(p.endswith(node_role) for p in principals), principals
        # ECR rejects a principal that does not exist yet: the policy is written after the role.
        assert plan.get("aws:iam/role:Role", "backups-role").urn in policy.dependencies, policy.urn


def test_backup_image_build(plan: mockrun.Plan) -> None:
    image = inputs(plan.get(IMAGE, "registry-backup-image"))
    digest = context_digest(ROOT / "images/backup")
    assert image["build"] == {"context": "images/backup", "dockerfile": "images/backup/Dockerfile",
                              "platform": "linux/amd64", "args": {"SOURCE_DIGEST": digest}}, image
    assert image["registry"]["password"] == wire.REDACTED, "ECR token must stay secret"


def test_built_image_is_tagged_from_its_content_not_the_stack_file(plan: mockrun.Plan) -> None:
    name = inputs(plan.get(IMAGE, "registry-backup-image"))["imageName"]
    tag = "src-" + context_digest(ROOT / "images/backup")[:20]
    assert name.endswith(f"/platform-{plan.stack}/backup:{tag}"), name


def test_built_images_output_pinned_by_an_immutable_tag(plan: mockrun.Plan) -> None:
    # The app is not built here: it runs bootstrap's shared image by digest (test_shared_image.py).
    backup = plan.get(REPO, "registry-backup")
    assert inputs(backup)["imageTagMutability"] == "IMMUTABLE", backup.urn
    tag = "src-" + context_digest(ROOT / "images/backup")[:20]
    assert wire.plain(plan.stack_outputs)["images"]["backup"] == f"{backup.outputs['repositoryUrl']}:{tag}"


def test_app_image_is_built_when_a_build_context_is_configured(tmp_path) -> None:
    from helpers import run
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    built = run("staging", {"platform:app.buildContext": str(tmp_path)})
    image = inputs(built.get(IMAGE, "registry-app-image"))
    assert image["build"]["context"] == str(tmp_path) and image["build"]["platform"] == "linux/amd64", image
    assert image["imageName"].endswith(":src-" + context_digest(tmp_path)[:20]), image["imageName"]
    assert wire.plain(built.stack_outputs)["images"]["app"] == image["imageName"]
    deployment = built.get("kubernetes:apps/v1:Deployment", "app-blue-deployment")
    assert built.get(IMAGE, "registry-app-image").urn in deployment.dependencies, "pods roll only after the push"


def test_the_pack_reads_the_digest_under_the_name_the_program_writes() -> None:
    from policies.rules import preflight
    assert (preflight.SOURCE_DIGEST, preflight.SOURCE_TAG_HEX) == (registry.SOURCE_DIGEST, registry.SOURCE_TAG_HEX)


ACCOUNT_SINGLETONS = ("aws:ecr/pullThroughCacheRule:PullThroughCacheRule", "aws:ecr/registryPolicy:RegistryPolicy",
                      "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
                      "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration")


def test_no_platform_stack_owns_an_account_registry_singleton(plan: mockrun.Plan) -> None:
    # Staging and production may share an account, and PR stacks always share staging's: two owners
    # of one pull-through rule conflict at `pulumi up`. bootstrap/ owns them (tests/bootstrap).
    owned = [r.urn for r in plan.resources if r.type in ACCOUNT_SINGLETONS]
    assert owned == [], owned


def test_the_cache_prefix_the_images_use_is_the_one_bootstrap_creates(plan: mockrun.Plan) -> None:
    from bootstrap.components.registry import PULL_THROUGH_CACHES
    registry = wire.plain(plan.stack_outputs)["images"]["backup"].split("/", 1)[0]
    cached = [c["image"] for r in plan.resources if r.type in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
              for c in inputs(r)["spec"]["template"]["spec"]["containers"] if c["image"].startswith(registry + "/")
              and not c["image"].startswith((f"{registry}/platform-", f"{registry}/platform/"))]  # ours, not cached
    prefixes = {i.split("/")[1] for i in cached}
    assert cached and prefixes <= set(PULL_THROUGH_CACHES.values()), cached
