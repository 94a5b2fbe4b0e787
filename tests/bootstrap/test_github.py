"""The GitHub repository's environments and release-tag ruleset (pulumi-github), as planned."""

from __future__ import annotations

import pytest
from bootstrap_helpers import inputs, plan_of

ENV = "github:index/repositoryEnvironment:RepositoryEnvironment"
POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
STACK = "staging-eu-west-1"
"""The one stack with bootstrap:github.manage."""


def _policies(plan, environment: str) -> set[tuple[str, str]]:
    found = set()
    for r in plan.by_type(POLICY):
        i = inputs(r)
        if i["environment"] == environment:
            found |= {(k, i[k]) for k in ("branchPattern", "tagPattern") if i.get(k)}
    return found


def test_only_the_managing_stack_touches_github():
    assert not [r for r in plan_of("production-eu-west-1").resources if r.type.startswith("github:")]
    assert {inputs(r)["environment"] for r in plan_of(STACK).by_type(ENV)} == {
        "staging", "production", "ephemeral"}


def test_production_needs_a_review_from_the_release_team():
    env = inputs(plan_of(STACK).get(ENV, "repository-production"))
    [reviewers] = env["reviewers"]
    assert len(reviewers["teams"]) == 1 and isinstance(reviewers["teams"][0], int | float), env
    assert env["preventSelfReview"] is True and env["canAdminsBypass"] is False, env


@pytest.mark.parametrize(("environment", "expected"), [
    ("production", {("tagPattern", "v*.*.*"), ("branchPattern", "main")}),
    ("staging", {("branchPattern", "main")}),
])
def test_deployment_refs_are_restricted(environment, expected):
    plan = plan_of(STACK)
    env = inputs(plan.get(ENV, f"repository-{environment}"))
    assert env["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}, environment
    assert _policies(plan, environment) == expected


def test_ephemeral_environment_has_no_reviewers_and_no_ref_policy():
    plan = plan_of(STACK)
    env = inputs(plan.get(ENV, "repository-ephemeral"))
    assert "reviewers" not in env and "deploymentBranchPolicy" not in env and not _policies(plan, "ephemeral")


def test_release_tags_are_protected_by_a_ruleset():
    ruleset = inputs(plan_of(STACK).get(RULESET, "repository-release-tags"))
    assert (ruleset["target"], ruleset["enforcement"]) == ("tag", "active")
    assert ruleset["conditions"]["refName"] == {"includes": ["refs/tags/v*"], "excludes": []}
    assert all(ruleset["rules"][k] is True for k in ("creation", "update", "deletion")), ruleset["rules"]
    assert {a["actorType"] for a in ruleset["bypassActors"]} == {"RepositoryRole"}
