"""KMS: rotated customer keys with an explicit, non-public key policy and a recovery window."""

from __future__ import annotations

from ._core import expect_flag, is_unknown, resource_rule, truthy, unknown_msg
from ._docs import public_statements

KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"


@resource_rule(
    "aws-kms-key-rotation", types=(KEY,), severity="medium",
    description="KMS keys rotate automatically.",
    rows=("KMS-01",), anchors=("checkov:CKV_AWS_7", "trivy:AWS-0065",
                               "awsguard:cmk-backing-key-rotation-enabled", "fsbp:KMS.4"),
    fix="set enableKeyRotation true")
def rotation(props, ctx):
    value = props.get("enableKeyRotation")
    if is_unknown(value):
        yield unknown_msg("enableKeyRotation")
    elif not truthy(value) and props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
        yield "enableKeyRotation is not true"


@resource_rule(
    "aws-kms-policy-not-public", types=(KEY, KEY_POLICY), severity="high",
    description="KMS key policies have no unconditioned wildcard principal.",
    rows=("KMS-02",), anchors=("checkov:CKV_AWS_33",),
    fix="grant the account root and the named roles, never Principal '*' without a condition")
def policy_not_public(props, ctx):
    yield from public_statements(props.get("policy"))


@resource_rule(
    "aws-kms-no-lockout-bypass", types=(KEY, KEY_POLICY), severity="high",
    description="KMS key-policy lockout safety check is never bypassed.",
    rows=("KMS-04",), anchors=("pcp:aws-kms-key-disallow-bypass-policy-lockout-safety-check",),
    fix="remove bypassPolicyLockoutSafetyCheck (it defaults to false)")
def no_lockout_bypass(props, ctx):
    yield from expect_flag(props.get("bypassPolicyLockoutSafetyCheck"), "bypassPolicyLockoutSafetyCheck", False,
                           "bypassPolicyLockoutSafetyCheck is true: a bad policy can lock everyone out of the key")


@resource_rule(
    "aws-kms-deletion-window", types=(KEY,), severity="medium", category="protection",
    description="A deleted KMS key can be recovered for a while (deletion window).",
    rows=("KMS-05",), anchors=("fsbp:KMS.3",),
    config={"minimumDays": {"type": "integer", "default": 30}},
    fix="set deletionWindowInDays to at least the environment minimum (30 outside PR stacks)")
def deletion_window(props, ctx):
    minimum = int(ctx.config.get("minimumDays", 30))
    days = props.get("deletionWindowInDays", 30)
    if is_unknown(days):
        yield unknown_msg("deletionWindowInDays")
    elif int(days) < minimum:
        yield f"deletionWindowInDays is {int(days)}, below {minimum}: data under this key is unrecoverable sooner"
