"""``python -m tools constraints [--write]``: regenerate policies/aws_shapes.json from botocore.

botocore (PyPI, maintained by AWS) ships every service's API model: for each request field its
shape's type, min/max length, regex pattern and enum, and the documentation, which for many
fields (RDS and ElastiCache identifiers) is the only place the rule is written down; and the
partitions (which regions belong to aws, aws-cn, aws-us-gov, ..., and their DNS suffixes). This command
extracts the few fields the stack's physical names and settings touch into a small JSON file, so
neither the program nor the policy pack loads botocore at run time (it takes seconds).

Without ``--write`` it prints the file it would write and exits 1 when the committed one differs;
a test runs the same comparison against the pinned botocore in requirements-dev.txt.
"""

from __future__ import annotations

import html
import json
import re
import sys
from typing import Any

from tools import cli
from tools.cli import ROOT, UsageError
from tools.dev import generated

OUTPUT = ROOT / "policies" / "aws_shapes.json"

FIELDS: tuple[tuple[str, str, str, str], ...] = (
    # key, service, operation, request member
    ("rds.DBInstanceIdentifier", "rds", "CreateDBInstance", "DBInstanceIdentifier"),
    ("rds.DBSubnetGroupName", "rds", "CreateDBSubnetGroup", "DBSubnetGroupName"),
    ("rds.DBParameterGroupName", "rds", "CreateDBParameterGroup", "DBParameterGroupName"),
    ("rds.DBSnapshotIdentifier", "rds", "CreateDBSnapshot", "DBSnapshotIdentifier"),
    ("rds.FinalDBSnapshotIdentifier", "rds", "DeleteDBInstance", "FinalDBSnapshotIdentifier"),
    ("rds.AllocatedStorage", "rds", "CreateDBInstance", "AllocatedStorage"),
    ("rds.BackupRetentionPeriod", "rds", "CreateDBInstance", "BackupRetentionPeriod"),
    ("rds.StorageType", "rds", "CreateDBInstance", "StorageType"),
    ("elasticache.ReplicationGroupId", "elasticache", "CreateReplicationGroup", "ReplicationGroupId"),
    ("elasticache.CacheSubnetGroupName", "elasticache", "CreateCacheSubnetGroup", "CacheSubnetGroupName"),
    ("elasticache.CacheParameterGroupName", "elasticache", "CreateCacheParameterGroup", "CacheParameterGroupName"),
    ("elasticache.SnapshotName", "elasticache", "CreateSnapshot", "SnapshotName"),
    ("elasticache.FinalSnapshotIdentifier", "elasticache", "DeleteReplicationGroup", "FinalSnapshotIdentifier"),
    ("elasticache.ReplicasPerNodeGroup", "elasticache", "CreateReplicationGroup", "ReplicasPerNodeGroup"),
    ("elasticache.NumNodeGroups", "elasticache", "CreateReplicationGroup", "NumNodeGroups"),
    ("s3.Bucket", "s3", "CreateBucket", "Bucket"),
    ("kms.AliasName", "kms", "CreateAlias", "AliasName"),
    ("kms.PendingWindowInDays", "kms", "ScheduleKeyDeletion", "PendingWindowInDays"),
    ("ecr.repositoryName", "ecr", "CreateRepository", "repositoryName"),
    ("ecr.ecrRepositoryPrefix", "ecr", "CreatePullThroughCacheRule", "ecrRepositoryPrefix"),
    ("ecr.imageTag", "ecr", "PutImage", "imageTag"),
    ("iam.RoleName", "iam", "CreateRole", "RoleName"),
    ("iam.PolicyName", "iam", "PutRolePolicy", "PolicyName"),
    ("iam.RoleDescription", "iam", "CreateRole", "Description"),
    ("logs.logGroupName", "logs", "CreateLogGroup", "logGroupName"),
    ("logs.retentionInDays", "logs", "PutRetentionPolicy", "retentionInDays"),
    ("secretsmanager.Name", "secretsmanager", "CreateSecret", "Name"),
    ("ec2.GroupName", "ec2", "CreateSecurityGroup", "GroupName"),
    ("ec2.GroupDescription", "ec2", "CreateSecurityGroup", "Description"),
)


def text(doc: str) -> str:
    """The documentation as plain text: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", doc or ""))).strip()


def extract() -> dict[str, Any]:
    import botocore
    import botocore.session

    session = botocore.session.get_session()
    fields: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for key, service, operation, member in FIELDS:
        model = models.get(service) or models.setdefault(service, session.get_service_model(service))
        shape = model.operation_model(operation).input_shape.members[member]
        entry: dict[str, Any] = {"operation": f"{service}:{operation}.{member}", "shape": shape.name,
                                 "type": shape.type_name}
        for k in ("min", "max", "pattern"):
            if k in shape.metadata:
                entry[k] = shape.metadata[k]
        enum = getattr(shape, "enum", None)
        if enum:
            entry["enum"] = list(enum)
        entry["documentation"] = text(shape.documentation)
        fields[key] = entry
    partitions = {p["id"]: {"regionRegex": p["regionRegex"], "dnsSuffix": p["outputs"]["dnsSuffix"],
                            "regions": sorted(r for r in p["regions"] if not r.endswith("-global"))}
                  for p in session.get_data("partitions")["partitions"]}
    return {"generator": "python -m tools constraints --write", "botocore": botocore.__version__,
            "fields": fields, "partitions": partitions}


def render() -> str:
    return json.dumps(extract(), indent=1, sort_keys=True) + "\n"


def _render_installed() -> str:
    try:
        return render()
    except ImportError:
        raise UsageError("botocore is not installed; run `make setup` (it is pinned in requirements-dev.txt)") from None


def main(argv: list[str]) -> int:
    return generated.main(argv, prog="python -m tools constraints", description=__doc__.split("\n")[0],
                          output=OUTPUT, render=_render_installed)


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
