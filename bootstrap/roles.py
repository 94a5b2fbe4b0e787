"""Which CI roles an account gets, what each trusts, and how long its sessions last.

Session length is at least the ``timeout-minutes`` of the longest job using the role (a test
reads the workflows): a credential that expires mid-``pulumi up`` leaves a locked, half-applied
stack. IAM allows 1-12 h.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bootstrap.components.github_oidc import CiRoleSpec
from bootstrap.components.permissions import Account, StackScope, deploy_policy, image_push_policy, preview_policy
from bootstrap.components.state import bucket_name
from bootstrap.settings import BootstrapSettings

SESSION_SECONDS = {"preview": 3600, "image-push": 3600, "deploy-staging": 7200, "deploy-production": 7200,
                   "ephemeral": 7200}
WORKFLOW_VARIABLES = {purpose: "AWS_ROLE_" + purpose.upper().replace("-", "_") for purpose in SESSION_SECONDS}
"""The GitHub Actions variable holding each role's ARN (``vars.AWS_ROLE_DEPLOY_STAGING``, ...)."""
STAGING_CLUSTER = "platform-staging"
"""PR previews and PR stacks run on the staging cluster."""


def specs(settings: BootstrapSettings) -> tuple[CiRoleSpec, ...]:
    def account(account_id: str, partition: str) -> Account:
        return Account(account_id=account_id, partition=partition, region=settings.region,
                       state_bucket=bucket_name(account_id, settings.region),
                       image_account=settings.image_registry_account or account_id)

    def deployer(env: str) -> Callable[[str, str], dict[str, Any]]:
        scope = StackScope(name_prefix=f"platform-{env}", stack_condition=("StringEquals", env),
                           cluster=f"platform-{env}", state_stack=env)
        return lambda account_id, partition: deploy_policy(account(account_id, partition), scope)

    out: list[CiRoleSpec] = []
    if settings.hosts_pull_requests:
        out.append(CiRoleSpec(purpose="preview", subject="pull_request", session_seconds=SESSION_SECONDS["preview"],
                              description="pulumi preview of staging from this repository's pull requests (read-only)",
                              policy=lambda a, p: preview_policy(account(a, p), STAGING_CLUSTER)))
        out.append(CiRoleSpec(purpose="ephemeral", subject="environment:ephemeral",
                              session_seconds=SESSION_SECONDS["ephemeral"],
                              description="PR stacks pr-<n> only (names platform-pr-*)",
                              policy=lambda a, p: deploy_policy(account(a, p), StackScope(
                                  name_prefix="platform-pr-", stack_condition=("StringLike", "pr-*"),
                                  cluster=STAGING_CLUSTER, state_stack="pr-*"))))
    if settings.image_repositories:
        out.append(CiRoleSpec(purpose="image-push", subject="ref:refs/heads/main",
                              session_seconds=SESSION_SECONDS["image-push"],
                              description="push application images built from main (platform/*)",
                              policy=lambda a, p: image_push_policy(account(a, p))))
    for env in settings.environments:
        out.append(CiRoleSpec(purpose=f"deploy-{env}", subject=f"environment:{env}",
                              session_seconds=SESSION_SECONDS[f"deploy-{env}"],
                              description=f"pulumi up of stack {env} from GitHub environment {env}",
                              policy=deployer(env)))
    return tuple(out)
