"""``python -m tools restore``: renders the one-off restore Job; bad input exits 2 with a message."""

from __future__ import annotations

import pytest
import yaml

from tools import cli
from tools.delivery import restore

KEY = "postgres/20260301T020000Z.dump"


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_renders_a_restore_job(stack: str, tmp_path, capsys) -> None:
    out = tmp_path / "job.yaml"
    assert restore.main(["--stack", stack, "--from", KEY, "--out", str(out)]) == 0
    job = yaml.safe_load(out.read_text())
    (c,) = job["spec"]["template"]["spec"]["containers"]
    assert job["kind"] == "Job" and c["command"] == ["/usr/local/bin/restore.sh", KEY], job
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "backup" and job["metadata"]["namespace"] == "app"


def test_restore_job_shares_the_cronjob_pod_spec(plan_of) -> None:
    from helpers import inputs
    cron = inputs(plan_of("staging").get("kubernetes:batch/v1:CronJob", "backup-cronjob"))
    cron_pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    from tools.offline import facts
    settings = facts.settings("staging")
    pod = restore.restore_job(settings, KEY, "img@sha256:0")["spec"]["template"]["spec"]
    assert pod["securityContext"] == cron_pod["securityContext"] and pod["volumes"] == cron_pod["volumes"]


@pytest.mark.parametrize("key", ["postgres/latest.dump", "../etc/passwd", "postgres/20260301T020000Z.sql",
                                 "postgres/20260301T020000Z.manifest.json"])
def test_malformed_key_exits_2(key: str, capsys) -> None:
    assert cli.run(restore.main, ["--stack", "staging", "--from", key]) == 2
    assert "is not a backup object key" in capsys.readouterr().err


def test_unknown_stack_exits_2(capsys) -> None:
    assert cli.run(restore.main, ["--stack", "nope", "--from", KEY]) == 2
    assert "Pulumi.nope.yaml not found" in capsys.readouterr().err


def test_missing_arguments_exit_2(capsys) -> None:
    assert cli.run(restore.main, []) == 2


def test_plain_backups_from_before_verification_still_restore(tmp_path) -> None:
    legacy = "postgres/20260301T020000Z.sql.gz"
    assert cli.run(restore.main, ["--stack", "staging", "--from", legacy, "--out", str(tmp_path / "job.yaml")]) == 0
    (c,) = yaml.safe_load((tmp_path / "job.yaml").read_text())["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["/usr/local/bin/restore.sh", legacy], c["command"]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_default_image_is_the_one_the_cronjob_runs(stack: str, plan_of) -> None:
    from helpers import inputs

    from tools.offline import facts
    cron = inputs(plan_of(stack).get("kubernetes:batch/v1:CronJob", "backup-cronjob"))
    (c,) = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert restore.default_image(facts.settings(stack)) == c["image"], c["image"]
