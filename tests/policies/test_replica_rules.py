"""An RDS read replica meets the pack as a replica: no backups, no Multi-AZ standby and no final
snapshot of its own (its data is the primary's; RDS refuses a replica's final snapshot), while the
primary is still judged in full. Baseline plus one replica, one mutation per case."""

from __future__ import annotations

import policy_baseline as baseline
import pytest
from policy_helpers import DELETE, mutate, run_rule

from policies import constraints

PG = "aws:rds/instance:Instance"
REPLICA = {"replicateSourceDb": "platform-production-postgres", "instanceClass": "db.r6g.large",
           "storageEncrypted": True, "kmsKeyId": baseline.KEY_ARN, "publiclyAccessible": False,
           "backupRetentionPeriod": 0, "multiAz": False, "deletionProtection": True, "skipFinalSnapshot": True,
           "iamDatabaseAuthenticationEnabled": True, "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
           "parameterGroupName": "platform-production-pg", "tags": baseline.TAGS}
RULES = ("aws-rds-backup-retention", "aws-rds-multi-az", "production-data-protected", "aws-rds-storage-encrypted",
         "aws-rds-not-public", "aws-final-snapshot-unique")


def _with_replica() -> dict:
    return baseline.deployment([(PG, "db-replica", dict(REPLICA), {"protect": True})])


@pytest.mark.parametrize("rule", RULES)
def test_a_compliant_replica_passes(rule: str) -> None:
    assert run_rule(rule, _with_replica()) == []


@pytest.mark.parametrize(("rule", "path", "value"), [
    ("production-data-protected", "skipFinalSnapshot", False),
    ("production-data-protected", "finalSnapshotIdentifier", "platform-production-replica-final"),
    ("production-data-protected", "deletionProtection", False),
    ("production-data-protected", "@protect", False),
    ("aws-rds-storage-encrypted", "storageEncrypted", False),
    ("aws-rds-storage-encrypted", "kmsKeyId", DELETE),
    ("aws-rds-not-public", "publiclyAccessible", True),
])
def test_a_replica_mutation_is_refused(rule: str, path: str, value: object) -> None:
    found = run_rule(rule, mutate(_with_replica(), "db-replica", path, value))
    assert [name for name, _ in found] == ["db-replica"], found


@pytest.mark.parametrize(("rule", "path", "value"), [
    ("aws-rds-backup-retention", "backupRetentionPeriod", 0),
    ("aws-rds-multi-az", "multiAz", False),
    ("production-data-protected", "skipFinalSnapshot", True),
])
def test_the_replica_exemption_never_covers_the_primary(rule: str, path: str, value: object) -> None:
    found = run_rule(rule, mutate(_with_replica(), "db", path, value))
    assert [name for name, _ in found] == ["db"], found


def test_the_final_snapshot_exemption_is_what_botocore_documents() -> None:
    doc = constraints.SHAPES["rds.FinalDBSnapshotIdentifier"]["documentation"]
    assert constraints.REPLICA_FINAL_SNAPSHOT_REFUSED in doc
