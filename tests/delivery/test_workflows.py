"""The GitHub workflows: schema-valid, zizmor-clean (medium and above) and the security rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
TOOLS = ROOT / ".venv-tools" / "bin"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}")


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on:` as True; normalise it back.
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.skip(f"{path} missing: create it with `python3 -m venv .venv-tools && "
                    ".venv-tools/bin/pip install -r requirements-tools.txt` (CI does)")
    return path


def steps(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if "runs" in data:
        return data["runs"].get("steps", [])
    return [s for job in data["jobs"].values() for s in job.get("steps", [])]


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in FILES} >= {"preview.yml", "deploy.yml", "ephemeral.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(path: Path) -> None:
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", path],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name)
def test_composite_action_matches_the_github_schema(path: Path) -> None:
    proc = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", path],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_reports_nothing_medium_or_above() -> None:
    proc = subprocess.run([tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "plain",
                           ROOT / ".github"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr or "0 medium, 0 high" in proc.stdout + proc.stderr


@pytest.mark.parametrize("path", FILES + ACTIONS, ids=lambda p: p.name if p.parent == WORKFLOWS else p.parent.name)
def test_remote_actions_pinned_to_full_commit_shas(path: Path) -> None:
    for step in steps(path):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert PINNED.fullmatch(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"
    for line in path.read_text().splitlines():
        if re.search(r"uses:\s*[\w.-]+/[\w.-]+.*@[0-9a-f]{40}", line):
            assert re.search(r"# v\d+\.\d+\.\d+$", line), f"{path.name}: pin without its version comment: {line}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_checkout_never_persists_credentials(path: Path) -> None:
    checkouts = [s for s in steps(path) if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts, f"{path.name} checks nothing out?"
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: {step.get('name')}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_minimal_permissions_per_job(path: Path) -> None:
    data = load(path)
    assert data.get("permissions") == {}, f"{path.name}: workflow-level permissions must be {{}}"
    for name, job in data["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions block"
        assert "write-all" not in str(job["permissions"]), f"{path.name}: job {name}"
        if "id-token" in job["permissions"]:
            assert job["permissions"].get("pull-requests") != "write" or name == "preview", \
                f"{path.name}: job {name} mixes cloud credentials with PR write access"


@pytest.mark.parametrize("path", FILES + ACTIONS, ids=lambda p: p.name if p.parent == WORKFLOWS else p.parent.name)
def test_no_long_lived_aws_keys_and_no_pull_request_target(path: Path) -> None:
    text = path.read_text()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "pull_request_target"):
        assert forbidden not in text, f"{path.name} uses {forbidden}"


FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository"


def guarded(jobs: dict[str, Any], job: dict[str, Any]) -> bool:
    """The job cannot run for a fork's PR: its own condition says so, or every job it needs does."""
    condition = str(job.get("if", ""))
    needs = job.get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return (FORK_GUARD in condition or "github.event_name == 'schedule'" in condition
            or bool(needs) and all(guarded(jobs, jobs[n]) for n in needs))


