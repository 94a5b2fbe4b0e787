"""The pack's Kubernetes resource rules over what a Helm Release creates: one function for both paths.

A ``helm.v3.Release`` reaches the engine as an opaque box of values. Every Kubernetes resource
rule (``resource_rule`` with a ``kubernetes:`` type) therefore also receives the Releases, renders
each with ``policies/rendering.py`` (memoised: once per Release and process, whichever rule asks
first) and judges every rendered object of its types with :func:`judge_objects`, under its own
name, enforcement level and config. The offline plan (``tools/offline/checks/pack.py``) calls the
same :func:`judge_objects` on the objects it rendered with the same kernel, so ``tools plan`` and
``pulumi preview --policy-pack policies`` report the same findings for the same Release, named
``Release <name> → <Kind> <namespace>/<name>``.

Written exceptions for chart-created objects, never a silent skip: the pack's suppression
annotation on the rendered object (when the chart lets the values set it), or the rule's
``renderedSuppressions`` option in policies/config/<environment>.json
(``{"Release <name> → <Kind> <ns>/<name>": "<reason>"}``); both only for suppressible categories
and only with a reason (``suppression_problem``). Security rules take none: what a chart cannot
meet is fixed through its values, or named in the rule's own allow-list option with a reason
(``apiClients`` of k8s-no-sa-token-automount, ``systemAddons`` of k8s-no-default-namespace).

The pod's effective token setting: a pod template that does not set automountServiceAccountToken
inherits its ServiceAccount's; when the same Release renders that ServiceAccount with ``false``,
the object is judged with the value the kubelet applies.

Under a real preview the engine hands the pack secrets in plaintext, so the pack only reads the
on-disk render cache there (rendered output never reaches the disk); ``tools check`` (mock or
redacted secrets only) lets it write (``rendering.CACHE_WRITES_ENV``). Capabilities: a Release sees the
APIs of its own CRDs and of the Releases the engine sent before it in the same stack (the program
orders a Release after the Releases whose CRDs it uses, with ``depends_on``). A PR stack does not
render the shared platform's CRDs here, so a template gated on one of them (a ServiceMonitor) is
not rendered by the pack for PR stacks; the offline plan renders it with staging's CRDs.

Under ``tools plan`` the driver has rendered every Release already (its whole-cluster step) and
hands the pack those objects (``rendering.HANDOFF_ENV``): the pack judges them with the same
rules instead of rendering each Release a second time. A Release the driver reports itself (no
chart folder on a fresh clone, ``--no-render``) is handed off as ``unjudged``: the plan says so in
one line, and the pack adds no finding of its own for it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._core import PREVIEW_UNKNOWN, RENDERED_SUPPRESSIONS, Context, Meta, suppression_problem, suppressions

try:  # tools, tests: the repository root is on sys.path
    from policies import rendering
except ImportError:  # the engine runs the pack with policies/ as its root
    import rendering  # type: ignore[no-redef]


def pulumi_type(body: Mapping[str, Any]) -> str:
    """The Pulumi type a rendered object would have: ``apps/v1`` Deployment → ``kubernetes:apps/v1:Deployment``."""
    group, _, version = str(body.get("apiVersion", "")).rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{body.get('kind', '')}"


@dataclass
class Judged:
    violations: list[tuple[str, str]] = field(default_factory=list)
    """``(subject, what)``."""
    suppressed: list[tuple[str, str]] = field(default_factory=list)
    """``(subject, reason)``: suppressions that waived a violation."""
    not_applicable: list[tuple[str, str]] = field(default_factory=list)
    """``(subject, reason)``: host-access rules an allow-listed node agent is not judged by."""


def judge_objects(meta: Meta, validate: Callable[..., Iterable[str]], objects: Sequence[tuple[str, Mapping[str, Any]]],
                  config: Mapping[str, Any], node_agents: Mapping[str, Any] | None = None) -> Judged:
    """One rule over the rendered objects of one Release (``(subject, body)``). ``config``: the
    rule's options (without ``enforcementLevel``); ``node_agents``: k8s-namespace-pod-security's
    options, whose ``privilegedNamespaces`` name the DaemonSets the host-access rules don't judge
    (``k8s_namespaces.HOST_ACCESS_RULES``: what their namespace's level admits)."""
    from .k8s_namespaces import HOST_ACCESS_RULES, node_agent_reason

    extra = config.get(RENDERED_SUPPRESSIONS) or {}
    accounts = _service_accounts(objects)
    out = Judged()
    for subject, body in objects:
        type_ = pulumi_type(body)
        if type_ not in meta.types:
            continue
        body = _effective(body, accounts)
        name = str((body.get("metadata") or {}).get("name") or "")
        found = list(validate(body, Context(type=type_, name=name, urn=subject, config=config)))
        agent = node_agent_reason(type_, body, node_agents or {}) if meta.id in HOST_ACCESS_RULES else None
        if agent is not None:
            if found:
                out.not_applicable.append((subject, f"allow-listed node agent: {agent}"))
            continue
        declared = {**suppressions(type_, body), **({meta.id: extra[subject]} if subject in extra else {})}
        if meta.id in declared:
            problem = suppression_problem(meta, declared[meta.id])
            if problem is None:
                if found:
                    out.suppressed.append((subject, str(declared[meta.id]).strip()))
                continue
            found.append(problem)
        out.violations += [(subject, what) for what in found]
    return out


def _service_accounts(objects: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], Any]:
    return {(str(m.get("namespace") or ""), str(m.get("name") or "")): b.get("automountServiceAccountToken")
            for _, b in objects if b.get("kind") == "ServiceAccount" for m in (b.get("metadata") or {},)}


