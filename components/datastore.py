"""What every managed data store shares: its arguments, and a private network position.

``private_network`` creates the subnet group (private subnets only) and a security group that
admits the store's port from the cluster nodes' security group and nothing else, with no egress
rules (a data store initiates no connections; the provider removes AWS's default egress rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from config import Settings


@dataclass(frozen=True, kw_only=True)
class DataStoreArgs:
    prefix: str
    """Physical-name prefix: ``platform-<stack>``."""
    protect: bool
    """Pulumi ``protect`` on the store: a destroy must be deliberate."""
    kms_key_arn: pulumi.Input[str]
    vpc_id: str
    subnet_ids: Sequence[str]
    """Private subnets only; the store is never reachable from outside the VPC."""
    client_security_group_id: str
    """The cluster nodes' security group: the only source admitted on the store's port."""
    namespace: pulumi.Input[str]
    """Application namespace: the connection ConfigMap (and the in-cluster store) live here."""
    log_retention_days: int
    labels: Mapping[str, str]
    tags: Mapping[str, str]


def data_store_args(settings: Settings, *, kms_key_arn: pulumi.Input[str],
                    namespace: pulumi.Input[str]) -> dict[str, Any]:
    """The fields every store takes, from the loaded settings (for ``<Store>Args.from_settings``)."""
    return dict(prefix=settings.name, protect=settings.profile.protect_data, kms_key_arn=kms_key_arn,
                vpc_id=settings.vpc_id, subnet_ids=settings.private_subnet_ids,
                client_security_group_id=settings.cluster.node_security_group_id, namespace=namespace,
                log_retention_days=settings.profile.log_retention_days, labels=settings.labels, tags=settings.tags)


def private_network(name: str, ident: str, *, engine: str, port: int, subnet_group: Any,
                    args: DataStoreArgs, parent: pulumi.Resource) -> tuple[Any, aws.ec2.SecurityGroup]:
    """``subnet_group`` is the service's SubnetGroup class (aws.rds / aws.elasticache)."""
    child = pulumi.ResourceOptions(parent=parent)
    tags = dict(args.tags)
    subnets = subnet_group(f"{name}-subnets", name=ident, subnet_ids=list(args.subnet_ids),
                           description=f"Private subnets of {ident}", tags=tags, opts=child)
    sg = aws.ec2.SecurityGroup(f"{name}-sg", name=ident, vpc_id=args.vpc_id,
                               description=f"{ident}: {engine} from the cluster nodes only", tags=tags, opts=child)
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-nodes",
        security_group_id=sg.id,
        referenced_security_group_id=args.client_security_group_id,
        ip_protocol="tcp", from_port=port, to_port=port,
        description=f"{engine} from the cluster nodes",
        tags=tags, opts=child,
    )
    return subnets, sg
