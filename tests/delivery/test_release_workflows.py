"""deploy.yml ships code: one image per commit, the same digest to production, gated releases,
and no long-lived Pulumi or AWS secret anywhere near PR code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = ROOT / ".github" / "scripts"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))
    return data


DEPLOY = load("deploy.yml")["jobs"]


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(s.get("run", "") for s in job["steps"])


def test_the_image_is_built_in_exactly_one_job_and_only_from_main() -> None:
    builders = [(wf.name, name) for wf in sorted(WORKFLOWS.glob("*.yml"))
                for name, job in yaml.safe_load(wf.read_text())["jobs"].items()
                if re.search(r"build-image\.sh|docker (buildx )?build|docker push", _runs(job))]
    assert builders == [("deploy.yml", "build")], builders
    assert DEPLOY["build"]["if"] == "needs.target.outputs.stack == 'staging'"  # push to main only


def test_staging_releases_the_digest_the_build_recorded() -> None:
    push = next(s for s in DEPLOY["build"]["steps"] if s.get("id") == "push")
    assert push["env"]["SHA"] == "${{ github.sha }}" and "build-image.sh" in push["run"]
    assert DEPLOY["build"]["outputs"]["image"] == "${{ steps.push.outputs.image }}"
    assert DEPLOY["staging"]["needs"] == ["target", "build"]
    assert DEPLOY["staging"]["env"]["IMAGE"] == "${{ needs.build.outputs.image }}"


def test_production_releases_the_digest_built_for_its_commit_never_a_rebuild() -> None:
    job = DEPLOY["production"]
    resolve = next(s for s in job["steps"] if s.get("id") == "image")
    assert '--image-ids "imageTag=$SHA"' in resolve["run"] and "imageDigest" in resolve["run"]
    assert job["env"]["SHA"] == "${{ github.sha }}"
    assert re.search(r'image=\$REGISTRY/\$IMAGE_REPOSITORY@\$digest', resolve["run"])
    release = next(s for s in job["steps"] if s.get("run") == ".github/scripts/release.sh")
    assert release["env"]["IMAGE"] == "${{ steps.image.outputs.image }}"
    assert "build" not in job.get("needs", []) and "docker" not in _runs(job)


def test_production_needs_its_environment_and_a_commit_on_main() -> None:
    job = DEPLOY["production"]
    assert job["environment"]["name"] == "production" and job["if"] == "needs.target.outputs.stack == 'production'"
    names = [s.get("name", "") for s in job["steps"]]
    ancestry = names.index("The commit is on main")
    assert ancestry < next(i for i, n in enumerate(names) if n.startswith("Set up")), "checked before credentials"
    assert job["steps"][0]["with"]["fetch-depth"] == 0


def _ancestry_check(repo: Path, sha: str) -> int:
    script = next(s for s in DEPLOY["production"]["steps"] if s.get("name") == "The commit is on main")["run"]
    script = script.replace("git fetch --no-tags origin main", "git fetch --quiet --no-tags origin main")
    return subprocess.run(["bash", "-ec", script], cwd=repo, env={"SHA": sha, "GITHUB_REF_NAME": "v1.0.0",
                                                                  "PATH": "/usr/bin:/bin", "HOME": str(repo)},
                          capture_output=True, text=True, timeout=60).returncode


def test_ancestry_check_accepts_main_commits_and_refuses_others(tmp_path: Path) -> None:
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(origin)], check=True)
    subprocess.run([*git, "-C", str(origin), "commit", "-q", "--allow-empty", "-m", "on main"], check=True)
    on_main = subprocess.run(["git", "-C", str(origin), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    subprocess.run([*git, "-C", str(origin), "checkout", "-q", "-b", "side"], check=True)
    subprocess.run([*git, "-C", str(origin), "commit", "-q", "--allow-empty", "-m", "off main"], check=True)
    off_main = subprocess.run(["git", "-C", str(origin), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(origin), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "fetch", "-q", "origin", "side"], check=True)
    assert _ancestry_check(clone, on_main) == 0
    assert _ancestry_check(clone, off_main) == 1


@pytest.mark.parametrize(("job", "stack"), [("staging", "staging"), ("production", "production")])
def test_releases_are_blue_green_through_tools_release(job: str, stack: str) -> None:
    step = next(s for s in DEPLOY[job]["steps"] if s.get("run") == ".github/scripts/release.sh")
    assert step["env"]["WINDOW_MINUTES"] and DEPLOY[job]["env"]["STACK"] == stack
    script = (SCRIPTS / "release.sh").read_text()
    for command in ("release prepare", "release promote", "release rollback", "decide --smoke"):
        assert command.split()[-1] in script, command
    assert 'TRACK="$idle" .github/scripts/smoke-check.sh || rollback' in script, "smoke check before traffic moves"
    assert re.search(r"decision=rollback\) rollback", script), "a failed watch rolls back and fails"


def test_no_stored_pulumi_or_aws_secret_in_any_workflow() -> None:
    for path in [*WORKFLOWS.glob("*.yml"), ROOT / ".github" / "actions" / "setup" / "action.yml"]:
        text = path.read_text()
        assert "PULUMI_ACCESS_TOKEN" not in text and not re.search(r"secrets\.(AWS|PULUMI)", text), path.name


@pytest.mark.parametrize("name", ["preview.yml", "ephemeral.yml"])
def test_pr_code_gets_only_short_lived_credentials(name: str) -> None:
    for job_name, job in load(name)["jobs"].items():
        secrets = set(re.findall(r"secrets\.(\w+)", yaml.safe_dump(job)))
        assert secrets <= {"SLACK_WEBHOOK_URL"}, (name, job_name, secrets)
        if "id-token" in job["permissions"]:
            setup = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/setup")
            assert setup["with"]["pulumi-organization"] == "${{ vars.PULUMI_ORGANIZATION }}", (name, job_name)
            assert setup["with"]["aws-role"].startswith("${{ vars.AWS_ROLE_"), (name, job_name)


def _fake_tools(tmp_path: Path, *, exists: bool) -> Path:
    """``aws`` and ``docker`` that log their arguments; describe-images knows the tag after a push."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, pushed = tmp_path / "calls", tmp_path / "pushed"
    if exists:
        pushed.touch()
    (bin_dir / "aws").write_text(f"""#!/bin/bash
echo "aws $*" >> {log}
case "$*" in *describe-images*) [ -e {pushed} ] && echo sha256:{'c' * 64} || exit 254 ;;
  *get-login-password*) echo token ;; esac
""")
    (bin_dir / "docker").write_text(f"""#!/bin/bash
echo "docker $*" >> {log}
case "$1" in push) touch {pushed} ;; login) cat > /dev/null ;; esac
""")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize("exists", [False, True], ids=["first-build", "rerun"])
def test_build_script_pushes_the_sha_tag_once_and_prints_the_digest(tmp_path: Path, exists: bool) -> None:
    bin_dir = _fake_tools(tmp_path, exists=exists)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
           "REPOSITORY": "platform/app", "SHA": "0" * 40, "CONTEXT": ".", "AWS_REGION": "eu-west-1"}
    proc = subprocess.run(["bash", SCRIPTS / "build-image.sh"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    image = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:{'c' * 64}"
    assert proc.stdout.splitlines() == [f"image={image}", f"digest=sha256:{'c' * 64}"]
    pushes = [c for c in (tmp_path / "calls").read_text().splitlines() if c.startswith("docker push")]
    assert pushes == ([] if exists else [f"docker push {env['REGISTRY']}/platform/app:{env['SHA']}"])


@pytest.mark.parametrize("job", ["staging", "production"])
def test_the_release_window_and_timeout_come_from_the_profile(job: str) -> None:
    import config

    release = config.PROFILES[job].release
    step = next(s for s in DEPLOY[job]["steps"] if s.get("run") == ".github/scripts/release.sh")
    assert int(step["env"]["WINDOW_MINUTES"]) == release.rollback_window_minutes, (job, step["env"])
    watched = release.rollback_window_minutes * len(release.steps)
    assert DEPLOY[job]["timeout-minutes"] > watched, f"{job}: {watched} min of watching must fit in the job"
