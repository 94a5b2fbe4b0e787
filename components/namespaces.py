"""Namespaces and their guard rails: Pod Security Admission, quota, limits, network policy.

Creates, for the application namespace (``app`` or ``pr-<n>``) and — when this stack owns the
shared platform — the platform namespaces (gateway, cert-manager, monitoring):

* the Namespace, labelled from the one label model plus Pod Security Admission levels;
* a ResourceQuota and a LimitRange (defaults for containers that set nothing);
* a default-deny NetworkPolicy (ingress and egress) and the allow rules the platform needs;
* the ``default`` ServiceAccount patched (server-side apply) to stop mounting API tokens.

Every namespace enforces the ``restricted`` Pod Security Standard, platform namespaces too: the
operators' charts run restricted pods. The one exception is ``node-agents`` (stacks that install
the platform, one per cluster): it enforces ``privileged`` because its DaemonSets read the node
itself — node-exporter (hostNetwork, hostPID, the host's root filesystem) and Fluent Bit (hostPath
/var/log and the journal). Its annotation ``POD_SECURITY_REASON`` says why, and the pack
(``k8s-namespace-pod-security``) admits only the allow-listed DaemonSets in it; audit and warn stay
``restricted``, so every pod there is recorded as the exception it is.

Decision — who owns the platform namespaces: PR environments run on the staging cluster, and
the operators installed there (Envoy Gateway, cert-manager, kube-prometheus-stack) are
cluster-wide (CRDs, webhooks, ClusterRoles, controllers watching every namespace), so two
copies cannot coexist. The staging stack therefore owns the platform namespaces and their
releases; an ephemeral stack creates only its own ``pr-<n>`` namespace and refers to the shared
platform namespaces by name (``manage_platform=False``). Tearing a PR stack down deletes its
namespace and nothing that staging relies on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.kubernetes import metadata

if TYPE_CHECKING:
    from config import Settings

# Pod labels of the workloads the allow rules talk about (set by us or by the charts).
APP_POD = {"app.kubernetes.io/name": "app"}
POSTGRES_POD = {"app.kubernetes.io/name": "postgres"}
REDIS_POD = {"app.kubernetes.io/name": "redis"}
BACKUP_POD = {"app.kubernetes.io/name": "backup"}
DRILL_POD = {"app.kubernetes.io/name": "restore-drill"}
POSTGRES_EXPORTER_POD = {"app.kubernetes.io/name": "prometheus-postgres-exporter"}
REDIS_EXPORTER_POD = {"app.kubernetes.io/name": "prometheus-redis-exporter"}
ENVOY_POD = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy"}
ENVOY_GATEWAY_POD = {"control-plane": "envoy-gateway"}
RATELIMIT_POD = {"app.kubernetes.io/name": "envoy-ratelimit"}
RATELIMIT_REDIS_POD = {"app.kubernetes.io/name": "ratelimit-redis"}
EXTERNAL_DNS_POD = {"app.kubernetes.io/name": "external-dns"}
LB_CONTROLLER_POD = {"app.kubernetes.io/name": "aws-load-balancer-controller"}
LB_CONTROLLER_WEBHOOK_PORT = 9443
READINESS_GATES = {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}
"""On the gateway namespace: the load balancer controller gives each Envoy pod a readiness gate that
opens once the NLB's target for it is healthy, so a rollout never stops the old pods first (IP
targets; the controller's pod webhook, failurePolicy Ignore)."""
ACME_SOLVER_POD = {"acme.cert-manager.io/http01-solver": "true"}
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}
GRAFANA_POD = {"app.kubernetes.io/name": "grafana"}
ALERTMANAGER_POD = {"app.kubernetes.io/name": "alertmanager"}
PUSHGATEWAY_POD = {"app.kubernetes.io/name": "pushgateway"}
PUSHGATEWAY_PORT = 9091
FLUENT_BIT_POD = {"app.kubernetes.io/name": "fluent-bit"}
FLUENT_BIT_METRICS_PORT = 2020
NODE_EXPORTER_PORT = 9100
"""node-exporter runs on the host network: Prometheus reaches it at the node's address (VPC CIDR)."""

POD_SECURITY_REASON = "platform.example.com/pod-security-reason"
"""Annotation: why a namespace enforces a level other than ``restricted`` (the pack requires it)."""
NODE_AGENTS_REASON = ("node agents read the node itself: node-exporter needs hostNetwork, hostPID and the host's "
                      "root filesystem, Fluent Bit hostPath /var/log and the journal; only these DaemonSets run here")

