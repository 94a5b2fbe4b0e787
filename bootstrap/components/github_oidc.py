"""GitHub Actions' OIDC identity in this account, and one IAM role per CI purpose.

Creates: the OIDC provider for ``token.actions.githubusercontent.com`` (audience
``sts.amazonaws.com``) and, per purpose, a role whose trust policy admits exactly one token
subject of this repository, with an inline policy from ``bootstrap.components.permissions``.

Subjects (GitHub's default ``sub`` claim, matched with StringEquals, so no wildcard ever):

- a job with an ``environment:`` gets ``repo:<o>/<r>:environment:<name>`` whatever its ref; the
  environment's deployment branch/tag policy (``github_repository.py``) restricts the refs;
- a pull_request job without one gets ``repo:<o>/<r>:pull_request``;
- any other job gets ``repo:<o>/<r>:ref:<ref>``.

Trust documents name the provider by the ARN built from the account id and the partition (both
invokes), never by the provider's output, so a first preview and the policy pack can read them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import partition

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
"""The ``aud`` claim the workflows' tokens carry: aws-actions/configure-aws-credentials requests this
value by default (its ``audience`` input) in every partition, and ours never set another. It is a
string matched against the provider's client ids, not an endpoint, so it stays the same in aws-cn
and aws-us-gov; a workflow that passed ``audience:`` would need the same value here."""


@dataclass(frozen=True, kw_only=True)
class CiRoleSpec:
    purpose: str
    """``preview``, ``deploy-staging``, ... ; the role is ``platform-ci-<purpose>``."""
    subject: str
    """The one ``sub`` claim (after ``repo:<owner>/<name>:``) that may assume the role."""
    session_seconds: int
    """At least the longest ``timeout-minutes`` of the jobs that use it (a test reads the workflows)."""
    description: str
    policy: Callable[[str, str], Mapping[str, Any]]
    """The inline policy for an account id and partition (both from invokes, so known in preview)."""


def provider_arn(account_id: str, partition: str) -> str:
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{ISSUER}"


def role_name(purpose: str) -> str:
    return f"platform-ci-{purpose}"


def trust_policy(account_id: str, partition: str, repository: str, subject: str) -> dict[str, Any]:
    """Only GitHub tokens minted for ``repo:<repository>:<subject>`` with our audience."""
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GithubActionsOidc",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn(account_id, partition)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER}:aud": AUDIENCE,
                f"{ISSUER}:sub": f"repo:{repository}:{subject}",
            }},
        }],
    }


def _trust_json(where: list[str], *, repository: str, subject: str) -> str:
    return json.dumps(trust_policy(where[0], where[1], repository, subject))


def _policy_json(spec: CiRoleSpec, where: list[str]) -> str:
    return json.dumps(spec.policy(where[0], where[1]))


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
        part = partition.current(self)
        where = pulumi.Output.all(args.account_id, part.partition)
        for spec in args.roles:
            role = aws.iam.Role(
                f"{name}-{spec.purpose}",
                name=role_name(spec.purpose),
                description=spec.description,
                assume_role_policy=where.apply(
                    functools.partial(_trust_json, repository=args.repository, subject=spec.subject)),
                max_session_duration=spec.session_seconds,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[provider]),
            )
            aws.iam.RolePolicy(f"{name}-{spec.purpose}-policy", role=role.id, name=spec.purpose,
                               policy=where.apply(functools.partial(_policy_json, spec)), opts=child)
            self.role_arns[spec.purpose] = partition.arn("iam", "", args.account_id,
                                                         pulumi.Output.concat("role/", role.name), parent=self)
        self.provider_arn: pulumi.Output[str] = where.apply(lambda w: provider_arn(w[0], w[1]))
        self.register_outputs({"providerArn": self.provider_arn, "roleArns": self.role_arns})
