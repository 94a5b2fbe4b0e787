"""EKS cluster add-ons the platform relies on, installed by the stacks that own the cluster platform.

Creates (each add-on with its own IRSA role, policies scoped to what it manages):

* external-dns (pinned chart) in the gateway namespace: AWS provider, Gateway API ``HTTPRoute``
  source, TXT registry with one owner id per cluster, limited to the domain and to the one
  configured hosted zone. Its role may change records only in that zone (``route53:
  ChangeResourceRecordSets`` on the zone ARN) and list/read what the external-dns AWS tutorial
  requires. Every host an HTTPRoute serves on a Gateway gets a record pointing at the Gateway's
  load balancer; ``policy: sync`` deletes the record when the route goes (a PR environment's host
  disappears with its stack).

* the EBS CSI driver as an EKS add-on (``aws-ebs-csi-driver``, version pinned) with its own IRSA
  role: the AWS managed ``AmazonEBSCSIDriverPolicy`` plus use of the stack's KMS key (grants only
  for AWS resources), assumable only by the controller's ServiceAccount (sub and aud pinned);
* the StorageClass ``gp3-encrypted`` (``ENCRYPTED_STORAGE_CLASS``): EBS gp3 encrypted with the
  stack's KMS key, bound when the pod is scheduled (the volume lands in the pod's AZ), expandable.
  It is also marked default, so a claim that names no class still gets an encrypted volume; ours
  all name it explicitly (a test checks every claim).

* metrics-server (pinned chart) in ``kube-system`` (where its APIService expects it): the resource
  metrics the app's HorizontalPodAutoscaler reads; two replicas and a PodDisruptionBudget where
  the profile asks for disruption budgets.

PR stacks install none of this: they run on staging's cluster, whose external-dns watches every
namespace, so a PR's HTTPRoute gets its record from staging's add-on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa import ROLE_NAME_MAX, Irsa, role_arn, trust_policy
from components.kms import key_statement
from components.kubernetes import (
    ENCRYPTED_STORAGE_CLASS,
    EXTERNAL_DNS,
    METRICS_SERVER,
    PULL_POLICY,
    cached_image,
    container_security_context,
    helm_release,
    metadata,
    pod_security_context,
)

if TYPE_CHECKING:
    from config import Settings

EXTERNAL_DNS_SA = "external-dns"
EXTERNAL_DNS_SOURCES = ("gateway-httproute",)
"""Gateway API routes only: the platform serves every host through an HTTPRoute on a Gateway."""

EBS_CSI_ADDON_VERSION = "v1.48.0-eksbuild.2"
"""Pinned; `aws eks describe-addon-versions --addon-name aws-ebs-csi-driver` lists those the
cluster's Kubernetes version supports."""
EBS_CSI_SA = ("kube-system", "ebs-csi-controller-sa")
"""The add-on's controller ServiceAccount (namespace, name), fixed by the EKS add-on."""


def hosted_zone_arn(partition: str, zone_id: str) -> str:
    return f"arn:{partition}:route53:::hostedzone/{zone_id}"


def external_dns_policy(partition: str, zone_id: str) -> dict[str, Any]:
    """Changes and reads in one hosted zone; ``ListHostedZones`` has no resource-level permission
    (Service Authorization Reference), so it alone is on ``*``. From the external-dns AWS tutorial
    (docs/tutorials/aws.md, "IAM Policy"), narrowed from ``hostedzone/*`` to the configured zone."""
    zone = hosted_zone_arn(partition, zone_id)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ChangeRecordsInTheZone", "Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
         "Resource": [zone]},
        {"Sid": "ReadTheZone", "Effect": "Allow",
         "Action": ["route53:ListResourceRecordSets", "route53:ListTagsForResources",
                    "route53:ListTagsForResource", "route53:GetHostedZone"],
         "Resource": [zone]},
        {"Sid": "FindTheZone", "Effect": "Allow", "Action": ["route53:ListHostedZones"], "Resource": ["*"]},
    ]}


