"""RDS Postgres: private, encrypted with the stack's key, TLS-only, backed up, logged."""

from __future__ import annotations

import re

from ._core import (
    as_list,
    by_type,
    expect_flag,
    get,
    is_read_replica,
    is_unknown,
    related,
    resource_rule,
    stack_rule,
    truthy,
    unknown_msg,
)

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"


@resource_rule(
    "aws-rds-storage-encrypted", types=(INSTANCE,), severity="high",
    description="RDS storage is encrypted at rest with a customer-managed KMS key.",
    rows=("RDS-01", "RDS-02"),
    anchors=("checkov:CKV_AWS_16", "trivy:AWS-0080", "awsguard:rds-storage-encrypted",
             "fsbp:RDS.3", "cis-aws:2.3.1"),
    fix="set storageEncrypted true and kmsKeyId to the stack's KMS key ARN")
def storage_encrypted(props, ctx):
    encrypted = props.get("storageEncrypted")
    if is_unknown(encrypted):
        yield unknown_msg("storageEncrypted")
    elif not truthy(encrypted):
        yield "storageEncrypted is not true (RDS defaults to unencrypted storage)"
    elif props.get("kmsKeyId") in (None, ""):
        yield "no kmsKeyId: storage uses the AWS-managed aws/rds key, not a customer-managed key"


@resource_rule(
    "aws-rds-not-public", types=(INSTANCE,), severity="critical",
    description="RDS instances are not publicly accessible.",
    rows=("RDS-03",),
    anchors=("checkov:CKV_AWS_17", "trivy:AWS-0180", "awsguard:rds-instance-public-access",
             "fsbp:RDS.2", "cis-aws:2.3.3"),
    fix="set publiclyAccessible false and place the instance in private subnets")
def not_public(props, ctx):
    yield from expect_flag(props.get("publiclyAccessible"), "publiclyAccessible", False,
                           "publiclyAccessible is true: the endpoint resolves to a public IP")


@resource_rule(
    "aws-rds-backup-retention", types=(INSTANCE,), severity="high",
    description="RDS automated backups are kept for at least the configured number of days (read replicas: "
                "on their primary).",
    rows=("RDS-04",),
    anchors=("checkov:CKV_AWS_133", "trivy:AWS-0077", "awsguard:rds-instance-backup-enabled",
             "fsbp:RDS.11"),
    config={"minimumDays": {"type": "integer", "default": 7}},
    fix="set backupRetentionPeriod to at least the minimum (pulumi config set "
        "platform:postgres.backupRetentionDays 7)")
def backup_retention(props, ctx):
    if is_read_replica(props):
        return  # a replica is restored from the primary's backups, which this rule judges
    minimum = int(ctx.config.get("minimumDays", 7))
    days = props.get("backupRetentionPeriod", 1)  # the AWS API default
    if is_unknown(days):
        yield unknown_msg("backupRetentionPeriod")
    elif int(days) < minimum:
        yield f"backupRetentionPeriod is {int(days)} day(s), below the minimum of {minimum}"


@resource_rule(
    "aws-rds-multi-az", types=(INSTANCE,), severity="medium", category="availability",
    description="RDS instances run Multi-AZ (read replicas: their primary does).",
    rows=("RDS-05",), anchors=("checkov:CKV_AWS_157", "awsguard:rds-instance-multi-az-enabled",
                               "fsbp:RDS.5"),
    fix="set multiAz true (pulumi config set platform:postgres.multiAz true)")
def multi_az(props, ctx):
    if is_read_replica(props):
        return  # a lost replica loses no data and is re-created from the (Multi-AZ) primary
    yield from expect_flag(props.get("multiAz"), "multiAz", True,
                           "multiAz is not true: an AZ outage takes the database down")


@resource_rule(
    "aws-rds-iam-auth", types=(INSTANCE,), severity="medium",
    description="RDS IAM database authentication is enabled.",
    rows=("RDS-07",), anchors=("checkov:CKV_AWS_161", "trivy:AWS-0176", "fsbp:RDS.10"),
    fix="set iamDatabaseAuthenticationEnabled true")
def iam_auth(props, ctx):
    yield from expect_flag(props.get("iamDatabaseAuthenticationEnabled"), "iamDatabaseAuthenticationEnabled", True,
                           "iamDatabaseAuthenticationEnabled is not true")


