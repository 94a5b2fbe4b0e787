"""KMS: rotated customer keys with an explicit, non-public key policy and a recovery window."""

from __future__ import annotations

import fnmatch
import re

from ._core import as_list, by_type, expect_flag, is_unknown, resource_rule, stack_rule, truthy, unknown_msg
from ._docs import actions, allows, principals, public_statements, statements

KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ROLE = "aws:iam/role:Role"


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


_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):")
_ADMIN = ("kms:PutKeyPolicy", "kms:CreateGrant", "kms:ScheduleKeyDeletion", "kms:DisableKey")
"""Actions that hand over the key (its policy, grants to anyone, its deletion); a statement grants
one when its action, wildcards read as AWS reads them (kms:*, kms:Put*, *), matches it."""


def _grants_admin(action: str) -> bool:
    return any(fnmatch.fnmatchcase(admin.lower(), action.lower()) for admin in _ADMIN)


def account_of(principal: str) -> str | None:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT.match(principal)
    return match.group(1) if match else None


def stack_accounts(resources) -> set[str]:
    """The stack's own account(s): from the ARNs its resources report (deployed state, the offline
    plan) and, known even in a first preview, the OIDC provider its IRSA roles trust."""
    found = {a for r in resources for v in (r.props.get("arn"),) if isinstance(v, str)
             for a in (account_of(v),) if a}
    for role in by_type(resources, ROLE):
        for st in statements(role.props.get("assumeRolePolicy")):
            p = st.get("Principal")
            federated = p.get("Federated") if isinstance(p, dict) else None
            found |= {a for f in as_list(federated) if isinstance(f, str) and ":oidc-provider/" in f
                      for a in (account_of(f),) if a}
    return found


@stack_rule(
    "aws-kms-no-foreign-admin", types=(KEY, KEY_POLICY), severity="critical",
    description="KMS key policies grant kms:* (or policy, grant or deletion rights) only to principals "
                "of the stack's own account.",
    rows=("KMS-06",), anchors=("checkov:CKV_AWS_33", "fsbp:KMS.1", "pcp:aws-kms-key-disallow-cross-account-admin"),
    fix="grant another account only the use it needs (kms:Decrypt, kms:GenerateDataKey) with a condition, "
        "never kms:* or kms:Put*/Create*/ScheduleKeyDeletion; administration stays with this account's root")
def no_foreign_admin(resources, ctx):
    own = stack_accounts(resources)
    for key in by_type(resources, KEY, KEY_POLICY):
        arn = key.props.get("arn") if key.type == KEY else key.props.get("keyId")
        mine = own | ({account_of(arn)} if isinstance(arn, str) and account_of(arn) else set())
        for st in statements(key.props.get("policy")):
            granted = [a for a in actions(st) if _grants_admin(a)]
            if not allows(st) or not granted:
                continue
            for principal in principals(st):
                account = account_of(principal)
                if account is None:
                    continue  # services and '*' (aws-kms-policy-not-public)
                if not mine:
                    yield key.urn, ("this stack's account cannot be told (no known ARN, no IRSA role), so "
                                    f"statement '{st.get('Sid', '?')}' granting {granted[0]} to {principal} cannot be verified")
                elif account not in mine:
                    yield key.urn, (f"statement '{st.get('Sid', '?')}' grants {granted[0]} to {principal}, "
                                    f"a principal of account {account}, not this stack's ({', '.join(sorted(mine))})")
