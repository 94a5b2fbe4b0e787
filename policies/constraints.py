"""What AWS accepts, as data: the one module config validation and the policy pack both read.

Sources, in order of preference:

1. botocore's service models (AWS's own API definitions, pinned in requirements-dev.txt),
   extracted into ``aws_shapes.json`` by ``python -m tools constraints --write``: shape min/max
   lengths, regex patterns and enums, the documented constraint text, and the partitions. A test
   regenerates the file from the installed botocore and fails when it is stale.
2. Where the model has no pattern (RDS and ElastiCache identifiers are plain ``String`` shapes),
   a rule written from the constraint text botocore documents for that field. Each such rule
   names the exact phrase it implements (``documented``); a test checks the phrase is still in the
   model's documentation, so a changed AWS rule fails the suite instead of drifting silently.
3. Facts neither carries (default quotas, parameter value types per engine family, storage
   ratios): small tables below, each entry with the URL it was taken from.

Pure standard library and one small JSON read: the program imports it at plan time, the policy
pack in its own process (``policies/`` is the pack's root, hence the two import spellings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DATA = json.loads((Path(__file__).with_name("aws_shapes.json")).read_text())
SHAPES: Mapping[str, Mapping[str, Any]] = _DATA["fields"]
"""botocore request fields by ``<service>.<member>``: type, min, max, pattern, enum, documentation."""
PARTITIONS: Mapping[str, Mapping[str, Any]] = _DATA["partitions"]
"""botocore partitions.json: ``{id: {regionRegex, dnsSuffix, regions}}``."""
BOTOCORE_VERSION: str = _DATA["botocore"]


def _doc(field: str) -> str:
    return str(SHAPES[field]["documentation"])


def _ints_after(field: str, phrase: str) -> list[int]:
    """The integers in the sentence of ``field``'s documentation that starts with ``phrase``."""
    doc = _doc(field)
    at = doc.find(phrase)
    if at < 0:
        raise LookupError(f"botocore {field}: {phrase!r} not in its documentation; review policies/constraints.py")
    sentence = doc[at:].split(". ")[0]
    return [int(n) for n in re.findall(r"\d+", sentence[len(phrase):])]


# --------------------------------------------------------------------------------------------
# Partitions (botocore partitions.json)
# --------------------------------------------------------------------------------------------


def partition_of(region: str) -> str:
    """``aws``, ``aws-cn``, ``aws-us-gov``, ...: the explicit region lists first, then each regex."""
    for pid, p in PARTITIONS.items():
        if region in p["regions"]:
            return pid
    for pid, p in PARTITIONS.items():
        if re.match(p["regionRegex"], region):
            return pid
    return "aws"


def dns_suffix(region: str) -> str:
    """``amazonaws.com``, ``amazonaws.com.cn``, ...: the suffix of service hosts in ``region``."""
    return str(PARTITIONS[partition_of(region)]["dnsSuffix"])


KNOWN_REGIONS: tuple[str, ...] = tuple(sorted(r for p in PARTITIONS.values() for r in p["regions"]))


# --------------------------------------------------------------------------------------------
# Physical names
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameRule:
    """How AWS constrains one kind of physical name."""

    title: str
    field: str
    """The botocore field (``SHAPES`` key) the rule is taken from."""
    pattern: str
    """Full-match regex of the allowed characters and shape."""
    min: int
    max: int
    forbidden: tuple[tuple[str, str], ...] = ()
    """``(regex searched in the name, what it breaks)``: extra documented refusals."""
    documented: str = ""
    """The phrase of botocore's documentation this hand-written rule implements ('' = the model's own pattern)."""
    source: str = ""
    """Where the rule comes from, for what the model does not say."""

    def problems(self, value: str) -> list[str]:
        found = []
        if not self.min <= len(value) <= self.max:
            found.append(f"is {len(value)} characters; {self.title} takes {self.min} to {self.max}")
        if not re.fullmatch(self.pattern, value):
            found.append(f"does not match {self.pattern} ({self.title})")
        found += [f"{why} ({self.title})" for regex, why in self.forbidden if re.search(regex, value)]
        return found


def _model(title: str, field: str, **extra: Any) -> NameRule:
    """A rule that is the botocore shape's own min/max/pattern."""
    shape = SHAPES[field]
    pattern = shape["pattern"].removeprefix("^").removesuffix("$")
    return NameRule(title, field, pattern, int(shape.get("min", 1)), int(shape["max"]), **extra)


_IDENTIFIER = r"[a-z][a-z0-9-]*"
# terraform-provider-aws (which pulumi-aws wraps) refuses upper case in RDS names although RDS
# itself lower-cases them: internal/service/rds/validate.go (validIdentifier, validParamGroupName,
# validSubnetGroupName). S3, ECR and ElastiCache ids are lower case anyway.
_NO_DOUBLE_HYPHEN = (r"--", "has two consecutive hyphens")
_NO_TRAILING_HYPHEN = (r"-$", "ends with a hyphen")
_RDS_LIMITS = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints"
_S3_RULES = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"

