"""The AWS Load Balancer Controller: the gateway's Service becomes an internet-facing NLB.

Installed by the stacks that install the cluster platform (staging, production); PR stacks run on
staging's cluster and use its controller. Creates:

* the IRSA role ``{name}-role`` (``<stack prefix>-lb-controller``) that only the controller's
  ServiceAccount can assume, carrying the controller's **published** IAM policy for the pinned
  version (``components/data/``, verbatim; its source is cited there) as the inline policy
  ``{name}-policy``. The document grants ``Resource: "*"`` where the load balancers, target groups
  and security groups the controller creates have no ARN before they exist; its mutating
  statements are bounded by the ``elbv2.k8s.aws/cluster`` tag instead. The policy pack accepts
  that in this exact document only (``policies/rules/iam.py``, ``PUBLISHED_DOCUMENTS``, matched by
  content hash): any edit makes it an ordinary policy again;
* the pinned Helm release ``aws-load-balancer-controller`` in the gateway namespace (restricted
  Pod Security, default-deny network policy: the API server reaches its webhook on 9443, it
  reaches the API server and the AWS APIs on 443), its image through the account's ECR
  pull-through cache, replicas and a PodDisruptionBudget from the profile.

What it is allowed to do in the cluster is kept to what the platform uses: Services of type
LoadBalancer that ask for it by annotation (the gateway's, ``components/ingress.py``). No ``alb``
IngressClass and no Gateway API controllers (Envoy Gateway is the one ingress; an Ingress or a
GatewayClass must not open a second, unreviewed way in), and no Service mutating webhook: with
``failurePolicy: Fail`` on every Service created in the cluster it would make this controller a
prerequisite of every namespace, PR stacks included. The gateway's Service names the controller
itself (``aws-load-balancer-type: external``), which the in-tree / cloud-controller-manager
service controller leaves alone, so it never becomes a Classic Load Balancer.

The Envoy proxy's ``EnvoyProxy`` depends on this release (``__main__.py``): its Service is created
once the controller runs, and the NLB is provisioned at the first reconcile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa import ROLE_NAME_MAX, Irsa, role_arn, trust_policy
from components.kubernetes import (
    AWS_LOAD_BALANCER_CONTROLLER,
    PULL_POLICY,
    cache_registry,
    container_security_context,
    helm_release,
    pod_security_context,
)

if TYPE_CHECKING:
    from config import Settings

CONTROLLER_VERSION = "v3.5.0"
"""The controller image the pinned chart (``AWS_LOAD_BALANCER_CONTROLLER``) ships, and the tag of its
published IAM policy: the three change together."""
IMAGE_REPOSITORY = "eks/aws-load-balancer-controller"
"""On public.ecr.aws (the chart's default registry), pulled through the account's ECR Public cache."""
POLICY_FILE = Path(__file__).parent / "data" / f"aws-load-balancer-controller-{CONTROLLER_VERSION}-iam-policy.json"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
RELEASE = "aws-load-balancer-controller"


@cache
def published_policy(partition: str = "aws") -> dict[str, Any]:
    """The published document, its ARNs in ``partition`` (upstream's per-partition variants differ
    from the ``aws`` one only there; components/data/README.md)."""
    text = POLICY_FILE.read_text(encoding="utf-8")
    return json.loads(re.sub(r'"arn:aws:', f'"arn:{partition}:', text))


@dataclass(frozen=True, kw_only=True)
class LoadBalancerControllerArgs:
    cluster_name: str
    vpc_id: str
    """Given explicitly: with IMDSv2 hop limit 1 (the EKS default for new node groups) the pod
    cannot discover the VPC from instance metadata."""
    role_name: str
    partition: str
    namespace: pulumi.Input[str]
    irsa: Irsa
    tags: Mapping[str, str]
    """The stack's tag model: on the role, and on every load balancer, target group and security group
    the controller creates."""
    highly_available: bool
    """Two replicas and a PodDisruptionBudget (the profile's disruption-budget choice)."""

    @classmethod
    def from_settings(cls, settings: Settings, *, namespace: pulumi.Input[str], irsa: Irsa) -> LoadBalancerControllerArgs:
        from policies.constraints import partition_of

        return cls(cluster_name=settings.cluster.name, vpc_id=settings.vpc_id, role_name=f"{settings.name}-lb-controller",
                   partition=partition_of(settings.region), namespace=namespace, irsa=irsa, tags=settings.tags,
                   highly_available=settings.profile.gateway.disruption_budget)


class LoadBalancerController(pulumi.ComponentResource):
    """Creates: the IRSA role ``{name}-role`` + inline policy ``{name}-policy`` (the published
    document) and the Helm release ``{name}`` (``release``: what the gateway's proxy waits for)."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:LoadBalancerController", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        if len(args.role_name) > ROLE_NAME_MAX:
            raise ValueError(f"IAM role name {args.role_name!r} is {len(args.role_name)} characters; "
                             f"the limit is {ROLE_NAME_MAX}")
        role = aws.iam.Role(f"{name}-role", name=args.role_name, assume_role_policy=pulumi.Output.json_dumps(
            trust_policy(args.irsa.oidc_provider_arn, args.irsa.oidc_provider_url, args.namespace, SERVICE_ACCOUNT)),
            tags=dict(args.irsa.tags), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id,
                                    policy=json.dumps(published_policy(args.partition)), opts=child)
        self.role_arn = role_arn(args.irsa.account_id, role)
        # The pod must not start before its role may act: the first reconcile would fail on AccessDenied.
        self.release = helm_release(name, release=RELEASE, chart=AWS_LOAD_BALANCER_CONTROLLER, namespace=args.namespace,
                                    values=self._values(), timeout=600,
                                    opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        self.register_outputs({"role_arn": self.role_arn})

    def _values(self) -> dict[str, Any]:
        args = self._args
        ha = args.highly_available
        return {
            "clusterName": args.cluster_name,
            "region": args.irsa.region,
            "vpcId": args.vpc_id,
            "image": {"repository": pulumi.Output.concat(cache_registry("public.ecr.aws", parent=self), "/",
                                                         IMAGE_REPOSITORY),
                      "tag": CONTROLLER_VERSION, "pullPolicy": PULL_POLICY},
            "replicaCount": 2 if ha else 1,
            # The chart renders the budget only with more than one replica.
            "podDisruptionBudget": {"maxUnavailable": 1} if ha else {},
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT,
                               "annotations": {"eks.amazonaws.com/role-arn": self.role_arn}},
            "podSecurityContext": pod_security_context(),
            "securityContext": container_security_context(),
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                          "limits": {"cpu": "500m", "memory": "256Mi"}},
            # The cost and ownership tags; not ``managed-by: pulumi``: the controller manages these.
            "defaultTags": {k: v for k, v in args.tags.items() if k != "managed-by"},
            "createIngressClassResource": False,
            "ingressClassParams": {"create": False},
            "disableIngressClassAnnotation": True,
            "enableServiceMutatorWebhook": False,
            "controllerConfig": {"featureGates": {"ALBGatewayAPI": False, "NLBGatewayAPI": False}},
            # Upgrades keep the webhook's serving certificate (and the CA bundle the API server trusts).
            "keepTLSSecret": True,
        }