GATEWAY_BACKENDS_LABEL = "platform.example.com/gateway-backends"
"""Namespaces whose Services the shared Envoy proxies may reach (app, pr-<n>, monitoring)."""
ENVIRONMENT_LABEL = "platform.example.com/environment"
PR_ENVIRONMENT_LABELS = {ENVIRONMENT_LABEL: "ephemeral"}
"""On every PR environment's namespace and no other (the label model, ``Settings.labels``): the
shared Gateway's preview listener admits routes only from namespaces carrying it."""

POSTGRES_EXPORTER_PORT = 9187
REDIS_EXPORTER_PORT = 9121
GRAFANA_PORT = 3000
CONFIG_RELOADER_PORT = 8080
"""prometheus-operator's config-reloader sidecar (``reloader-web``) in Prometheus and Alertmanager pods."""
ALERTMANAGER_MESH_PORT = 9094
"""Alertmanager cluster gossip: memberlist uses both TCP and UDP on the same port."""
ENVOY_HTTP_PORT, ENVOY_HTTPS_PORT = 10080, 10443
"""Envoy Gateway maps privileged listener ports (80/443) to port + 10000 in the proxy pod."""

PRIVATE_AND_LINK_LOCAL = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
"""Never reachable through an "internet" rule: the VPC, pod ranges and the instance metadata endpoint."""


@dataclass(frozen=True, kw_only=True)
class PlatformNamespaceNames:
    gateway: str = "gateway"
    cert_manager: str = "cert-manager"
    monitoring: str = "monitoring"
    node_agents: str = "node-agents"


@dataclass(frozen=True, kw_only=True)
class Size:
    """Quota for a namespace plus the per-container defaults of its LimitRange."""

    cpu: str
    memory: str
    pods: int
    default_cpu: str = "250m"
    default_memory: str = "256Mi"
    default_request_cpu: str = "50m"
    default_request_memory: str = "64Mi"


# Platform namespaces are sized for the operators they hold, not per environment: the gateway
# namespace runs the one shared Gateway's Envoy proxies (500m / 512Mi each; PR environments attach
# routes to it and add none).
PLATFORM_SIZES: Mapping[str, Size] = {
    "gateway": Size(cpu="16", memory="16Gi", pods=60),
    "cert-manager": Size(cpu="2", memory="2Gi", pods=20),
    "monitoring": Size(cpu="16", memory="48Gi", pods=40),
    # Two DaemonSets: two pods per node (Fluent Bit 100m-500m / 128-256Mi, node-exporter 50-200m / 64-128Mi).
    "node-agents": Size(cpu="40", memory="40Gi", pods=200),
}


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One NetworkPolicy: which pods it selects and the peers/ports it admits (None = no rules)."""

    name: str
    pods: Mapping[str, str] = field(default_factory=dict)
    ingress: Sequence[Mapping[str, Any]] | None = None
    egress: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class NamespacesArgs:
    app_namespace: str
    labels: Mapping[str, str]
    app_cpu: int
    app_memory_gib: int
    app_port: int
    metrics_port: int
    postgres_in_cluster: bool
    redis_in_cluster: bool
    vpc_id: str
    """Managed data stores live in the VPC's private subnets: app egress to them is by VPC CIDR."""
    manage_platform: bool
    """True for the stack that owns the shared platform (staging, production); False for PRs."""
    platform: PlatformNamespaceNames = field(default_factory=PlatformNamespaceNames)
    restore_drills: bool = False
    """The profile schedules restore drills (components/drills.py): their pod gets its own rule."""

    @classmethod
    def from_settings(cls, settings: Settings) -> NamespacesArgs:
        p = settings.profile
        return cls(app_namespace=settings.app_namespace, labels=settings.labels, app_cpu=p.quota.cpu,
                   app_memory_gib=p.quota.memory_gib, app_port=settings.app.port,
                   metrics_port=settings.app.metrics_port, postgres_in_cluster=p.postgres.in_cluster,
                   redis_in_cluster=p.redis.in_cluster, vpc_id=settings.vpc_id, manage_platform=p.installs_platform,
                   restore_drills=p.backups.drills)


# ---------------------------------------------------------------------------------------------
# Small builders for NetworkPolicy peers and ports.
# ---------------------------------------------------------------------------------------------


