"""The network-policy check: Kubernetes NetworkPolicy semantics on small object sets, then the
program's own objects (plus the charts' Prometheus, Alertmanager, Grafana) with 0 blocked flows."""

from __future__ import annotations

import ipaddress

import pytest

from cluster.cluster_objects import (
    KPS,
    alertmanager,
    deployment,
    envoy_gateway,
    kube_prometheus_stack,
    namespace,
    policy,
    prometheus,
    service,
    service_monitor,
)
from components.namespaces import DNS_EGRESS
from tools.offline.checks import eks, netpol
from tools.offline.checks.base import Obj
from tools.offline.plan import manifests

APP = {"app.kubernetes.io/name": "app"}
FROM_PROMETHEUS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
PROMETHEUS = f"monitoring/prometheus-{KPS}-prometheus"


def isolated(ns: str) -> list[Obj]:
    """default-deny both ways plus DNS, as components/namespaces.py gives every namespace."""
    return [namespace(ns), policy(ns, "default-deny", ingress=[], egress=[]),
            policy(ns, "allow-dns-egress", egress=[DNS_EGRESS])]


def scraped_app(rule_port: int | str = "metrics") -> list[Obj]:
    return [prometheus(), *isolated("app"),
            deployment("app", "app", APP, ("http", 8080, "TCP"), ("metrics", 9090, "TCP")),
            service("app", "app", APP, ("metrics", 9090, "metrics", "TCP"), labels=APP),
            service_monitor("app", "app", APP, "metrics"),
            policy("app", "allow-prometheus-scrape", ingress=[{"from": FROM_PROMETHEUS,
                                                                "ports": [{"port": rule_port}]}])]


def subjects(objects: list[Obj]) -> list[str]:
    return [f.subject for f in netpol.check(objects)]


def test_a_scrape_the_app_namespace_admits_passes():
    assert subjects(scraped_app()) == []


def test_a_blocked_scrape_names_the_flow_and_the_blocking_side():
    objects = [o for o in scraped_app() if o.name != "allow-prometheus-scrape"]
    [finding] = netpol.check(objects)
    assert finding.subject == f"{PROMETHEUS} → app/app:9090/TCP", finding.line()
    assert finding.details["side"] == "ingress" and "ServiceMonitor app/app" in finding.what, finding.line()


def test_a_named_port_resolves_against_the_destination_containers_ports():
    assert subjects(scraped_app(rule_port=9090)) == []
    assert subjects(scraped_app(rule_port="http")) == [f"{PROMETHEUS} → app/app:9090/TCP"], \
        "the rule names port http (8080): the scrape on 9090 must be blocked"


def mesh(*protocols: str) -> list[Obj]:
    am = {"app.kubernetes.io/name": "alertmanager"}
    rule_ports = [{"port": 9094, "protocol": p} for p in protocols]
    return [alertmanager(replicas=2), *isolated("monitoring"),
            policy("monitoring", "allow-alertmanager", am,
                   ingress=[{"from": [{"podSelector": {"matchLabels": am}}], "ports": rule_ports}],
                   egress=[{"to": [{"podSelector": {"matchLabels": am}}], "ports": rule_ports}])]


def test_alertmanager_gossip_over_tcp_and_udp_passes():
    assert subjects(mesh("TCP", "UDP")) == []


def test_alertmanager_gossip_blocked_on_udp_only_is_one_finding_on_both_sides():
    [finding] = netpol.check(mesh("TCP"))
    assert finding.subject.endswith(":9094/UDP") and finding.details["side"] == "egress and ingress", finding.line()


def webhook(*peers: dict) -> list[Obj]:
    labels = {"app.kubernetes.io/name": "webhook"}
    return [*isolated("cert-manager"),
            deployment("cert-manager", "cert-manager-webhook", labels, ("https", 10250, "TCP")),
            service("cert-manager", "cert-manager-webhook", labels, ("https", 443, "https", "TCP")),
            Obj({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                 "metadata": {"name": "cert-manager-webhook"},
                 "webhooks": [{"name": "webhook.cert-manager.io", "clientConfig": {
                     "service": {"name": "cert-manager-webhook", "namespace": "cert-manager", "path": "/validate"}}}]}),
            policy("cert-manager", "allow-webhook", labels, ingress=[{"from": list(peers), "ports": [{"port": 10250}]}])]


