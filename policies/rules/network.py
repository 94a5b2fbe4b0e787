"""Security groups: no world ingress anywhere, no open egress from the data tier; data stores sit
behind security groups of this stack only."""

from __future__ import annotations

from ._core import as_list, by_type, is_unknown, related, resource_rule, stack_rule, unknown_msg

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"

_WORLD = ("0.0.0.0/0", "::/0")


def _world_ingress(type_: str, props: dict) -> list[str]:
    """Why the resource opens ingress to the internet ("" entries for unknown CIDRs)."""
    found: list[str] = []
    if type_ == SECURITY_GROUP:
        for rule in as_list(props.get("ingress")):
            cidrs = as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
            found += [c for c in cidrs if is_unknown(c) or c in _WORLD]
            if is_unknown(rule.get("cidrBlocks")) or is_unknown(rule.get("ipv6CidrBlocks")):
                found.append("")
    elif type_ == INGRESS_RULE or (type_ == SG_RULE and props.get("type") == "ingress"):
        for key in ("cidrIpv4", "cidrIpv6", "cidrBlocks", "ipv6CidrBlocks"):
            value = props.get(key)
            found += [c for c in as_list(value) if c in _WORLD]
            if is_unknown(value):
                found.append("")
    return ["(unknown during preview)" if is_unknown(c) or c == "" else c for c in found]


@resource_rule(
    "aws-sg-no-world-ingress", types=(SECURITY_GROUP, SG_RULE, INGRESS_RULE), severity="critical",
    description="No security group admits traffic from 0.0.0.0/0 or ::/0.",
    rows=("SG-01",),
    anchors=("checkov:CKV_AWS_24", "checkov:CKV_AWS_25", "checkov:CKV_AWS_260", "checkov:CKV_AWS_277",
             "trivy:AWS-0107", "fsbp:EC2.18", "fsbp:EC2.19", "cis-aws:5.2", "cis-aws:5.3"),
    fix="admit only the cluster node security group (referencedSecurityGroupId), never a world CIDR")
def no_world_ingress(props, ctx):
    for cidr in _world_ingress(ctx.type, props):
        yield (unknown_msg("ingress CIDR") if cidr.startswith("(unknown")
               else f"ingress is open to {cidr}")


@resource_rule(
    "aws-sg-no-open-egress", types=(SECURITY_GROUP, SG_RULE, EGRESS_RULE), severity="medium",
    description="Data-tier security groups do not allow all traffic to 0.0.0.0/0.",
    rows=("SG-02",), anchors=("checkov:CKV_AWS_382", "trivy:AWS-0104"),
    fix="remove the all-protocol egress rule; data stores answer connections and need no egress")
def no_open_egress(props, ctx):
    if ctx.type == SECURITY_GROUP:
        rules = [(r.get("protocol"), as_list(r.get("cidrBlocks")) + as_list(r.get("ipv6CidrBlocks")))
                 for r in as_list(props.get("egress"))]
    elif ctx.type == SG_RULE and props.get("type") != "egress":
        rules = []
    else:
        proto = props.get("ipProtocol", props.get("protocol"))
        rules = [(proto, as_list(props.get("cidrIpv4")) + as_list(props.get("cidrIpv6"))
                  + as_list(props.get("cidrBlocks")))]
    for proto, cidrs in rules:
        if str(proto) in ("-1", "all") and any(c in _WORLD for c in cidrs):
            yield "egress allows every protocol and port to the internet"


def _groups_of(store, groups):
    prop = "vpcSecurityGroupIds" if store.type == RDS_INSTANCE else "securityGroupIds"
    ids = store.props.get(prop)
    return prop, [g for g in groups if g.urn in store.property_dependencies.get(prop, [])
                  or (isinstance(ids, list) and g.props.get("id") in ids)]


@stack_rule(
    "data-store-sg-no-world-ingress",
    types=(RDS_INSTANCE, REPLICATION_GROUP, SECURITY_GROUP, INGRESS_RULE, SG_RULE), severity="critical",
    description="Every data store sits behind security groups of this stack that admit no world traffic.",
    rows=("SG-01",), anchors=("trivy:AWS-0107", "fsbp:EC2.19"),
    fix="give the data store its own security group whose only ingress rule references the "
        "cluster node security group")
def data_store_sg(resources, ctx):
    groups = by_type(resources, SECURITY_GROUP)
    rules = by_type(resources, INGRESS_RULE, SG_RULE)
    for store in by_type(resources, RDS_INSTANCE, REPLICATION_GROUP):
        prop, mine = _groups_of(store, groups)
        if not mine:
            yield store.urn, f"'{store.name}' is not behind a security group of this stack ({prop})"
        for group in mine:
            opened = _world_ingress(SECURITY_GROUP, group.props)
            for rule in related_rules(group, rules):
                opened += _world_ingress(rule.type, rule.props)
            if opened:
                yield store.urn, f"'{store.name}' is reachable from {sorted(set(opened))} through '{group.name}'"


def related_rules(group, rules):
    return [r for r in rules
            if group in related(r, [group], "securityGroupId", "id")]