def ns_peer(namespace: str, pods: Mapping[str, str] | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
    if pods is not None:
        peer["podSelector"] = {"matchLabels": dict(pods)}
    return peer


def pod_peer(pods: Mapping[str, str]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": dict(pods)}}


def cidr_peer(cidr: pulumi.Input[str]) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr}}


def internet_peer() -> dict[str, Any]:
    return {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_AND_LINK_LOCAL)}}


def ports(*numbers: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"port": n, "protocol": protocol} for n in numbers]


def allow(peers: Sequence[Mapping[str, Any]] | None, *numbers: int, direction: str) -> dict[str, Any]:
    """An ingress (``from``) or egress (``to``) rule; ``peers=None`` means any peer."""
    rule: dict[str, Any] = {"ports": ports(*numbers)} if numbers else {}
    if peers is not None:
        rule["from" if direction == "ingress" else "to"] = list(peers)
    return rule


def ingress(peers: Sequence[Mapping[str, Any]] | None, *numbers: int) -> dict[str, Any]:
    return allow(peers, *numbers, direction="ingress")


def egress(peers: Sequence[Mapping[str, Any]] | None, *numbers: int) -> dict[str, Any]:
    return allow(peers, *numbers, direction="egress")


DNS_EGRESS = {"to": [ns_peer("kube-system", {"k8s-app": "kube-dns"})],
              "ports": ports(53) + ports(53, protocol="UDP")}


def https_egress(vpc_cidr: pulumi.Input[str]) -> dict[str, Any]:
    """443 to the VPC (EKS API server ENIs, VPC endpoints) and the internet (public AWS endpoints).

    The API server's addresses are not stable and NetworkPolicy cannot select it by name.
    """
    return egress([cidr_peer(vpc_cidr), internet_peer()], 443)


# ---------------------------------------------------------------------------------------------
# The allow rules, per namespace. Everything not listed is denied by ``default-deny``.
# ---------------------------------------------------------------------------------------------


def app_rules(args: NamespacesArgs, names: PlatformNamespaceNames, vpc_cidr: pulumi.Input[str]) -> list[Rule]:
    def store(in_cluster: bool, pods: Mapping[str, str], port: int) -> dict[str, Any]:
        return egress([pod_peer(pods)] if in_cluster else [cidr_peer(vpc_cidr)], port)

    pg, redis = store(args.postgres_in_cluster, POSTGRES_POD, 5432), store(args.redis_in_cluster, REDIS_POD, 6379)
    rules = [
        Rule(name="allow-gateway-to-app", pods=APP_POD,
             ingress=[ingress([ns_peer(names.gateway, ENVOY_POD)], args.app_port)]),
        Rule(name="allow-prometheus-scrape",
             ingress=[ingress([ns_peer(names.monitoring, PROMETHEUS_POD)],
                              args.metrics_port, POSTGRES_EXPORTER_PORT, REDIS_EXPORTER_PORT)]),
        Rule(name="allow-app-to-datastores", pods=APP_POD, egress=[pg, redis]),
        # Backups stream to S3 over HTTPS (S3 has no fixed addresses) and read Postgres; where the
        # stack has a Pushgateway (installs the platform) they push their metrics to it.
        Rule(name="allow-backup", pods=BACKUP_POD, egress=[pg, https_egress(vpc_cidr)] + (
            [egress([ns_peer(names.monitoring, PUSHGATEWAY_POD)], PUSHGATEWAY_PORT)] if args.manage_platform else [])),
        # The managed-mode exporter's init container fetches the RDS secret from Secrets Manager.
        Rule(name="allow-postgres-exporter", pods=POSTGRES_EXPORTER_POD,
             egress=[pg] + ([] if args.postgres_in_cluster else [https_egress(vpc_cidr)])),
        Rule(name="allow-redis-exporter", pods=REDIS_EXPORTER_POD, egress=[redis]),
    ]
    if args.restore_drills:
        # The restore drill (components/drills.py) reads backups from S3, writes its report there and
        # pushes its figures; its throw-away server is a Unix socket in the pod. Never the real
        # database, and no ingress at all.
        rules.append(Rule(name="allow-restore-drill", pods=DRILL_POD, ingress=[], egress=[https_egress(vpc_cidr)] + (
            [egress([ns_peer(names.monitoring, PUSHGATEWAY_POD)], PUSHGATEWAY_PORT)] if args.manage_platform else [])))
    if args.postgres_in_cluster:
        rules.append(Rule(name="allow-postgres-clients", pods=POSTGRES_POD, ingress=[
            ingress([pod_peer(APP_POD), pod_peer(BACKUP_POD), pod_peer(POSTGRES_EXPORTER_POD)], 5432)]))
    if args.redis_in_cluster:
        rules.append(Rule(name="allow-redis-clients", pods=REDIS_POD, ingress=[
            ingress([pod_peer(APP_POD), pod_peer(REDIS_EXPORTER_POD)], 6379)]))
    return rules