@pytest.mark.parametrize("peers", [
    [{"ipBlock": {"cidr": "10.0.0.0/16"}}],
    [{"ipBlock": {"cidr": "10.0.0.0/17"}}, {"ipBlock": {"cidr": "10.0.128.0/17"}}],
    [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["192.168.0.0/16"]}}],
], ids=["vpc", "two-halves", "except-elsewhere"])
def test_the_api_server_reaches_a_webhook_its_ipblocks_cover(peers):
    assert subjects(webhook(*peers)) == []


@pytest.mark.parametrize("peers", [
    [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
    [{"ipBlock": {"cidr": "10.0.0.0/17"}}],
    [{"podSelector": {}}],
], ids=["except-the-vpc", "half-the-vpc", "pods-only"])
def test_the_api_server_is_blocked_unless_the_ipblocks_cover_the_vpc(peers):
    assert subjects(webhook(*peers)) == ["EKS API server → cert-manager/cert-manager-webhook:10250/TCP"]


def test_ip_block_except_removes_the_hole_and_covered_needs_the_whole_range():
    admitted = netpol.ip_block({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}})
    assert netpol.covered(ipaddress.ip_network("10.2.0.0/16"), admitted)
    assert not netpol.covered(ipaddress.ip_network("10.1.2.0/24"), admitted)
    assert not netpol.covered(ipaddress.ip_network("10.0.0.0/8"), admitted)


def test_a_policy_without_policy_types_and_egress_rules_isolates_ingress_only():
    assert netpol.policy_types({"podSelector": {}, "ingress": []}) == ["Ingress"]
    assert netpol.policy_types({"podSelector": {}, "egress": []}) == ["Ingress", "Egress"]


def test_namespace_and_pod_selector_in_one_peer_means_both():
    both = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}},
             "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]
    objects = [o for o in scraped_app() if o.name != "allow-prometheus-scrape"]
    objects.append(policy("app", "allow-wrong-namespace", ingress=[{"from": both, "ports": [{"port": 9090}]}]))
    assert subjects(objects) == [f"{PROMETHEUS} → app/app:9090/TCP"]


# ---------------------------------------------------------------------------------------------
# The program's objects, with the charts' monitoring objects next to them.
# ---------------------------------------------------------------------------------------------


def cluster(plan) -> list[Obj]:
    program = [Obj(body) for body in manifests(plan).values()]
    owns_platform = any(o.kind == "Namespace" and o.name == "monitoring" for o in program)
    return program + (kube_prometheus_stack() + envoy_gateway() if owns_platform else [])


@pytest.mark.parametrize("stack", ["pr-7", "staging", "production"])
def test_the_program_blocks_no_required_flow(plan_of, stack):
    findings = netpol.check(cluster(plan_of(stack)))
    assert findings == [], "\n".join(f.line() for f in findings)


@pytest.mark.parametrize("flow", [
    f"{PROMETHEUS} → monitoring/{KPS}-grafana:3000/TCP",
    f"{PROMETHEUS} → {PROMETHEUS}:8080/TCP",
    f"{PROMETHEUS} → monitoring/alertmanager-{KPS}-alertmanager:8080/TCP",
    f"monitoring/alertmanager-{KPS}-alertmanager → monitoring/alertmanager-{KPS}-alertmanager:9094/UDP",
    *(f"{PROMETHEUS} → app/app-{track}:9090/TCP" for track in ("blue", "green")),
    *(f"app/app-{track} → kube-system/coredns:53/UDP" for track in ("blue", "green")),
    *(f"gateway/envoy-gateway-platform → app/app-{track}:8080/TCP" for track in ("blue", "green")),
    "EKS API server → gateway/envoy-gateway:9443/TCP",
    "app/postgres-backup → monitoring/pushgateway:9091/TCP",
    "app/postgres-restore-drill → monitoring/pushgateway:9091/TCP",
    f"{PROMETHEUS} → monitoring/pushgateway:9091/TCP",
])
def test_production_requires_the_flows_the_issue_names(plan_of, flow):
    objects = cluster(plan_of("production"))
    objects.append(Obj({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                        "metadata": {"name": "topology"}, "webhooks": [{"name": "t", "clientConfig": {
                            "service": {"name": "envoy-gateway", "namespace": "gateway", "port": 9443}}}]}))
    objects.append(service("gateway", "envoy-gateway", {"control-plane": "envoy-gateway"},
                           ("webhook", 9443, 9443, "TCP")))
    required = {f.describe() for f in netpol.flows(objects)}
    assert flow in required, f"{flow} not among the {len(required)} required flows"


