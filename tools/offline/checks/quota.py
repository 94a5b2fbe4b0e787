"""ResourceQuota and LimitRange fit, per namespace: steady state, hooks, and a rolling-update surge.

What the API server does with a Pod (Kubernetes 1.31 admission: LimitRanger, then ResourceQuota):

* LimitRanger fills a container's missing ``requests``/``limits`` from the namespace's
  LimitRange ``defaultRequest``/``default`` (a container with limits but no requests gets
  requests = limits), then rejects a container outside the LimitRange ``min``/``max``;
* ResourceQuota rejects a Pod without a request/limit for a resource the quota constrains, and a
  Pod whose usage would take the namespace over ``hard``. A Pod uses, per resource, the larger
  of the sum of its containers and its largest init container. Finished pods do not count.

Three moments are checked against each quota:

* **steady**: every Deployment/StatefulSet/ReplicaSet × replicas, DaemonSet × :data:`NODES`
  (the node count is not known offline: an assumption, stated in the message), bare Pods, and
  Jobs/CronJobs running once (parallelism);
* **hooks**: steady + the largest Helm hook pod (Helm runs a release's hooks one at a time and
  waits for each, so one hook pod runs at a time; a post-install hook runs beside everything);
* **surge**: steady + every Deployment's ``maxSurge`` (default 25 %, rounded up) extra pods, as
  when an upgrade rolls all of them at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tools.offline.checks.admission import pod_spec
from tools.offline.checks.base import Finding, Obj

CHECK = "quota-fit"
NODES = 3
"""DaemonSet pods assumed per namespace (one per node)."""
RESOURCES = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
ALIASES = {"cpu": "requests.cpu", "memory": "requests.memory"}
INSTALL_HOOKS = ("pre-install", "post-install", "pre-upgrade", "post-upgrade")

_SUFFIX: dict[str, int | Decimal] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
           "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
           "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|)$")


def quantity(value: Any) -> Decimal:
    """A Kubernetes quantity (``500m``, ``1.5Gi``, ``2``) as a number of base units."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return Decimal(match.group(1)) * Decimal(_SUFFIX[match.group(2)])


def show(resource: str, amount: Decimal) -> str:
    if resource.endswith("cpu"):
        return f"{(amount * 1000).normalize():f}m"
    return f"{(amount / 2**20).quantize(Decimal('0.1')).normalize():f}Mi"


@dataclass
class Usage:
    amounts: dict[str, Decimal] = field(default_factory=lambda: {r: Decimal(0) for r in RESOURCES})
    pods: int = 0

    def add(self, other: Usage, times: int = 1) -> Usage:
        out = Usage({r: self.amounts[r] + other.amounts[r] * times for r in RESOURCES}, self.pods + other.pods * times)
        return out


@dataclass(frozen=True)
class Limits:
    default: Mapping[str, Any] = field(default_factory=dict)
    default_request: Mapping[str, Any] = field(default_factory=dict)
    max: Mapping[str, Any] = field(default_factory=dict)
    min: Mapping[str, Any] = field(default_factory=dict)