def gateway_rules(names: PlatformNamespaceNames, app_port: int, vpc_cidr: pulumi.Input[str]) -> list[Rule]:
    backends = {"namespaceSelector": {"matchLabels": {GATEWAY_BACKENDS_LABEL: "true"}}}
    scrape = ingress([ns_peer(names.monitoring, PROMETHEUS_POD)], 19001)
    return [
        Rule(name="allow-envoy", pods=ENVOY_POD,
             ingress=[ingress(None, ENVOY_HTTP_PORT, ENVOY_HTTPS_PORT), scrape],
             egress=[egress([pod_peer(ENVOY_GATEWAY_POD)], 18000, 18002),
                     egress([pod_peer(RATELIMIT_POD)], 8081),
                     egress([pod_peer(ACME_SOLVER_POD)], 8089),
                     egress([backends], app_port, GRAFANA_PORT)]),
        Rule(name="allow-envoy-gateway", pods=ENVOY_GATEWAY_POD,
             # 9443: the topology-injector webhook, called by the API server (no fixed address).
             ingress=[ingress([pod_peer(ENVOY_POD)], 18000, 18002), ingress([pod_peer(RATELIMIT_POD)], 18001),
                      ingress(None, 9443), scrape],
             egress=[https_egress(vpc_cidr)]),
        Rule(name="allow-certgen", pods={"app": "certgen"}, egress=[https_egress(vpc_cidr)]),
        Rule(name="allow-ratelimit", pods=RATELIMIT_POD,
             ingress=[ingress([pod_peer(ENVOY_POD)], 8081), scrape],
             egress=[egress([pod_peer(RATELIMIT_REDIS_POD)], 6379), egress([pod_peer(ENVOY_GATEWAY_POD)], 18001)]),
        Rule(name="allow-ratelimit-redis", pods=RATELIMIT_REDIS_POD,
             ingress=[ingress([pod_peer(RATELIMIT_POD)], 6379)]),
        Rule(name="allow-acme-solver", pods=ACME_SOLVER_POD, ingress=[ingress([pod_peer(ENVOY_POD)], 8089)]),
        # external-dns (components/addons.py) watches routes through the API server and calls Route53.
        Rule(name="allow-external-dns", pods=EXTERNAL_DNS_POD, egress=[https_egress(vpc_cidr)]),
        # The load balancer controller (components/loadbalancer.py): the API server calls its webhook
        # (no fixed address); it watches Services through the API server and calls the ELB/EC2 APIs.
        Rule(name="allow-lb-controller", pods=LB_CONTROLLER_POD,
             ingress=[ingress(None, LB_CONTROLLER_WEBHOOK_PORT)], egress=[https_egress(vpc_cidr)]),
    ]


def cert_manager_rules(names: PlatformNamespaceNames, vpc_cidr: pulumi.Input[str]) -> list[Rule]:
    return [
        Rule(name="allow-apiserver-egress", egress=[https_egress(vpc_cidr)]),
        # ACME: the controller talks to Let's Encrypt (443) and self-checks the HTTP-01 token
        # through the public load balancer (80) before asking for validation; for DNS-01 (the
        # preview wildcard) it asks the zone's public authoritative name servers (53) whether the
        # challenge record has propagated.
        Rule(name="allow-acme", pods={"app.kubernetes.io/component": "controller"},
             egress=[egress([internet_peer()], 80),
                     {"to": [internet_peer()], "ports": ports(53) + ports(53, protocol="UDP")}],
             ingress=[ingress([ns_peer(names.monitoring, PROMETHEUS_POD)], 9402)]),
        Rule(name="allow-webhook", pods={"app.kubernetes.io/component": "webhook"},
             ingress=[ingress(None, 10250)]),
    ]


