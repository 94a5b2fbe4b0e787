"""GitHub Actions' OIDC identity in this account, and one IAM role per CI purpose.

Creates: the OIDC provider for ``token.actions.githubusercontent.com`` (audience
``sts.amazonaws.com``) and, per purpose, a role whose trust policy admits exactly one token
subject of this repository, with an inline policy from ``bootstrap.components.permissions``.

Subjects (GitHub's default ``sub`` claim, matched with StringEquals, so no wildcard ever):

- a job with an ``environment:`` gets ``repo:<o>/<r>:environment:<name>`` whatever its ref; the
  environment's deployment branch/tag policy (``github_repository.py``) restricts the refs;
- a pull_request job without one gets ``repo:<o>/<r>:pull_request``;
- any other job gets ``repo:<o>/<r>:ref:<ref>``.

Trust documents name the provider by the ARN built from the account id (an invoke), never by the
provider's output, so a first preview and the policy pack can read them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class CiRoleSpec:
    purpose: str
    """``preview``, ``deploy-staging``, ... ; the role is ``platform-ci-<purpose>``."""
    subject: str
    """The one ``sub`` claim (after ``repo:<owner>/<name>:``) that may assume the role."""
    session_seconds: int
    """At least the longest ``timeout-minutes`` of the jobs that use it (a test reads the workflows)."""
    description: str
    policy: Callable[[str], Mapping[str, Any]]
    """The inline policy for an account id (the id comes from an invoke, so it is known in preview)."""


def provider_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/{ISSUER}"


def role_name(purpose: str) -> str:
    return f"platform-ci-{purpose}"


def trust_policy(account_id: str, repository: str, subject: str) -> dict[str, Any]:
    """Only GitHub tokens minted for ``repo:<repository>:<subject>`` with our audience."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GithubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn(account_id)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER}:aud": AUDIENCE,
                f"{ISSUER}:sub": f"repo:{repository}:{subject}",
            }},
        }],
    }


def _trust_json(account_id: str, *, repository: str, subject: str) -> str:
    return json.dumps(trust_policy(account_id, repository, subject))


def _policy_json(spec: CiRoleSpec, account_id: str) -> str:
    return json.dumps(spec.policy(account_id))


@dataclass(frozen=True, kw_only=True)
class GithubOidcArgs:
    account_id: pulumi.Input[str]
    repository: str
    roles: tuple[CiRoleSpec, ...]
    tags: Mapping[str, str]


class GithubOidc(pulumi.ComponentResource):
    """Creates: the OIDC provider, and per spec a role (trust + max session) and its inline policy."""

    def __init__(self, name: str, args: GithubOidcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:bootstrap:GithubOidc", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # IAM no longer checks GitHub's certificate thumbprint (it trusts the issuer's root CA).
        provider = aws.iam.OpenIdConnectProvider(f"{name}-provider", url=f"https://{ISSUER}",
                                                 client_id_lists=[AUDIENCE], tags=dict(args.tags), opts=child)
        self.role_arns: dict[str, pulumi.Output[str]] = {}
        for spec in args.roles:
            role = aws.iam.Role(
                f"{name}-{spec.purpose}",
                name=role_name(spec.purpose),
                description=spec.description,
                assume_role_policy=pulumi.Output.from_input(args.account_id).apply(
                    functools.partial(_trust_json, repository=args.repository, subject=spec.subject)),
                max_session_duration=spec.session_seconds,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[provider]),
            )
            aws.iam.RolePolicy(f"{name}-{spec.purpose}-policy", role=role.id, name=spec.purpose,
                               policy=pulumi.Output.from_input(args.account_id).apply(
                                   functools.partial(_policy_json, spec)), opts=child)
            self.role_arns[spec.purpose] = pulumi.Output.concat("arn:aws:iam::", args.account_id, ":role/", role.name)
        self.provider_arn: pulumi.Output[str] = pulumi.Output.from_input(args.account_id).apply(provider_arn)
        self.register_outputs({"providerArn": self.provider_arn, "roleArns": self.role_arns})
