"""Cost guardrail: instance classes and node types allowed per environment (policy config)."""

from __future__ import annotations

from ._core import is_unknown, resource_rule, unknown_msg

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


@resource_rule(
    "aws-allowed-instance-sizes", types=(RDS_INSTANCE, REPLICATION_GROUP), severity="medium",
    category="cost",
    description="RDS instance classes and ElastiCache node types are on the environment's list.",
    config={"allowedInstanceClasses": {"type": "array", "items": {"type": "string"}},
            "allowedNodeTypes": {"type": "array", "items": {"type": "string"}}},
    fix="pick a size allowed for this environment (policies/config/<environment>.json) with "
        "pulumi config set platform:postgres.instanceClass / platform:redis.nodeType, or change the "
        "list in a reviewed pull request")
def allowed_sizes(props, ctx):
    prop, key = (("instanceClass", "allowedInstanceClasses") if ctx.type == RDS_INSTANCE
                 else ("nodeType", "allowedNodeTypes"))
    allowed = ctx.config.get(key)
    if allowed is None:
        return  # no list configured for this environment: no guardrail
    value = props.get(prop)
    if is_unknown(value):
        yield unknown_msg(prop)
    elif value not in allowed:
        allowed_text = ", ".join(allowed) if allowed else "none: this environment runs it in-cluster"
        yield f"{prop} '{value}' is not allowed in this environment (allowed: {allowed_text})"