def test_production_without_the_udp_mesh_rule_is_caught(plan_of):
    objects = []
    for obj in cluster(plan_of("production")):
        if obj.kind == "NetworkPolicy" and obj.name == "allow-alertmanager":
            spec = dict(obj.body["spec"])
            spec["ingress"] = [{**r, "ports": [p for p in r["ports"] if p.get("protocol") != "UDP"]}
                               for r in spec["ingress"]]
            obj = Obj({**obj.body, "spec": spec})
        objects.append(obj)
    assert [f.subject for f in netpol.check(objects)] == [
        f"monitoring/alertmanager-{KPS}-alertmanager → monitoring/alertmanager-{KPS}-alertmanager:9094/UDP"]


def test_a_pushgateway_that_admits_only_prometheus_blocks_the_backup_and_drill_pushes(plan_of):
    objects = [Obj({**o.body, "spec": {**o.body["spec"], "ingress": o.body["spec"]["ingress"][1:]}})
               if o.kind == "NetworkPolicy" and o.name == "allow-pushgateway" else o
               for o in cluster(plan_of("staging"))]
    assert [f.subject for f in netpol.check(objects)] == ["app/postgres-backup → monitoring/pushgateway:9091/TCP",
                                                          "app/postgres-restore-drill → monitoring/pushgateway:9091/TCP"]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_drill_pod_without_its_own_rule_cannot_push(plan_of, stack):
    objects = [o for o in cluster(plan_of(stack)) if not (o.kind == "NetworkPolicy" and o.name == "allow-restore-drill")]
    [finding] = netpol.check(objects)
    assert finding.subject == "app/postgres-restore-drill → monitoring/pushgateway:9091/TCP", finding.line()
    assert finding.details["side"] == "egress", finding.line()


@pytest.mark.parametrize(("port", "blocked"), [(5432, "egress"), (6379, "egress"), (443, None)])
def test_the_drill_pod_reaches_https_but_no_data_store(plan_of, port, blocked):
    objects = cluster(plan_of("production"))
    inv = netpol.inventory(objects, eks.OFFLINE_VPC_CIDR)
    (drill,) = [p for p, _ in inv.pods if p.ref == "app/postgres-restore-drill"]
    store = eks.Endpoint(ref="RDS", cidr=eks.OFFLINE_VPC_CIDR, origin="AWS")
    assert netpol.blocked_side(inv, netpol.Flow(drill, store, eks.Port(port), "test")) == blocked, port


def test_nothing_may_connect_to_the_drill_pod(plan_of):
    objects = cluster(plan_of("staging"))
    inv = netpol.inventory(objects, eks.OFFLINE_VPC_CIDR)
    (drill,) = [p for p, _ in inv.pods if p.ref == "app/postgres-restore-drill"]
    # Prometheus may leave for any pod of any namespace: only the drill's ingress isolation stops it
    # (the namespace-wide scrape rule admits it on the exporters' ports; the drill listens on none).
    (prometheus_pod,) = [p for p, _ in inv.pods if p.ref == PROMETHEUS]
    own = [o for o in netpol.selecting(inv, drill, "Ingress") if o.name == "allow-restore-drill"]
    assert own and netpol.blocked_side(inv, netpol.Flow(prometheus_pod, drill, eks.Port(5432), "test")) == "ingress"
