"""Secrets, unknowns, determinism, Markdown budget and the command line of ``tools diff``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from diff_plans import ROOT, base_plan_fixture, plan_of  # noqa: F401 - a fixture

from tools import cli, wire
from tools.offline import diff, facts, mockrun, plan, urns

SECRET_SIG, SIG = diff.SECRET_SIG, diff.SIG


def test_two_plans_of_one_commit_are_byte_identical():
    first, second = (wire.to_json(plan_of("staging")) for _ in range(2))
    assert first == second, "two offline plans of the same commit differ"


@pytest.mark.parametrize("stack", ["pr-7", "production"])
def test_plan_lists_a_resource_after_everything_it_waits_for(base_plan, stack):
    seen: set[str] = set()
    for r in base_plan(stack)["deployment"]["resources"][1:]:
        waits = urns.graph_edges(r["parent"], r["dependencies"], r.get("provider", ""), r["propertyDependencies"])
        late = [u for u in waits if u not in seen and not u.endswith(f"::platform-{stack}")]
        assert not late, f"{r['urn']} listed before {late}"
        seen.add(r["urn"])


def _secret_resource(doc: dict) -> tuple[dict, str]:
    for r in doc["deployment"]["resources"]:
        for key, value in (r.get("inputs") or {}).items():
            if isinstance(value, dict) and value.get(SIG) == SECRET_SIG and r["type"] == "kubernetes:core/v1:Secret":
                return r, key
    raise AssertionError("no Kubernetes Secret with a secret input in the plan")


def test_changed_secret_shows_as_secret_changed_never_its_value(base_plan):
    head = copy.deepcopy(base_plan("staging"))
    res, key = _secret_resource(head)
    res["inputs"][key] = {SIG: SECRET_SIG, "ciphertext": "v2-ciphertext-TOPSECRET"}
    text = diff.render_text([diff.diff_stack(base_plan("staging"), head)])
    assert f"{key}: [secret] changed" in text and "TOPSECRET" not in text, text
    assert f"replace: {key} changed" in text, f"{res['urn']}: Secret data must force replacement"


def test_unknown_values_show_as_known_after_apply(base_plan):
    cfg = facts.engine_config("staging", reproducible=True)
    config, secrets = dict(cfg.config), cfg.secret_keys
    head = plan.export(mockrun.run_program("staging", config, secret_keys=secrets, first_preview=True,
                                           program=ROOT / "__main__.py"))
    text = diff.render_text([diff.diff_stack(base_plan("staging"), head)])
    assert diff.UNKNOWN_SHOWN in text and diff.UNKNOWN not in text


def test_type_missing_from_the_table_is_a_usage_error(base_plan):
    head = copy.deepcopy(base_plan("pr-7"))
    head["deployment"]["resources"][-1]["type"] = "aws:sqs/queue:Queue"
    with pytest.raises(diff.UsageError, match="aws:sqs/queue:Queue is not in tools/offline/replacements.py"):
        diff.diff_stack(base_plan("pr-7"), head)


def _blocking_diff(base_plan) -> list[diff.StackDiff]:
    head = copy.deepcopy(base_plan("production"))
    head["deployment"]["resources"] = [r for r in head["deployment"]["resources"]
                                       if not r["urn"].endswith("aws:s3/bucket:Bucket::backups-bucket")]
    for r in head["deployment"]["resources"]:
        if r["type"] == "kubernetes:core/v1:ConfigMap":
            r["inputs"]["data"] = {"k": "x" * 400}
    return [diff.diff_stack(base_plan("production"), head)]


def test_markdown_keeps_the_blocking_list_within_a_small_budget(base_plan):
    text = diff.render_markdown(_blocking_diff(base_plan), budget=1500)
    assert "Blocking: 1 stateful resource" in text and "**backups-bucket**" in text, text
    assert "left out to fit the comment" in text and len(text) < 2500, len(text)


def test_markdown_collapses_each_stack(base_plan):
    text = diff.render_markdown(_blocking_diff(base_plan), budget=60_000)
    assert "<details><summary><code>production</code>: +0 ~0 -1 ±" in text, text[:800]
    assert "left out" not in text


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_cli_exit_code_3_on_a_blocking_change(base_plan, tmp_path, capsys):
    head = copy.deepcopy(base_plan("production"))
    head["deployment"]["resources"] = [r for r in head["deployment"]["resources"]
                                       if not r["urn"].endswith("aws:rds/instance:Instance::postgres-db")]
    code = diff.main([str(_write(tmp_path / "b.json", base_plan("production"))),
                      str(_write(tmp_path / "h.json", head)), "--json", str(tmp_path / "d.json")])
    assert code == diff.EXIT_BLOCKING, capsys.readouterr().out
    assert json.loads((tmp_path / "d.json").read_text())["blocking"] == 1


def test_cli_exit_code_0_for_the_same_plan(base_plan, tmp_path, capsys):
    same = _write(tmp_path / "p.json", base_plan("staging"))
    assert diff.main([str(same), str(same)]) == cli.EXIT_OK
    assert "staging: +0 ~0 -0 ±0 replace" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["{not json", '{"version": 2}'])
def test_cli_bad_plan_is_one_error_line_exit_2(tmp_path, capsys, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert cli.run(diff.main, [str(bad), str(bad)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "bad.json" in err, err


def test_a_stack_only_in_head_is_all_creates(base_plan):
    (got,) = diff.diff({}, {"pr-7": base_plan("pr-7")})
    assert got.count("create") == len(base_plan("pr-7")["deployment"]["resources"]) - 1 and not got.blocking


def test_a_protected_resource_without_data_still_blocks_when_deleted(base_plan):
    # The pack only sees the new state: the diff is where "protected, yet replaced/deleted" is caught.
    base = copy.deepcopy(base_plan("production"))
    kept = next(r for r in base["deployment"]["resources"] if r["type"].endswith(":BucketVersioning"))
    kept["protect"] = True
    head = copy.deepcopy(base)
    head["deployment"]["resources"] = [r for r in head["deployment"]["resources"] if r["urn"] != kept["urn"]]
    (got,) = diff.diff({"production": base}, {"production": head})
    assert [c.urn for c in got.blocking] == [kept["urn"]], got.summary()
    assert got.blocking[0].blocking.startswith("protected"), got.blocking[0]
