"""The bootstrap project under the offline runner: URN snapshot, policy verdict, CLI and bad config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bootstrap_helpers import STACKS, plan_of

from bootstrap import settings
from config import ConfigError
from tools import cli
from tools.dev import golden
from tools.offline import check, mockrun, plan, stackfile

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "bootstrap"


@STACKS
def test_urns_match_the_snapshot(stack):
    bootstrap_plan = plan_of(stack)
    path = golden.GOLDEN_DIR / f"bootstrap-{bootstrap_plan.stack}.urns"
    expected = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert golden.urns(bootstrap_plan) == expected, f"URNs changed: review, then `make golden` ({path.name})"


@STACKS
def test_policy_pack_passes_under_the_bootstrap_config(stack):
    bootstrap_plan = plan_of(stack)
    result = check.check_deployment(plan.export(bootstrap_plan), "bootstrap", stack=bootstrap_plan.stack)
    assert not result.mandatory, check.render(result)
    assert result.rules_run > 50, "the pack's IAM/S3/KMS/ECR rules ran"


def test_policy_pack_flags_a_wildcard_github_subject():
    document = plan.export(plan_of("staging-eu-west-1"))
    role = next(r for r in document["deployment"]["resources"] if r["urn"].endswith("::github-preview"))
    role["inputs"]["assumeRolePolicy"] = role["inputs"]["assumeRolePolicy"].replace(":pull_request", ":*")
    result = check.check_deployment(document, "bootstrap")
    assert [v.rule for v in result.violations if v.enforcement == "mandatory"] == ["aws-iam-oidc-trust-pinned"]


@STACKS
def test_first_preview_documents_are_readable(stack):
    loaded = stackfile.load(stack, BOOTSTRAP)
    first = mockrun.run_program(stack, loaded.config, project=loaded.project,
                                program=BOOTSTRAP / "__main__.py", first_preview=True)
    result = check.check_deployment(plan.export(first), "bootstrap", stack=stack)
    assert not result.mandatory, check.render(result)


def test_plan_cli_plans_the_bootstrap_project():
    proc = subprocess.run([sys.executable, "-m", "tools", "plan", "production-eu-west-1", "-C", "bootstrap", "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(bootstrap policy config)" in proc.stdout and "PASS" in proc.stdout


def test_plan_cli_bad_config_exits_2_with_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).symlink_to(BOOTSTRAP / name)
    config = yaml.safe_load((BOOTSTRAP / "Pulumi.production-eu-west-1.yaml").read_text())["config"]
    config["bootstrap:enviroments"] = ["production"]
    (tmp_path / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": config}))
    assert cli.run(plan.main, ["bad", "-C", str(tmp_path), "--no-policy"]) == 2
    err = capsys.readouterr().err
    assert "bootstrap:enviroments" in err and "Fix: pulumi config set" in err and "Traceback" not in err


@pytest.mark.parametrize(("changes", "key"), [
    ({"bootstrap:repository": "not a repo"}, "bootstrap:repository"),
    ({"bootstrap:environments": '["qa"]'}, "bootstrap:environments"),
    ({"bootstrap:github.manage": "true", "bootstrap:github.productionReviewers": "[]"},
     "bootstrap:github.productionReviewers"),
    ({"bootstrap:nodeRoleArns": '["arn:aws:iam::1:role/x"]'}, "bootstrap:nodeRoleArns"),
])
def test_settings_reject_bad_values_naming_the_key(changes, key):
    raw = dict(stackfile.load("production-eu-west-1", BOOTSTRAP).config) | changes
    with pytest.raises(ConfigError) as caught:
        settings.parse(raw, stack="production-eu-west-1", project="platform-bootstrap")
    assert any(p.split(" = ")[0].endswith(key) for p in caught.value.problems), caught.value.problems
