"""What tests share besides fixtures: the stacks, their plans (run once per session and cached)
and small readers. Import it as ``from helpers import ...`` (tests/ is on the path through
tests/conftest.py); fixtures live in conftest.py and use these.

Each plan is a full, independent run of the real ``__main__.py`` under the mock runtime (fresh
event loop, fresh mocks, fresh context), so tests read resources exactly as the engine sees them.
Plans come from ``tools.offline.facts`` with ``reproducible=True``: pr-7 is synthesized from
staging, so a stray local ``Pulumi.pr-7.yaml`` never changes a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools import wire
from tools.offline import facts, mockrun
from tools.offline.facts import environment_of

__all__ = ["ROOT", "STACKS", "cached_plan", "environment_of", "inputs", "run"]

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("pr-7", "staging", "production")
"""One stack per environment class; pr-7 is the ephemeral one."""


def run(stack: str, overrides: Mapping[str, Any] | None = None,
        secret_keys: frozenset[str] = frozenset()) -> mockrun.Plan:
    """A fresh plan of ``stack`` with config ``overrides`` (engine-shaped values)."""
    cfg = facts.engine_config(stack, reproducible=True)
    config = {**cfg.config, **(overrides or {})}
    return mockrun.run_program(stack, config, secret_keys=cfg.secret_keys | secret_keys, project=cfg.project)


_CACHE: dict[str, mockrun.Plan] = {}


def cached_plan(stack: str) -> mockrun.Plan:
    """The session's plan of ``stack`` (never mutate it)."""
    if stack not in _CACHE:
        _CACHE[stack] = run(stack)
    return _CACHE[stack]


def inputs(resource: mockrun.Recorded) -> dict[str, Any]:
    """A resource's inputs as plain data (secrets shown as '[secret]')."""
    return wire.plain(resource.inputs)
