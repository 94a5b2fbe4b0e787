"""Offline plans of the bootstrap project's stacks, run once per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tools import golden, mockrun

_CACHE: dict[str, mockrun.Plan] = {}


@pytest.fixture(scope="session")
def bootstrap_plan_of() -> Callable[[str], mockrun.Plan]:
    def get(stack: str) -> mockrun.Plan:
        if stack not in _CACHE:
            _CACHE[stack] = golden.bootstrap_plan_for(stack)
        return _CACHE[stack]
    return get


@pytest.fixture(params=golden.BOOTSTRAP_STACKS)
def bootstrap_stack(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def bootstrap_plan(bootstrap_plan_of: Callable[[str], mockrun.Plan], bootstrap_stack: str) -> mockrun.Plan:
    return bootstrap_plan_of(bootstrap_stack)