_TEMPLATE = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
             "DaemonSet": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"),
             "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"), "Pod": ("spec",)}


def _effective(body: Mapping[str, Any], accounts: Mapping[tuple[str, str], Any]) -> Mapping[str, Any]:
    """The object with the pod's effective automountServiceAccountToken when only its ServiceAccount sets it."""
    path = _TEMPLATE.get(str(body.get("kind")))
    spec: Any = body
    for key in path or ():
        spec = spec.get(key) if isinstance(spec, Mapping) else None
    if not isinstance(spec, Mapping) or "automountServiceAccountToken" in spec:
        return body
    namespace = str((body.get("metadata") or {}).get("namespace") or "")
    if accounts.get((namespace, str(spec.get("serviceAccountName") or "default"))) is not False:
        return body
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path or ():
        target = target[key]
    target["automountServiceAccountToken"] = False
    return copy


# ------------------------------------------------------------------------------------------
# The pack's path: render the Releases the engine sends
# ------------------------------------------------------------------------------------------


@dataclass
class Release:
    """A Release as the pack rendered it: the objects (``(subject, body)``) or why there are none."""

    spec: rendering.ReleaseSpec
    objects: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    problem: str | None = None
    """Helm's message, or the missing chart and how to get it."""


_LOCK = threading.Lock()
_RENDERED: dict[str, Release] = {}
_HANDED: dict[str, Release] = {}
"""Hand-off records by content digest (the same record stands for the same Release in every check)."""
_CRDS: dict[str, dict[str, Mapping[str, Any]]] = {}
"""Per stack (URN prefix): the CRDs of the Releases rendered so far, by Release URN."""


def helm_inputs(value: Any) -> Any:
    """Engine properties → what Helm receives: preview unknowns become the placeholder, integral
    numbers (protobuf carries every number as a double) become ints, as on the offline path."""
    if value is PREVIEW_UNKNOWN:
        return rendering.UNKNOWN_PLACEHOLDER
    if isinstance(value, Mapping):
        return {k: helm_inputs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [helm_inputs(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def release(urn: str, name: str, props: Mapping[str, Any]) -> Release:
    """The Release ``urn`` rendered (once per process and inputs), with the cluster's APIs so far;
    or, under the offline driver, what it rendered and handed off (``rendering.HANDOFF_ENV``)."""
    inputs = helm_inputs(props)
    key = json.dumps([urn, inputs], sort_keys=True, default=str)
    with _LOCK:
        spec = rendering.release_spec(name, inputs)
        digest = rendering.handed_off(urn, spec)
        if digest is not None:
            if digest not in _HANDED:
                _HANDED[digest] = _from_handoff(spec, rendering.handoff_record(digest))
            return _HANDED[digest]
        if key not in _RENDERED:
            _RENDERED[key] = _render(urn, spec)
        return _RENDERED[key]


def _from_handoff(spec: rendering.ReleaseSpec, record: Mapping[str, Any]) -> Release:
    """What the offline driver rendered (``rendering.HANDOFF_ENV``): its objects, Helm's message,
    or nothing to judge here when the driver reports the Release itself (``unjudged``: no chart
    folder, ``--no-render``), in one line of its own plan output."""
    if "problem" in record:
        return Release(spec, problem=str(record["problem"]))
    return Release(spec, objects=[(rendering.subject(spec, body), body) for body in record.get("objects") or ()])


def _render(urn: str, spec: rendering.ReleaseSpec) -> Release:
    folders = rendering.charts_dirs()
    if not any(f.is_dir() for f in folders):
        return Release(spec, problem=f"the chart folder {rendering.CHARTS_ENV}={folders[0]} does not exist, so what "
                                     f"{spec.origin} creates cannot be judged; fill it with {spec.how_to_get()}")
    cache, write = rendering.cache_dir(), os.environ.get(rendering.CACHE_WRITES_ENV) == "1"
    try:
        charts = rendering.folder_of(spec, folders)
        seen = _CRDS.setdefault(urn.split("::", 2)[0], {})
        first = rendering.render(spec, charts, api_versions=rendering.served_api_versions(seen.values()),
                                 cache=cache, write=write)
        if first.crds:
            seen.update({f"{urn}#{i}": crd for i, crd in enumerate(first.crds)})
            out = rendering.render(spec, charts, api_versions=rendering.served_api_versions(seen.values()),
                                   cache=cache, write=write)
        else:
            out = first
    except rendering.ChartMissingError as exc:
        return Release(spec, problem=f"{exc}, so what {spec.origin} creates cannot be judged")
    if out.error is not None:
        return Release(spec, problem=out.error)
    return Release(spec, objects=[(rendering.subject(spec, body), body) for body, _ in out.objects])
