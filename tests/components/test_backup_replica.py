"""The cross-region backup copy (profile: production): the second region's bucket and key, the S3
replication with a role scoped to the two buckets and the two keys, and the RDS automated-backups
replication. Absent elsewhere."""

from __future__ import annotations

import json

import pytest
from helpers import environment_of, inputs

from config import PROFILES
from policies.rules import VALIDATORS, Context
from tools.offline import mockrun

REPLICA_REGION = "eu-central-1"  # Pulumi.production.yaml platform:backups.replicaRegion
production = pytest.mark.parametrize("stack", ["production"])


def _in(plan: mockrun.Plan, type_: str, name: str) -> tuple[mockrun.Recorded, dict]:
    r = plan.get(type_, f"backups-replica-{name}")
    return r, inputs(r)


def _policy(plan: mockrun.Plan) -> dict:
    return json.loads(_in(plan, "aws:iam/rolePolicy:RolePolicy", "role-policy")[1]["policy"])


def test_copy_only_where_the_profile_asks(plan: mockrun.Plan) -> None:
    names = {r.name for r in plan.resources if r.name.startswith("backups-replica")}
    expected = PROFILES[environment_of(plan.stack)].backups.cross_region_copy
    assert bool(names) == expected and bool(plan.by_type("pulumi:providers:aws")) == expected, (plan.stack, names)


@production
def test_copy_bucket_lives_in_the_second_region_and_is_kept(plan: mockrun.Plan) -> None:
    bucket, i = _in(plan, "aws:s3/bucket:Bucket", "bucket")
    provider = plan.get("pulumi:providers:aws", "backups-replica-provider")
    assert inputs(provider)["region"] == REPLICA_REGION and bucket.provider.startswith(provider.urn), bucket.urn
    assert i["bucket"].endswith(f"-{REPLICA_REGION}") and i["objectLockEnabled"] is True, bucket.urn
    assert bucket.protect and bucket.retain_on_delete and not i.get("forceDestroy"), bucket.urn


@production
def test_copy_bucket_has_the_sources_retention_lock_and_settings(plan: mockrun.Plan) -> None:
    for setting in ("lifecycle", "object-lock", "versioning", "public-access", "encryption", "ownership"):
        (source,), (copy,) = ([r for r in plan.resources if r.name == f"{n}-{setting}"] for n in ("backups", "backups-replica"))
        s, c = inputs(source), inputs(copy)
        s.pop("bucket"), c.pop("bucket")
        if setting == "encryption":  # each side with its own region's key
            s, c = (x["rules"][0]["applyServerSideEncryptionByDefault"].pop("kmsMasterKeyId") and x for x in (s, c))
        assert s == c and copy.protect and copy.retain_on_delete, copy.urn


@production
def test_copy_is_encrypted_with_its_own_regions_key(plan: mockrun.Plan) -> None:
    key, _ = _in(plan, "aws:kms/key:Key", "kms-key")
    _, enc = _in(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                 "encryption")
    arn = key.outputs["arn"]
    assert arn.split(":")[3] == REPLICA_REGION and key.protect and key.retain_on_delete, key.urn
    assert enc["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": arn}


@production
def test_replication_copies_postgres_objects_without_delete_markers(plan: mockrun.Plan) -> None:
    config, i = _in(plan, "aws:s3/bucketReplicationConfig:BucketReplicationConfig", "replication")
    (rule,) = i["rules"]
    key = _in(plan, "aws:kms/key:Key", "kms-key")[0].outputs["arn"]
    assert i["bucket"] == inputs(plan.get("aws:s3/bucket:Bucket", "backups-bucket"))["bucket"], config.urn
    assert (rule["filter"], rule["deleteMarkerReplication"]) == ({"prefix": "postgres/"}, {"status": "Disabled"})
    assert rule["destination"]["encryptionConfiguration"]["replicaKmsKeyId"] == key, config.urn
    assert i["role"].endswith(":role/platform-production-backup-replication") and config.protect, config.urn
    versioning = {plan.get("aws:s3/bucketVersioning:BucketVersioning", n).urn for n in ("backups-versioning",
                                                                                         "backups-replica-versioning")}
    assert versioning <= set(config.dependencies), config.urn