NAMES: Mapping[str, NameRule] = {
    "rds-instance": NameRule(
        "RDS DB instance identifier", "rds.DBInstanceIdentifier", _IDENTIFIER, 1, 63,
        (_NO_DOUBLE_HYPHEN, _NO_TRAILING_HYPHEN),
        documented="Must contain from 1 to 63 letters, numbers, or hyphens. First character must be a letter. "
                   "Can't end with a hyphen or contain two consecutive hyphens.", source=_RDS_LIMITS),
    "rds-subnet-group": NameRule(
        "RDS DB subnet group name", "rds.DBSubnetGroupName", r"[a-z][a-z0-9._ -]*", 1, 255,
        ((r"^default$", "is the reserved name default"),),
        documented="Must contain no more than 255 letters, numbers, periods, underscores, spaces, or hyphens. "
                   "Must not be default. First character must be a letter.", source=_RDS_LIMITS),
    "rds-parameter-group": NameRule(
        "RDS DB parameter group name", "rds.DBParameterGroupName", _IDENTIFIER, 1, 255,
        (_NO_DOUBLE_HYPHEN, _NO_TRAILING_HYPHEN),
        documented="Must be 1 to 255 letters, numbers, or hyphens. First character must be a letter "
                   "Can't end with a hyphen or contain two consecutive hyphens", source=_RDS_LIMITS),
    "rds-snapshot": NameRule(
        "RDS DB snapshot identifier", "rds.DBSnapshotIdentifier", _IDENTIFIER, 1, 255,
        (_NO_DOUBLE_HYPHEN, _NO_TRAILING_HYPHEN),
        documented="Must contain from 1 to 255 letters, numbers, or hyphens First character must be a letter "
                   "Can't end with a hyphen or contain two consecutive hyphens", source=_RDS_LIMITS),
    "elasticache-replication-group": NameRule(
        "ElastiCache replication group id", "elasticache.ReplicationGroupId", _IDENTIFIER, 1, 40,
        (_NO_DOUBLE_HYPHEN, _NO_TRAILING_HYPHEN),
        documented="A name must contain from 1 to 40 alphanumeric characters or hyphens. The first character "
                   "must be a letter. A name cannot end with a hyphen or contain two consecutive hyphens.",
        source="https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html"),
    "elasticache-subnet-group": NameRule(
        "ElastiCache subnet group name", "elasticache.CacheSubnetGroupName", r"[a-z0-9-]+", 1, 255,
        documented="Must contain no more than 255 alphanumeric characters or hyphens.",
        source="https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateCacheSubnetGroup.html"),
    # botocore documents no rule for these two: ElastiCache's user guide states the parameter group
    # one; for snapshot names we apply the same identifier rule (AWS documents none; this is the
    # strictest it states for an ElastiCache name, so an accepted name is always valid).
    "elasticache-parameter-group": NameRule(
        "ElastiCache parameter group name", "elasticache.CacheParameterGroupName", _IDENTIFIER, 1, 255,
        (_NO_DOUBLE_HYPHEN, _NO_TRAILING_HYPHEN),
        source="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Creating.html"),
    "elasticache-snapshot": NameRule(
        "ElastiCache snapshot name", "elasticache.FinalSnapshotIdentifier", _IDENTIFIER, 1, 255,
        (_NO_DOUBLE_HYPHEN, _NO_TRAILING_HYPHEN),
        source="https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-manual.html"),
    "s3-bucket": NameRule(
        "S3 general purpose bucket name", "s3.Bucket", r"[a-z0-9][a-z0-9.-]*[a-z0-9]", 3, 63,
        ((r"\.\.", "has two adjacent periods"), (r"^\d{1,3}(\.\d{1,3}){3}$", "is formatted as an IP address"),
         (r"^(xn--|sthree-|amzn-s3-demo-)", "starts with a reserved prefix (xn--, sthree-, amzn-s3-demo-)"),
         (r"(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$",
          "ends with a reserved suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)")),
        documented="For information about bucket naming restrictions, see Bucket naming rules", source=_S3_RULES),
    "kms-alias": _model(
        "KMS alias name", "kms.AliasName",
        forbidden=((r"^(?!alias/)", "does not start with alias/"),
                   (r"^alias/aws/", "uses the prefix alias/aws/, reserved for AWS managed keys"))),
    "ecr-repository": _model("ECR repository name", "ecr.repositoryName"),
    "ecr-pull-through-prefix": _model("ECR pull-through cache repository prefix", "ecr.ecrRepositoryPrefix"),
    "iam-role": _model("IAM role name", "iam.RoleName"),
    "iam-policy": _model("IAM inline policy name", "iam.PolicyName"),
    "log-group": _model("CloudWatch Logs log group name", "logs.logGroupName"),
    "secret": NameRule(
        "Secrets Manager secret name", "secretsmanager.Name", r"[A-Za-z0-9/_+=.@-]+",
        int(SHAPES["secretsmanager.Name"]["min"]), int(SHAPES["secretsmanager.Name"]["max"]),
        documented="The secret name can contain ASCII letters, numbers, and the following characters: /_+=.@-"),
    "security-group": NameRule(
        "EC2 security group name", "ec2.GroupName", r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+", 1, 255,
        ((r"^sg-", "starts with sg-"),),
        documented="Up to 255 characters in length. Can't start with sg- . Valid characters: a-z, A-Z, 0-9, "
                   "spaces, and ._-:/()#,@[]+=&;{}!$*"),
    "security-group-description": NameRule(
        "EC2 security group description", "ec2.GroupDescription", r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*", 0, 255,
        documented="Up to 255 characters in length Valid characters: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*"),
}

