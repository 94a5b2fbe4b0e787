"""Small builders for hand-written cluster objects, and chart-shaped stand-ins.

``kube_prometheus_stack()`` returns the objects of kube-prometheus-stack 88.5.3 that the
network-policy and alert checks read, shaped as Helm renders them with the program's values
(names, labels, ports and selectors copied from a render of the pinned chart): the Prometheus and
Alertmanager resources, their Services (``http-web`` and the config reloaders' ``reloader-web``),
Grafana, the operator (``--kubelet-service``) and the ServiceMonitors, the kube-system ones included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.offline.checks.base import Obj

RELEASE = "Release kube-prometheus-stack"
KPS = "kube-prometheus-stack"


def meta(ns: str | None, name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "labels": dict(labels or {})}
    if ns:
        m["namespace"] = ns
    return m


def namespace(name: str, **labels: str) -> Obj:
    return Obj({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(None, name, labels)})


def ports(*specs: tuple[str, int, str]) -> list[dict[str, Any]]:
    return [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in specs]


def deployment(ns: str, name: str, labels: Mapping[str, str], *container_ports: tuple[str, int, str],
               origin: str = "program", service_account: str | None = None,
               env_from: Sequence[str] = (), args: Sequence[str] = ()) -> Obj:
    container: dict[str, Any] = {"name": name, "ports": ports(*container_ports), "args": list(args),
                                 "envFrom": [{"configMapRef": {"name": n}} for n in env_from]}
    spec: dict[str, Any] = {"containers": [container]}
    if service_account:
        spec["serviceAccountName"] = service_account
    return Obj({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(ns, name, labels),
                "spec": {"selector": {"matchLabels": dict(labels)},
                         "template": {"metadata": {"labels": dict(labels)}, "spec": spec}}}, origin=origin)


def service(ns: str, name: str, selector: Mapping[str, str], *svc_ports: tuple[str, int, Any, str],
            labels: Mapping[str, str] | None = None, origin: str = "program") -> Obj:
    return Obj({"apiVersion": "v1", "kind": "Service", "metadata": meta(ns, name, labels),
                "spec": {"selector": dict(selector),
                         "ports": [{"name": n, "port": p, "targetPort": t, "protocol": proto}
                                   for n, p, t, proto in svc_ports]}}, origin=origin)


def policy(ns: str, name: str, pods: Mapping[str, str] | None = None, *,
           ingress: list[dict[str, Any]] | None = None, egress: list[dict[str, Any]] | None = None) -> Obj:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(pods)} if pods else {},
                            "policyTypes": [t for t, r in (("Ingress", ingress), ("Egress", egress)) if r is not None]}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return Obj({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(ns, name),
                "spec": spec})


def prometheus(ns: str = "monitoring", name: str = f"{KPS}-prometheus", *, alertmanager: str | None = None) -> Obj:
    spec: dict[str, Any] = {"replicas": 2, "portName": "http-web",
                            "serviceMonitorSelector": {"matchLabels": {"release": KPS}},
                            "serviceMonitorNamespaceSelector": {},
                            "podMonitorSelector": {"matchLabels": {"release": KPS}}, "podMonitorNamespaceSelector": {}}
    if alertmanager:
        spec["alerting"] = {"alertmanagers": [{"namespace": ns, "name": alertmanager, "port": "http-web"}]}
    return Obj({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": meta(ns, name),
                "spec": spec}, origin=RELEASE)


def alertmanager(ns: str = "monitoring", name: str = f"{KPS}-alertmanager", replicas: int = 2) -> Obj:
    return Obj({"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager", "metadata": meta(ns, name),
                "spec": {"replicas": replicas, "portName": "http-web"}}, origin=RELEASE)


def service_monitor(ns: str, name: str, selector: Mapping[str, str], *endpoint_ports: str,
                    namespaces: Sequence[str] | None = None, job_label: str | None = None,
                    origin: str = RELEASE) -> Obj:
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(selector)},
                            "endpoints": [{"port": p} for p in endpoint_ports]}
    if namespaces is not None:
        spec["namespaceSelector"] = {"matchNames": list(namespaces)}
    if job_label:
        spec["jobLabel"] = job_label
    return Obj({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
                "metadata": meta(ns, name, {"release": KPS}), "spec": spec}, origin=origin)


def prometheus_rule(ns: str, name: str, *rules: Mapping[str, Any], origin: str = "program") -> Obj:
    return Obj({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                "metadata": meta(ns, name, {"release": KPS}),
                "spec": {"groups": [{"name": name, "rules": [dict(r) for r in rules]}]}}, origin=origin)


def kube_prometheus_stack(ns: str = "monitoring") -> list[Obj]:
    """The chart's objects the checks read, as kube-prometheus-stack 88.5.3 renders them here."""
    grafana = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": KPS}
    operator = {"app": f"{KPS}-operator", "release": KPS}
    ksm = {"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": KPS, "release": KPS}
    return [
        prometheus(ns, alertmanager=f"{KPS}-alertmanager"), alertmanager(ns),
        service(ns, f"{KPS}-prometheus", {"app.kubernetes.io/name": "prometheus",
                                          "operator.prometheus.io/name": f"{KPS}-prometheus"},
                ("http-web", 9090, 9090, "TCP"), ("reloader-web", 8080, "reloader-web", "TCP"),
                labels={"app": f"{KPS}-prometheus", "release": KPS, "self-monitor": "true"}, origin=RELEASE),
        service(ns, f"{KPS}-alertmanager", {"app.kubernetes.io/name": "alertmanager",
                                            "alertmanager": f"{KPS}-alertmanager"},
                ("http-web", 9093, 9093, "TCP"), ("reloader-web", 8080, "reloader-web", "TCP"),
                labels={"app": f"{KPS}-alertmanager", "release": KPS, "self-monitor": "true"}, origin=RELEASE),
        deployment(ns, f"{KPS}-grafana", grafana, ("grafana", 3000, "TCP"), ("gossip-tcp", 9094, "TCP"),
                   ("gossip-udp", 9094, "UDP"), origin=RELEASE),
        service(ns, f"{KPS}-grafana", grafana, ("http-web", 80, "grafana", "TCP"), labels=grafana, origin=RELEASE),
        deployment(ns, f"{KPS}-operator", operator, ("https", 10250, "TCP"), origin=RELEASE,
                   args=[f"--kubelet-service=kube-system/{KPS}-kubelet", "--web.listen-address=:10250"]),
        service(ns, f"{KPS}-operator", operator, ("https", 443, "https", "TCP"), labels=operator, origin=RELEASE),
        deployment(ns, f"{KPS}-kube-state-metrics", ksm, ("http", 8080, "TCP"), origin=RELEASE),
        service(ns, f"{KPS}-kube-state-metrics", ksm, ("http", 8080, "http", "TCP"), labels=ksm, origin=RELEASE),
        service_monitor(ns, f"{KPS}-prometheus", {"app": f"{KPS}-prometheus", "release": KPS, "self-monitor": "true"},
                        "http-web", "reloader-web", namespaces=[ns]),
        service_monitor(ns, f"{KPS}-alertmanager", {"app": f"{KPS}-alertmanager", "release": KPS,
                                                    "self-monitor": "true"}, "http-web", "reloader-web",
                        namespaces=[ns]),
        service_monitor(ns, f"{KPS}-grafana", grafana, "http-web", namespaces=[ns]),
        service_monitor(ns, f"{KPS}-operator", operator, "https", namespaces=[ns]),
        service_monitor(ns, f"{KPS}-kube-state-metrics", {"app.kubernetes.io/name": "kube-state-metrics",
                                                          "app.kubernetes.io/instance": KPS}, "http",
                        job_label="app.kubernetes.io/name"),
        service_monitor(ns, f"{KPS}-apiserver", {"component": "apiserver", "provider": "kubernetes"}, "https",
                        namespaces=["default"], job_label="component"),
        service_monitor(ns, f"{KPS}-kubelet", {"app.kubernetes.io/name": "kubelet", "k8s-app": "kubelet"},
                        "https-metrics", namespaces=["kube-system"], job_label="k8s-app"),
        service("kube-system", f"{KPS}-coredns", {"k8s-app": "kube-dns"}, ("http-metrics", 9153, 9153, "TCP"),
                labels={"app": f"{KPS}-coredns", "release": KPS, "jobLabel": "coredns"}, origin=RELEASE),
        service_monitor(ns, f"{KPS}-coredns", {"app": f"{KPS}-coredns", "release": KPS}, "http-metrics",
                        namespaces=["kube-system"], job_label="jobLabel"),
    ]