@resource_rule(
    "aws-rds-auto-minor-upgrade", types=(INSTANCE,), severity="medium",
    description="RDS applies minor engine upgrades automatically.",
    rows=("RDS-08",), anchors=("checkov:CKV_AWS_226", "fsbp:RDS.13", "cis-aws:2.3.2"),
    fix="remove autoMinorVersionUpgrade false (the default is true)")
def auto_minor_upgrade(props, ctx):
    yield from expect_flag(props.get("autoMinorVersionUpgrade", True), "autoMinorVersionUpgrade", True,
                           "autoMinorVersionUpgrade is false: security patches are not applied")


def _groups_of(instance, resources):
    return related(instance, by_type(resources, PARAMETER_GROUP), "parameterGroupName", "name", "id")


def _parameters(group) -> dict[str, str]:
    return {get(p, "name"): str(get(p, "value")) for p in as_list(group.props.get("parameters"))
            if isinstance(p, dict)}


def _major(version: object) -> int:
    match = re.match(r"\D*(\d+)", str(version or ""))
    return int(match.group(1)) if match else 0


@stack_rule(
    "aws-rds-force-ssl", types=(INSTANCE, PARAMETER_GROUP), severity="high",
    description="RDS Postgres refuses clients that do not use TLS (rds.force_ssl = 1).",
    rows=("RDS-12",), anchors=("checkov:CKV2_AWS_69",),
    fix="give the instance its own ParameterGroup (family postgresNN) with rds.force_ssl = 1")
def force_ssl(resources, ctx):
    for instance in by_type(resources, INSTANCE):
        if not str(instance.props.get("engine", "postgres")).startswith("postgres"):
            continue
        groups = _groups_of(instance, resources)
        if not groups:
            name = instance.props.get("parameterGroupName")
            if name and not is_unknown(name):
                yield instance.urn, f"parameter group '{name}' is not managed by this stack, so TLS cannot be verified"
            elif _major(instance.props.get("engineVersion")) < 15:
                yield instance.urn, "the default parameter group of Postgres < 15 has rds.force_ssl = 0"
            continue
        for group in groups:
            value = _parameters(group).get("rds.force_ssl")
            default = "1" if _major(group.props.get("family")) >= 15 else "0"
            if (value or default) != "1":
                yield group.urn, f"parameter group '{group.name}' sets rds.force_ssl = {value or default}"


@stack_rule(
    "aws-rds-query-logging", types=(INSTANCE, PARAMETER_GROUP), severity="medium",
    description="RDS exports Postgres and upgrade logs to CloudWatch and logs slow or DDL statements.",
    rows=("RDS-09",), anchors=("checkov:CKV_AWS_129", "checkov:CKV2_AWS_30", "fsbp:RDS.9"),
    fix="set enabledCloudwatchLogsExports ['postgresql', 'upgrade'] and in the parameter group "
        "log_min_duration_statement (ms) or log_statement 'ddl'")
def query_logging(resources, ctx):
    for instance in by_type(resources, INSTANCE):
        exports = instance.props.get("enabledCloudwatchLogsExports")
        if is_unknown(exports):
            yield instance.urn, unknown_msg("enabledCloudwatchLogsExports")
        else:
            missing = {"postgresql", "upgrade"} - set(as_list(exports))
            if missing:
                yield instance.urn, f"enabledCloudwatchLogsExports lacks {sorted(missing)}"
        params = {k: v for g in _groups_of(instance, resources) for k, v in _parameters(g).items()}
        duration = params.get("log_min_duration_statement", "-1")
        if duration in ("-1", "None") and params.get("log_statement", "none") == "none":
            yield instance.urn, "its parameter group sets neither log_min_duration_statement nor log_statement"


@resource_rule(
    "aws-rds-copy-tags-to-snapshot", types=(INSTANCE,), severity="low", category="hygiene",
    description="RDS snapshots carry the instance's tags (owner, environment, cost centre).",
    rows=("RDS-15",), anchors=("checkov:CKV2_AWS_60", "fsbp:RDS.17"),
    fix="set copyTagsToSnapshot true (the AWS default is false)")
def copy_tags_to_snapshot(props, ctx):
    yield from expect_flag(props.get("copyTagsToSnapshot", False), "copyTagsToSnapshot", True,
                           "copyTagsToSnapshot is not true: snapshots (the final one included) lose the owner, "
                           "environment and cost tags that retention, access conditions and cost reports select on")
