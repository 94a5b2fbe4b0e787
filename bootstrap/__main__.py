"""platform-bootstrap: what exists once per AWS account (and once per GitHub repository).

``settings.load()`` decides; components build; this file composes and exports what the
workflows and the platform stacks need (role ARNs, backend URL, secrets provider, repositories).
"""

import sys
from pathlib import Path

# Pulumi runs this file from bootstrap/; the shared helpers (components/, config.py) live one up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from bootstrap import roles  # noqa: E402
from bootstrap import settings as bootstrap_settings  # noqa: E402
from bootstrap.components.github_oidc import GithubOidc, GithubOidcArgs  # noqa: E402
from bootstrap.components.github_repository import (  # noqa: E402
    GithubRepository,
    GithubRepositoryArgs,
    environments_for,
)
from bootstrap.components.registry import Registry, RegistryArgs  # noqa: E402
from bootstrap.components.state import StateBackend, StateBackendArgs  # noqa: E402

settings = bootstrap_settings.load()
account_id = aws.get_caller_identity_output().account_id

state = StateBackend("state", StateBackendArgs(account_id=account_id, region=settings.region, tags=settings.tags))
registry = Registry("registry", RegistryArgs(
    account_id=account_id, region=settings.region, node_role_arns=settings.node_role_arns,
    services=settings.image_repositories, pull_accounts=settings.image_pull_accounts, tags=settings.tags))
oidc = GithubOidc("github", GithubOidcArgs(
    account_id=account_id, repository=settings.repository,
    roles=roles.specs(settings), tags=settings.tags))
if settings.github.manage:
    GithubRepository("repository", GithubRepositoryArgs(
        repository=settings.repository.split("/", 1)[1],
        environments=environments_for(settings.github.production_reviewers, settings.github.staging_reviewers)))

pulumi.export("environment", "bootstrap")
pulumi.export("roleArns", oidc.role_arns)
pulumi.export("backendUrl", pulumi.Output.concat("s3://", state.bucket))
pulumi.export("secretsProvider", pulumi.Output.concat("awskms://", state.key_alias, "?region=", settings.region))
pulumi.export("imageRepositories", registry.repository_urls)
