"""The stack's AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...) for ARNs and service hosts.

Creates nothing: ``aws.get_partition_output()`` is an invoke, so known in every preview. No
component writes the literal ``arn:aws:`` or a host ending in ``amazonaws.com``: in China the ARNs
are ``arn:aws-cn:`` and the hosts end in ``amazonaws.com.cn`` (``aws-arn-partition``). Service
principals are the exception: ``<service>.amazonaws.com`` in every partition (:func:`service_principal`).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def current(parent: pulumi.Resource | None = None) -> pulumi.Output[aws.GetPartitionResult]:
    """The stack's partition (``.partition``, ``.dns_suffix``), for documents built in one ``apply``."""
    return aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=parent) if parent else None)


_partition = current


def arn(service: str, region: pulumi.Input[str], account: pulumi.Input[str], resource: pulumi.Input[str], *,
        parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """``arn:<partition>:<service>:<region>:<account>:<resource>`` (region/account may be "")."""
    return pulumi.Output.concat("arn:", _partition(parent).partition, ":", service, ":", region, ":", account, ":",
                                resource)


def service_host(service: str, region: pulumi.Input[str], *, parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """``<service>.<region>.<dns suffix>``: a regional endpoint or service principal host."""
    return pulumi.Output.concat(service, ".", region, ".", _partition(parent).dns_suffix)


def ecr_registry(account: pulumi.Input[str], region: pulumi.Input[str], *,
                 parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """``<account>.dkr.ecr.<region>.<dns suffix>``."""
    return pulumi.Output.concat(account, ".dkr.ecr.", region, ".", _partition(parent).dns_suffix)


def service_principal(service: str) -> str:
    """``<service>.amazonaws.com``: a service principal in a trust policy. Unlike endpoints, service
    principals are the same in every partition for the services the platform trusts (s3, ecr);
    IAM refuses the endpoint-style form in China (``monitoring.rds.amazonaws.com.cn`` is "Invalid
    principal in policy", terraform-aws-modules/terraform-aws-rds-aurora#437). Only a few services (codedeploy, logs, states,
    elasticmapreduce in China) carry a regional or partitional principal (AWS CDK region-info's
    table); add such a service here with its form before trusting it."""
    if service in _NOT_UNIVERSAL:
        raise ValueError(f"service principal of {service!r} is not <service>.amazonaws.com in every partition")
    return f"{service}.amazonaws.com"


_NOT_UNIVERSAL = frozenset({"codedeploy", "logs", "states", "elasticmapreduce"})
