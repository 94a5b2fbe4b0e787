"""The read replica (profile: production), the reader endpoint, and restoring into a new stack
(``platform:postgres.restoreFrom``): both forms reach the RDS inputs, the floor stays."""

from __future__ import annotations

import datetime

import botocore.session
import pytest
from helpers import environment_of, inputs, run

from components.postgres import restore_inputs
from config import PROFILES, RestoreFromSnapshot, RestoreToPointInTime
from policies.rules import VALIDATORS, Context
from tools.offline import mockrun
from tools.offline.replacements import rules_for

DB = "aws:rds/instance:Instance"
CM = "kubernetes:core/v1:ConfigMap"


def _replicas(plan: mockrun.Plan) -> list[mockrun.Recorded]:
    return [r for r in plan.by_type(DB) if inputs(r).get("replicateSourceDb")]


def test_replica_only_where_the_profile_asks(plan: mockrun.Plan) -> None:
    expected = PROFILES[environment_of(plan.stack)].postgres.read_replica
    assert [r.name for r in _replicas(plan)] == (["postgres-replica"] if expected else []), plan.stack


@pytest.mark.parametrize("stack", ["production"])
def test_replica_has_the_primarys_key_parameters_network_and_floor(plan: mockrun.Plan) -> None:
    (replica,), primary = _replicas(plan), inputs(plan.get(DB, "postgres-db"))
    r = inputs(replica)
    same = ("kmsKeyId", "parameterGroupName", "vpcSecurityGroupIds", "instanceClass", "port",
            "performanceInsightsEnabled", "performanceInsightsKmsKeyId", "iamDatabaseAuthenticationEnabled",
            "enabledCloudwatchLogsExports", "deletionProtection")
    assert {k: r.get(k) for k in same} == {k: primary.get(k) for k in same}, replica.urn
    assert (r["replicateSourceDb"], r["storageEncrypted"], r["publiclyAccessible"]) == (
        primary["identifier"], True, False), replica.urn


@pytest.mark.parametrize("stack", ["production"])
def test_replica_is_protected_skips_the_final_snapshot_and_follows_the_primary(plan: mockrun.Plan) -> None:
    (replica,), primary = _replicas(plan), plan.get(DB, "postgres-db")
    r = inputs(replica)
    assert replica.protect and r["skipFinalSnapshot"] is True and "finalSnapshotIdentifier" not in r, replica.urn
    assert primary.urn in replica.dependencies, replica.urn


@pytest.mark.parametrize("stack", ["production"])
def test_replica_writes_into_its_own_encrypted_log_groups(plan: mockrun.Plan) -> None:
    (replica,) = _replicas(plan)
    groups = {inputs(g)["name"]: g for g in plan.by_type("aws:cloudwatch/logGroup:LogGroup")
              if "-replica/" in inputs(g)["name"]}
    assert sorted(groups) == [f"/aws/rds/instance/{inputs(replica)['identifier']}/{k}" for k in ("postgresql", "upgrade")]
    assert all(inputs(g).get("kmsKeyId") and g.urn in replica.dependencies for g in groups.values()), groups


def test_reader_host_is_the_replica_or_the_primary(plan: mockrun.Plan) -> None:
    data = inputs(plan.get(CM, "postgres-connection"))["data"]
    replicas = _replicas(plan)
    expected = replicas[0].outputs["address"] if replicas else data["PGHOST"]
    assert data["PGHOST_READER"] == expected, (plan.stack, data)


@pytest.mark.parametrize(("source", "expected"), [
    (RestoreFromSnapshot(snapshot="rds:platform-production-postgres-2026-11-30-01-05"),
     {"snapshot_identifier": "rds:platform-production-postgres-2026-11-30-01-05"}),
    (RestoreToPointInTime(source="platform-production-postgres", time="2026-11-30T23:45:00Z"),
     {"restore_to_point_in_time": {"source_db_instance_identifier": "platform-production-postgres",
                                   "restore_time": "2026-11-30T23:45:00Z"}}),
    (RestoreToPointInTime(source="platform-production-postgres", time=None),
     {"restore_to_point_in_time": {"source_db_instance_identifier": "platform-production-postgres",
                                   "use_latest_restorable_time": True}}),
    (None, {}),
])
def test_restore_source_becomes_the_rds_restore_inputs(source, expected) -> None:
    assert restore_inputs(source) == expected


def _recent() -> str:
    return (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("value", "field"), [
    ("rds:platform-production-postgres-2026-11-30-01-05", "snapshotIdentifier"),
    ("platform-production-postgres@RECENT", "restoreToPointInTime"),
])
def test_restored_database_keeps_the_floor(value: str, field: str) -> None:
    value = value.replace("RECENT", _recent())
    plan = run("staging", {"platform:postgres.restoreFrom": value})
    db = plan.get(DB, "postgres-db")
    props = inputs(db)
    expected = value if field == "snapshotIdentifier" else {
        "sourceDbInstanceIdentifier": "platform-production-postgres", "restoreTime": value.split("@")[1]}
    assert props[field] == expected, db.urn
    for rule in ("aws-rds-storage-encrypted", "aws-rds-not-public", "aws-rds-backup-retention"):
        ctx = Context(type=DB, name=db.name, urn=db.urn, protect=db.protect, config={})
        assert list(VALIDATORS[rule](props, ctx)) == [], (rule, db.urn)


@pytest.mark.parametrize(("operation", "takes_a_key"), [
    ("RestoreDBInstanceFromDBSnapshot", False), ("RestoreDBInstanceToPointInTime", False), ("CopyDBSnapshot", True),
])
def test_only_the_snapshot_copy_takes_a_kms_key(operation: str, takes_a_key: bool) -> None:
    """botocore's RDS model (upstream): the restore APIs take no KmsKeyId, so restore_inputs passes none
    and the restored instance keeps the source's key; CopyDBSnapshot re-encrypts (docs/restore.md)."""
    shape = botocore.session.get_session().get_service_model("rds").operation_model(operation).input_shape
    assert ("KmsKeyId" in shape.members) is takes_a_key, operation


def test_a_restore_into_another_key_would_replace_the_instance() -> None:
    """The stack's key goes in kmsKeyId (encryption floor); a snapshot under another key gives the
    restored instance that key, and kmsKeyId forces a replacement: hence the copy step first."""
    rules = rules_for(DB)
    assert rules is not None and {"kmsKeyId", "snapshotIdentifier", "restoreToPointInTime"} <= set(rules.force_new)
    assert "kms_key_id" not in restore_inputs(RestoreFromSnapshot(snapshot="platform-production-copy"))
