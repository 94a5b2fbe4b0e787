"""The physical names the components give AWS resources, as templates.

One table so that config validation can check, before anything is registered, that every name a
stack would produce is one AWS accepts (``policies/constraints.py``), and derive from it how long
a stack name may be in a region. ``tests/components/test_naming.py`` checks that the templates
are exactly the names the components produce in each stack class's plan, so a component that
changes a name without changing its template fails the suite.

Placeholders: ``{prefix}`` (``<project>-<stack>``), ``{account}`` (12 digits), ``{region}``,
``{service}`` (one per ECR repository).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

ACCOUNT_ID_LENGTH = 12

TEMPLATES: tuple[tuple[str, str], ...] = (
    # (constraints.NAMES kind, template)
    ("kms-alias", "alias/{prefix}"),
    ("ecr-repository", "{prefix}/{service}"),
    ("ecr-pull-through-prefix", "ecr-public"),
    ("s3-bucket", "{prefix}-backups-{account}-{region}"),
    ("iam-role", "{prefix}-backup"),
    ("iam-role", "{prefix}-app"),
    ("iam-role", "{prefix}-postgres-exporter"),
    ("iam-role", "{prefix}-external-dns"),
    ("iam-role", "{prefix}-ebs-csi"),
    ("rds-instance", "{prefix}-postgres"),
    ("rds-subnet-group", "{prefix}-postgres"),
    ("rds-parameter-group", "{prefix}-postgres-pg18"),
    ("rds-snapshot", "{prefix}-postgres-final"),
    ("security-group", "{prefix}-postgres"),
    ("security-group-description", "{prefix}-postgres: Postgres from the cluster nodes only"),
    ("log-group", "/aws/rds/instance/{prefix}-postgres/postgresql"),
    ("log-group", "/aws/rds/instance/{prefix}-postgres/upgrade"),
    ("elasticache-replication-group", "{prefix}-redis"),
    ("elasticache-subnet-group", "{prefix}-redis"),
    ("elasticache-snapshot", "{prefix}-redis-final"),
    ("security-group", "{prefix}-redis"),
    ("security-group-description", "{prefix}-redis: Valkey from the cluster nodes only"),
    ("log-group", "/{prefix}/redis/slow-log"),
)


def physical_names(*, prefix: str, account: str, region: str, services: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(kind, name)`` for every physical name a stack with this prefix may create (all modes)."""
    for kind, template in TEMPLATES:
        for service in (services if "{service}" in template else ("",)):
            yield kind, template.format(prefix=prefix, account=account, region=region, service=service)
