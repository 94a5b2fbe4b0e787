"""Namespaces: Pod Security labels, quota, limits, default-deny plus allow rules, token-less default SA."""

from __future__ import annotations

import pytest
from helpers import environment_of, inputs

APP_NS = {"pr-7": "pr-7", "staging": "app", "production": "app"}
PLATFORM = ("gateway", "cert-manager", "monitoring")


def in_ns(plan, type_: str, namespace: str) -> dict[str, dict]:
    found = {}
    for r in plan.by_type(type_):
        meta = inputs(r).get("metadata", {})
        if meta.get("namespace") == namespace:
            found[meta["name"]] = inputs(r)
    return found


def namespace(plan, name: str) -> dict:
    for r in plan.by_type("kubernetes:core/v1:Namespace"):
        if inputs(r)["metadata"]["name"] == name:
            return inputs(r)
    raise AssertionError(f"no Namespace {name!r} in the plan of {plan.stack}")


def owned(stack: str) -> list[str]:
    return [APP_NS[stack]] + (list(PLATFORM) if environment_of(stack) != "ephemeral" else [])


def test_app_namespace_is_restricted_and_labelled(plan, stack):
    labels = namespace(plan, APP_NS[stack])["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", stack
    assert labels["platform.example.com/environment"] == environment_of(stack)
    assert labels["app.kubernetes.io/part-of"] == "platform"


def test_platform_namespaces_belong_to_the_cluster_owner_only(plan, stack):
    names = {inputs(r)["metadata"]["name"] for r in plan.by_type("kubernetes:core/v1:Namespace")}
    expected = set(PLATFORM) if environment_of(stack) != "ephemeral" else set()
    assert names & set(PLATFORM) == expected, f"{stack}: PR stacks reuse staging's platform namespaces"


def test_only_node_agents_enforces_less_than_restricted(plan, stack):
    lower = {inputs(r)["metadata"]["name"]: r for r in plan.by_type("kubernetes:core/v1:Namespace")
             if inputs(r)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] != "restricted"}
    assert set(lower) == ({"node-agents"} if environment_of(stack) != "ephemeral" else set()), stack


@pytest.mark.parametrize("stack_name", ["staging", "production"])
def test_node_agents_is_privileged_with_a_reason_and_audited_as_restricted(plan_of, stack_name):
    meta = namespace(plan_of(stack_name), "node-agents")["metadata"]
    labels = meta["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged", stack_name
    assert (labels["pod-security.kubernetes.io/audit"], labels["pod-security.kubernetes.io/warn"]) == (
        "restricted", "restricted"), f"{stack_name}: every node-agents pod is recorded as an exception"
    assert meta["annotations"]["platform.example.com/pod-security-reason"].strip(), stack_name


@pytest.mark.parametrize("stack_name", ["staging", "production"])
def test_node_agents_has_quota_limits_default_deny_and_fluent_bit_rules(plan_of, stack_name):
    plan = plan_of(stack_name)
    assert in_ns(plan, "kubernetes:core/v1:ResourceQuota", "node-agents"), stack_name
    assert in_ns(plan, "kubernetes:core/v1:LimitRange", "node-agents"), stack_name
    policies = in_ns(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "node-agents")
    assert {"default-deny", "allow-dns-egress", "allow-fluent-bit"} <= set(policies), stack_name
    fluent = policies["allow-fluent-bit"]["spec"]
    assert fluent["ingress"][0]["ports"] == [{"port": 2020, "protocol": "TCP"}], "Prometheus scrapes :2020"
    assert fluent["egress"][0]["ports"] == [{"port": 443, "protocol": "TCP"}], "API server and CloudWatch Logs"


def test_internet_egress_never_reaches_private_ranges_or_metadata(plan, stack):
    for r in plan.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        for rule in inputs(r)["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0":
                    assert {"10.0.0.0/8", "169.254.0.0/16"} <= set(peer["ipBlock"]["except"]), r.urn


def test_every_owned_namespace_has_quota_limits_and_default_deny(plan, stack):
    for ns in owned(stack):
        assert "quota" in in_ns(plan, "kubernetes:core/v1:ResourceQuota", ns), ns
        assert "limits" in in_ns(plan, "kubernetes:core/v1:LimitRange", ns), ns
        policies = in_ns(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", ns)
        deny = policies["default-deny"]["spec"]
        assert deny["podSelector"] == {} and sorted(deny["policyTypes"]) == ["Egress", "Ingress"], ns
        assert "ingress" not in deny and "egress" not in deny, ns
        dns = policies["allow-dns-egress"]["spec"]["egress"][0]
        assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "TCP"), (53, "UDP")}, ns


def test_default_service_account_mounts_no_token(plan, stack):
    for ns in owned(stack):
        sa = in_ns(plan, "kubernetes:core/v1:ServiceAccountPatch", ns)["default"]
        assert sa["automountServiceAccountToken"] is False, ns


def test_app_quota_follows_the_profile(plan, stack):
    from config import PROFILES
    quota = PROFILES[environment_of(stack)].quota
    hard = in_ns(plan, "kubernetes:core/v1:ResourceQuota", APP_NS[stack])["quota"]["spec"]["hard"]
    assert hard["limits.cpu"] == str(quota.cpu) and hard["limits.memory"] == f"{quota.memory_gib}Gi"


def test_gateway_reaches_app_pods_on_the_app_port_only(plan, stack):
    rule = in_ns(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", APP_NS[stack])["allow-gateway-to-app"]["spec"]
    assert rule["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "app"}
    (ingress,) = rule["ingress"]
    assert ingress["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "gateway"}


@pytest.mark.parametrize("rule", ["allow-app-to-datastores", "allow-backup"])
def test_datastore_egress_matches_the_data_mode(plan, stack, rule):
    spec = in_ns(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", APP_NS[stack])[rule]["spec"]
    pg = next(e for e in spec["egress"] if e["ports"][0]["port"] == 5432)
    if environment_of(stack) == "ephemeral":
        assert pg["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}}}]
    else:
        assert pg["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "managed mode: the VPC CIDR"


def test_backup_may_reach_s3_over_https(plan, stack):
    spec = in_ns(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", APP_NS[stack])["allow-backup"]["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "backup"}
    assert any(e["ports"] == [{"port": 443, "protocol": "TCP"}] for e in spec["egress"])


def test_prometheus_scrapes_metrics_ports(plan, stack):
    spec = in_ns(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", APP_NS[stack])["allow-prometheus-scrape"]["spec"]
    (rule,) = spec["ingress"]
    assert {p["port"] for p in rule["ports"]} == {9090, 9187, 9121}
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
