"""Fixtures of the pack tests that drive the analyzer: the session's analyzer plugin, the real
offline plans in stack export format, and each plan's mandatory violations before any edit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from policy_helpers import mandatory

from tools import wire
from tools.offline import check, facts
from tools.offline import plan as plan_tool

CORPUS_STACKS = ("staging", "production", "pr-7")


@pytest.fixture(scope="session")
def analyzer():
    return check.shared_analyzer()


@pytest.fixture(scope="session")
def plans(plan_of):
    """The offline plans of one stack per environment, in stack export format: the session's
    in-process plans (tests/conftest.py), exported as `python -m tools plan --json` writes them
    (or read from $PLATFORM_PLAN_DIR/<stack>.json when CI already made them)."""
    ready = os.environ.get("PLATFORM_PLAN_DIR")
    if ready:
        return {stack: json.loads((Path(ready) / f"{stack}.json").read_text()) for stack in CORPUS_STACKS}
    return {stack: json.loads(wire.to_json(plan_tool.export(plan_of(stack)))) for stack in CORPUS_STACKS}


@pytest.fixture(scope="session")
def unedited(plans, analyzer):
    """Mandatory violations of each unedited plan, computed once per session."""
    found: dict[str, set[tuple[str, str, str]]] = {}

    def get(stack: str) -> set[tuple[str, str, str]]:
        if stack not in found:
            result = check.check_deployment(plans[stack], facts.environment_of(stack), stack=stack)
            found[stack] = {(v.rule, v.urn, v.what) for v in mandatory(result)}
        return found[stack]
    return get
