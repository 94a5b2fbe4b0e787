"""ElastiCache Redis: encrypted at rest and in transit, AUTH required, private, backed up."""

from __future__ import annotations

from ._core import as_list, expect_flag, is_unknown, resource_rule, truthy, unknown_msg

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


@resource_rule(
    "aws-elasticache-encryption-at-rest", types=(REPLICATION_GROUP,), severity="high",
    description="ElastiCache replication groups encrypt data at rest.",
    rows=("EC-01",), anchors=("checkov:CKV_AWS_29", "trivy:AWS-0045", "fsbp:ElastiCache.4"),
    fix="set atRestEncryptionEnabled true (and kmsKeyId to the stack's KMS key)")
def at_rest(props, ctx):
    yield from expect_flag(props.get("atRestEncryptionEnabled"), "atRestEncryptionEnabled", True,
                           "atRestEncryptionEnabled is not true")


@resource_rule(
    "aws-elasticache-encryption-in-transit", types=(REPLICATION_GROUP,), severity="high",
    description="ElastiCache replication groups require TLS from every client.",
    rows=("EC-02",), anchors=("checkov:CKV_AWS_30", "trivy:AWS-0051", "fsbp:ElastiCache.5"),
    fix="set transitEncryptionEnabled true and leave transitEncryptionMode unset or 'required'")
def in_transit(props, ctx):
    enabled, mode = props.get("transitEncryptionEnabled"), props.get("transitEncryptionMode")
    if is_unknown(enabled) or is_unknown(mode):
        yield unknown_msg("transitEncryptionEnabled/transitEncryptionMode")
    elif not truthy(enabled):
        yield "transitEncryptionEnabled is not true: clients talk to Redis in clear text"
    elif mode not in (None, "required"):
        yield f"transitEncryptionMode is '{mode}': clients may still connect without TLS"


@resource_rule(
    "aws-elasticache-auth", types=(REPLICATION_GROUP,), severity="high",
    description="ElastiCache requires a Redis AUTH token or an RBAC user group.",
    rows=("EC-03",), anchors=("checkov:CKV_AWS_31", "fsbp:ElastiCache.6"),
    fix="set authToken from a RandomPassword (kept secret) or userGroupIds")
def auth(props, ctx):
    # Presence is all this rule reads: the token itself is a secret and never appears here.
    token, groups = props.get("authToken"), props.get("userGroupIds")
    if token in (None, "") and not as_list(groups) and not is_unknown(groups):
        yield "neither authToken nor userGroupIds is set: any client in the network can connect"


@resource_rule(
    "aws-elasticache-snapshots", types=(REPLICATION_GROUP,), severity="medium",
    description="ElastiCache keeps automatic snapshots for at least one day.",
    rows=("EC-05",), anchors=("checkov:CKV_AWS_134", "trivy:AWS-0050", "fsbp:ElastiCache.1"),
    fix="set snapshotRetentionLimit to 1 or more (pulumi config set platform:redis.snapshotRetentionDays 1)")
def snapshots(props, ctx):
    days = props.get("snapshotRetentionLimit", 0)
    if is_unknown(days):
        yield unknown_msg("snapshotRetentionLimit")
    elif int(days) < 1:
        yield "snapshotRetentionLimit is 0: no automatic backups"


@resource_rule(
    "aws-elasticache-multi-az", types=(REPLICATION_GROUP,), severity="medium", category="availability",
    description="ElastiCache fails over automatically to a replica in another AZ.",
    rows=("EC-06",), anchors=("checkov:CKV2_AWS_50", "fsbp:ElastiCache.3"),
    fix="give each shard a replica and set automaticFailoverEnabled and multiAzEnabled true")
def multi_az(props, ctx):
    for prop in ("automaticFailoverEnabled", "multiAzEnabled"):
        yield from expect_flag(props.get(prop), prop, True, f"{prop} is not true")
    replicas = props.get("replicasPerNodeGroup")
    clusters = props.get("numCacheClusters")
    if replicas is not None and not is_unknown(replicas) and int(replicas) < 1:
        yield "replicasPerNodeGroup is 0: there is no replica to fail over to"
    if replicas is None and clusters is not None and not is_unknown(clusters) and int(clusters) < 2:
        yield "numCacheClusters is below 2: there is no replica to fail over to"


@resource_rule(
    "aws-elasticache-auto-minor-upgrade", types=(REPLICATION_GROUP,), severity="medium",
    description="ElastiCache applies minor engine upgrades automatically.",
    rows=("EC-07",), anchors=("checkov:CKV_AWS_322", "fsbp:ElastiCache.2"),
    fix="remove autoMinorVersionUpgrade false (the default is true)")
def auto_minor(props, ctx):
    yield from expect_flag(props.get("autoMinorVersionUpgrade", True), "autoMinorVersionUpgrade", True,
                           "autoMinorVersionUpgrade is false")


@resource_rule(
    "aws-elasticache-private-network", types=(REPLICATION_GROUP,), severity="medium",
    description="ElastiCache runs in the stack's private subnet group behind VPC security groups.",
    rows=("EC-08",), anchors=("checkov:CKV_AWS_323", "checkov:CKV_AWS_196", "trivy:AWS-0049",
                              "fsbp:ElastiCache.7"),
    fix="set subnetGroupName to the stack's SubnetGroup and securityGroupIds to its security "
        "group; remove securityGroupNames")
def private_network(props, ctx):
    if props.get("subnetGroupName") in (None, "", "default"):
        yield "no custom subnetGroupName: the default subnet group is used"
    groups = props.get("securityGroupIds")
    if not is_unknown(groups) and not as_list(groups):
        yield "no securityGroupIds: the VPC default security group is used"
    if as_list(props.get("securityGroupNames")):
        yield "securityGroupNames (EC2-Classic cache security groups) is set"