@pytest.mark.parametrize("name", ["preview.yml", "ephemeral.yml"])
def test_credentialed_pr_jobs_skip_forks(name: str) -> None:
    jobs = load(WORKFLOWS / name)["jobs"]
    for job_name, job in jobs.items():
        if "id-token" in job.get("permissions", {}) or "secrets." in yaml.safe_dump(job):
            assert guarded(jobs, job), f"{name}: job {job_name} has credentials and would run for forks"


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_deploy_one_concurrency_group_per_stack_refresh_policy_smoke_and_notify(stack: str) -> None:
    data = load(WORKFLOWS / "deploy.yml")
    assert set(data["on"]) == {"push", "workflow_dispatch"}
    assert data["on"]["push"] == {"branches": ["main"], "tags": ["v*.*.*"]}
    job = data["jobs"][stack]
    assert job["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}
    assert job["environment"]["name"] == stack
    release = next(s for s in job["steps"] if s.get("run") == ".github/scripts/release.sh")
    assert release["env"]["ENVIRONMENT"] == stack
    up = (ROOT / ".github" / "scripts" / "release.sh").read_text()
    assert "pulumi up --yes --refresh" in up and "--policy-pack policies" in up
    assert '--policy-pack-config "policies/config/${ENVIRONMENT}.json"' in up
    names = [s.get("name", "") for s in job["steps"]]
    assert any("Smoke check" in n for n in names)
    notify = next(s for s in job["steps"] if s.get("name") == "Notify Slack")
    assert notify["if"] == "failure()" and "secrets.SLACK_WEBHOOK_URL" in notify["env"]["SLACK_WEBHOOK_URL"]


@pytest.mark.parametrize(("event", "ref", "stack"), [
    ("push", "refs/heads/main", "staging"),
    ("push", "refs/tags/v1.2.3", "production"),
    ("workflow_dispatch", "refs/heads/main", "production"),
    ("workflow_dispatch", "refs/heads/feature", None),
])
def test_deploy_target_selection(event: str, ref: str, stack: str | None, tmp_path: Path) -> None:
    script = load(WORKFLOWS / "deploy.yml")["jobs"]["target"]["steps"][0]["run"]
    out = tmp_path / "out"
    proc = subprocess.run(["bash", "-c", script], env={"EVENT": event, "REF": ref, "GITHUB_OUTPUT": str(out),
                                                       "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    if stack is None:
        assert proc.returncode != 0
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert out.read_text() == f"stack={stack}\n"


def test_preview_runs_pulumi_preview_of_staging_only_with_the_policy_pack() -> None:
    # Production is previewed in deploy.yml's production job (environment-gated), never with PR code.
    job = load(WORKFLOWS / "preview.yml")["jobs"]["preview"]
    pulumi = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview" and pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["stack-name"] == "staging"
    assert pulumi["with"]["policyPackConfigs"] == "policies/config/staging.json"
    assert "production" not in yaml.safe_dump(job)


def test_offline_job_has_no_credentials_and_comments_once() -> None:
    jobs = load(WORKFLOWS / "preview.yml")["jobs"]
    assert jobs["offline"]["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(jobs["offline"])
    runs = " ".join(s.get("run", "") for s in jobs["offline"]["steps"])
    assert "make test" in runs and "tools plan" in runs and "tools comment" in runs
    script = jobs["comment"]["steps"][0]["with"]["script"]
    assert "<!-- platform-plan -->" in script and "updateComment" in script


def test_ephemeral_events_concurrency_and_teardown_check() -> None:
    data = load(WORKFLOWS / "ephemeral.yml")
    assert data["on"]["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]
    assert data["on"]["schedule"][0]["cron"].split()[1:] == ["*", "*", "*", "*"], "hourly"
    assert "github.event.pull_request.number" in data["concurrency"]["group"]
    runs = {name: " ".join(s.get("run", "") for s in job["steps"]) for name, job in data["jobs"].items()}
    assert "ephemeral up" in runs["up"] and "ephemeral config" in runs["up"]
    assert "destroy --pr \"$PR\" --preview-only" in runs["teardown-check"]
    assert "ephemeral destroy --pr" in runs["destroy"] and "ephemeral reap" in runs["reap"]


def _offline_step(name_part: str) -> dict[str, Any]:
    steps = load(WORKFLOWS / "preview.yml")["jobs"]["offline"]["steps"]
    return next(s for s in steps if name_part in s.get("name", ""))


def test_offline_job_plans_the_merge_base_with_the_heads_tools_and_full_history() -> None:
    assert _offline_step("Check out")["with"]["fetch-depth"] == 0, "git merge-base needs the history"
    base = _offline_step("Base plans")
    assert 'git merge-base "origin/$BASE_REF" HEAD' in base["run"] and "git worktree add" in base["run"]
    assert ".venv/bin/python -m tools plan -C \"$RUNNER_TEMP/base\"" in base["run"], "the head's tools, -C base"
    assert "--json-dir base-plans" in base["run"] and "--no-policy" in base["run"]
    assert base["env"]["BASE_REF"] == "${{ github.base_ref }}", "refs reach the script as env, never inline"


def test_offline_plan_diffs_against_the_base_and_the_comment_shows_it() -> None:
    plan_step, render_step = _offline_step("Offline plans"), _offline_step("Render the PR comment")
    assert "--diff-against base-plans" in plan_step["run"] and "status=$?" in plan_step["run"]
    assert "--diff-against base-plans" in render_step["run"]
    verdict = _offline_step("Verdict")["run"]
    assert '"$STATUS" = 3' in verdict and "::warning::" in verdict, "a blocking diff warns, policy fails"


RENDERS = ("make test", "tools plan", "tools ephemeral", "release.sh", "pulumi/actions@")
"""Steps that render the Releases: the suite, the offline plan, and the pack under pulumi preview/up."""


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_job_that_renders_charts_pulls_them_first(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        job_steps = job.get("steps", [])
        setup = [i for i, s in enumerate(job_steps) if s.get("uses") == "./.github/actions/setup"]
        renders = [i for i, s in enumerate(job_steps)
                   if any(r in f"{s.get('run', '')} {s.get('uses', '')}" for r in RENDERS)]
        if not renders:
            continue
        assert setup and setup[0] < renders[0], f"{path.name} job {name}: the setup action (make charts) comes first"
        assert job_steps[setup[0]].get("with", {}).get("charts", "true") == "true", f"{path.name} job {name}"


def test_the_setup_action_runs_make_charts_by_default() -> None:
    action = load(ROOT / ".github" / "actions" / "setup" / "action.yml")
    assert action["inputs"]["charts"]["default"] == "true"
    [step] = [s for s in action["runs"]["steps"] if s.get("run") == "make charts"]
    assert step["if"] == "inputs.charts == 'true'"
