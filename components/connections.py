"""What a data store hands its clients: one typed connection, never a bag of loose outputs.

Plain frozen dataclasses (no provider imports), so a client can be built and tested without the
store. Where the password lives is a sum type: ``InSecretsManager`` (managed Postgres: RDS keeps
the master secret) or ``InKubernetesSecret`` (in-cluster stores, and Redis's AUTH token). A client
matches on it once; it never asks the profile which mode the store runs in, and "exactly one of"
holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True, kw_only=True)
class RdsMasterSecretGrant:
    """What a reader of an RDS-managed master secret must be allowed, named by what is known before
    the secret exists (its ARN holds a random suffix): the instance it belongs to and the key alias."""

    db_instance_identifier: str
    kms_alias: pulumi.Input[str]
    """Alias of the key that encrypts the secret (``alias/platform-<stack>``)."""


@dataclass(frozen=True, kw_only=True)
class InSecretsManager:
    """The password is the ``password`` field of a JSON secret in Secrets Manager."""

    secret_arn: pulumi.Input[str]
    """What a reader fetches (unknown until the secret exists)."""
    grant: RdsMasterSecretGrant
    """What a reader's IAM role must be allowed (known in every preview)."""


@dataclass(frozen=True, kw_only=True)
class InKubernetesSecret:
    """The password is key ``key`` of a Secret in the application namespace."""

    name: pulumi.Input[str]
    key: str = "password"


PasswordSource = InSecretsManager | InKubernetesSecret


def password_location(password: PasswordSource) -> tuple[str, pulumi.Input[str]]:
    """Where the password lives, for people and scripts (a ConfigMap, a stack output), never the password:
    ``("aws-secretsmanager", <secret ARN>)`` or ``("kubernetes-secret", <Secret name>)``."""
    match password:
        case InSecretsManager(secret_arn=arn):
            return "aws-secretsmanager", arn
        case InKubernetesSecret(name=name):
            return "kubernetes-secret", name


@dataclass(frozen=True, kw_only=True)
class PostgresConnection:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: str
    username: str
    sslmode: str
    """``verify-full`` for RDS; ``prefer`` in-cluster (pod network, no certificate to verify)."""
    password: PasswordSource
    reader_host: pulumi.Input[str] | None = None
    """A read replica's endpoint (same port, database, user and password); None: no replica."""

    @property
    def read_host(self) -> pulumi.Input[str]:
        """Where read-only clients connect: the replica, or the primary when there is none (so a client
        has one code path; reads that must see their own writes use ``host``)."""
        return self.host if self.reader_host is None else self.reader_host


@dataclass(frozen=True, kw_only=True)
class RedisConnection:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    tls: bool
    cluster_mode: bool
    auth: InKubernetesSecret
    """The AUTH token: always a Kubernetes Secret (both modes write ``redis-auth``)."""
