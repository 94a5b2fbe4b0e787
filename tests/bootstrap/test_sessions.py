"""Role sessions outlast the jobs that use them: read from the workflows, checked against the plan."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from bootstrap_helpers import inputs, plan_of, roles

from bootstrap.roles import SESSION_SECONDS, WORKFLOW_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
PURPOSE_OF = {variable: purpose for purpose, variable in WORKFLOW_VARIABLES.items()}


def _role_jobs() -> list[tuple[str, str, int, int]]:
    """(workflow/job, purpose, timeout seconds, role-duration-seconds) for every job assuming a CI role."""
    found = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                role = str(step.get("with", {}).get("aws-role", ""))
                if match := re.fullmatch(r"\$\{\{ vars\.(AWS_ROLE_\w+) \}\}", role):
                    found.append((f"{path.name}/{name}", PURPOSE_OF[match.group(1)], job["timeout-minutes"] * 60,
                                  int(step["with"]["role-duration-seconds"])))
    return found


def test_every_credentialed_job_names_a_bootstrap_role():
    jobs = _role_jobs()
    assert {purpose for _, purpose, _, _ in jobs} == set(SESSION_SECONDS), jobs


def test_requested_sessions_cover_the_job_timeout_and_fit_the_role():
    for job, purpose, timeout, requested in _role_jobs():
        assert timeout <= requested <= SESSION_SECONDS[purpose], (job, purpose, timeout, requested)


def test_planned_roles_allow_the_session_the_workflows_request():
    planned = {p: inputs(r)["maxSessionDuration"] for stack in ("staging-eu-west-1", "production-eu-west-1")
               for p, r in roles(plan_of(stack)).items()}
    for job, purpose, timeout, requested in _role_jobs():
        assert planned[purpose] >= max(timeout, requested), (job, purpose, planned[purpose])


def test_setup_action_passes_the_duration_to_sts():
    action = yaml.safe_load((ROOT / ".github" / "actions" / "setup" / "action.yml").read_text())
    aws = next(s for s in action["runs"]["steps"] if str(s.get("uses", "")).startswith("aws-actions/"))
    assert aws["with"]["role-duration-seconds"] == "${{ inputs.role-duration-seconds }}"
