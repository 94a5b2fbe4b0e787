"""NetworkPolicy reachability of the flows the platform needs (check ``blocked-flow``).

The required flows are derived from the objects, never listed by hand:

* scrape: every endpoint of every ServiceMonitor / PodMonitor a Prometheus selects, from the
  Prometheus pods to the pods (or node / API server addresses) behind it; Prometheus → the
  Alertmanagers of its ``spec.alerting``;
* API server → every admission webhook's Service port and every CRD conversion webhook;
* DNS: every pod → kube-dns (kube-system, 53 over UDP and TCP);
* data path: Envoy proxy → every HTTPRoute backend; workload → Postgres / Redis named by the
  connection ConfigMaps it loads (``PGHOST``/``PGPORT``, ``REDIS_HOST``/``REDIS_PORT``);
* Alertmanager mesh: replica → replica on 9094, TCP and UDP;
* controllers (pods whose ServiceAccount is bound to a Role or ClusterRole) → API server (443).

Kubernetes semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
a pod is isolated for a direction iff some policy in its namespace selects it with that
policyType (policyTypes defaults to Ingress, plus Egress when ``egress`` is set); a flow is allowed
iff the source's egress and the destination's ingress both allow it, each when ANY selecting
policy has a rule whose peers and ports match. Peers: podSelector (the policy's namespace),
namespaceSelector, both (AND), ipBlock minus ``except``; no peers = everyone. Ports: protocol
defaults to TCP, a named port is resolved against the destination pod's container ports, endPort
makes a range. An address range peer (API server, nodes, a managed store) passes only if the
matching ipBlocks cover the whole range. Pods are matched by selectors only, never by ipBlock
(pod IPs are ephemeral; the API leaves it to the implementation). hostNetwork pods are not
isolated and are seen at their node's address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.offline.checks import eks
from tools.offline.checks.base import Finding, Obj
from tools.offline.checks.eks import Endpoint, Port

CHECK = "blocked-flow"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Flow:
    src: Endpoint
    dst: Endpoint
    port: Port
    why: str

    def describe(self) -> str:
        return f"{self.src.ref} → {self.dst.ref}:{self.port.port}/{self.port.protocol}"


# ---------------------------------------------------------------------------------------------
# Label selectors and the cluster's inventory.
# ---------------------------------------------------------------------------------------------


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels AND matchExpressions); ``{}`` selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    return body.get("metadata") or {}


def _pod_template(obj: Obj) -> Mapping[str, Any] | None:
    spec = obj.body.get("spec") or {}
    if obj.kind == "Pod":
        return obj.body
    if obj.kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    return spec.get("template")


def _is_test_hook(obj: Obj) -> bool:
    """Helm test pods run only under ``helm test``, never as part of an install."""
    hook = obj.hook or (_meta(obj.body).get("annotations") or {}).get("helm.sh/hook") or ""
    return "test" in [h.strip() for h in hook.split(",")]


@dataclass
class Inventory:
    """Pods, Services and namespace labels of the whole cluster, from the objects plus EKS."""

    pods: list[tuple[Endpoint, Mapping[str, Any]]]
    """Each pod with its pod spec (for envFrom)."""
    services: list[Obj]
    external: dict[tuple[str, str], eks.ExternalService]
    namespaces: dict[str, dict[str, str]]
    policies: list[Obj]
    configmaps: dict[tuple[str, str], Mapping[str, Any]]
    vpc_cidr: str

    def namespace_labels(self, ns: str) -> dict[str, str]:
        # The API server sets kubernetes.io/metadata.name on every namespace (Kubernetes >= 1.21).
        return {**self.namespaces.get(ns, {}), "kubernetes.io/metadata.name": ns}

    def service(self, namespace: str, name: str) -> Obj | None:
        return next((s for s in self.services if s.namespace == namespace and s.name == name), None)

    def pods_of_service(self, svc: Obj) -> list[Endpoint]:
        selector = (svc.body.get("spec") or {}).get("selector")
        if not selector:
            return []
        return [p for p, _ in self.pods if p.is_pod and p.namespace == svc.namespace
                and matches({"matchLabels": selector}, p.labels)]


def inventory(objects: Sequence[Obj], vpc_cidr: str) -> Inventory:
    pods: list[tuple[Endpoint, Mapping[str, Any]]] = []
    kubelet_service = None
    for obj in objects:
        if obj.kind in WORKLOAD_KINDS and not _is_test_hook(obj):
            template = _pod_template(obj) or {}
            spec = template.get("spec") or {}
            labels = dict((_meta(template).get("labels")) or {})
            ports = tuple(Port(int(p["containerPort"]), str(p.get("protocol") or "TCP"), str(p.get("name") or ""))
                          for c in spec.get("containers") or [] for p in c.get("ports") or [])
            pods.append((Endpoint(ref=f"{obj.namespace}/{obj.name}", namespace=obj.namespace, labels=labels,
                                  ports=ports, host_network=bool(spec.get("hostNetwork")),
                                  service_account=str(spec.get("serviceAccountName") or "default"),
                                  origin=obj.origin), spec))
            for c in spec.get("containers") or []:
                for arg in c.get("args") or []:
                    if str(arg).startswith("--kubelet-service="):
                        kubelet_service = str(arg).split("=", 1)[1]
        spec = obj.body.get("spec") or {}
        if obj.kind == "Prometheus":
            pod = eks.prometheus_pods(obj.namespace, obj.name, (spec.get("podMetadata") or {}).get("labels") or {},
                                      str(spec.get("portName") or ""), str(spec.get("serviceAccountName") or ""),
                                      obj.origin)
            pods.append((pod, {}))
        elif obj.kind == "Alertmanager":
            pods.append((eks.alertmanager_pods(obj.namespace, obj.name,
                                               (spec.get("podMetadata") or {}).get("labels") or {},
                                               str(spec.get("portName") or ""), obj.origin), {}))
    pods.extend(_envoy_proxies(objects))
    pods.extend((p, {}) for p in eks.add_on_pods())
    return Inventory(
        pods=pods, services=[o for o in objects if o.kind == "Service"],
        external=eks.external_services(vpc_cidr, kubelet_service),
        namespaces={o.name: dict(_meta(o.body).get("labels") or {}) for o in objects if o.kind == "Namespace"},
        policies=[o for o in objects if o.kind == "NetworkPolicy"],
        configmaps={(o.namespace, o.name): o.body.get("data") or {} for o in objects if o.kind == "ConfigMap"},
        vpc_cidr=vpc_cidr)


def _envoy_proxies(objects: Sequence[Obj]) -> Iterator[tuple[Endpoint, Mapping[str, Any]]]:
    """One Envoy proxy per Gateway of an Envoy Gateway class, in the controller's namespace."""
    classes = {o.name for o in objects if o.kind == "GatewayClass"
               and (o.body.get("spec") or {}).get("controllerName") == "gateway.envoyproxy.io/gatewayclass-controller"}
    controller = next((o for o in objects if o.kind == "Deployment"
                       and ((_pod_template(o) or {}).get("metadata") or {}).get("labels", {}).get("control-plane")
                       == "envoy-gateway"), None)
    if controller is None:
        return
    for gw in objects:
        spec = gw.body.get("spec") or {}
        if gw.kind == "Gateway" and spec.get("gatewayClassName") in classes:
            listeners = sorted({int(li["port"]) for li in spec.get("listeners") or []})
            yield eks.envoy_proxy_pods(controller.namespace, gw.namespace, gw.name, listeners), {}


