"""The root only composes: short, small calls, no decisions; and moved resources keep their identity."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools.offline import mockrun

MAIN = Path(__file__).resolve().parents[2] / "__main__.py"


def test_main_is_short_with_small_calls_and_no_decisions() -> None:
    tree = ast.parse(MAIN.read_text())
    assert len(MAIN.read_text().splitlines()) <= 120, "__main__.py: move decisions into config.py"
    wide = [(n.lineno, len(n.args) + len(n.keywords)) for n in ast.walk(tree)
            if isinstance(n, ast.Call) and len(n.args) + len(n.keywords) > 6]
    assert wide == [], f"__main__.py calls with more than 6 arguments (line, count): {wide}"
    decisions = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.IfExp)]
    assert decisions == [], f"__main__.py: conditional expressions on lines {decisions} belong in config.py"


# The app's one Deployment/Service/PDB became the blue release track's (components/app.py).
MOVED = {**{(f"kubernetes:{t}", f"app-blue-{kind}"): f"platform:kubernetes:App$kubernetes:{t}::app-{kind}"
            for t, kind in (("apps/v1:Deployment", "deployment"), ("core/v1:Service", "service"),
                            ("policy/v1:PodDisruptionBudget", "pdb"))}}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_moved_resources_alias_their_previous_urn(plan: mockrun.Plan) -> None:
    for (type_, name), old in MOVED.items():
        moved = plan.get(type_, name)
        previous = set(moved.aliases)  # alias URNs, computed as the engine does (tools/offline/urns.py)
        assert f"urn:pulumi:{plan.stack}::platform::{old}" in previous, (moved.urn, previous)
