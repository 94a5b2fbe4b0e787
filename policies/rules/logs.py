"""CloudWatch log groups: encrypted with the stack's customer-managed key."""

from __future__ import annotations

from ._core import resource_rule

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@resource_rule(
    "aws-log-group-kms", types=(LOG_GROUP,), severity="medium",
    description="CloudWatch log groups are encrypted with a customer-managed KMS key.",
    rows=("LOG-01",), anchors=("checkov:CKV_AWS_158", "trivy:AWS-0017"),
    fix="set kmsKeyId to the stack's KMS key ARN (its key policy lets logs.<region>.amazonaws.com use it)")
def log_group_kms(props, ctx):
    # Presence only: the key's ARN is unknown during a first preview and that is fine.
    if props.get("kmsKeyId") in (None, ""):
        yield "no kmsKeyId: database and query logs are encrypted only with a CloudWatch-owned key"