def monitoring_rules(names: PlatformNamespaceNames, vpc_cidr: pulumi.Input[str],
                     app_namespace: str = "app") -> list[Rule]:
    mesh = ports(ALERTMANAGER_MESH_PORT) + ports(ALERTMANAGER_MESH_PORT, protocol="UDP")
    return [
        # The backup job and the restore drill of this stack's app namespace push; Prometheus
        # scrapes. The gateway itself talks to nobody (DNS only).
        Rule(name="allow-pushgateway", pods=PUSHGATEWAY_POD,
             ingress=[ingress([ns_peer(app_namespace, BACKUP_POD), ns_peer(app_namespace, DRILL_POD)],
                              PUSHGATEWAY_PORT),
                      ingress([pod_peer(PROMETHEUS_POD)], PUSHGATEWAY_PORT)]),
        # Prometheus scrapes pods in every namespace (on their own metrics ports), the kubelets and
        # node-exporter on the nodes (10250, 9100, in the VPC) and the API server.
        Rule(name="allow-prometheus", pods=PROMETHEUS_POD,
             egress=[egress([{"namespaceSelector": {}}]), egress([cidr_peer(vpc_cidr)], 10250, NODE_EXPORTER_PORT),
                     https_egress(vpc_cidr)],
             ingress=[ingress([pod_peer(GRAFANA_POD)], 9090),
                      ingress([pod_peer(PROMETHEUS_POD)], 9090, CONFIG_RELOADER_PORT)]),
        Rule(name="allow-grafana", pods=GRAFANA_POD,
             ingress=[ingress([ns_peer(names.gateway, ENVOY_POD)], GRAFANA_PORT),
                      ingress([pod_peer(PROMETHEUS_POD)], GRAFANA_PORT)],
             egress=[egress([pod_peer(PROMETHEUS_POD)], 9090), egress([pod_peer(ALERTMANAGER_POD)], 9093),
                     https_egress(vpc_cidr)]),
        # Alertmanager: Slack and PagerDuty over HTTPS; gossip between replicas on 9094 (TCP and UDP).
        Rule(name="allow-alertmanager", pods=ALERTMANAGER_POD,
             ingress=[ingress([pod_peer(PROMETHEUS_POD), pod_peer(GRAFANA_POD)], 9093),
                      ingress([pod_peer(PROMETHEUS_POD)], CONFIG_RELOADER_PORT),
                      {"from": [pod_peer(ALERTMANAGER_POD)], "ports": mesh}],
             egress=[egress([internet_peer()], 443), {"to": [pod_peer(ALERTMANAGER_POD)], "ports": mesh}]),
        # Operator, kube-state-metrics and the admission webhook talk to / are called by the API server.
        Rule(name="allow-controllers", pods={"release": "kube-prometheus-stack"},
             egress=[https_egress(vpc_cidr)], ingress=[ingress(None, 10250)]),
        Rule(name="allow-kube-state-metrics", pods={"app.kubernetes.io/name": "kube-state-metrics"},
             egress=[https_egress(vpc_cidr)], ingress=[ingress([pod_peer(PROMETHEUS_POD)], 8080)]),
    ]


def node_agents_rules(names: PlatformNamespaceNames, vpc_cidr: pulumi.Input[str]) -> list[Rule]:
    """Fluent Bit: scraped by Prometheus on its metrics port, calls the API server (the kubernetes
    filter reads pod metadata) and CloudWatch Logs, both over 443. node-exporter runs on the host
    network, where NetworkPolicy does not apply; monitoring_rules lets Prometheus reach it."""
    return [
        Rule(name="allow-fluent-bit", pods=FLUENT_BIT_POD,
             ingress=[ingress([ns_peer(names.monitoring, PROMETHEUS_POD)], FLUENT_BIT_METRICS_PORT)],
             egress=[https_egress(vpc_cidr)]),
    ]


# ---------------------------------------------------------------------------------------------
# The component.
# ---------------------------------------------------------------------------------------------


