"""Required tags on every taggable AWS resource (cost allocation, ownership, PR-stack reaping)."""

from __future__ import annotations

from ._core import get, is_unknown, resource_rule, unknown_msg

TAGGABLE = (
    "aws:kms/key:Key", "aws:ecr/repository:Repository", "aws:rds/instance:Instance",
    "aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
    "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:cloudwatch/logGroup:LogGroup", "aws:s3/bucket:Bucket", "aws:iam/role:Role",
    "aws:iam/policy:Policy", "aws:ec2/instance:Instance", "aws:ec2/vpc:Vpc",
    "aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic", "aws:sqs/queue:Queue",
    "aws:lb/loadBalancer:LoadBalancer", "aws:eks/cluster:Cluster", "aws:dynamodb/table:Table",
)
"""AWS types with a ``tags`` input that this stack creates or could plausibly add."""

DEFAULT_TAGS = ["environment", "project", "stack", "owner", "cost-center", "managed-by"]


@resource_rule(
    "aws-required-tags", types=TAGGABLE, severity="medium", category="hygiene",
    description="Every taggable AWS resource carries the platform's required tags.",
    config={"requiredTags": {"type": "array", "items": {"type": "string"}, "default": DEFAULT_TAGS}},
    fix="merge settings.tags (config.py) into the resource's tags; PR stacks also need pr and "
        "expires-at (python -m tools ephemeral config --pr <n>)")
def required_tags(props, ctx):
    required = list(ctx.config.get("requiredTags", DEFAULT_TAGS))
    tags = props.get("tags")
    if is_unknown(tags):
        yield unknown_msg("tags")
        return
    merged = dict(get(ctx.provider, "defaultTags.tags") or {})
    merged.update(tags or {})
    unknown = [k for k, v in merged.items() if is_unknown(v) and k in required]
    missing = [k for k in required if k not in merged or merged[k] in (None, "")]
    if unknown:
        yield unknown_msg(f"tags {unknown}")
    if missing:
        yield f"missing tag(s) {missing}"