# ---------------------------------------------------------------------------------------------
# Service and monitor resolution.
# ---------------------------------------------------------------------------------------------


def _resolve(port: Any, pod: Endpoint, protocol: str = "TCP") -> Port | None:
    """A number or a container port name, against the pod's declared ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        number = int(port)
        return next((p for p in pod.ports if p.port == number and p.protocol == protocol), Port(number, protocol))
    return next((p for p in pod.ports if p.name == port), None)


def service_targets(inv: Inventory, svc_ns: str, svc_name: str, port: Any) -> list[tuple[Endpoint, Port]]:
    """Pods (or addresses) and their port behind ``Service svc_ns/svc_name`` port ``port`` (name or number)."""
    external = inv.external.get((svc_ns, svc_name))
    if external is not None:
        number = external.ports.get(port) if isinstance(port, str) else port
        return [(external.endpoint, Port(int(number), name=str(port)))] if number else []
    svc = inv.service(svc_ns, svc_name)
    if svc is None:
        return []
    for sp in (svc.body.get("spec") or {}).get("ports") or []:
        if port in (sp.get("name"), sp.get("port")) or str(port) == str(sp.get("port")):
            target = sp.get("targetPort", sp.get("port"))
            protocol = str(sp.get("protocol") or "TCP")
            found = []
            for pod in inv.pods_of_service(svc):
                resolved = _resolve(target, pod, protocol)
                if resolved is not None and (pod.host_network is False or any(p == resolved for p in pod.ports)):
                    found.append((_node_side(pod, inv), resolved))
            return found
    return []


def _node_side(pod: Endpoint, inv: Inventory) -> Endpoint:
    """A hostNetwork pod is reached at its node's address."""
    if not pod.host_network:
        return pod
    return Endpoint(ref=f"{pod.ref} (node network)", cidr=inv.vpc_cidr, ports=pod.ports, origin=pod.origin)


