"""`python -m tools comment`: the PR comment rendered from offline plans and policy checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import cli
from tools.delivery import comment

LIMIT = 65_536


def plan(stack: str, rds: int = 2) -> dict:
    root = f"urn:pulumi:{stack}::platform::pulumi:pulumi:Stack::platform-{stack}"
    db = f"urn:pulumi:{stack}::platform::pulumi:pulumi:Stack$platform:data:Postgres::db"
    resources = [{"urn": root, "type": "pulumi:pulumi:Stack", "custom": False},
                 {"urn": db, "type": "platform:data:Postgres", "custom": False, "parent": root}]
    resources += [{"urn": f"urn:pulumi:{stack}::platform::platform:data:Postgres$aws:rds/instance:Instance::db-{i}",
                   "type": "aws:rds/instance:Instance", "custom": True, "parent": db} for i in range(rds)]
    return {"version": 3, "deployment": {"resources": resources}}


def violation(i: int, enforcement: str = "advisory", message: str = "bucket is public") -> dict:
    """One violation as ``CheckResult.to_json`` writes it."""
    return {"rule": "aws-s3-no-public-access", "severity": "high", "enforcement": enforcement,
            "urn": f"urn:pulumi:production::platform::aws:s3/bucket:Bucket::b{i}", "type": "aws:s3/bucket:Bucket",
            "name": f"b{i}", "what": message, "fix": "block public access"}


def render(tmp_path: Path, plans: dict[str, dict], checks: dict[str, dict] | None = None,
           *extra: str) -> str:
    argv = []
    for stack, data in plans.items():
        (tmp_path / f"plan-{stack}.json").write_text(json.dumps(data))
        argv += ["--plan", f"{stack}={tmp_path / f'plan-{stack}.json'}"]
    for stack, data in (checks or {}).items():
        (tmp_path / f"check-{stack}.json").write_text(json.dumps(data))
        argv += ["--check", f"{stack}={tmp_path / f'check-{stack}.json'}"]
    out = tmp_path / "comment.md"
    assert comment.main([*argv, "--out", str(out), *extra]) == 0
    return out.read_text()


def result(*violations: dict, environment: str = "production") -> dict:
    """A verdict file as ``python -m tools plan --check-json-dir`` / ``tools check --json`` write it."""
    return {"environment": environment, "rulesRun": 85, "resources": 4, "seconds": 0.5,
            "mandatory": sum(v["enforcement"] == "mandatory" for v in violations),
            "advisory": sum(v["enforcement"] == "advisory" for v in violations),
            "violations": list(violations), "suppressed": []}


CLEAN = result()


def test_marker_first_then_sections_in_order(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging"), "production": plan("production", 3)},
                  {"staging": result(environment="staging"), "production": CLEAN})
    assert text.startswith("<!-- platform-plan -->\n")
    order = ["Platform plan", "### Resources per environment", "### Policy violations",
             "### Settings that differ", "### Components"]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions), positions


def test_summary_counts_and_verdicts(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging"), "production": plan("production", 3)},
                  {"staging": result(environment="staging"), "production": result(violation(1, "mandatory"), violation(2))})
    assert "Platform plan: **FAIL**" in text
    assert "| `staging` | 3 | ✅ **PASS** | 0 | 0 |" in text
    assert "| `production` | 4 | ❌ **FAIL** | 1 | 1 |" in text
    assert "| **mandatory** | high | `aws-s3-no-public-access` | `aws:s3/bucket:Bucket::b1` | " \
           "bucket is public | block public access |" in text


def test_resources_by_type_per_environment(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging", 2), "production": plan("production", 5)})
    assert "| `aws:rds/instance:Instance` | 2 | 5 |" in text


def test_settings_diff_from_the_profiles(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging"), "production": plan("production")})
    assert "| `postgres.instance_class` | db.t4g.medium | db.r6g.large |" in text
    assert "`quota.cpu` | 8 | 32 |" in text
    assert "`postgres.mode`" not in text, "identical settings are not listed"


def test_mermaid_shows_components_and_child_types(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging", 4)})
    block = text[text.index("```mermaid"):]
    assert "flowchart" in block and "platform:data:Postgres" in block
    assert "aws:rds/instance:Instance ×4" in block
    assert "stack --> c0" in block and "c0 --> t0" in block


def test_violation_text_cannot_break_the_table(tmp_path: Path) -> None:
    text = render(tmp_path, {"production": plan("production")},
                  {"production": result(violation(1, message="a | b\n<script>"))})
    assert "a \\| b &lt;script&gt;" in text and "<script>" not in text


def test_missing_check_is_an_error_verdict_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps(plan("staging")))
    out = tmp_path / "c.md"
    assert comment.main(["--plan", f"staging={tmp_path / 'plan.json'}",
                         "--check", f"staging={tmp_path / 'absent.json'}", "--out", str(out)]) == 0
    text = out.read_text()
    assert "Platform plan: **FAIL**" in text and "**ERROR**" in text and "not produced" in text


@pytest.mark.parametrize(("bad", "named"), [
    ({"violations": []}, "missing key(s) 'advisory'"),
    ({**result(), "verdict": "PASS"}, "unknown key(s) 'verdict'"),
    ({**result(violation(1, "mandatory")), "mandatory": 0}, "'mandatory' is 0 but 1 violation(s)"),
    (result({**violation(1), "message": "old spelling"}), "unknown key(s) 'message'"),
])
def test_a_malformed_check_result_is_an_error_verdict_naming_the_key(bad: dict, named: str, tmp_path: Path) -> None:
    text = render(tmp_path, {"production": plan("production")}, {"production": bad})
    assert "❌ **ERROR**" in text and named in text, text[:1500]


def test_huge_input_stays_under_the_limit_and_keeps_the_verdict(tmp_path: Path) -> None:
    many = [violation(i, "mandatory" if i % 2 else "advisory", "x" * 250) for i in range(4000)]
    text = render(tmp_path, {"staging": plan("staging", 3000), "production": plan("production", 3000)},
                  {"staging": result(environment="staging"), "production": result(*many)})
    assert comment.length(text) < LIMIT
    assert text.startswith("<!-- platform-plan -->")
    assert "Platform plan: **FAIL**" in text
    assert "| `production` | 3001 | ❌ **FAIL** | 2000 | 2000 |" in text
    assert "Detail truncated" in text and "rows shown" in text
    assert text.index("Detail truncated") < text.index("### Resources per environment")
    shown = text[text.index("#### `production`"):]
    assert "| **mandatory** |" in shown and "| advisory |" not in shown, "mandatory violations are listed first"


def test_truncation_drops_whole_diagrams_never_half(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging"), "production": plan("production")},
                  {"staging": result(environment="staging"), "production": CLEAN}, "--budget", "1800")
    assert comment.length(text) <= 1800
    assert "Platform plan: **PASS**" in text
    assert text.count("```mermaid") * 2 == text.count("```"), "no unterminated code fence"
    assert "Mermaid diagram" in text and "omitted" in text


@pytest.mark.parametrize("bad", ["staging", "=x.json", "staging="])
def test_bad_plan_argument_is_a_usage_error(bad: str, tmp_path: Path) -> None:
    assert cli.run(comment.main, ["--plan", bad, "--out", str(tmp_path / "c.md")]) == 2


def _base_dir(tmp_path: Path, plans: dict[str, dict]) -> Path:
    """Base plans as `tools plan --json-dir` writes them on the merge base."""
    base = tmp_path / "base"
    base.mkdir()
    for stack, data in plans.items():
        (base / f"plan-{stack}.json").write_text(json.dumps(data))
    return base


def test_diff_summary_and_blocking_list_say_they_come_from_the_offline_plan(tmp_path: Path) -> None:
    base = _base_dir(tmp_path, {"production": plan("production", 3)})
    text = render(tmp_path, {"production": plan("production", 2)}, {"production": CLEAN},
                  "--diff-against", str(base))
    assert "| `production` | `+0 ~0 -1 ±0 replace` | 1 |" in text, text
    assert "- `production` - `aws:rds/instance:Instance` **db-2**: delete" in text, text
    assert "offline plan" in text and "`pulumi preview --diff`" in text and "source of truth" in text
    assert text.index("Blocking: 1") < text.index("### Resources per environment")


def test_diff_details_are_collapsed_and_the_blocking_list_is_whole_in_a_small_budget(tmp_path: Path) -> None:
    base = _base_dir(tmp_path, {"production": plan("production", 100)})
    text = render(tmp_path, {"production": plan("production", 0)}, {"production": CLEAN},
                  "--diff-against", str(base), "--budget", "12000")
    assert comment.length(text) <= 12000
    assert text.count("**db-") == 100, "every blocking deletion is listed, whatever the budget"
    assert "<details><summary>Changes to <code>production</code>: +0 ~0 -100 ±0 replace" in text
    assert text.count("```") % 2 == 0, "no unterminated code fence"


def test_a_missing_base_plan_directory_is_reported_in_the_comment(tmp_path: Path) -> None:
    text = render(tmp_path, {"staging": plan("staging")}, {"staging": result(environment="staging")},
                  "--diff-against", str(tmp_path / "nowhere"))
    assert "❌ no diff for staging: base plans not produced (see the job log)" in text, text[:2000]
    assert "Platform plan: **PASS**" in text