def limit_ranges(objects: Sequence[Obj]) -> dict[str, Limits]:
    out: dict[str, Limits] = {}
    for o in objects:
        if o.kind != "LimitRange":
            continue
        for item in (o.body.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container":
                out[o.namespace] = Limits(item.get("default") or {}, item.get("defaultRequest") or {},
                                          item.get("max") or {}, item.get("min") or {})
    return out


def container_resources(c: Mapping[str, Any], limits: Limits | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(requests, limits) after LimitRanger's defaulting."""
    res = c.get("resources") or {}
    # A null quantity is no quantity (the API server drops it), so LimitRanger defaults it.
    req = {r: v for r, v in (res.get("requests") or {}).items() if v is not None}
    lim = {r: v for r, v in (res.get("limits") or {}).items() if v is not None}
    if limits is not None:
        for r, v in limits.default.items():
            lim.setdefault(r, v)
        for r, v in limits.default_request.items():
            req.setdefault(r, v)
    for r, v in lim.items():
        req.setdefault(r, v)  # requests default to limits
    return req, lim


def pod_usage(spec: Mapping[str, Any], limits: Limits | None) -> tuple[Usage, list[str]]:
    """One pod's quota usage, and the LimitRange / missing-value problems of its containers."""
    problems: list[str] = []
    main = {r: Decimal(0) for r in RESOURCES}
    init = {r: Decimal(0) for r in RESOURCES}
    for key, target in (("containers", main), ("initContainers", init)):
        for c in spec.get(key) or []:
            req, lim = container_resources(c, limits)
            for r in RESOURCES:
                kind, name = r.split(".")
                raw = (req if kind == "requests" else lim).get(name)
                if raw is None:
                    continue
                amount = quantity(raw)
                if key == "containers" or (c.get("restartPolicy") == "Always"):  # sidecars run beside the app
                    main[r] += amount
                else:
                    target[r] = max(target[r], amount)
            if limits is not None:
                for name, bound in limits.max.items():
                    if name in lim and quantity(lim[name]) > quantity(bound):
                        problems.append(f"container {c.get('name')}: limit {name} {lim[name]} is over the LimitRange max {bound}")
                for name, bound in limits.min.items():
                    if name in req and quantity(req[name]) < quantity(bound):
                        problems.append(f"container {c.get('name')}: request {name} {req[name]} is under the LimitRange min {bound}")
    return Usage({r: max(main[r], init[r]) for r in RESOURCES}, 1), problems


def missing_for_quota(spec: Mapping[str, Any], limits: Limits | None, hard: Mapping[str, Any]) -> list[str]:
    out = []
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            req, lim = container_resources(c, limits)
            for r in hard:
                r = ALIASES.get(r, r)
                if r in RESOURCES:
                    kind, name = r.split(".")
                    if name not in (req if kind == "requests" else lim):
                        out.append(f"container {c.get('name')} sets no {r} (the quota requires it)")
    return out


def replicas(obj: Obj) -> int:
    spec = obj.body.get("spec") or {}
    if obj.kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        return int(spec.get("replicas", 1))
    if obj.kind == "DaemonSet":
        return NODES
    if obj.kind == "Job":
        return int(spec.get("parallelism", 1))
    if obj.kind == "CronJob":
        return int(((spec.get("jobTemplate") or {}).get("spec") or {}).get("parallelism", 1))
    return 1


def surge(obj: Obj) -> int:
    if obj.kind != "Deployment":
        return 0
    strategy = (obj.body.get("spec") or {}).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    n = replicas(obj)
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(n * int(value[:-1]) / 100)
    return int(value)


def check(objects: Sequence[Obj]) -> list[Finding]:
    ranges = limit_ranges(objects)
    quotas = [o for o in objects if o.kind == "ResourceQuota"]
    findings: list[Finding] = []
    by_ns: dict[str, list[tuple[Obj, Mapping[str, Any]]]] = {}
    for o in objects:
        spec = pod_spec(o)
        if spec is not None and (o.hook is None or any(h in o.hook for h in INSTALL_HOOKS)):
            by_ns.setdefault(o.namespace, []).append((o, spec))
    for ns, workloads in by_ns.items():
        limits = ranges.get(ns)
        usages = {}
        for o, spec in workloads:
            usage, problems = pod_usage(spec, limits)
            usages[id(o)] = usage
            findings += [Finding(CHECK, o.describe(), f"rejected by the LimitRange: {p}",
                                 fix="size the container within the namespace's LimitRange") for p in problems]
        for quota in (q for q in quotas if q.namespace == ns):
            hard = (quota.body.get("spec") or {}).get("hard") or {}
            findings += _fit(quota, hard, workloads, usages, limits)
    return findings


def _fit(quota: Obj, hard: Mapping[str, Any], workloads: Sequence[tuple[Obj, Mapping[str, Any]]],
         usages: Mapping[int, Usage], limits: Limits | None) -> list[Finding]:
    out: list[Finding] = []
    for o, spec in workloads:
        out += [Finding(CHECK, o.describe(), f"rejected by ResourceQuota {quota.namespace}/{quota.name}: {m}",
                        fix="set requests and limits (chart values) or a LimitRange default") for m in
                missing_for_quota(spec, limits, hard)]
    steady = Usage()
    for o, _ in workloads:
        if o.hook is None:
            steady = steady.add(usages[id(o)], replicas(o))
    hooks = [(o, usages[id(o)]) for o, _ in workloads if o.hook is not None]
    peak_surge = steady
    for o, _ in workloads:
        if o.hook is None and surge(o):
            peak_surge = peak_surge.add(usages[id(o)], surge(o))
    note = f" (DaemonSets counted × {NODES} nodes)" if any(o.kind == "DaemonSet" for o, _ in workloads) else ""
    where = f"ResourceQuota {quota.namespace}/{quota.name}"

    def finding(subject: str, label: str, usage: Usage, over: list[str]) -> Finding:
        return Finding(CHECK, subject, f"{label} exceeds {where}: " + ", ".join(over) + note,
                       fix="raise the namespace quota in the profile or size the pods down (chart values)",
                       details={"usage": {r: str(v) for r, v in usage.amounts.items()}, "pods": usage.pods})

    over = _over(steady, hard)
    if over:  # hooks and surges come on top: one finding says it all
        return [*out, finding(where, "the steady state", steady, over)]
    for o, u in hooks:
        over = _over(steady.add(u), hard)
        if over:
            out.append(finding(o.describe(), f"Helm hook ({o.hook}) beside the steady state", steady.add(u), over))
    over = _over(peak_surge, hard)
    if over:
        out.append(finding(where, "a rolling update (every Deployment's maxSurge at once)", peak_surge, over))
    return out


def _over(usage: Usage, hard: Mapping[str, Any]) -> list[str]:
    out = []
    for key, limit in hard.items():
        r = ALIASES.get(key, key)
        if r in RESOURCES and usage.amounts[r] > quantity(limit):
            out.append(f"{r} {show(r, usage.amounts[r])} > {show(r, quantity(limit))}")
        elif r == "pods" and usage.pods > int(limit):
            out.append(f"pods {usage.pods} > {limit}")
    return out