def monitor_selected(prom: Obj, monitor: Obj, inv: Inventory) -> bool:
    spec = prom.body.get("spec") or {}
    which = "serviceMonitor" if monitor.kind == "ServiceMonitor" else "podMonitor"
    selector, ns_selector = spec.get(f"{which}Selector"), spec.get(f"{which}NamespaceSelector")
    if selector is None:  # prometheus-operator: a nil selector selects no monitors
        return False
    if not matches(selector, dict(_meta(monitor.body).get("labels") or {})):
        return False
    if ns_selector is None:  # nil: only the Prometheus object's own namespace
        return monitor.namespace == prom.namespace
    return matches(ns_selector, inv.namespace_labels(monitor.namespace))


def _monitor_namespaces(monitor: Obj, inv: Inventory) -> set[str] | None:
    """The namespaces a monitor looks in; None = all."""
    ns_sel = (monitor.body.get("spec") or {}).get("namespaceSelector") or {}
    if ns_sel.get("any"):
        return None
    return set(ns_sel.get("matchNames") or [monitor.namespace])


def monitor_targets(monitor: Obj, inv: Inventory) -> list[tuple[Endpoint, Port, str]]:
    """(target, port, job) for every endpoint of a ServiceMonitor or PodMonitor."""
    spec = monitor.body.get("spec") or {}
    namespaces = _monitor_namespaces(monitor, inv)
    out: list[tuple[Endpoint, Port, str]] = []
    if monitor.kind == "ServiceMonitor":
        services: list[tuple[str, str, Mapping[str, str]]] = [
            (s.namespace, s.name, dict(_meta(s.body).get("labels") or {})) for s in inv.services]
        services += [(ns, name, ext.labels) for (ns, name), ext in inv.external.items()]
        for ns, name, labels in services:
            if (namespaces is not None and ns not in namespaces) or not matches(spec.get("selector"), labels):
                continue
            job = labels.get(spec.get("jobLabel") or "", name) if spec.get("jobLabel") else name
            for ep in spec.get("endpoints") or []:
                if ep.get("port") is not None:
                    out += [(t, p, job) for t, p in service_targets(inv, ns, name, ep["port"])]
                elif ep.get("targetPort") is not None:
                    svc = inv.service(ns, name)
                    pods = inv.pods_of_service(svc) if svc is not None else []
                    out += [(pod, port, job) for pod in pods
                            if (port := _resolve(ep["targetPort"], pod)) is not None]
    else:
        for pod, _ in inv.pods:
            if not pod.is_pod or (namespaces is not None and pod.namespace not in namespaces) \
                    or not matches(spec.get("selector"), pod.labels):
                continue
            job = pod.labels.get(spec["jobLabel"], "") if spec.get("jobLabel") else f"{monitor.namespace}/{monitor.name}"
            for ep in spec.get("podMetricsEndpoints") or []:
                port = _resolve(ep.get("port") or ep.get("targetPort"), pod)
                if port is not None:
                    out.append((pod, port, job))
    return out


# ---------------------------------------------------------------------------------------------
# The required flows.
# ---------------------------------------------------------------------------------------------


