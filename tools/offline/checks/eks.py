"""What an EKS cluster runs that neither the program nor a chart declares, as checks need it.

The whole-cluster checks judge the program's objects plus the charts' rendered objects, but some
peers of the platform's flows come with the cluster itself: the API server, the kubelets, the
CoreDNS and kube-proxy add-ons, and the objects operators create at run time from custom
resources (Prometheus and Alertmanager StatefulSets, Envoy proxies). This module states those
facts once, each with its source, so the network-policy and alert checks agree on them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

OFFLINE_VPC_CIDR = "10.0.0.0/16"
"""The VPC CIDR of the offline plan: what the mocks answer for ``aws:ec2/getVpc`` (tools/mockrun.py).
Under a real preview the check is given the cluster VPC's CIDR instead."""


@dataclass(frozen=True)
class Port:
    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True)
class Endpoint:
    """Something a flow starts or ends at: a pod (labels in a namespace) or an address range."""

    ref: str
    """``monitoring/prometheus-kube-prometheus-stack-prometheus`` or ``EKS API server``."""
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()
    cidr: str | None = None
    """Set for what lives outside the pod network (API server, nodes, managed stores)."""
    host_network: bool = False
    """Pods on the node's network are not isolated by NetworkPolicy; peers see the node's address."""
    service_account: str = "default"
    origin: str = "program"

    @property
    def is_pod(self) -> bool:
        return self.cidr is None

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        return ipaddress.ip_network(self.cidr) if self.cidr else None


@dataclass(frozen=True)
class ExternalService:
    """A Service whose endpoints are not pods: the addresses and the ports they serve."""

    labels: Mapping[str, str]
    ports: Mapping[str, int]
    endpoint: Endpoint


def api_server(vpc_cidr: str) -> Endpoint:
    # EKS places the control plane's cross-account ENIs in the cluster's subnets, so the API
    # server (and the webhook calls it makes) has addresses in the VPC, not in the pod network.
    # https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html
    return Endpoint(ref="EKS API server", cidr=vpc_cidr, ports=(Port(443, name="https"),), origin="EKS")


def nodes(vpc_cidr: str) -> Endpoint:
    # Node InternalIPs are in the VPC's subnets; the kubelet serves metrics on 10250 (HTTPS).
    return Endpoint(ref="EKS nodes (kubelet)", cidr=vpc_cidr, origin="EKS",
                    ports=(Port(10250, name="https-metrics"),))


def add_on_pods() -> list[Endpoint]:
    """The default EKS add-ons that matter to the platform's flows, as their pods."""
    return [
        # CoreDNS add-on: Deployment coredns, Service kube-dns, labels and ports as in
        # https://docs.aws.amazon.com/eks/latest/userguide/managing-coredns.html (add-on manifest).
        Endpoint(ref="kube-system/coredns", namespace="kube-system", labels={"k8s-app": "kube-dns"}, origin="EKS",
                 ports=(Port(53, "UDP", "dns"), Port(53, "TCP", "dns-tcp"), Port(9153, "TCP", "metrics"))),
        # kube-proxy add-on: a hostNetwork DaemonSet whose metrics listen on 127.0.0.1:10249
        # (kube-proxy's default metricsBindAddress, which the EKS add-on keeps), so nothing outside
        # the node can scrape it: terraform-aws-modules/terraform-aws-eks#742, kubernetes#74011.
        Endpoint(ref="kube-system/kube-proxy", namespace="kube-system", labels={"k8s-app": "kube-proxy"},
                 host_network=True, origin="EKS"),
    ]


MANAGED_CONTROL_PLANE_JOBS: Mapping[str, str] = {
    "kube-controller-manager": "aws/containers-roadmap#1298, prometheus-community/helm-charts#4106",
    "kube-scheduler": "aws/containers-roadmap#1298, prometheus-community/helm-charts#3368",
    "kube-etcd": "https://docs.aws.amazon.com/eks/latest/userguide/view-raw-metrics.html (only the API server's "
                 "endpoints are exposed; etcd is not)",
    "kube-proxy": "terraform-aws-modules/terraform-aws-eks#742 (the EKS kube-proxy add-on binds metrics to "
                  "127.0.0.1:10249)",
}
"""Scrape jobs an EKS cluster never serves, with the source that says so. The control plane runs
in an AWS account: no kube-controller-manager, kube-scheduler or etcd pods or endpoints exist in
kube-system (EKS publishes some of their metrics through the API server's
``/apis/metrics.eks.amazonaws.com`` path instead, which the chart's ServiceMonitors do not scrape)."""


