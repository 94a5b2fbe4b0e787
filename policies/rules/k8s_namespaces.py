"""Namespaces we create: Pod Security Admission restricted, and each one fenced by a default-deny
NetworkPolicy, a ResourceQuota and a LimitRange. NetworkPolicies never allow everything."""

from __future__ import annotations

from typing import Any

from ._core import Res, as_list, by_type, get, is_unknown, resource_rule, stack_rule, unknown_msg

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
PSA = "pod-security.kubernetes.io"


@resource_rule(
    "k8s-namespace-pod-security", types=(NAMESPACE,), severity="high",
    description="Namespaces enforce the restricted (or baseline) Pod Security Standard and warn/audit on it.",
    rows=("NS-01",), anchors=("kyverno:psa/add-psa-labels", "kyverno:psa/deny-privileged-profile",
                              "cis-k8s:5.2.1", "pss:restricted"),
    fix="label the namespace pod-security.kubernetes.io/enforce, /warn and /audit = restricted")
def pod_security(props, ctx):
    labels = get(props, "metadata.labels") or {}
    if is_unknown(labels):
        yield unknown_msg("metadata.labels")
        return
    enforce = labels.get(f"{PSA}/enforce")
    if enforce not in ("restricted", "baseline"):
        yield f"{PSA}/enforce is {enforce or 'unset'}, not restricted"
    for mode in ("warn", "audit"):
        if labels.get(f"{PSA}/{mode}") in (None, "", "privileged"):
            yield f"{PSA}/{mode} is {labels.get(f'{PSA}/{mode}') or 'unset'}"


def namespace_name(ns: Res) -> Any:
    return get(ns.props, "metadata.name")


def in_namespace(res: Res, ns: Res) -> bool:
    """Whether a namespaced resource lives in the Namespace resource ``ns``."""
    if res.depends_on(ns, "metadata") or (res.depends_on(ns) and is_unknown(get(res.props, "metadata.namespace"))):
        return True
    name, wanted = namespace_name(ns), get(res.props, "metadata.namespace")
    return isinstance(name, str) and name == wanted


def default_deny(np: Res) -> bool:
    spec = np.props.get("spec") or {}
    if is_unknown(spec) or get(spec, "podSelector") not in ({}, {"matchLabels": {}}):
        return False
    types = set(as_list(spec.get("policyTypes")))
    return {"Ingress", "Egress"} <= types and not as_list(spec.get("ingress")) and not as_list(
        spec.get("egress"))


def _limits_have_defaults(lr: Res) -> bool:
    return any(isinstance(limit, dict) and limit.get("default") and limit.get("defaultRequest")
               for limit in as_list(get(lr.props, "spec.limits")))


@stack_rule(
    "k8s-namespace-guardrails", types=(NAMESPACE, NETWORK_POLICY, RESOURCE_QUOTA, LIMIT_RANGE),
    severity="high",
    description="Every namespace we create has a default-deny NetworkPolicy (ingress and egress), "
                "a ResourceQuota and a LimitRange with defaults.",
    rows=("NS-02", "NS-03", "NS-04"),
    anchors=("kyverno:best-practices/add-network-policy", "checkov:CKV2_K8S_6",
             "kube-linter:non-isolated-pod", "cis-k8s:5.3.2", "trivy:KSV-0040", "trivy:KSV-0039",
             "kyverno:best-practices/add-ns-quota"),
    fix="create, in the namespace, a NetworkPolicy with podSelector {} and policyTypes "
        "[Ingress, Egress] and no rules (then allow-list flows), a ResourceQuota and a LimitRange "
        "with default and defaultRequest")
def guardrails(resources, ctx):
    for ns in by_type(resources, NAMESPACE):
        if is_unknown(namespace_name(ns)):
            yield ns.urn, f"namespace '{ns.name}': " + unknown_msg("metadata.name")
        members = [r for r in resources if r.type != NAMESPACE and in_namespace(r, ns)]
        if not any(default_deny(r) for r in by_type(members, NETWORK_POLICY)):
            yield ns.urn, f"namespace '{ns.name}' has no default-deny NetworkPolicy (ingress and egress)"
        if not by_type(members, RESOURCE_QUOTA):
            yield ns.urn, f"namespace '{ns.name}' has no ResourceQuota"
        ranges = by_type(members, LIMIT_RANGE)
        if not ranges:
            yield ns.urn, f"namespace '{ns.name}' has no LimitRange"
        elif not any(_limits_have_defaults(lr) for lr in ranges):
            yield ns.urn, f"the LimitRange of namespace '{ns.name}' sets no default/defaultRequest"


_WORLD = ("0.0.0.0/0", "::/0")


@resource_rule(
    "k8s-network-policy-no-allow-all", types=(NETWORK_POLICY,), severity="medium",
    description="NetworkPolicy rules never allow all peers (empty peers on all ports, or a world "
                "ipBlock without exceptions).",
    rows=("NP-01",), anchors=("trivy:KSV-0038", "kyverno:other/restrict-networkpolicy-empty-podselector"),
    fix="list the peers (podSelector/namespaceSelector) and ports the flow needs; for internet "
        "egress, add ipBlock.except with the private ranges and the metadata endpoint")
def no_allow_all(props, ctx):
    spec = props.get("spec") or {}
    if is_unknown(spec):
        yield unknown_msg("spec")
        return
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(as_list(spec.get(direction))):
            rule = rule or {}
            peers = as_list(rule.get(peers_key))
            if not peers and not as_list(rule.get("ports")):
                yield f"{direction}[{i}] allows every peer on every port"
            for peer in peers:
                cidr = get(peer, "ipBlock.cidr")
                if cidr in _WORLD and not as_list(get(peer, "ipBlock.except")):
                    yield f"{direction}[{i}] allows ipBlock {cidr} without exceptions"
                if peer == {}:
                    yield f"{direction}[{i}] has an empty peer (everything)"