def required_flows(objects: Sequence[Obj], inv: Inventory) -> list[Flow]:
    flows: list[Flow] = []
    pods = [p for p, _ in inv.pods]
    by_ref = {p.ref: p for p in pods}
    api = eks.api_server(inv.vpc_cidr)
    monitors = [o for o in objects if o.kind in ("ServiceMonitor", "PodMonitor")]

    for prom in (o for o in objects if o.kind == "Prometheus"):
        src = by_ref[f"{prom.namespace}/prometheus-{prom.name}"]
        for monitor in monitors:
            if monitor_selected(prom, monitor, inv):
                flows += [Flow(src, dst, port, f"{monitor.ref} (job {job})")
                          for dst, port, job in monitor_targets(monitor, inv)]
        for am in ((prom.body.get("spec") or {}).get("alerting") or {}).get("alertmanagers") or []:
            flows += [Flow(src, dst, port, f"{prom.ref} alerting")
                      for dst, port in service_targets(inv, am.get("namespace") or prom.namespace, am["name"],
                                                       am.get("port"))]

    for hook in objects:
        configs: list[tuple[str, Mapping[str, Any]]] = []
        if hook.kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            configs = [(w.get("name", ""), w.get("clientConfig") or {}) for w in hook.body.get("webhooks") or []]
        elif hook.kind == "CustomResourceDefinition":
            conv = (hook.body.get("spec") or {}).get("conversion") or {}
            if conv.get("strategy") == "Webhook":
                configs = [("conversion", (conv.get("webhook") or {}).get("clientConfig") or {})]
        for name, client in configs:
            svc = client.get("service")
            if svc:
                flows += [Flow(api, dst, port, f"{hook.ref} webhook {name}")
                          for dst, port in service_targets(inv, svc["namespace"], svc["name"],
                                                           int(svc.get("port") or 443))]

    dns = [(d, p) for d, p in service_targets_by_labels(inv, "kube-system", {"k8s-app": "kube-dns"}) if p.port == 53]
    for pod in pods:
        if pod.origin == "EKS" or pod.host_network:
            continue
        flows += [Flow(pod, d, p, "DNS") for d, p in dns]

    proxies = [p for p in pods if p.origin == "Envoy Gateway"]
    for route in (o for o in objects if o.kind in ("HTTPRoute", "GRPCRoute")):
        for rule in (route.body.get("spec") or {}).get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if ref.get("kind", "Service") != "Service":
                    continue
                targets = service_targets(inv, ref.get("namespace") or route.namespace, ref["name"], ref.get("port"))
                flows += [Flow(proxy, dst, port, f"{route.ref} backend") for proxy in proxies for dst, port in targets]

    flows += _store_flows(inv)

    for am in (o for o in objects if o.kind == "Alertmanager" and int((o.body.get("spec") or {}).get("replicas") or 1) > 1):
        replica = by_ref[f"{am.namespace}/alertmanager-{am.name}"]
        flows += [Flow(replica, replica, p, f"{am.ref} mesh between replicas") for p in replica.ports if p.port == 9094]

    bound = _bound_service_accounts(objects)
    for pod in pods:
        if pod.is_pod and not pod.host_network and (pod.namespace, pod.service_account) in bound:
            flows.append(Flow(pod, api, Port(443, name="https"), "controller → API server"))
    return flows


def service_targets_by_labels(inv: Inventory, namespace: str, selector: Mapping[str, str]) -> list[tuple[Endpoint, Port]]:
    return [(pod, port) for pod, _ in inv.pods if pod.namespace == namespace and pod.is_pod
            and matches({"matchLabels": dict(selector)}, pod.labels) for port in pod.ports]


STORE_KEYS = (("PGHOST", "PGPORT"), ("REDIS_HOST", "REDIS_PORT"))
"""The connection ConfigMaps' keys (components/postgres.py, components/redis.py)."""
URL_KEYS = ("METRICS_URL",)
"""ConfigMap keys holding an ``http://host:port`` a pod calls (the backup job's Pushgateway)."""
URL = re.compile(r"^https?://(?P<host>[^/:]+):(?P<port>\d+)(/.*)?$")


def _store_flows(inv: Inventory) -> list[Flow]:
    flows: list[Flow] = []
    for pod, spec in inv.pods:
        for data, source in _loaded_config(inv, pod, spec):
            for host_key, port_key in STORE_KEYS:
                host, port = str(data.get(host_key) or ""), str(data.get(port_key) or "")
                if host and port.isdigit():
                    flows += [Flow(pod, dst, p, f"{source} {host_key}")
                              for dst, p in _store_targets(inv, pod.namespace, host, int(port))]
            for key in URL_KEYS:
                if (url := URL.match(str(data.get(key) or ""))) is not None:
                    flows += [Flow(pod, dst, p, f"{source} {key}")
                              for dst, p in _store_targets(inv, pod.namespace, url["host"], int(url["port"]))]
    return flows