def node_agents(ns: str = "node-agents") -> list[Obj]:
    """node-exporter (kube-prometheus-stack's subchart 4.56.1, namespaceOverride) and Fluent Bit
    (chart 0.58.1) as they render here: their metrics Services and ServiceMonitors, and the pods."""
    exporter = {"app.kubernetes.io/name": "prometheus-node-exporter", "app.kubernetes.io/instance": KPS}
    fluent = {"app.kubernetes.io/name": "fluent-bit", "app.kubernetes.io/instance": "fluent-bit"}
    pods = [deployment(ns, f"{KPS}-prometheus-node-exporter", exporter, ("http-metrics", 9100, "TCP"), origin=RELEASE),
            deployment(ns, "fluent-bit", fluent, ("http", 2020, "TCP"), origin="Release node-agents-fluent-bit")]
    for pod in pods:
        pod.body["kind"] = "DaemonSet"
    pods[0].body["spec"]["template"]["spec"]["hostNetwork"] = True
    return [*pods,
            service(ns, f"{KPS}-prometheus-node-exporter", exporter, ("http-metrics", 9100, 9100, "TCP"),
                    labels={**exporter, "jobLabel": "node-exporter", "release": KPS}, origin=RELEASE),
            service_monitor(ns, f"{KPS}-prometheus-node-exporter", exporter, "http-metrics", job_label="jobLabel"),
            service(ns, "fluent-bit", fluent, ("http", 2020, "http", "TCP"), labels=fluent,
                    origin="Release node-agents-fluent-bit"),
            service_monitor(ns, "fluent-bit", fluent, "http", namespaces=[ns], job_label="app.kubernetes.io/instance",
                            origin="Release node-agents-fluent-bit")]


