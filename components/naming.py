"""The physical names the components give AWS resources, as templates.

One table so that config validation can check, before anything is registered, that every name a
stack would produce is one AWS accepts (``policies/constraints.py``), and derive from it how long
a stack name may be in a region. ``tests/components/test_naming.py`` checks that the templates
are exactly the names the components produce in each stack class's plan, so a component that
changes a name without changing its template fails the suite.

Placeholders: ``{prefix}`` (``<project>-<stack>``), ``{account}`` (12 digits), ``{region}``,
``{service}`` (one per ECR repository), ``{suffix}`` (a final snapshot's random hex, always
``2 * FINAL_SNAPSHOT_SUFFIX_BYTES`` characters, so the length budget holds for every value),
``{replica_region}`` (``platform:backups.replicaRegion``: the cross-region backup copy; its templates
are left out when there is none, and config.py checks its bucket name on its own).

``final_snapshot_identifier``: ``<identifier>-final-<hex>``, the hex from a ``random.RandomId`` kept
in state whose keepers hold the identifier. A constant ``<identifier>-final`` makes the second
destroy fail (RDS ``DBSnapshotAlreadyExists``, ElastiCache ``SnapshotAlreadyExistsFault``): the
snapshot the first destroy left is still there. A new incarnation of the store draws a new suffix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pulumi
import pulumi_random as random

ACCOUNT_ID_LENGTH = 12
FINAL_SNAPSHOT_SUFFIX_BYTES = 4

TEMPLATES: tuple[tuple[str, str], ...] = (
    # (constraints.NAMES kind, template)
    ("kms-alias", "alias/{prefix}"),
    ("ecr-repository", "{prefix}/{service}"),
    ("s3-bucket", "{prefix}-backups-{account}-{region}"),
    ("s3-bucket", "{prefix}-backups-{account}-{replica_region}"),
    ("iam-role", "{prefix}-backup"),
    ("iam-role", "{prefix}-backup-replication"),
    ("iam-role", "{prefix}-app"),
    ("iam-role", "{prefix}-postgres-exporter"),
    ("iam-role", "{prefix}-external-dns"),
    ("iam-role", "{prefix}-ebs-csi"),
    ("iam-role", "{prefix}-acme-dns01"),
    ("iam-role", "{prefix}-restore-drill"),
    ("iam-role", "{prefix}-lb-controller"),
    ("iam-role", "{prefix}-fluent-bit"),
    ("rds-instance", "{prefix}-postgres"),
    ("rds-instance", "{prefix}-postgres-replica"),
    ("rds-subnet-group", "{prefix}-postgres"),
    ("rds-parameter-group", "{prefix}-postgres-pg18"),
    ("rds-snapshot", "{prefix}-postgres-final-{suffix}"),
    ("security-group", "{prefix}-postgres"),
    ("security-group-description", "{prefix}-postgres: Postgres from the cluster nodes only"),
    ("log-group", "/aws/rds/instance/{prefix}-postgres/postgresql"),
    ("log-group", "/aws/rds/instance/{prefix}-postgres/upgrade"),
    ("log-group", "/aws/rds/instance/{prefix}-postgres-replica/postgresql"),
    ("log-group", "/aws/rds/instance/{prefix}-postgres-replica/upgrade"),
    ("elasticache-replication-group", "{prefix}-redis"),
    ("elasticache-subnet-group", "{prefix}-redis"),
    ("elasticache-snapshot", "{prefix}-redis-final-{suffix}"),
    ("security-group", "{prefix}-redis"),
    ("security-group-description", "{prefix}-redis: Valkey from the cluster nodes only"),
    ("log-group", "/{prefix}/redis/slow-log"),
    ("log-group", "/{prefix}/cluster/logs"),
)


def physical_names(*, prefix: str, account: str, region: str, services: Iterable[str],
                   templates: Iterable[tuple[str, str]] = TEMPLATES,
                   replica_region: str | None = None) -> Iterator[tuple[str, str]]:
    """``(kind, name)`` for every physical name a stack with this prefix may create (all modes)."""
    for kind, template in templates:
        if "{replica_region}" in template and replica_region is None:
            continue
        for service in (services if "{service}" in template else ("",)):
            yield kind, template.format(prefix=prefix, account=account, region=region, service=service,
                                        suffix="0" * 2 * FINAL_SNAPSHOT_SUFFIX_BYTES, replica_region=replica_region)


def replica_region_names(*, prefix: str, account: str, replica_region: str) -> Iterator[tuple[str, str]]:
    """``(kind, name)`` for the physical names the cross-region copy creates in ``replica_region``."""
    for kind, template in TEMPLATES:
        if "{replica_region}" in template:
            yield kind, template.format(prefix=prefix, account=account, replica_region=replica_region)


def final_snapshot_identifier(name: str, identifier: str, *, parent: pulumi.Resource) -> pulumi.Output[str]:
    """``<identifier>-final-<hex>``, unique per incarnation of the store (see the module docstring).

    Creates: ``random.RandomId`` ``<name>-final-suffix`` (a child of ``parent``).
    """
    suffix = random.RandomId(f"{name}-final-suffix", byte_length=FINAL_SNAPSHOT_SUFFIX_BYTES,
                             keepers={"identifier": identifier}, opts=pulumi.ResourceOptions(parent=parent))
    return pulumi.Output.concat(identifier, "-final-", suffix.hex)