class Namespaces(pulumi.ComponentResource):
    """Creates: the app namespace (+ platform namespaces when owned), with quota, limits,
    default-deny network policy plus allow rules, and a token-less default ServiceAccount."""

    app: pulumi.Output[str]
    gateway: pulumi.Output[str]
    cert_manager: pulumi.Output[str]
    monitoring: pulumi.Output[str]
    node_agents: pulumi.Output[str] | None
    """Created only where this stack owns the platform; None elsewhere (nothing may run there from a PR stack)."""

    def __init__(self, name: str, args: NamespacesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:Namespaces", name, None, opts)
        self._name, self._args = name, args
        names = args.platform
        vpc_cidr = aws.ec2.get_vpc_output(id=args.vpc_id, opts=pulumi.InvokeOutputOptions(parent=self)).cidr_block

        app_size = Size(cpu=str(args.app_cpu), memory=f"{args.app_memory_gib}Gi", pods=10 * args.app_cpu + 10)
        self.app = self._namespace(args.app_namespace, pod_security="restricted", size=app_size,
                                   rules=app_rules(args, names, vpc_cidr), gateway_backend=True)

        if args.manage_platform:
            self.gateway = self._namespace(names.gateway, pod_security="restricted",
                                           size=PLATFORM_SIZES["gateway"], rules=gateway_rules(names, args.app_port, vpc_cidr),
                                           extra_labels=READINESS_GATES)
            self.cert_manager = self._namespace(names.cert_manager, pod_security="restricted",
                                                size=PLATFORM_SIZES["cert-manager"],
                                                rules=cert_manager_rules(names, vpc_cidr))
            self.monitoring = self._namespace(names.monitoring, pod_security="restricted",
                                              size=PLATFORM_SIZES["monitoring"], rules=monitoring_rules(names, vpc_cidr, args.app_namespace),
                                              gateway_backend=True)
            self.node_agents = self._namespace(names.node_agents, pod_security="privileged",
                                               size=PLATFORM_SIZES["node-agents"],
                                               rules=node_agents_rules(names, vpc_cidr), reason=NODE_AGENTS_REASON)
        else:
            self.node_agents = None
            self.gateway = pulumi.Output.from_input(names.gateway)
            self.cert_manager = pulumi.Output.from_input(names.cert_manager)
            self.monitoring = pulumi.Output.from_input(names.monitoring)

        self.named: dict[str, pulumi.Output[str]] = {
            args.app_namespace: self.app, names.gateway: self.gateway, names.cert_manager: self.cert_manager,
            names.monitoring: self.monitoring}
        """Each namespace by its plain name (e.g. ``Settings.gateway_namespace``)."""
        self.register_outputs({"app": self.app, "gateway": self.gateway, "cert_manager": self.cert_manager,
                               "monitoring": self.monitoring})

    def _namespace(self, ns: str, *, pod_security: str, size: Size, rules: Sequence[Rule],
                   gateway_backend: bool = False, reason: str | None = None,
                   extra_labels: Mapping[str, str] | None = None) -> pulumi.Output[str]:
        prefix = f"{self._name}-{ns}"
        labels = dict(self._args.labels)
        labels.update({
            "app.kubernetes.io/name": ns,
            "pod-security.kubernetes.io/enforce": pod_security,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        })
        if gateway_backend:
            labels[GATEWAY_BACKENDS_LABEL] = "true"
        labels.update(extra_labels or {})
        extra = {"annotations": {POD_SECURITY_REASON: reason}} if reason is not None else {}
        namespace = k8s.core.v1.Namespace(prefix, metadata=metadata(ns, None, labels, **extra),
                                          opts=pulumi.ResourceOptions(parent=self))
        name = namespace.metadata.name
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        common = dict(self._args.labels)

        k8s.core.v1.ResourceQuota(f"{prefix}-quota", metadata=metadata("quota", name, common), spec={
            "hard": {"requests.cpu": size.cpu, "limits.cpu": size.cpu, "requests.memory": size.memory,
                     "limits.memory": size.memory, "pods": str(size.pods)}}, opts=child)
        k8s.core.v1.LimitRange(f"{prefix}-limits", metadata=metadata("limits", name, common), spec={
            "limits": [{"type": "Container",
                        "default": {"cpu": size.default_cpu, "memory": size.default_memory},
                        "defaultRequest": {"cpu": size.default_request_cpu,
                                           "memory": size.default_request_memory}}]}, opts=child)
        k8s.core.v1.ServiceAccountPatch(f"{prefix}-default-sa", metadata=metadata("default", name, {}),
                                        automount_service_account_token=False, opts=child)

        base = [Rule(name="default-deny", ingress=[], egress=[]),
                Rule(name="allow-dns-egress", egress=[DNS_EGRESS])]
        for rule in [*base, *rules]:
            types = [t for t, r in (("Ingress", rule.ingress), ("Egress", rule.egress)) if r is not None]
            spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(rule.pods)} if rule.pods else {},
                                    "policyTypes": types}
            if rule.ingress:
                spec["ingress"] = list(rule.ingress)
            if rule.egress:
                spec["egress"] = list(rule.egress)
            k8s.networking.v1.NetworkPolicy(f"{prefix}-{rule.name}", metadata=metadata(rule.name, name, common),
                                            spec=spec, opts=child)
        return name
