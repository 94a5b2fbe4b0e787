"""Backups: the bucket's security settings, the IRSA role, the CronJob and the backup image."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import environment_of, inputs

from config import PROFILES
from tools import wire
from tools.offline import mockrun

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "aws:s3/bucket:Bucket"


def _statements(plan: mockrun.Plan, type_: str, name: str, field: str) -> list[dict]:
    return json.loads(inputs(plan.get(type_, name))[field])["Statement"]


def test_bucket_named_per_stack_account_and_region(plan: mockrun.Plan) -> None:
    bucket = plan.get(BUCKET, "backups-bucket")
    account = plan.get("aws:kms/key:Key", "kms-key").outputs["arn"].split(":")[4]
    name = inputs(bucket)["bucket"]
    assert name == f"platform-{plan.stack}-backups-{account}-eu-west-1" and "bucketPrefix" not in inputs(bucket), name
    assert len(name) <= 63 and name == name.lower(), name


def test_bucket_name_checked_for_length_before_anything_runs() -> None:
    from components.backups import BackupStorage, BackupStorageArgs
    from components.connections import InKubernetesSecret
    args = BackupStorageArgs(prefix="platform-" + "x" * 30, account_id="123456789012", region="ap-southeast-5",
                             profile=PROFILES["staging"].backups, protect=False, kms_key_arn="k", kms_alias="a",
                             oidc_provider_arn="o", oidc_provider_url="u", namespace="n",
                             db_password=InKubernetesSecret(name="postgres-credentials"), tags={})
    with pytest.raises(ValueError, match="at most 63"):
        BackupStorage("backups", args)


def test_versioning_and_kms_encryption_with_bucket_key(plan: mockrun.Plan) -> None:
    key_arn = plan.get("aws:kms/key:Key", "kms-key").outputs["arn"]
    versioning = inputs(plan.get("aws:s3/bucketVersioning:BucketVersioning", "backups-versioning"))
    (rule,) = inputs(plan.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                              "backups-encryption"))["rules"]
    assert versioning["versioningConfiguration"]["status"] == "Enabled", versioning
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    assert rule["bucketKeyEnabled"] is True, rule


def test_public_access_blocked_and_owner_enforced(plan: mockrun.Plan) -> None:
    block = inputs(plan.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access"))
    owner = inputs(plan.get("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "backups-ownership"))
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block[f] is True for f in flags), block
    assert owner["rule"]["objectOwnership"] == "BucketOwnerEnforced", owner


def test_bucket_policy_denies_plain_http_and_non_kms_uploads(plan: mockrun.Plan) -> None:
    statements = _statements(plan, "aws:s3/bucketPolicy:BucketPolicy", "backups-policy", "policy")
    conditions = [json.dumps(s["Condition"]) for s in statements if s["Effect"] == "Deny"]
    assert any('"aws:SecureTransport": "false"' in c for c in conditions), conditions
    assert any('"s3:x-amz-server-side-encryption": "aws:kms"' in c for c in conditions), conditions
    assert any('"s3:x-amz-server-side-encryption": "true"' in c for c in conditions), conditions


def test_only_the_backup_role_may_write_backups(plan: mockrun.Plan) -> None:
    # With the roles' KMS grants limited to this environment's key, uploads can carry no other key.
    statements = {s["Sid"]: s for s in _statements(plan, "aws:s3/bucketPolicy:BucketPolicy", "backups-policy", "policy")}
    role = plan.get("aws:iam/role:Role", "backups-role").outputs["arn"]
    only = statements["OnlyTheBackupRoleWritesBackups"]
    assert (only["Effect"], only["Principal"], only["Action"]) == ("Deny", "*", "s3:PutObject"), only
    assert only["Resource"] == f"arn:aws:s3:::{inputs(plan.get(BUCKET, 'backups-bucket'))['bucket']}/postgres/*", only
    assert only["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role}}, only


def test_nobody_else_writes_anywhere_in_the_bucket(plan: mockrun.Plan) -> None:
    statements = {s["Sid"]: s for s in _statements(plan, "aws:s3/bucketPolicy:BucketPolicy", "backups-policy", "policy")}
    roles = plan.by_type("aws:iam/role:Role")
    writers = [r.outputs["arn"] for name in ("backups-role", "backup-drill-role") for r in roles if r.name == name]
    every = statements["OnlyTheJobRolesWrite"]
    assert (every["Effect"], every["Action"]) == ("Deny", "s3:PutObject") and every["Resource"].endswith("/*"), every
    assert every["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": writers[0] if len(writers) == 1 else writers}}


def test_lifecycle_expires_after_the_profile_retention(plan: mockrun.Plan) -> None:
    days = PROFILES[environment_of(plan.stack)].backups.retention_days
    (rule,) = inputs(plan.get("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                              "backups-lifecycle"))["rules"]
    assert rule["expiration"]["days"] == days and rule["noncurrentVersionExpiration"]["noncurrentDays"] == days
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 1 and rule["status"] == "Enabled"


@pytest.mark.parametrize(("stack", "force", "protect", "retain"), [
    ("pr-7", True, False, False), ("staging", False, False, False), ("production", False, True, True)])
def test_bucket_teardown_per_environment(plan: mockrun.Plan, force: bool, protect: bool, retain: bool) -> None:
    bucket = plan.get(BUCKET, "backups-bucket")
    assert inputs(bucket)["forceDestroy"] is force, bucket.urn
    assert (bucket.protect, bucket.retain_on_delete) == (protect, retain), bucket.urn


def test_role_trusts_only_the_backup_service_account(plan: mockrun.Plan) -> None:
    (statement,) = _statements(plan, "aws:iam/role:Role", "backups-role", "assumeRolePolicy")
    namespace = "pr-7" if plan.stack == "pr-7" else "app"
    (cond,) = statement["Condition"].values()
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity" and "StringEquals" in statement["Condition"]
    assert sorted(cond.values()) == sorted([f"system:serviceaccount:{namespace}:backup", "sts.amazonaws.com"]), cond
    assert statement["Principal"]["Federated"].startswith("arn:aws:iam::") and ":oidc-provider/" in str(statement)


def test_role_policy_is_least_privilege(plan: mockrun.Plan) -> None:
    statements = {s["Sid"]: s for s in _statements(plan, "aws:iam/rolePolicy:RolePolicy", "backups-role-policy",
                                                    "policy")}
    assert statements["ObjectsUnderPrefix"]["Action"] == ["s3:PutObject", "s3:GetObject"]
    assert statements["ObjectsUnderPrefix"]["Resource"].endswith("/postgres/*"), statements
    assert statements["ListPrefix"]["Condition"]["StringLike"]["s3:prefix"] == ["postgres/", "postgres/*"]
    assert statements["TheDataKey"]["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    # The key by its alias (its ARN is unknown in a first preview): key/* narrowed to the one alias.
    assert statements["TheDataKey"]["Resource"].endswith(":key/*"), statements["TheDataKey"]
    assert statements["TheDataKey"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/platform-{plan.stack}"}}
    assert ("DatabaseCredentials" in statements) is (plan.stack != "pr-7"), sorted(statements)
    if "DatabaseCredentials" in statements:
        secret = statements["DatabaseCredentials"]
        assert secret["Resource"].endswith(":secret:rds!db-*"), secret
        assert secret["Condition"]["StringEquals"]["secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn"].endswith(
            f":db:platform-{plan.stack}-postgres"), secret
    assert all("*" != s["Resource"] for s in statements.values()), statements


def _cronjob(plan: mockrun.Plan) -> tuple[mockrun.Recorded, dict]:
    cron = plan.get("kubernetes:batch/v1:CronJob", "backup-cronjob")
    return cron, inputs(cron)["spec"]


def test_cronjob_schedule_and_limits(plan: mockrun.Plan) -> None:
    cron, spec = _cronjob(plan)
    job = spec["jobTemplate"]["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("0 2 * * *", "Etc/UTC", "Forbid")
    assert spec["startingDeadlineSeconds"] and spec["successfulJobsHistoryLimit"] and spec["failedJobsHistoryLimit"]
    assert job["activeDeadlineSeconds"] and job["backoffLimit"] and job["ttlSecondsAfterFinished"], cron.urn


def test_cronjob_pod_runs_as_backup_with_irsa(plan: mockrun.Plan) -> None:
    cron, spec = _cronjob(plan)
    pod = spec["jobTemplate"]["spec"]["template"]
    sa = inputs(plan.get("kubernetes:core/v1:ServiceAccount", "backup-sa"))
    role_arn = plan.get("aws:iam/role:Role", "backups-role").outputs["arn"]
    assert pod["spec"]["serviceAccountName"] == "backup" and pod["metadata"]["labels"]["app.kubernetes.io/name"] == "backup"
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role_arn, cron.urn


def test_cronjob_pod_is_restricted_and_uses_the_pinned_image(plan: mockrun.Plan) -> None:
    cron, spec = _cronjob(plan)
    (c,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    image = plan.get("docker:index/image:Image", "registry-backup-image")
    # The immutable tag that was pushed (a digest is unknown until the push), and only after it.
    assert c["image"] == inputs(image)["imageName"] and c["resources"]["limits"], cron.urn
    assert image.urn in cron.dependencies, f"{cron.urn} must roll out after the push"
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]["securityContext"]
    assert c["securityContext"]["runAsUser"] >= 10000 and pod["runAsNonRoot"] and pod["runAsUser"] >= 10000, cron.urn


def test_cronjob_reads_credentials_from_files_never_env(plan: mockrun.Plan) -> None:
    cron, spec = _cronjob(plan)
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    # env: only downward-API fields (the namespace), never a value or a Secret reference.
    assert all(set(e) == {"name", "valueFrom"} and set(e["valueFrom"]) == {"fieldRef"} for e in c.get("env", [])), c
    assert c["envFrom"] == [{"configMapRef": {"name": "backup-config"}}], cron.urn
    assert volumes["pgpass"]["emptyDir"]["medium"] == "Memory", volumes
    assert ("credentials" in volumes) is (plan.stack == "pr-7"), sorted(volumes)


def test_backup_config_points_at_the_bucket_and_the_credentials(plan: mockrun.Plan) -> None:
    data = inputs(plan.get("kubernetes:core/v1:ConfigMap", "backup-config"))["data"]
    assert data["BACKUP_BUCKET"] == wire.plain(plan.stack_outputs)["backupBucket"] and data["BACKUP_PREFIX"] == "postgres/"
    key = "PGPASSWORD_FILE" if plan.stack == "pr-7" else "PG_SECRET_ARN"
    assert key in data and data["BACKUP_KMS_KEY_ARN"].startswith("arn:aws:kms:"), sorted(data)


def test_backup_image_is_non_root_pinned_and_matches_the_postgres_major() -> None:
    from components import postgres
    dockerfile = (ROOT / "images/backup/Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    assert base.startswith(f"postgres:{postgres.MAJOR_VERSION}.") and "latest" not in base, base
    assert re.search(r"^USER 65532:65532$", dockerfile, re.M) and "HEALTHCHECK" in dockerfile, dockerfile


def test_backup_script_uploads_with_sse_kms_to_the_prefix() -> None:
    script, common = ((ROOT / "images/backup" / f).read_text() for f in ("backup.sh", "common.sh"))
    assert '--sse aws:kms --sse-kms-key-id "$BACKUP_KMS_KEY_ARN"' in common and 'put_object "$dump" "$key"' in script
    assert 'key="${BACKUP_PREFIX}${stamp}.dump"' in script and "stamp=$(date -u +%Y%m%dT%H%M%SZ)" in script, script
