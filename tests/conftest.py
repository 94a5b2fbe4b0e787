"""Shared fixtures: offline plans of each stack class, run once per session and cached.

Each plan is a full, independent run of the real ``__main__.py`` under the mock runtime (fresh
event loop, fresh mocks, fresh context), so tests read resources exactly as the engine sees them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import golden, mockrun  # noqa: E402

STACKS = ("pr-7", "staging", "production")
"""One stack per environment class; pr-7 is the ephemeral one."""
ENVIRONMENT = {"pr-7": "ephemeral", "staging": "staging", "production": "production"}


def run(stack: str, overrides: Mapping[str, Any] | None = None,
        secret_keys: frozenset[str] = frozenset()) -> mockrun.Plan:
    config, secrets = golden.stack_config(stack)
    config.update(overrides or {})
    return mockrun.run_program(stack, config, secret_keys=secrets | secret_keys)


_CACHE: dict[str, mockrun.Plan] = {}


@pytest.fixture(scope="session")
def plan_of() -> Callable[[str], mockrun.Plan]:
    """``plan_of("staging")`` -> the cached offline plan of that stack."""
    def get(stack: str) -> mockrun.Plan:
        if stack not in _CACHE:
            _CACHE[stack] = run(stack)
        return _CACHE[stack]
    return get


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over one stack of each environment class."""
    return request.param


@pytest.fixture
def plan(plan_of: Callable[[str], mockrun.Plan], stack: str) -> mockrun.Plan:
    return plan_of(stack)


def inputs(resource: mockrun.Recorded) -> dict[str, Any]:
    """A resource's inputs as plain data (secrets shown as '[secret]')."""
    return mockrun.plain(resource.inputs)
