"""The restore drill (components/drills.py): schedule per profile, its own IAM scope, a restricted
throw-away pod that cleans up after itself, and ``python -m tools restore --drill``."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import environment_of, inputs

from config import PROFILES
from tools import cli
from tools.delivery import restore
from tools.offline.checks import admission
from tools.offline.checks.base import Obj
from tools.offline.plan import manifests

CRON = "kubernetes:batch/v1:CronJob"
ROLE, POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"
DRILLED = ["staging", "production"]


def _drill(plan) -> dict:
    return inputs(plan.get(CRON, "backup-drill-cronjob"))["spec"]


def _pod(plan) -> dict:
    return _drill(plan)["jobTemplate"]["spec"]["template"]["spec"]


def _policy(plan) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(inputs(plan.get(POLICY, "backup-drill-policy"))["policy"])["Statement"]}


def test_drills_only_where_the_profile_schedules_them(plan) -> None:
    names = {r.name for r in plan.resources}
    schedule = PROFILES[environment_of(plan.stack)].backups.drill_schedule
    expected = {"backup-drill-cronjob", "backup-drill-role", "namespaces-app-allow-restore-drill"}
    assert expected & names == (expected if schedule else set()), f"{plan.stack}: {sorted(expected & names)}"
    if schedule is not None:
        assert (_drill(plan)["schedule"], _drill(plan)["timeZone"]) == (schedule, "Etc/UTC"), plan.stack


@pytest.mark.parametrize("stack", DRILLED)
def test_weekly_and_never_beside_the_backup_job(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    backup, drill = inputs(plan.get(CRON, "backup-cronjob"))["spec"], _drill(plan)
    minute, hour, dom, month, dow = drill["schedule"].split()
    assert (dom, month, drill["concurrencyPolicy"]) == ("*", "*", "Forbid") and dow.isdigit(), drill
    b_minute, b_hour, *daily = backup["schedule"].split()
    backup_end = int(b_hour) * 3600 + int(b_minute) * 60 + backup["startingDeadlineSeconds"] + backup[
        "jobTemplate"]["spec"]["activeDeadlineSeconds"]
    start = int(hour) * 3600 + int(minute) * 60
    drill_end = start + drill["startingDeadlineSeconds"] + drill["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    assert daily == ["*", "*", "*"] and backup_end <= start and drill_end <= 24 * 3600 + int(b_hour) * 3600, (
        f"{stack}: the backup may run until {backup_end} s after midnight, the drill {start}..{drill_end} s")


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_role_reads_backups_writes_reports_only(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    bucket = inputs(plan.get("aws:s3/bucket:Bucket", "backups-bucket"))["bucket"]
    s = _policy(plan)
    assert (s["ReadBackups"]["Action"], s["ReadBackups"]["Resource"]) == ("s3:GetObject", f"arn:aws:s3:::{bucket}/postgres/*")
    assert (s["WriteReports"]["Action"], s["WriteReports"]["Resource"]) == (
        "s3:PutObject", f"arn:aws:s3:::{bucket}/drills/postgres/*"), s["WriteReports"]
    assert (s["ListBackups"]["Resource"], s["ListBackups"]["Condition"]) == (
        f"arn:aws:s3:::{bucket}", {"StringLike": {"s3:prefix": ["postgres/", "postgres/*"]}}), s["ListBackups"]
    assert sorted(s) == ["ListBackups", "ReadBackups", "TheDataKeyThroughS3", "WriteReports"], f"{stack}: {sorted(s)}"
    assert all(st["Effect"] == "Allow" and "*" not in str(st["Action"]) for st in s.values()), s


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_role_uses_only_the_stacks_key_and_only_through_s3(plan_of, stack: str) -> None:
    key = _policy(plan_of(stack))["TheDataKeyThroughS3"]
    assert key["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] and key["Resource"].endswith(":key/*"), key
    assert key["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/platform-{stack}"},
                                "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}, key


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_role_trusts_only_the_restore_drill_service_account(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    role = plan.get(ROLE, "backup-drill-role")
    (statement,) = json.loads(inputs(role)["assumeRolePolicy"])["Statement"]
    (cond,) = statement["Condition"].values()
    assert sorted(cond.values()) == ["sts.amazonaws.com", "system:serviceaccount:app:restore-drill"], role.urn
    sa = inputs(plan.get("kubernetes:core/v1:ServiceAccount", "backup-drill-sa"))
    arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert arn == role.outputs["arn"] and arn.endswith(f":role/platform-{stack}-restore-drill"), sa


@pytest.mark.parametrize("stack", DRILLED)
def test_only_the_drill_role_writes_reports(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    policy = json.loads(inputs(plan.get("aws:s3/bucketPolicy:BucketPolicy", "backups-policy"))["policy"])
    (only,) = [s for s in policy["Statement"] if s["Sid"] == "OnlyTheDrillRoleWritesReports"]
    assert only["Effect"] == "Deny" and only["Resource"].endswith("/drills/postgres/*"), only
    assert only["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": plan.get(ROLE, "backup-drill-role").outputs["arn"]}}


def test_no_drill_statements_without_drills(plan_of) -> None:
    policy = inputs(plan_of("pr-7").get("aws:s3/bucketPolicy:BucketPolicy", "backups-policy"))["policy"]
    assert "drills/" not in policy and "restore-drill" not in policy, policy


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_pod_passes_restricted_admission(plan_of, stack: str) -> None:
    objects = [Obj(body) for body in manifests(plan_of(stack)).values()]
    (cron,) = [o for o in objects if o.kind == "CronJob" and o.name == "postgres-restore-drill"]
    levels = admission.namespace_levels(objects)
    assert levels["app"] == "restricted" and admission.violations(admission.pod_spec(cron), {}, "restricted") == []
    (c,) = _pod(plan_of(stack))["containers"]
    escalating = {**c, "securityContext": {**c["securityContext"], "allowPrivilegeEscalation": True}}
    broken = {**_pod(plan_of(stack)), "containers": [escalating]}
    assert admission.violations(broken, {}, "restricted"), "the check must see a container that may escalate"


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_pod_has_no_database_access(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    pod = _pod(plan)
    data = inputs(plan.get("kubernetes:core/v1:ConfigMap", "backup-drill-config"))["data"]
    assert not [k for k in data if k.startswith("PG")] and "secret" not in json.dumps(pod["volumes"]), data
    assert pod["serviceAccountName"] == "restore-drill" and pod["automountServiceAccountToken"] is False, pod
    assert data["DRILL_REPORT_PREFIX"] == "drills/postgres/" and data["BACKUP_PREFIX"] == "postgres/", data


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_cleans_up_after_itself(plan_of, stack: str) -> None:
    job = _drill(plan_of(stack))["jobTemplate"]["spec"]
    volumes = {v["name"]: v["emptyDir"] for v in job["template"]["spec"]["volumes"]}
    (c,) = job["template"]["spec"]["containers"]
    gib = PROFILES[stack].backups.drill_gib
    assert job["ttlSecondsAfterFinished"] <= 24 * 3600 and job["backoffLimit"] == 0 and job["activeDeadlineSeconds"], job
    assert volumes["drill"] == {"sizeLimit": f"{gib}Gi"} and volumes["shm"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    assert all("sizeLimit" in v for v in volumes.values()), volumes
    assert c["resources"]["requests"]["ephemeral-storage"] == f"{gib + 1}Gi" == c["resources"]["limits"]["ephemeral-storage"]


@pytest.mark.parametrize("stack", DRILLED)
def test_restore_drill_renders_the_cronjobs_job(plan_of, stack: str, tmp_path) -> None:
    cron = _drill(plan_of(stack))
    (c,) = cron["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    out = tmp_path / "drill.yaml"
    assert restore.main(["--stack", stack, "--drill", "--image", c["image"], "--out", str(out)]) == 0
    job = yaml.safe_load(out.read_text())
    assert (job["kind"], job["metadata"]["namespace"]) == ("Job", "app") and job["metadata"]["name"].startswith(
        "postgres-restore-drill-"), job["metadata"]
    assert job["spec"] == cron["jobTemplate"]["spec"] and job["metadata"]["labels"] == cron["jobTemplate"]["metadata"]["labels"]


def test_restore_drill_refuses_a_stack_without_drills(capsys) -> None:
    assert cli.run(restore.main, ["--stack", "pr-7", "--drill"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --drill: stack pr-7 (ephemeral profile) has no restore drills") and "\n" == err[-1], err


def test_restore_wants_exactly_one_of_from_and_drill(capsys) -> None:
    assert cli.run(restore.main, ["--stack", "staging", "--drill", "--from", "postgres/20260301T020000Z.dump"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("stack", DRILLED)
def test_drill_runs_the_pushed_backup_image(plan_of, stack: str) -> None:
    plan = plan_of(stack)
    cron, image = plan.get(CRON, "backup-drill-cronjob"), plan.get("docker:index/image:Image", "registry-backup-image")
    (c,) = _pod(plan)["containers"]
    assert (c["image"], c["command"]) == (inputs(image)["imageName"], ["/usr/local/bin/drill.sh"]), cron.urn
    assert image.urn in cron.dependencies, f"{cron.urn} must roll out after the push"
