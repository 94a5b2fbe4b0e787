"""The environment's KMS key: rotation, alias, deletion window, a policy without wildcard principals."""

from __future__ import annotations

import json

import pytest
from helpers import inputs

from tools.offline import mockrun

KEY, ALIAS = "aws:kms/key:Key", "aws:kms/alias:Alias"


def test_key_rotates(plan: mockrun.Plan) -> None:
    key = plan.get(KEY, "kms-key")
    assert inputs(key)["enableKeyRotation"] is True, key.urn


def test_alias_names_the_stack(plan: mockrun.Plan) -> None:
    alias = plan.get(ALIAS, "kms-alias")
    assert inputs(alias)["name"] == f"alias/platform-{plan.stack}", alias.urn


@pytest.mark.parametrize(("stack", "days"), [("pr-7", 7), ("staging", 7), ("production", 30)])
def test_deletion_window(plan: mockrun.Plan, days: int) -> None:
    key = plan.get(KEY, "kms-key")
    assert inputs(key)["deletionWindowInDays"] == days, key.urn


def test_key_policy_has_no_wildcard_principal(plan: mockrun.Plan) -> None:
    key = plan.get(KEY, "kms-key")
    for statement in json.loads(inputs(key)["policy"])["Statement"]:
        principal = statement["Principal"]
        values = [principal] if isinstance(principal, str) else [
            v for vs in principal.values() for v in (vs if isinstance(vs, list) else [vs])]
        assert "*" not in values, f"{key.urn}: {statement['Sid']} has a wildcard principal"


def test_key_policy_root_is_this_account(plan: mockrun.Plan) -> None:
    key = plan.get(KEY, "kms-key")
    roots = [s["Principal"].get("AWS") for s in json.loads(inputs(key)["policy"])["Statement"]]
    account = key.outputs["arn"].split(":")[4]
    assert f"arn:aws:iam::{account}:root" in roots, (key.urn, roots)
