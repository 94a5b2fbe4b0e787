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


POD_SECURITY_REASON = "platform.example.com/pod-security-reason"
"""Annotation a namespace on the allow-list must carry: why it enforces less than ``restricted``."""
PRIVILEGED_NAMESPACES = "privilegedNamespaces"
"""Config key: ``{namespace: {DaemonSet name: reason}}``, the only namespaces that may enforce less
than ``restricted`` and the only workloads (DaemonSets) that may run in them."""
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", DAEMON_SET,
                  "kubernetes:batch/v1:CronJob", "kubernetes:batch/v1:Job", "kubernetes:core/v1:Pod",
                  "kubernetes:apps/v1:ReplicaSet")
HOST_ACCESS_RULES = ("k8s-no-host-namespaces", "k8s-no-host-path-or-port", "k8s-volume-types-restricted",
                     "k8s-run-as-non-root")
"""What an allow-listed node agent needs and its namespace's Pod Security level admits (host network
and PID, hostPath, root to read the node's root-owned files); every other workload rule still
applies to it (no privileged containers, no escalation, all capabilities dropped, seccomp, a
read-only root filesystem, pinned images from the cache)."""
_SCHEMA = {PRIVILEGED_NAMESPACES: {"type": "object", "additionalProperties": {
    "type": "object", "additionalProperties": {"type": "string", "minLength": 1}}, "default": {}}}


def privileged_namespaces(config: Any) -> dict[str, dict[str, str]]:
    value = config.get(PRIVILEGED_NAMESPACES) if isinstance(config, dict) else None
    return {str(ns): dict(agents) for ns, agents in value.items() if isinstance(agents, dict)} if isinstance(
        value, dict) else {}


def node_agent_reason(type_: str, props: Any, config: Any) -> str | None:
    """Why ``props`` (a workload) may skip HOST_ACCESS_RULES: an allow-listed DaemonSet in an
    allow-listed namespace (the reason written in the config), else None."""
    if type_ != DAEMON_SET:
        return None
    agents = privileged_namespaces(config).get(get(props, "metadata.namespace"), {})
    reason = agents.get(get(props, "metadata.name"))
    return reason.strip() if isinstance(reason, str) and reason.strip() else None


@resource_rule(
    "k8s-namespace-pod-security", types=(NAMESPACE, *WORKLOAD_TYPES), severity="high",
    description="Namespaces enforce, audit and warn on the restricted Pod Security Standard; the only "
                "exceptions are allow-listed namespaces with a written reason, and only their allow-listed "
                "DaemonSets run there.",
    rows=("NS-01", "NS-05"), anchors=("kyverno:psa/add-psa-labels", "kyverno:psa/deny-privileged-profile",
                                      "cis-k8s:5.2.1", "pss:restricted"),
    config=_SCHEMA,
    fix="label the namespace pod-security.kubernetes.io/enforce, /warn and /audit = restricted; a node agent "
        "that needs host access goes to an allow-listed namespace (privilegedNamespaces in "
        "policies/config/<environment>.json, reviewed) whose annotation "
        f"{POD_SECURITY_REASON} says why, and nothing else runs there")
def pod_security(props, ctx):
    allowed = privileged_namespaces(ctx.config)
    if ctx.type != NAMESPACE:
        yield from _workload_in_exception(props, ctx, allowed)
        return
    labels, name = get(props, "metadata.labels") or {}, get(props, "metadata.name")
    if is_unknown(labels) or is_unknown(name):
        yield unknown_msg("metadata.labels" if is_unknown(labels) else "metadata.name")
        return
    enforce = labels.get(f"{PSA}/enforce")
    if name in allowed:
        annotations = get(props, "metadata.annotations")
        reason = annotations if is_unknown(annotations) else (annotations or {}).get(POD_SECURITY_REASON)
        if is_unknown(reason) or not isinstance(reason, str) or not reason.strip():
            yield f"namespace '{name}' is allowed a lower Pod Security level but has no {POD_SECURITY_REASON} annotation"
        if enforce not in ("restricted", "baseline", "privileged"):
            yield f"{PSA}/enforce is {enforce or 'unset'}"
    elif enforce != "restricted":
        yield f"{PSA}/enforce is {enforce or 'unset'}, not restricted (namespace '{name}' is not an allow-listed exception)"
    for mode in ("warn", "audit"):
        if labels.get(f"{PSA}/{mode}") != "restricted":
            yield f"{PSA}/{mode} is {labels.get(f'{PSA}/{mode}') or 'unset'}, not restricted"


def _workload_in_exception(props: Any, ctx: Any, allowed: dict[str, dict[str, str]]) -> Any:
    namespace, name = get(props, "metadata.namespace"), get(props, "metadata.name")
    if is_unknown(namespace):
        if allowed:
            yield unknown_msg("metadata.namespace")
        return
    if namespace not in allowed:
        return
    kind = ctx.type.rsplit(":", 1)[-1]
    if ctx.type != DAEMON_SET:
        yield f"{kind} '{name}' runs in '{namespace}', which admits only the allow-listed DaemonSets"
    elif is_unknown(name) or name not in allowed[namespace]:
        yield (f"DaemonSet '{name}' is not on the allow-list of '{namespace}' "
               f"({', '.join(sorted(allowed[namespace])) or 'empty'})")


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
