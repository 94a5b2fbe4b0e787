"""Program-level invariants over every stack class: URNs, warnings, outputs."""

from __future__ import annotations

from tools import wire
from tools.dev import golden
from tools.offline import mockrun


def test_urns_match_the_golden_snapshot(plan: mockrun.Plan) -> None:
    expected, actual = golden.read(plan.stack), golden.urns(plan)
    added, removed = sorted(set(actual) - set(expected)), sorted(set(expected) - set(actual))
    assert not added and not removed, (
        f"URNs of {plan.stack} changed (a changed URN replaces the resource). "
        f"If deliberate, run `make golden`.\n+ " + "\n+ ".join(added) + "\n- " + "\n- ".join(removed))


def test_no_deprecation_or_other_warnings(plan: mockrun.Plan) -> None:
    assert plan.warnings == [], plan.warnings
    assert plan.errors == [], plan.errors


def test_outputs_are_few_and_always_set(plan: mockrun.Plan) -> None:
    outputs = wire.plain(plan.stack_outputs)
    assert outputs["environment"] and outputs["appUrl"].startswith("https://")
    assert all(v not in (None, "") for v in outputs.values()), outputs