def envoy_gateway(ns: str = "gateway") -> list[Obj]:
    """The Envoy Gateway controller (chart gateway-helm v1.9.0); its proxies run in the same namespace."""
    labels = {"control-plane": "envoy-gateway", "app.kubernetes.io/name": "gateway-helm",
              "app.kubernetes.io/instance": "envoy-gateway"}
    return [deployment(ns, "envoy-gateway", labels, ("grpc", 18000, "TCP"), ("ratelimit", 18001, "TCP"),
                       ("wasm", 18002, "TCP"), ("metrics", 19001, "TCP"), ("webhook", 9443, "TCP"),
                       origin="Release envoy-gateway", service_account="envoy-gateway")]


def control_plane_monitors(ns: str = "monitoring") -> list[Obj]:
    """What the chart adds with kubeControllerManager / kubeScheduler / kubeProxy enabled (its defaults)."""
    out = []
    for job, selector, port in (("kube-controller-manager", {"component": "kube-controller-manager"}, 10257),
                                ("kube-scheduler", {"component": "kube-scheduler"}, 10259),
                                ("kube-proxy", {"k8s-app": "kube-proxy"}, 10249)):
        labels = {"app": f"{KPS}-{job}", "release": KPS, "jobLabel": job}
        out += [service("kube-system", f"{KPS}-{job}", selector, ("http-metrics", port, port, "TCP"),
                        labels=labels, origin=RELEASE),
                service_monitor(ns, f"{KPS}-{job}", {"app": f"{KPS}-{job}", "release": KPS}, "http-metrics",
                                namespaces=["kube-system"], job_label="jobLabel")]
    return out
