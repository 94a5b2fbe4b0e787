"""Every CI role trusts exactly one GitHub token subject of this repository, with our audience."""

from __future__ import annotations

import pytest
from bootstrap_helpers import STACKS, account_of, document, inputs, plan_of, policy_of, roles

from bootstrap.components.permissions import READ_ANYWHERE

REPO = "example-org/platform"
SUBJECTS = {
    "staging-eu-west-1": {"preview": "pull_request", "ephemeral": "environment:ephemeral",
                          "image-push": "ref:refs/heads/main", "deploy-staging": "environment:staging"},
    "production-eu-west-1": {"deploy-production": "environment:production"},
}
ISSUER = "token.actions.githubusercontent.com"


@STACKS
def test_each_account_gets_only_its_roles(stack):
    bootstrap_plan = plan_of(stack)
    assert set(roles(bootstrap_plan)) == set(SUBJECTS[bootstrap_plan.stack]), bootstrap_plan.stack


@STACKS
def test_oidc_provider_is_githubs_with_the_sts_audience(stack):
    bootstrap_plan = plan_of(stack)
    provider = inputs(bootstrap_plan.get("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github-provider"))
    assert provider["url"] == f"https://{ISSUER}" and provider["clientIdLists"] == ["sts.amazonaws.com"]


@STACKS
def test_trust_pins_audience_and_exact_subject(stack):
    bootstrap_plan = plan_of(stack)
    account = account_of(bootstrap_plan)
    for purpose, role in roles(bootstrap_plan).items():
        [st] = document(role, "assumeRolePolicy")["Statement"]
        assert st["Effect"] == "Allow" and st["Action"] == "sts:AssumeRoleWithWebIdentity", role.urn
        assert st["Principal"] == {"Federated": f"arn:aws:iam::{account}:oidc-provider/{ISSUER}"}, role.urn
        # StringEquals only: no StringLike anywhere, so no pattern can widen the subject.
        assert st["Condition"] == {"StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com",
            f"{ISSUER}:sub": f"repo:{REPO}:{SUBJECTS[bootstrap_plan.stack][purpose]}"}}, role.urn


@STACKS
def test_no_wildcard_subject_anywhere(stack):
    bootstrap_plan = plan_of(stack)
    for role in roles(bootstrap_plan).values():
        sub = document(role, "assumeRolePolicy")["Statement"][0]["Condition"]["StringEquals"][f"{ISSUER}:sub"]
        assert "*" not in sub and "?" not in sub, role.urn


@pytest.mark.parametrize("purpose", ["preview", "ephemeral", "image-push", "deploy-staging"])
def test_ci_policies_grant_no_wildcard_actions_and_star_only_for_unscopable(purpose):
    for st in policy_of(plan_of("staging-eu-west-1"), purpose)["Statement"]:
        assert all(a != "*" and not a.endswith(":*") for a in st["Action"]), (purpose, st["Sid"])
        if st["Resource"] == "*":
            assert set(st["Action"]) <= {*READ_ANYWHERE, "kms:CreateKey"}, (purpose, st["Sid"])


def test_preview_is_read_only_except_its_lock_files():
    verbs = ("Create", "Delete", "Put", "Update", "Modify", "Tag", "Untag", "Set", "Authorize", "Revoke")
    for st in policy_of(plan_of("staging-eu-west-1"), "preview")["Statement"]:
        writes = [a for a in st["Action"] if a.split(":")[1].startswith(verbs)]
        if writes:
            assert st["Sid"] == "StateLocks" and st["Resource"] == [
                "arn:aws:s3:::platform-state-123456789012-eu-west-1/.pulumi/locks/platform/staging/*"], st


def _resources(st: dict) -> list[str]:
    return [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]


NAME_SCOPED = ("Buckets", "Repositories", "Databases", "Caches", "LogGroups", "KmsAliases", "IamCreate", "IamManage")


@pytest.mark.parametrize(("stack", "purpose", "prefix", "tag"), [
    ("staging-eu-west-1", "ephemeral", "platform-pr-", {"StringLike": "pr-*"}),
    ("staging-eu-west-1", "deploy-staging", "platform-staging", {"StringEquals": "staging"}),
    ("production-eu-west-1", "deploy-production", "platform-production", {"StringEquals": "production"}),
])
def test_deployers_touch_only_their_stacks(stack, purpose, prefix, tag):
    statements = {st["Sid"]: st for st in policy_of(plan_of(stack), purpose)["Statement"]}
    for sid in NAME_SCOPED:
        for arn in _resources(statements[sid]):
            assert f"{prefix}*" in arn, (purpose, sid, arn)
    [(op, value)] = tag.items()
    for sid in ("KmsCreate", "IamCreate", "SecurityGroupCreate"):
        assert statements[sid]["Condition"] == {op: {"aws:RequestTag/stack": value}}, (purpose, sid)
    for sid in ("KmsManage", "IamManage", "SecurityGroupManage"):
        assert statements[sid]["Condition"] == {op: {"aws:ResourceTag/stack": value}}, (purpose, sid)


@pytest.mark.parametrize(("stack", "purpose", "state"), [
    ("staging-eu-west-1", "ephemeral", "pr-*"),
    ("staging-eu-west-1", "deploy-staging", "staging"),
    ("production-eu-west-1", "deploy-production", "production"),
])
def test_deployers_write_only_their_own_state(stack, purpose, state):
    [st] = [s for s in policy_of(plan_of(stack), purpose)["Statement"] if "s3:PutObject" in s["Action"]]
    assert st["Sid"] == "StateWrite"
    for arn in st["Resource"]:
        kind, project, rest = arn.split("/.pulumi/")[1].split("/", 2)
        assert project == "platform" and rest.startswith(state), (purpose, arn)
