"""The GitHub side of delivery: deployment environments and the release-tag ruleset.

Creates (pulumi-github, in the one stack with ``bootstrap:github.manage``):
- environment ``staging``: deployable from ``main`` only;
- environment ``production``: required reviewers (teams), no self-review, admins cannot bypass,
  deployable from tags ``v*.*.*`` and from ``main`` (an approved manual dispatch);
- environment ``ephemeral``: PR stacks, no reviewers; any ref (PR merge refs), forks get no
  OIDC token anyway;
- a tag ruleset on ``refs/tags/v*``: only repository admins and maintainers create, move or
  delete release tags (GitHub retired tag protection rules in favour of rulesets).

The AWS roles trust ``repo:<o>/<r>:environment:<name>``; these branch/tag policies are what make
that subject mean "from main" or "from a release tag".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_github as github

RELEASE_TAGS = "refs/tags/v*"
REPOSITORY_ROLE_MAINTAIN, REPOSITORY_ROLE_ADMIN = 2, 5
"""GitHub's ids of the built-in repository roles (REST API ``bypass_actors``)."""


@dataclass(frozen=True, kw_only=True)
class EnvironmentSpec:
    name: str
    reviewer_teams: Sequence[str] = ()
    branches: Sequence[str] = ()
    tags: Sequence[str] = ()
    """Empty branches and tags: any ref may deploy (only for ``ephemeral``)."""


@dataclass(frozen=True, kw_only=True)
class GithubRepositoryArgs:
    repository: str
    """The name without the owner; the provider's ``github:owner`` names the owner."""
    environments: Sequence[EnvironmentSpec] = field(default_factory=tuple)


def environments_for(production_reviewers: Sequence[str], staging_reviewers: Sequence[str]) -> list[EnvironmentSpec]:
    return [
        EnvironmentSpec(name="staging", reviewer_teams=staging_reviewers, branches=("main",)),
        EnvironmentSpec(name="production", reviewer_teams=production_reviewers, branches=("main",),
                        tags=("v*.*.*",)),
        EnvironmentSpec(name="ephemeral"),
    ]


class GithubRepository(pulumi.ComponentResource):
    """Creates: per environment a RepositoryEnvironment and its deployment policies; the tag ruleset."""

    def __init__(self, name: str, args: GithubRepositoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:bootstrap:GithubRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        team_ids: dict[str, pulumi.Output[int]] = {}
        for env in args.environments:
            for slug in env.reviewer_teams:
                if slug not in team_ids:
                    team = github.get_team_output(slug=slug, opts=pulumi.InvokeOutputOptions(parent=self))
                    team_ids[slug] = team.id.apply(int)
        for env in args.environments:
            restricted = bool(env.branches or env.tags)
            environment = github.RepositoryEnvironment(
                f"{name}-{env.name}", repository=args.repository, environment=env.name,
                reviewers=[{"teams": [team_ids[s] for s in env.reviewer_teams]}] if env.reviewer_teams else None,
                prevent_self_review=bool(env.reviewer_teams), can_admins_bypass=not env.reviewer_teams,
                deployment_branch_policy={"protected_branches": False, "custom_branch_policies": True}
                if restricted else None,
                opts=child)
            on_env = pulumi.ResourceOptions(parent=self, depends_on=[environment])
            for branch in env.branches:
                github.RepositoryEnvironmentDeploymentPolicy(
                    f"{name}-{env.name}-branch-{branch}", repository=args.repository,
                    environment=environment.environment, branch_pattern=branch, opts=on_env)
            for tag in env.tags:
                github.RepositoryEnvironmentDeploymentPolicy(
                    f"{name}-{env.name}-tag-{tag.replace('*', 'x')}", repository=args.repository,
                    environment=environment.environment, tag_pattern=tag, opts=on_env)
        github.RepositoryRuleset(
            f"{name}-release-tags", repository=args.repository, name="release-tags", target="tag",
            enforcement="active",
            conditions={"ref_name": {"includes": [RELEASE_TAGS], "excludes": []}},
            rules={"creation": True, "update": True, "deletion": True, "non_fast_forward": True},
            bypass_actors=[{"actor_type": "RepositoryRole", "actor_id": role, "bypass_mode": "always"}
                           for role in (REPOSITORY_ROLE_MAINTAIN, REPOSITORY_ROLE_ADMIN)],
            opts=child)
        self.register_outputs({})


