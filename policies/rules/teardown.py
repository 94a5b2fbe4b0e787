"""Teardown: production data survives a mistaken destroy; ephemeral stacks always destroy cleanly.

``retainOnDelete`` is not part of the Analyzer protocol (AnalyzerResourceOptions carries
``protect`` only), so "retained" is verified as ``protect`` plus no ``forceDestroy``.
"""

from __future__ import annotations

import re
from datetime import datetime

from ._core import as_list, get, is_read_replica, is_unknown, resource_rule, truthy, unknown_msg

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
REPOSITORY = "aws:ecr/repository:Repository"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DATA_STORES = (RDS_INSTANCE, REPLICATION_GROUP, BUCKET)


@resource_rule(
    "production-data-protected", types=DATA_STORES, severity="high", category="protection",
    description="Data stores and the backup bucket cannot be destroyed by accident (an RDS read replica: "
                "protected and deletion-protected, with no final snapshot, which RDS refuses for replicas).",
    rows=("RDS-06",),
    anchors=("checkov:CKV_AWS_293", "trivy:AWS-0177", "fsbp:RDS.8"),
    fix="pass the profile's protect_data as `protect` (and retain_on_delete for the bucket); for "
        "RDS set deletionProtection true, skipFinalSnapshot false and a finalSnapshotIdentifier; "
        "never forceDestroy the backup bucket")
def data_protected(props, ctx):
    if not ctx.protect:
        yield f"'{ctx.name}' is not `protect`ed: `pulumi destroy` deletes it without a second step"
    if ctx.type == RDS_INSTANCE:
        if not truthy(props.get("deletionProtection")):
            yield "deletionProtection is not true"
        skip = props.get("skipFinalSnapshot", False)
        if is_unknown(skip):
            yield unknown_msg("skipFinalSnapshot")
        elif is_read_replica(props):
            # RDS refuses a final snapshot of a read replica (constraints.REPLICA_FINAL_SNAPSHOT_REFUSED).
            if not truthy(skip) or props.get("finalSnapshotIdentifier") not in (None, ""):
                yield ("a read replica takes no final snapshot (RDS refuses one): set skipFinalSnapshot true "
                       "and no finalSnapshotIdentifier; the primary's final snapshot holds the data")
        elif truthy(skip):
            yield "skipFinalSnapshot is true: deleting the instance leaves no snapshot"
        elif props.get("finalSnapshotIdentifier") in (None, ""):
            yield "no finalSnapshotIdentifier: the delete fails, or leaves no named snapshot"
    elif ctx.type == REPLICATION_GROUP:
        if props.get("finalSnapshotIdentifier") in (None, ""):
            yield "no finalSnapshotIdentifier: deleting the cache leaves no snapshot"
    elif truthy(props.get("forceDestroy")):
        yield "forceDestroy is true: destroying the stack deletes every backup in the bucket"


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


@resource_rule(
    "ephemeral-disposable", types=(*DATA_STORES, REPOSITORY, STATEFUL_SET, "aws:kms/key:Key"),
    severity="high", category="disposability",
    description="Nothing in a PR stack blocks `pulumi destroy` or survives it.",
    fix="in the ephemeral profile: no protect, forceDestroy/forceDelete true, RDS "
        "deletionProtection false with skipFinalSnapshot true, StatefulSet "
        "persistentVolumeClaimRetentionPolicy.whenDeleted 'Delete'")
def disposable(props, ctx):
    if ctx.protect:
        yield f"'{ctx.name}' is `protect`ed: the reaper's destroy will fail"
    if ctx.type == RDS_INSTANCE:
        if truthy(props.get("deletionProtection")):
            yield "deletionProtection is true: destroy fails"
        if not truthy(props.get("skipFinalSnapshot")):
            yield "skipFinalSnapshot is not true: destroy leaves (or needs) a snapshot"
    elif ctx.type == BUCKET and not truthy(props.get("forceDestroy")):
        yield "forceDestroy is not true: destroy fails while the bucket holds objects"
    elif ctx.type == REPOSITORY and not truthy(props.get("forceDelete")):
        yield "forceDelete is not true: destroy fails while the repository holds images"
    elif ctx.type == STATEFUL_SET and as_list(get(props, "spec.volumeClaimTemplates")):
        policy = get(props, "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", "Retain")
        if policy != "Delete":
            yield "volume claims are retained when the StatefulSet is deleted (EBS volumes outlive the stack)"
    tags = props.get("tags")
    if isinstance(tags, dict) and ctx.type != STATEFUL_SET:
        expires = tags.get("expires-at")
        if isinstance(expires, str) and not _RFC3339.match(expires):
            yield "tag expires-at is not an RFC 3339 UTC time, so the reaper cannot read it"
        elif isinstance(expires, str):
            try:
                datetime.fromisoformat(expires.replace("Z", "+00:00"))
            except ValueError:
                yield "tag expires-at is not a valid time"
        pr = tags.get("pr")
        if pr is not None and not (isinstance(pr, str) and pr.isdigit()):
            yield "tag pr is not a pull-request number"