def ebs_csi_key_policy(irsa: Irsa, kms_alias: pulumi.Input[str]) -> dict[str, Any]:
    """Encrypted volumes with the stack's key (the managed policy covers only AWS-managed keys):
    the data-key calls, and grants only for an AWS resource (EBS attaches the volume with one)."""
    use = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKeyWithoutPlaintext",
           "kms:DescribeKey"]
    return {"Version": "2012-10-17", "Statement": [
        key_statement("UseTheStackKey", use, account_id=irsa.account_id, region=irsa.region, alias=kms_alias),
        key_statement("GrantsForEbsOnly", ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                      account_id=irsa.account_id, region=irsa.region, alias=kms_alias,
                      condition={"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    ]}


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    cluster_name: str
    """The TXT owner id: one per cluster, so two clusters never fight over a record."""
    role_prefix: str
    """``platform-staging``: prefixes the add-ons' IAM role names."""
    partition: str
    domain: str
    hosted_zone_id: str
    gateway_namespace: pulumi.Input[str]
    irsa: Irsa
    kms_key_arn: pulumi.Input[str]
    """The stack's key: encrypts every EBS volume of the StorageClass."""
    kms_alias: pulumi.Input[str]
    labels: Mapping[str, str]
    tags: Mapping[str, str]
    highly_available: bool
    """Two replicas and a PodDisruptionBudget for metrics-server (the gateway profile's choice)."""

    @classmethod
    def from_settings(cls, settings: Settings, *, gateway_namespace: pulumi.Input[str], irsa: Irsa,
                      kms_key_arn: pulumi.Input[str], kms_alias: pulumi.Input[str]) -> ClusterAddonsArgs:
        from policies.constraints import partition_of

        if settings.hosted_zone_id is None:  # config.py requires it wherever the platform is installed
            raise ValueError("platform:dns.hostedZoneId is required by the stacks that install the platform")
        return cls(cluster_name=settings.cluster.name, role_prefix=settings.name, partition=partition_of(settings.region),
                   domain=settings.domain, hosted_zone_id=settings.hosted_zone_id,
                   gateway_namespace=gateway_namespace, irsa=irsa, kms_key_arn=kms_key_arn, kms_alias=kms_alias,
                   labels=settings.labels, tags=settings.tags,
                   highly_available=settings.profile.gateway.disruption_budget)


class ClusterAddons(pulumi.ComponentResource):
    """Creates: external-dns (IRSA role ``{name}-external-dns-role`` + inline policy, Helm release);
    the EBS CSI add-on (role ``{name}-ebs-csi-role``, managed + key policy) and StorageClass."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:ClusterAddons", name, None, opts)
        self._name, self._args = name, args
        self._roles: dict[str, aws.iam.Role] = {}
        self.external_dns_role_arn = self._role(
            "external-dns", namespace=args.gateway_namespace, service_account=EXTERNAL_DNS_SA,
            policy=external_dns_policy(args.partition, args.hosted_zone_id))
        helm_release(f"{name}-external-dns", release="external-dns", chart=EXTERNAL_DNS,
                     namespace=args.gateway_namespace, values=self._external_dns_values(), timeout=300,
                     opts=pulumi.ResourceOptions(parent=self))
        self._storage()
        helm_release(f"{name}-metrics-server", release="metrics-server", chart=METRICS_SERVER, namespace="kube-system",
                     values=self._metrics_server_values(), timeout=300, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"external_dns_role_arn": self.external_dns_role_arn})

    def _storage(self) -> None:
        args, name, child = self._args, self._name, pulumi.ResourceOptions(parent=self)
        namespace, service_account = EBS_CSI_SA
        role = self._role("ebs-csi", namespace=namespace, service_account=service_account,
                          policy=ebs_csi_key_policy(args.irsa, args.kms_alias))
        aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi-managed", role=self._roles["ebs-csi"].name,
            policy_arn=f"arn:{args.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
            opts=child)
        addon = aws.eks.Addon(f"{name}-ebs-csi", cluster_name=args.cluster_name, addon_name="aws-ebs-csi-driver",
                              addon_version=EBS_CSI_ADDON_VERSION, service_account_role_arn=role,
                              resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
                              tags=dict(args.tags), opts=child)
        k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata=metadata(ENCRYPTED_STORAGE_CLASS, None, args.labels,
                              annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true", "kmsKeyId": args.kms_key_arn,
                        "csi.storage.k8s.io/fstype": "ext4"},
            volume_binding_mode="WaitForFirstConsumer", allow_volume_expansion=True, reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[addon]))

    def _role(self, addon: str, *, namespace: pulumi.Input[str], service_account: str,
              policy: dict[str, Any]) -> pulumi.Output[str]:
        """An IRSA role for one add-on's ServiceAccount with one inline policy; returns its ARN."""
        args, child = self._args, pulumi.ResourceOptions(parent=self)
        role_name = f"{args.role_prefix}-{addon}"
        if len(role_name) > ROLE_NAME_MAX:
            raise ValueError(f"IAM role name {role_name!r} is {len(role_name)} characters; the limit is {ROLE_NAME_MAX}")
        role = self._roles[addon] = aws.iam.Role(f"{self._name}-{addon}-role", name=role_name, assume_role_policy=pulumi.Output.json_dumps(
            trust_policy(args.irsa.oidc_provider_arn, args.irsa.oidc_provider_url, namespace, service_account)),
            tags=dict(args.irsa.tags), opts=child)
        aws.iam.RolePolicy(f"{self._name}-{addon}-policy", role=role.id, policy=pulumi.Output.json_dumps(policy),
                           opts=child)
        return role_arn(args.irsa.account_id, role)

    def _metrics_server_values(self) -> dict[str, Any]:
        ha = self._args.highly_available
        return {
            "image": {"repository": cached_image("registry.k8s.io/metrics-server/metrics-server", parent=self),
                      "pullPolicy": PULL_POLICY},
            "replicas": 2 if ha else 1,
            "podDisruptionBudget": {"enabled": ha, "minAvailable": 1} if ha else {"enabled": False},
            "podSecurityContext": pod_security_context(),
            "securityContext": container_security_context(),
            "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"cpu": "500m", "memory": "200Mi"}},
        }

    def _external_dns_values(self) -> dict[str, Any]:
        args = self._args
        return {
            "image": {"repository": cached_image("registry.k8s.io/external-dns/external-dns", parent=self),
                      "pullPolicy": PULL_POLICY},
            "provider": {"name": "aws"},
            "sources": list(EXTERNAL_DNS_SOURCES),
            "policy": "sync",
            "registry": "txt",
            "txtOwnerId": args.cluster_name,
            # A TXT record may not share its name with the CNAME external-dns writes for a host.
            "txtPrefix": "extdns-",
            "domainFilters": [args.domain],
            "extraArgs": [f"--zone-id-filter={args.hosted_zone_id}", "--aws-zone-type=public"],
            "env": [{"name": "AWS_DEFAULT_REGION", "value": args.irsa.region}],
            "serviceAccount": {"name": EXTERNAL_DNS_SA,
                               "annotations": {"eks.amazonaws.com/role-arn": self.external_dns_role_arn}},
            "podSecurityContext": pod_security_context(),
            "securityContext": container_security_context(),
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        }