def _store_targets(inv: Inventory, namespace: str, host: str, port: int) -> list[tuple[Endpoint, Port]]:
    """``postgres`` / ``postgres.pr-7.svc.cluster.local`` is a Service; anything else a managed store."""
    name, _, rest = host.partition(".")
    ns = rest.split(".")[0] if ".svc" in f".{rest}" and rest else namespace
    if inv.service(ns, name) is not None:
        return service_targets(inv, ns, name, port)
    # RDS / ElastiCache endpoints resolve to addresses in the VPC's private subnets.
    return [(Endpoint(ref=host, cidr=inv.vpc_cidr, origin="AWS"), Port(port))]


def _loaded_config(inv: Inventory, pod: Endpoint, spec: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], str]]:
    names = {ref["configMapRef"]["name"] for c in spec.get("containers") or []
             for ref in c.get("envFrom") or [] if ref.get("configMapRef")}
    for name in sorted(names):
        data = inv.configmaps.get((pod.namespace, name))
        if data is not None:
            yield data, f"ConfigMap {pod.namespace}/{name}"


def _bound_service_accounts(objects: Sequence[Obj]) -> set[tuple[str, str]]:
    """(namespace, name) of every ServiceAccount a binding grants a non-empty role to.

    A role missing from the objects (a built-in ClusterRole such as ``view``) counts as granting.
    """
    roles = {(o.kind, o.namespace if o.kind == "Role" else "", o.name): o for o in objects
             if o.kind in ("Role", "ClusterRole")}
    bound = set()
    for o in objects:
        if o.kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        ref = o.body.get("roleRef") or {}
        role = roles.get((ref.get("kind", ""), o.namespace if ref.get("kind") == "Role" else "", ref.get("name", "")))
        if role is not None and not role.body.get("rules") and not role.body.get("aggregationRule"):
            continue
        bound |= {(str(s.get("namespace") or o.namespace), str(s["name"]))
                  for s in o.body.get("subjects") or [] if s.get("kind") == "ServiceAccount"}
    return bound


# ---------------------------------------------------------------------------------------------
# NetworkPolicy semantics.
# ---------------------------------------------------------------------------------------------


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    """policyTypes, defaulted as the API server does: Ingress always, Egress when rules are given."""
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if "egress" in spec else ["Ingress"]


def selecting(inv: Inventory, pod: Endpoint, direction: str) -> list[Obj]:
    """The policies that isolate ``pod`` for ``direction`` (``Ingress`` / ``Egress``)."""
    return [p for p in inv.policies if p.namespace == pod.namespace
            and direction in policy_types(p.body.get("spec") or {})
            and matches((p.body.get("spec") or {}).get("podSelector"), pod.labels)]


def port_matches(rule_ports: Sequence[Mapping[str, Any]] | None, port: Port, dst: Endpoint) -> bool:
    if not rule_ports:
        return True
    for rp in rule_ports:
        if str(rp.get("protocol") or "TCP") != port.protocol:
            continue
        value = rp.get("port")
        if value is None:
            return True
        if isinstance(value, str) and not value.isdigit():
            # A named port means the destination pod's container port of that name and protocol.
            if dst.is_pod and any(p.name == value and p.port == port.port and p.protocol == port.protocol
                                  for p in dst.ports):
                return True
            continue
        low = int(value)
        if low <= port.port <= int(rp.get("endPort") or low):
            return True
    return False


def _pod_peer_matches(peer: Mapping[str, Any], policy_ns: str, other: Endpoint, inv: Inventory) -> bool:
    if "ipBlock" in peer or not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], inv.namespace_labels(other.namespace)):
            return False
    elif other.namespace != policy_ns:
        return False
    return "podSelector" not in peer or matches(peer["podSelector"], other.labels)


def ip_block(peer: Mapping[str, Any]) -> list[Network]:
    """The addresses an ipBlock admits: ``cidr`` minus every ``except``."""
    block = peer["ipBlock"]
    allowed = [ipaddress.ip_network(block["cidr"], strict=False)]
    for ex in block.get("except") or []:
        allowed = subtract(allowed, ipaddress.ip_network(ex, strict=False))
    return allowed


