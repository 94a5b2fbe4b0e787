"""The offline plan as users run it: exit codes, messages, the export format, no plaintext secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import config
from tools import cli, wire
from tools.offline import plan as plan_cli
from tools.offline import stackfile

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path, stack: str, changes: dict[str, object], drop: tuple[str, ...] = ()) -> Path:
    """A project dir with the real program and a stack file = staging's plus ``changes``."""
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).symlink_to(ROOT / name)
    config = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())["config"]
    config.update(changes)
    for key in drop:
        config.pop(key)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


BAD_CONFIG = {
    "unknown key": ({"platform:replicas": 3}, (), "platform:replicas"),
    "nested typo": ({"platform:postgres": {"instanceClas": "db.t4g.large"}}, (), "platform:postgres.instanceClas"),
    "wrong type": ({"platform:quota.cpu": "lots"}, (), "platform:quota.cpu"),
    "out of range": ({"platform:prometheus.replicas": 9}, (), "platform:prometheus.replicas"),
    "bad environment": ({"platform:environment": "qa"}, (), "platform:environment"),
    "missing required": ({}, ("platform:domain",), "platform:domain"),
    "empty string": ({"platform:owner": ""}, (), "platform:owner"),
}


@pytest.mark.parametrize("case", BAD_CONFIG, ids=list(BAD_CONFIG))
def test_bad_config_exits_2_naming_the_key(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    changes, drop, key = BAD_CONFIG[case]
    project = _project(tmp_path, "bad", changes, drop)
    code = plan_cli.main(["bad", "-C", str(project), "--no-policy"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert key in err and "Fix: pulumi config" in err and "Traceback" not in err, err


def test_config_error_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    project = _project(tmp_path, "bad", {"platform:postgres.instanceClas": "x"})
    done = _run("plan", "bad", "-C", str(project))
    assert done.returncode == 2, done.stderr
    assert "platform:postgres.instanceClas" in done.stderr and "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("args", [["plan", "no-such-stack"], ["plan"], ["plan", "staging", "--bogus"], ["nope"]])
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    done = _run(*args)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr


def test_plan_prints_tree_counts_and_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_cli.main(["staging", "--no-policy"]) == 0
    out = capsys.readouterr().out
    assert "pulumi:pulumi:Stack" in out and "Resources by type:" in out and "total to create" in out
    assert "appUrl: https://staging.example.com" in out


@pytest.mark.parametrize(("stack", "shown", "not_shown"), [
    ("production", "kubernetes.io/role/elb=1", "the staging stack, up"),
    ("pr-7", "the staging stack, up", "kubernetes.io/role/elb=1")])
def test_plan_prints_the_prerequisites_of_its_environment(stack: str, shown: str, not_shown: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_cli.main([stack, "--no-policy", "--no-render"]) == 0
    block = capsys.readouterr().out.split("Prerequisites (", 1)[1].split("\n\n", 1)[0]
    assert f"Kubernetes {config.KUBERNETES_VERSION}; not visible offline" in block, block
    assert "IAM OIDC provider" in block and "checked: platform:cluster.oidcProviderArn" in block, block
    assert shown in block and not_shown not in block, block


def test_a_provider_arn_naming_another_issuer_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, "bad", {"platform:cluster.oidcProviderUrl": "oidc.eks.eu-west-1.amazonaws.com/id/OTHER"})
    assert plan_cli.main(["bad", "-C", str(project), "--no-policy"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "platform:cluster.oidcProviderUrl" in err and "IRSA trust would name another provider" in err, err


def test_json_export_round_trips_with_a_consistent_graph(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    assert plan_cli.main(["production", "--no-policy", "--quiet", "--json", str(target)]) == 0
    doc = json.loads(target.read_text())
    resources = doc["deployment"]["resources"]
    assert doc["version"] == 3 and resources[0]["type"] == "pulumi:pulumi:Stack"
    urns = {r["urn"] for r in resources}
    for r in resources[1:]:
        assert {"urn", "type", "custom", "parent", "dependencies", "inputs", "outputs", "protect"} <= set(r), r["urn"]
        assert r["parent"] in urns and set(r["dependencies"]) <= urns, r["urn"]
    assert json.loads(json.dumps(doc)) == doc


def test_secure_config_values_never_appear_in_plaintext(tmp_path: Path) -> None:
    secure = {"secure": "v1:ZmFrZS1jaXBoZXJ0ZXh0"}
    project = _project(tmp_path, "sec", {"platform:kubeconfig": secure,
                                         "platform:alerting.slackWebhookUrl": secure,
                                         "platform:alerting.pagerdutyRoutingKey": secure},
                       drop=("platform:kubeContext",))
    target = tmp_path / "plan.json"
    assert plan_cli.main(["sec", "-C", str(project), "--no-policy", "--quiet", "--json", str(target)]) == 0
    text = target.read_text()
    assert stackfile.SECRET_PLACEHOLDER not in text and "mock-" not in text
    provider = next(r for r in json.loads(text)["deployment"]["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == {wire.SIG: wire.SECRET_SIG, "ciphertext": wire.REDACTED}


def test_manifests_are_one_valid_object_per_file(tmp_path: Path) -> None:
    assert plan_cli.main(["staging", "--no-policy", "--quiet", "--manifests", str(tmp_path)]) == 0
    files = sorted(tmp_path.glob("*.yaml"))
    for f in files:
        obj = yaml.safe_load(f.read_text())
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"], f.name
        assert "offline-placeholder" not in f.read_text(), f.name


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_committed_stacks_pass_the_policy_pack(stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = plan_cli.main([stack, "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    assert "PASS: 0 mandatory" in out


def test_mandatory_violation_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A size the staging cost guardrail does not allow: valid config, refused by policy.
    project = _project(tmp_path, "staging", {"platform:postgres.instanceClass": "db.r6g.4xlarge"})
    code = plan_cli.main(["staging", "-C", str(project), "--quiet"])
    out = capsys.readouterr().out
    assert code == 1, out[-4000:]
    assert "aws-allowed-instance-sizes" in out and "FAIL:" in out


def test_generated_pr_stack_file_plans_and_passes_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.delivery import ephemeral

    project = _project(tmp_path, "staging", {})
    assert ephemeral.main(["--root", str(project), "config", "--pr", "4242", "--image-tag", "3f2c1a9"]) == 0
    assert (project / "Pulumi.pr-4242.yaml").exists()
    code = plan_cli.main(["pr-4242", "-C", str(project), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    assert "Plan of pr-4242" in out and "PASS: 0 mandatory" in out


def test_config_error_is_a_pulumi_run_error() -> None:
    # Under `pulumi preview` a RunError ends the program with its message and no traceback.
    import pulumi

    import config

    assert issubclass(config.ConfigError, pulumi.RunError)


def test_the_pr_verdict_plans_several_stacks_in_one_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.delivery import comment
    from tools.report import CheckResult

    project, out = _project(tmp_path, "staging", {}), tmp_path / "verdict"
    assert plan_cli.main(["staging", "pr-7", "-C", str(project), "--quiet", "--json-dir", str(out),
                          "--check-json-dir", str(out)]) == 0
    assert "Verdict: staging PASS, pr-7 PASS" in capsys.readouterr().out
    assert CheckResult.read(out / "check-pr-7.json").environment == "ephemeral"
    argv = [f"--{kind}={s}={out / f'{kind}-{s}.json'}" for s in ("staging", "pr-7") for kind in ("plan", "check")]
    assert comment.main([*argv, "--out", str(tmp_path / "c.md")]) == 0
    assert "Platform plan: **PASS**" in (tmp_path / "c.md").read_text()


@pytest.mark.parametrize("flag", ["--json", "--check-json", "--manifests"])
def test_one_stack_flags_refuse_several_stacks(flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(plan_cli.main, ["staging", "production", flag, str(tmp_path / "x")]) == 2
    assert f"{flag} takes one stack" in capsys.readouterr().err


def test_one_stacks_error_does_not_stop_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_cli.main(["no-such-stack", "staging", "--no-policy", "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert "error: no-such-stack: unknown stack 'no-such-stack'" in err and "Plan of staging" in out, err
    assert "Verdict: no-such-stack ERROR, staging PASS" in out
