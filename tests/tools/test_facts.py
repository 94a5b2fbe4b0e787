"""One door to a stack's facts: the pr-<n> rule, and a stray local Pulumi.pr-<n>.yaml never
changes what tests and golden files see."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tools import cli
from tools.offline import facts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _stray(project: Path, stack: str, **changes: object) -> None:
    cfg = dict(facts.engine_config(stack, project).config) | changes
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": cfg}))


@pytest.mark.parametrize(("stack", "environment"), [("pr-7", "ephemeral"), ("pr-12345", "ephemeral"),
                                                    ("staging", "staging"), ("production", "production")])
def test_environment_of(stack: str, environment: str, project: Path) -> None:
    assert facts.environment_of(stack, project) == environment


def test_a_pr_stack_without_a_file_is_synthesized_from_staging(project: Path) -> None:
    cfg = facts.engine_config("pr-7", project).config
    assert cfg["platform:environment"] == "ephemeral" and cfg["platform:pr"] == "7", cfg
    assert cfg["platform:imageTag"] == "pr-7" and cfg["platform:expiresAt"] == "2026-11-25T12:00:00Z", cfg
    assert cfg["platform:vpcId"] == facts.engine_config("staging", project).config["platform:vpcId"]


def test_a_stray_pr_stack_file_does_not_change_the_reproducible_config(project: Path) -> None:
    before = facts.engine_config("pr-7", project, reproducible=True)
    _stray(project, "pr-7", **{"platform:imageTag": "local-experiment"})
    assert facts.engine_config("pr-7", project, reproducible=True).config == before.config
    assert facts.engine_config("pr-7", project).config["platform:imageTag"] == "local-experiment", \
        "an explicit plan of a PR stack uses its stack file"


def test_a_pr_stack_file_that_is_not_ephemeral_is_an_error(project: Path) -> None:
    _stray(project, "pr-8", **{"platform:environment": "staging"})
    with pytest.raises(cli.UsageError, match="Pulumi.pr-8.yaml: platform:environment is 'staging'"):
        facts.environment_of("pr-8", project)


def test_a_stack_without_a_file_is_a_usage_error_naming_it(project: Path) -> None:
    with pytest.raises(cli.UsageError, match="unknown stack 'qa': Pulumi.qa.yaml not found"):
        facts.environment_of("qa", project)


def test_facts_command_prints_what_the_workflows_read(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(facts.main, ["staging"]) == 0
    lines = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["environment"] == "staging" and lines["host"] == "staging.example.com", lines
    assert lines["url"] == "https://staging.example.com" and lines["cluster"] == "platform-staging", lines
    assert cli.run(facts.main, ["production", "environment"]) == 0
    assert capsys.readouterr().out == "production\n"
