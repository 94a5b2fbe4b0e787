"""Helpers for the bootstrap tests (imported by name; fixtures live in conftest.py)."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from tools import wire
from tools.dev import golden
from tools.offline import mockrun

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def inputs(resource: mockrun.Recorded) -> dict[str, Any]:
    return wire.plain(resource.inputs)


def document(resource: mockrun.Recorded, key: str) -> dict[str, Any]:
    """A JSON policy input of ``resource`` (trust policy, inline policy, registry policy) as a dict."""
    return json.loads(inputs(resource)[key])


def roles(plan: mockrun.Plan) -> dict[str, mockrun.Recorded]:
    """The CI roles by purpose (``platform-ci-<purpose>``)."""
    return {inputs(r)["name"].removeprefix("platform-ci-"): r for r in plan.by_type(ROLE)
            if inputs(r)["name"].startswith("platform-ci-")}


def policy_of(plan: mockrun.Plan, purpose: str) -> dict[str, Any]:
    return document(plan.get(ROLE_POLICY, f"github-{purpose}-policy"), "policy")


def account_of(plan: mockrun.Plan) -> str:
    """The mocked account of the stack (from the role ARNs it exports)."""
    arns = wire.plain(plan.stack_outputs)["roleArns"]
    return next(iter(arns.values())).split(":")[4]


@functools.cache
def plan_of(stack: str) -> mockrun.Plan:
    """The offline plan of a bootstrap stack, run once per test process (no conftest: the root
    one is imported by name elsewhere, and a second ``conftest`` module would shadow it)."""
    return golden.bootstrap_plan_for(stack)


STACKS = pytest.mark.parametrize("stack", golden.BOOTSTRAP_STACKS)
"""Parametrizes a test over every bootstrap stack (one per AWS account)."""