def external_services(vpc_cidr: str, kubelet_service: str | None) -> dict[tuple[str, str], ExternalService]:
    """``{(namespace, name): service}`` for Services without pod endpoints."""
    out = {("default", "kubernetes"): ExternalService(
        labels={"component": "apiserver", "provider": "kubernetes"}, ports={"https": 443},
        endpoint=api_server(vpc_cidr))}
    if kubelet_service:
        # prometheus-operator's --kubelet-service: it keeps the Endpoints of this Service equal to
        # the node addresses (pkg/kubelet/controller.go), labels k8s-app=kubelet and
        # app.kubernetes.io/name=kubelet, ports https-metrics 10250, http-metrics 10255, cadvisor 4194.
        ns, _, name = kubelet_service.partition("/")
        out[(ns, name)] = ExternalService(
            labels={"k8s-app": "kubelet", "app.kubernetes.io/name": "kubelet"},
            ports={"https-metrics": 10250}, endpoint=nodes(vpc_cidr))
    return out


def prometheus_pods(namespace: str, name: str, pod_labels: Mapping[str, str], port_name: str,
                    service_account: str, origin: str) -> Endpoint:
    # prometheus-operator pkg/prometheus/statefulset.go: StatefulSet prometheus-<name>, pod labels
    # below plus spec.podMetadata.labels, the web port (spec.portName, default "web") on 9090 and
    # the config reloader's "reloader-web" on 8080.
    labels = {**pod_labels, "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": name,
              "app.kubernetes.io/managed-by": "prometheus-operator", "operator.prometheus.io/name": name,
              "prometheus": name}
    return Endpoint(ref=f"{namespace}/prometheus-{name}", namespace=namespace, labels=labels, origin=origin,
                    ports=(Port(9090, name=port_name or "web"), Port(8080, name="reloader-web")),
                    service_account=service_account or "default")


def alertmanager_pods(namespace: str, name: str, pod_labels: Mapping[str, str], port_name: str,
                      origin: str) -> Endpoint:
    # prometheus-operator pkg/alertmanager/statefulset.go: StatefulSet alertmanager-<name>, the web
    # port (spec.portName) on 9093, the cluster mesh on 9094 over TCP ("mesh-tcp") and UDP
    # ("mesh-udp"), and the config reloader's "reloader-web" on 8080.
    labels = {**pod_labels, "app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/instance": name,
              "app.kubernetes.io/managed-by": "prometheus-operator", "alertmanager": name}
    return Endpoint(ref=f"{namespace}/alertmanager-{name}", namespace=namespace, labels=labels, origin=origin,
                    ports=(Port(9093, name=port_name or "web"), Port(9094, "TCP", "mesh-tcp"),
                           Port(9094, "UDP", "mesh-udp"), Port(8080, name="reloader-web")))


def envoy_proxy_pods(namespace: str, gateway_ns: str, gateway: str, listener_ports: Sequence[int]) -> Endpoint:
    # Envoy Gateway creates one Deployment per Gateway in its own namespace, labelled
    # app.kubernetes.io/name=envoy, component=proxy, managed-by=envoy-gateway and the owning
    # Gateway; privileged listener ports are served on port + 10000, admin/metrics on 19001.
    labels = {"app.kubernetes.io/name": "envoy", "app.kubernetes.io/component": "proxy",
              "app.kubernetes.io/managed-by": "envoy-gateway",
              "gateway.envoyproxy.io/owning-gateway-name": gateway,
              "gateway.envoyproxy.io/owning-gateway-namespace": gateway_ns}
    ports = tuple(Port(p + 10000 if p < 1024 else p) for p in listener_ports) + (Port(19001, name="metrics"),)
    return Endpoint(ref=f"{namespace}/envoy-{gateway_ns}-{gateway}", namespace=namespace, labels=labels,
                    ports=ports, origin="Envoy Gateway")
