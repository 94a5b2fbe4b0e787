"""Typed, validated configuration of one bootstrap stack (one AWS account and region).

The bootstrap stack owns what exists once per account (the GitHub OIDC provider, the CI roles,
the state bucket and secrets key, the ECR pull-through cache and its creation template, the
shared image repositories) and, in exactly one stack, the GitHub repository's environments and
tag ruleset. A stack file holds only what differs between accounts; everything else is decided
here. Unknown ``bootstrap:*`` keys are errors with the fix, like the platform's config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from config import ConfigError

NAMESPACE = "bootstrap"
ENVIRONMENTS = ("staging", "production")
REPOSITORY = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
ACCOUNT = re.compile(r"\d{12}")
TEAM_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")

KEYS: dict[str, str] = {
    "repository": "GitHub repository `<owner>/<name>` whose workflows may assume the roles",
    "environments": "deploy environments hosted in this account: [staging] and/or [production]",
    "owner": "owning team (tag)",
    "costCenter": "cost centre (tag)",
    "nodeRoleArns": "cluster node role ARNs of the region's partition (arn:<partition>:iam::<account>:role/<name>) that "
                    "pull images (pull-through cache, shared repositories)",
    "imageRepositories": "application repositories created here, shared by every environment",
    "imagePullAccounts": "other AWS accounts whose node roles pull the shared images (production)",
    "imageRegistryAccount": "the 12-digit account owning the shared platform/* repositories the environments here "
                            "read, when another account builds them (production: the staging account)",
    "github.manage": "true in exactly one stack: it owns the repository's environments and tag ruleset",
    "github.productionReviewers": "team slugs that approve production deployments",
    "github.stagingReviewers": "team slugs that approve staging deployments (usually none)",
}


@dataclass(frozen=True, kw_only=True)
class GithubSettings:
    manage: bool
    production_reviewers: tuple[str, ...]
    staging_reviewers: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class BootstrapSettings:
    stack: str
    project: str
    region: str
    repository: str
    """``owner/name``: every trust policy's ``sub`` starts with ``repo:<repository>:``."""
    environments: tuple[str, ...]
    owner: str
    cost_center: str
    node_role_arns: tuple[str, ...]
    image_repositories: tuple[str, ...]
    image_pull_accounts: tuple[str, ...]
    image_registry_account: str | None
    """None: this account owns the shared repositories it reads."""
    github: GithubSettings

    @property
    def hosts_pull_requests(self) -> bool:
        """PR previews and PR stacks run against staging, so its account gets those roles."""
        return "staging" in self.environments

    @property
    def tags(self) -> dict[str, str]:
        return {"environment": "bootstrap", "project": self.project, "stack": self.stack,
                "owner": self.owner, "cost-center": self.cost_center, "managed-by": "pulumi"}


def load() -> BootstrapSettings:
    raw = dict(pulumi.runtime.config.get_config_env())
    raw.update(pulumi.runtime.config.CONFIG.get())
    return parse(raw, stack=pulumi.get_stack(), project=pulumi.get_project())


def parse(raw: Mapping[str, Any], *, stack: str, project: str) -> BootstrapSettings:
    problems: list[str] = []
    values = {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith(f"{NAMESPACE}:")}

    def problem(key: str, value: Any, expected: str) -> None:
        problems.append(f"Pulumi.{stack}.yaml: {NAMESPACE}:{key} = {value!r}: expected {expected}. "
                        f"Fix: pulumi config set {NAMESPACE}:{key} <value> --stack {stack} --cwd bootstrap")

    for key in sorted(set(values) - set(KEYS)):
        problem(key, values[key], f"a known key ({', '.join(sorted(KEYS))})")

    def text(key: str, pattern: re.Pattern[str] | None = None, *, required: bool = True) -> str:
        value = values.get(key)
        if value is None or value == "":
            if required:
                problem(key, None, KEYS[key] + " (required)")
            return ""
        if pattern is not None and not pattern.fullmatch(str(value)):
            problem(key, value, KEYS[key])
        return str(value)

    def items(key: str, pattern: re.Pattern[str] | None = None, allowed: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = values.get(key, "[]")
        try:
            parsed = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
            problem(key, value, "a list of strings")
            return ()
        for v in parsed:
            if (pattern is not None and not pattern.fullmatch(v)) or (allowed and v not in allowed):
                problem(key, v, KEYS[key])
        return tuple(parsed)

    def flag(key: str) -> bool:
        value = str(values.get(key, "false")).lower()
        if value not in ("true", "false"):
            problem(key, value, "true or false")
        return value == "true"

    region = str(raw.get("aws:region") or "")
    if not region:
        problems.append(f"Pulumi.{stack}.yaml: aws:region is not set. Fix: pulumi config set aws:region eu-west-1 "
                        f"--stack {stack} --cwd bootstrap")
    # Node role ARNs must be of the region's partition (arn:aws-cn:... in cn-north-1).
    from policies.constraints import partition_of
    partition = partition_of(region) if region else "aws"
    environments = items("environments", allowed=ENVIRONMENTS)
    if not environments and "environments" not in {p.split(" = ")[0].rsplit(":", 1)[-1] for p in problems}:
        problem("environments", [], "at least one of " + ", ".join(ENVIRONMENTS))
    github = GithubSettings(manage=flag("github.manage"),
                            production_reviewers=items("github.productionReviewers", TEAM_SLUG),
                            staging_reviewers=items("github.stagingReviewers", TEAM_SLUG))
    if github.manage and not github.production_reviewers:
        problem("github.productionReviewers", [], "at least one team: production deploys need an approval")
    settings = BootstrapSettings(
        stack=stack, project=project, region=region,
        repository=text("repository", REPOSITORY), environments=environments,
        owner=text("owner"), cost_center=text("costCenter"),
        node_role_arns=items("nodeRoleArns", re.compile(rf"arn:{re.escape(partition)}:iam::\d{{12}}:role/[\w+=,.@/-]+")),
        image_repositories=items("imageRepositories", re.compile(r"[a-z0-9][a-z0-9._-]*")),
        image_pull_accounts=items("imagePullAccounts", ACCOUNT),
        image_registry_account=text("imageRegistryAccount", ACCOUNT, required=False) or None,
        github=github)
    if problems:
        raise ConfigError(problems)
    return settings