PHYSICAL_NAMES: Mapping[str, Mapping[str, str]] = {
    "aws:rds/instance:Instance": {"identifier": "rds-instance", "finalSnapshotIdentifier": "rds-snapshot"},
    "aws:rds/subnetGroup:SubnetGroup": {"name": "rds-subnet-group"},
    "aws:rds/parameterGroup:ParameterGroup": {"name": "rds-parameter-group"},
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "replicationGroupId": "elasticache-replication-group", "finalSnapshotIdentifier": "elasticache-snapshot"},
    "aws:elasticache/subnetGroup:SubnetGroup": {"name": "elasticache-subnet-group"},
    "aws:elasticache/parameterGroup:ParameterGroup": {"name": "elasticache-parameter-group"},
    "aws:s3/bucket:Bucket": {"bucket": "s3-bucket"},
    "aws:kms/alias:Alias": {"name": "kms-alias"},
    "aws:ecr/repository:Repository": {"name": "ecr-repository"},
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": {"ecrRepositoryPrefix": "ecr-pull-through-prefix"},
    "aws:iam/role:Role": {"name": "iam-role"},
    "aws:iam/rolePolicy:RolePolicy": {"name": "iam-policy"},
    "aws:cloudwatch/logGroup:LogGroup": {"name": "log-group"},
    "aws:secretsmanager/secret:Secret": {"name": "secret"},
    "aws:ec2/securityGroup:SecurityGroup": {"name": "security-group", "description": "security-group-description"},
}
"""Which input of which Pulumi resource type is a physical name of which kind (``NAMES`` key)."""


def name_problems(kind: str, value: str) -> list[str]:
    """What AWS would refuse about ``value`` as a ``kind`` name (empty when it is valid)."""
    return NAMES[kind].problems(value)


# --------------------------------------------------------------------------------------------
# Settings with an allowed set or range
# --------------------------------------------------------------------------------------------

LOG_RETENTION_DAYS: tuple[int, ...] = tuple(_ints_after("logs.retentionInDays", "Possible values are:"))
"""CloudWatch Logs retention values (botocore logs PutRetentionPolicy.retentionInDays; the
pulumi-aws LogGroup docstring lists the same plus 0 = never expire)."""


def log_retention_at_least(days: int) -> int:
    """The smallest allowed log retention that keeps logs at least ``days`` days."""
    for allowed in LOG_RETENTION_DAYS:
        if allowed >= days:
            return allowed
    raise ValueError(f"no CloudWatch Logs retention is {days} days or longer (longest: {LOG_RETENTION_DAYS[-1]})")


def _postgres_storage() -> tuple[int, int]:
    doc = _doc("rds.AllocatedStorage")
    section = doc[doc.index("RDS for PostgreSQL"):]
    low, high = re.search(r"General Purpose \(SSD\) storage \(gp2, gp3\): Must be an integer from (\d+) to (\d+)",
                          section).groups()  # type: ignore[union-attr]
    return int(low), int(high)


GP3_STORAGE_GIB: tuple[int, int] = _postgres_storage()
"""RDS for PostgreSQL gp3 allocated storage range (botocore rds CreateDBInstance.AllocatedStorage)."""
BACKUP_RETENTION_DAYS: tuple[int, int] = tuple(_ints_after("rds.BackupRetentionPeriod", "Must be a value from"))  # type: ignore[assignment]
"""RDS automated backup retention range (botocore rds CreateDBInstance.BackupRetentionPeriod)."""
REPLICAS_PER_SHARD: tuple[int, int] = tuple(_ints_after("elasticache.ReplicasPerNodeGroup", "Valid values are"))  # type: ignore[assignment]
"""ElastiCache replicas per node group (botocore elasticache CreateReplicationGroup.ReplicasPerNodeGroup)."""