@production
def test_replication_role_is_scoped_to_the_two_buckets_and_keys(plan: mockrun.Plan) -> None:
    source, copy = "platform-production-backups-210987654321-eu-west-1", f"platform-production-backups-210987654321-{REPLICA_REGION}"
    allowed = {f"arn:aws:s3:::{source}", f"arn:aws:s3:::{source}/postgres/*", f"arn:aws:s3:::{copy}/postgres/*",
               "arn:aws:kms:eu-west-1:210987654321:key/*", f"arn:aws:kms:{REPLICA_REGION}:210987654321:key/*"}
    statements = {st["Sid"]: st for st in _policy(plan)["Statement"]}
    resources = {r for st in statements.values() for r in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])}
    assert resources == allowed, resources


@production
@pytest.mark.parametrize(("sid", "action", "region", "bucket"), [
    ("DecryptWithTheSourceKey", "kms:Decrypt", "eu-west-1", "platform-production-backups-210987654321-eu-west-1"),
    ("EncryptWithTheDestinationKey", "kms:Encrypt", REPLICA_REGION,
     f"platform-production-backups-210987654321-{REPLICA_REGION}"),
])
def test_key_grants_are_awss_sse_kms_replication_policy(plan: mockrun.Plan, sid: str, action: str, region: str,
                                                        bucket: str) -> None:
    """AWS's documented policy (replication-config-for-kms-objects): Decrypt on the source key, Encrypt on
    the destination key, through S3 in the key's region, for the bucket (bucket keys: the bucket's ARN),
    on the one key its alias names (each region has its own ``alias/platform-production``)."""
    st = {st["Sid"]: st for st in _policy(plan)["Statement"]}[sid]
    assert st["Action"] == action, st
    assert st["Condition"] == {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                               "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}"},
                               "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/platform-production"}}, sid
    assert st["Resource"] == f"arn:aws:kms:{region}:210987654321:key/*", sid


@production
def test_the_pack_refuses_the_role_policy_on_every_resource(plan: mockrun.Plan) -> None:
    role_policy, i = _in(plan, "aws:iam/rolePolicy:RolePolicy", "role-policy")
    ctx = Context(type=role_policy.type, name=role_policy.name, urn=role_policy.urn, config={})
    assert list(VALIDATORS["aws-iam-no-wildcard-resource"](i, ctx)) == [], role_policy.urn
    widened = _policy(plan)
    widened["Statement"][2]["Resource"] = "*"
    assert list(VALIDATORS["aws-iam-no-wildcard-resource"]({**i, "policy": json.dumps(widened)}, ctx)), role_policy.urn


@production
def test_only_s3_of_this_account_assumes_the_replication_role(plan: mockrun.Plan) -> None:
    role, i = _in(plan, "aws:iam/role:Role", "role")
    (st,) = json.loads(i["assumeRolePolicy"])["Statement"]
    assert st["Principal"] == {"Service": "s3.amazonaws.com"}, role.urn
    assert st["Condition"] == {"StringEquals": {"aws:SourceAccount": "210987654321"}}, role.urn


@production
def test_rds_automated_backups_are_replicated_with_the_copy_key(plan: mockrun.Plan) -> None:
    rep, i = _in(plan, "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication", "rds-backups")
    key = _in(plan, "aws:kms/key:Key", "kms-key")[0].outputs["arn"]
    assert i["sourceDbInstanceArn"] == "arn:aws:rds:eu-west-1:210987654321:db:platform-production-postgres", rep.urn
    assert (i["kmsKeyId"], i["retentionPeriod"]) == (key, PROFILES["production"].postgres.backup_retention_days)
    assert rep.provider.startswith(plan.get("pulumi:providers:aws", "backups-replica-provider").urn), rep.urn


@production
def test_names_in_the_second_region_pass_the_preflight_rule(plan: mockrun.Plan) -> None:
    named = [r for r in plan.resources if r.name.startswith("backups-replica") and r.custom
             and r.type in ("aws:s3/bucket:Bucket", "aws:kms/alias:Alias", "aws:iam/role:Role")]
    assert len(named) == 3
    for r in named:
        ctx = Context(type=r.type, name=r.name, urn=r.urn, config={})
        assert list(VALIDATORS["aws-physical-names-valid"](inputs(r), ctx)) == [], r.urn
