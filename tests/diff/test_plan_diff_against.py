"""``tools plan --diff-against``: the base of another checkout (``-C``), exit codes, determinism."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from diff_plans import ROOT, SOURCES

from tools import cli
from tools.offline import plan as plan_cli

STACKS = ("staging", "production", "pr-7")


def _checkout(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the program (another checkout, as the PR's merge base is) with one edit."""
    base = tmp_path / "base"
    base.mkdir()
    for name in SOURCES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, base / name)
    for name in ("Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy(ROOT / name, base / name)
    text = (base / file).read_text()
    assert text.count(old) == 1, f"{file}: expected exactly one {old!r}"
    (base / file).write_text(text.replace(old, new))
    return base


def test_base_checkout_plans_with_its_own_components_and_the_diff_blocks(tmp_path, capsys):
    # The base names the database differently: head renames its RDS database = a replacement.
    base = _checkout(tmp_path, "components/postgres.py", 'database: str = "app"', 'database: str = "app_old"')
    assert plan_cli.main(["production", "-C", str(base), "--no-policy", "--quiet",
                          "--json-dir", str(tmp_path / "plans")]) == cli.EXIT_OK
    code = plan_cli.main(["production", "--no-policy", "--quiet", "--diff-against", str(tmp_path / "plans")])
    out = capsys.readouterr().out
    assert code == plan_cli.EXIT_BLOCKING, out
    assert "± aws:rds/instance:Instance postgres-db" in out and 'dbName: "app_old" → "app"' in out, out


def test_same_commit_as_base_is_no_change_exit_0(tmp_path, capsys):
    assert plan_cli.main(["staging", "--no-policy", "--quiet", "--json", str(tmp_path / "s.json")]) == 0
    code = plan_cli.main(["staging", "--no-policy", "--quiet", "--diff-against", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert code == cli.EXIT_OK and "staging: +0 ~0 -0 ±0 replace" in out, out


def test_a_stack_missing_from_the_base_directory_is_all_creates(tmp_path, capsys, plan_of):
    (tmp_path / "empty").mkdir()
    assert plan_cli.main(["pr-7", "--no-policy", "--quiet", "--diff-against", str(tmp_path / "empty")]) == 0
    out = capsys.readouterr().out
    creates = len(plan_of("pr-7").resources)  # every resource the plan registers
    assert "a new stack, every resource is created" in out and f"pr-7: +{creates} ~0 -0 ±0 replace" in out, out


def test_one_plan_file_against_several_stacks_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "s.json").write_text("{}")
    code = cli.run(plan_cli.main, ["staging", "production", "--diff-against", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and err.startswith("error: --diff-against") and "--json-dir" in err, err


@pytest.mark.parametrize(("codes", "worst"), [
    ((0, 3), 3), ((3, 1), 1), ((1, 3, 0), 1), ((2, 1, 3), 2), ((0,), 0)])
def test_multi_stack_exit_code_keeps_the_worst_policy_before_blocking(codes, worst):
    assert plan_cli.worst(codes) == worst, f"exit codes {codes}"


def test_two_runs_write_byte_identical_plans_for_every_stack(tmp_path):
    for run in ("one", "two"):
        assert plan_cli.main([*STACKS, "--no-policy", "--quiet", "--json-dir", str(tmp_path / run)]) == 0
    for stack in STACKS:
        first, second = ((tmp_path / run / f"plan-{stack}.json").read_bytes() for run in ("one", "two"))
        assert first == second, f"plan-{stack}.json differs between two runs of the same commit"