REPLICA_FINAL_SNAPSHOT_REFUSED = "Can't be specified when deleting a read replica."
"""RDS takes no final snapshot of a read replica (botocore rds DeleteDBInstance.FinalDBSnapshotIdentifier):
a replica's teardown is ``skipFinalSnapshot`` true, its data is the primary's."""
if REPLICA_FINAL_SNAPSHOT_REFUSED not in _doc("rds.FinalDBSnapshotIdentifier"):
    raise LookupError("botocore rds.FinalDBSnapshotIdentifier no longer says a read replica takes no final "
                      "snapshot; review policies/rules/teardown.py")

MAX_STORAGE_HEADROOM_PERCENT = 10
"""Storage autoscaling: the maximum storage threshold must be at least 10 % above the allocated
storage. https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html"""


def min_max_storage(allocated_gib: int) -> int:
    """The smallest autoscaling ceiling RDS accepts for ``allocated_gib`` (integer maths: no float rounding)."""
    return -(-allocated_gib * (100 + MAX_STORAGE_HEADROOM_PERCENT) // 100)


@dataclass(frozen=True)
class Quota:
    name: str
    """The quota's name in Service Quotas."""
    default: int
    adjustable: bool
    source: str


_ELASTICACHE_QUOTAS = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/quota-limits.html"
ELASTICACHE_NODES_PER_CLUSTER = Quota("Nodes per cluster (cluster mode enabled)", 90, True, _ELASTICACHE_QUOTAS)
ELASTICACHE_NODES_PER_REGION = Quota("Nodes per Region", 300, True, _ELASTICACHE_QUOTAS)
ELASTICACHE_SHARDS_MAX = Quota("Shards per cluster (Valkey 7.2+ / Redis OSS 5.0.6+), hard limit", 500, False,
                               "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.html")


# --------------------------------------------------------------------------------------------
# RDS parameter values per parameter-group family
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    kind: str
    """``boolean`` (RDS takes 0/1), ``integer`` (``low``..``high``) or ``list`` (comma-separated ``allowed``)."""
    source: str
    allowed: tuple[str, ...] = ()
    low: int = 0
    high: int = 0

    def problem(self, value: str) -> str | None:
        if self.kind == "boolean":
            return None if value in ("0", "1") else "a boolean: 0 or 1"
        if self.kind == "integer":
            ok = re.fullmatch(r"-?\d+", value) is not None and self.low <= int(value) <= self.high
            return None if ok else f"an integer from {self.low} to {self.high}"
        items = [v.strip() for v in value.split(",")] if value.strip() else []
        bad = [v for v in items if v not in self.allowed]
        return f"a comma-separated list of {', '.join(self.allowed)} (or empty)" if bad else None


_RDS_SSL = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html"
_PG_LOGGING = "https://www.postgresql.org/docs/{v}/runtime-config-logging.html"
_INT32 = 2147483647


def _postgres(version: int) -> dict[str, Parameter]:
    logging = _PG_LOGGING.format(v=version)
    params = {
        "rds.force_ssl": Parameter("boolean", _RDS_SSL),
        "log_disconnections": Parameter("boolean", logging + "#GUC-LOG-DISCONNECTIONS"),
        "log_min_duration_statement": Parameter("integer", logging + "#GUC-LOG-MIN-DURATION-STATEMENT",
                                                low=-1, high=_INT32),
        "log_connections": Parameter("boolean", logging + "#GUC-LOG-CONNECTIONS"),
    }
    if version >= 18:
        # PostgreSQL 18 turned log_connections into a list of aspects; the RDS postgres18 family
        # accepts only these values (the boolean 1 is refused by CreateDBParameterGroup).
        params["log_connections"] = Parameter(
            "list", logging + "#GUC-LOG-CONNECTIONS",
            allowed=("receipt", "authentication", "authorization", "setup_durations", "all"))
    return params


RDS_PARAMETERS: Mapping[str, Mapping[str, Parameter]] = {f"postgres{v}": _postgres(v) for v in (15, 16, 17, 18)}
"""Every parameter the stack's parameter groups set, per family, with its value type and source."""


def parameter_problem(family: str, name: str, value: str) -> str | None:
    """What is wrong with ``name = value`` in a ``family`` parameter group (None when valid)."""
    table = RDS_PARAMETERS.get(family)
    if table is None:
        return f"family {family} has no parameter table in policies/constraints.py (known: {', '.join(RDS_PARAMETERS)})"
    spec = table.get(name)
    if spec is None:
        return f"{name} is not in the {family} parameter table of policies/constraints.py; add it with its source"
    allowed = spec.problem(value)
    return None if allowed is None else f"{name} = {value!r} is refused in {family}: expected {allowed} ({spec.source})"