def subtract(nets: Sequence[Network], hole: Network) -> list[Network]:
    """The addresses of ``nets`` outside ``hole``, as networks."""
    out: list[Network] = []
    for net in nets:
        if net.version != hole.version or not net.overlaps(hole):
            out.append(net)
        elif not net.subnet_of(hole):  # type: ignore[arg-type]
            out.extend(net.address_exclude(hole))  # type: ignore[arg-type]
    return out


def covered(target: Network, allowed: Sequence[Network]) -> bool:
    """Whether the union of ``allowed`` contains every address of ``target``."""
    pieces = [target]
    for net in allowed:
        pieces = subtract(pieces, net)
    return not pieces


def admits(inv: Inventory, local: Endpoint, other: Endpoint, port: Port, dst: Endpoint, direction: str) -> bool:
    """Whether ``local`` (isolated for ``direction``) lets the flow with ``other`` through."""
    policies = selecting(inv, local, direction)
    if not policies:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    blocks: list[Network] = []
    for policy in policies:
        for rule in (policy.body.get("spec") or {}).get(key) or []:
            if not port_matches(rule.get("ports"), port, dst):
                continue
            peers = rule.get(peers_key)
            if not peers:
                return True
            if any(_pod_peer_matches(p, policy.namespace, other, inv) for p in peers):
                return True
            blocks += [net for p in peers if "ipBlock" in p for net in ip_block(p)]
    network = other.network()
    return network is not None and covered(network, blocks)


def blocked_side(inv: Inventory, flow: Flow) -> str | None:
    """``egress`` / ``ingress`` / ``egress and ingress`` when the flow is blocked, else None."""
    sides = []
    if flow.src.is_pod and not flow.src.host_network \
            and not admits(inv, flow.src, flow.dst, flow.port, flow.dst, "Egress"):
        sides.append("egress")
    if flow.dst.is_pod and not flow.dst.host_network \
            and not admits(inv, flow.dst, flow.src, flow.port, flow.dst, "Ingress"):
        sides.append("ingress")
    return " and ".join(sides) or None


def _names(policies: Sequence[Obj]) -> str:
    return ", ".join(sorted(p.name for p in policies))


def check(objects: Sequence[Obj], vpc_cidr: str = eks.OFFLINE_VPC_CIDR, shared: Sequence[Obj] = ()) -> list[Finding]:
    """A ``blocked-flow`` finding per required flow that a NetworkPolicy blocks. ``shared``: the
    objects of the platform stack a PR stack's objects share the cluster with; then only the flows
    with one end in ``objects`` are judged (the platform stack's plan judges its own)."""
    findings: dict[str, Finding] = {}
    inv, required = _judged_flows(objects, vpc_cidr, shared)
    for flow in required:
        side = blocked_side(inv, flow)
        if side is None:
            continue
        parts = []
        if "egress" in side:
            parts.append(f"egress of {flow.src.ref} (policies {_names(selecting(inv, flow.src, 'Egress'))})")
        if "ingress" in side:
            parts.append(f"ingress of {flow.dst.ref} (policies {_names(selecting(inv, flow.dst, 'Ingress'))})")
        subject = flow.describe()
        findings.setdefault(subject, Finding(
            check=CHECK, subject=subject,
            what=f"needed by {flow.why}, blocked by the {' and the '.join(parts)}",
            fix="add a NetworkPolicy rule admitting this peer and port on the blocking side "
                "(components/namespaces.py)",
            details={"side": side, "why": flow.why, "port": flow.port.port, "protocol": flow.port.protocol}))
    return sorted(findings.values(), key=lambda f: f.subject)


def flows(objects: Sequence[Obj], vpc_cidr: str = eks.OFFLINE_VPC_CIDR, shared: Sequence[Obj] = ()) -> list[Flow]:
    """Every required flow that ``check`` judges (for tests and the plan's summary)."""
    return _judged_flows(objects, vpc_cidr, shared)[1]


def _judged_flows(objects: Sequence[Obj], vpc_cidr: str, shared: Sequence[Obj]) -> tuple[Inventory, list[Flow]]:
    if not shared:
        inv = inventory(objects, vpc_cidr)
        return inv, required_flows(objects, inv)
    everything = [*objects, *shared]
    inv = inventory(everything, vpc_cidr)
    own = {p.ref for p, _ in inventory(objects, vpc_cidr).pods if p.origin != "EKS"}
    return inv, [f for f in required_flows(everything, inv) if f.src.ref in own or f.dst.ref in own]



