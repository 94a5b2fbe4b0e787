"""Judge the whole cluster offline: the program's Kubernetes objects plus every object each Helm
Release renders, through every registered whole-cluster check.

``judge(plan)`` renders each Release with Helm's own engine (tools.offline.helm), builds one
object list (program objects as ``tools plan --manifests`` writes them, rendered objects with
their origin ``Release <name>`` and hook marks) and runs :data:`CHECKS` over it. A check is
``(id, function(objects, context) -> list[Finding])``; another module registers one with
:func:`register` (NetworkPolicy reachability, alert rules, scanners on rendered output).

A stack that does not install the shared platform (a PR stack on staging's cluster) still has its
custom resources judged against the platform's CRDs: the caller passes the platform stack's
Releases (``platform=``), which are rendered for their CRDs (cached like any other render). With
the platform stack's own objects too (``platform_objects=``), the network check sees the cluster
the PR joins (staging's Gateway, Envoy proxy, namespaces and policies) and judges every flow with
one end in the PR stack (the shared proxy → the PR's app); the other checks judge only the stack's own.

Under ``pulumi preview --policy-pack policies`` the pack renders the Releases it receives with
the same kernel (policies/rendering.py) and every Kubernetes resource rule judges the rendered
objects with the same function this plan's ``pack-rules`` check calls
(policies/rules/_rendered.py), so both paths report the same rule findings for a Release. The
other whole-cluster checks (CRD schemas, admission, quota, reachability, alerts) run offline only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.offline import helm
from tools.offline.checks import admission, alerts, crds, netpol, pack, quota
from tools.offline.checks.base import PROGRAM, Finding, Obj
from tools.offline.checks.skip import Skip

PLATFORM_STACK = "staging"
"""The stack whose Releases install the CRDs and operators PR stacks use (same cluster)."""


@dataclass
class Context:
    stack: str = ""
    platform_crds: list[Obj] = field(default_factory=list)
    """CRDs the cluster serves that this stack does not install (the shared platform's)."""
    shared: list[Obj] = field(default_factory=list)
    """The platform stack's objects (program and rendered) a PR stack's objects live among."""
    skipped: list[Skip] = field(default_factory=list)
    policy_config: dict[str, Any] = field(default_factory=dict)
    """The environment's policy pack config (``policies/config/<environment>.json``)."""


Check = Callable[[Sequence[Obj], Context], list[Finding]]
CHECKS: list[tuple[str, Check]] = [
    (crds.CHECK, lambda objects, ctx: crds.check(objects, crds=ctx.platform_crds, skipped=ctx.skipped)),
    (admission.CHECK, lambda objects, ctx: admission.check(objects, skipped=ctx.skipped)),
    (quota.CHECK, lambda objects, ctx: quota.check(objects)),
    (pack.CHECK, lambda objects, ctx: pack.check(objects, ctx.policy_config, skipped=ctx.skipped)),
    ("network-reachability", lambda objects, ctx: netpol.check(objects, shared=ctx.shared)),
    ("alert-rules", lambda objects, ctx: alerts.check(objects)),
]


def register(check_id: str, function: Check) -> None:
    """Adds a whole-cluster check (replacing one of the same id)."""
    CHECKS[:] = [(i, f) for i, f in CHECKS if i != check_id] + [(check_id, function)]


@dataclass
class ClusterReport:
    stack: str
    releases: list[helm.Rendered]
    objects: list[Obj]
    findings: dict[str, list[Finding]]
    """Per check id (``helm-render`` first), in CHECKS order; empty list = passed."""
    skipped: list[Skip]
    missing_charts: list[str]
    render_seconds: float
    check_seconds: float

    @property
    def errors(self) -> list[Finding]:
        """Findings that fail the plan: every check's, but a pack rule's where the rule is advisory
        in the environment (``pack.is_advisory``), as under the real pack."""
        return [f for fs in self.findings.values() for f in fs if not pack.is_advisory(f)]

    @property
    def advisories(self) -> list[Finding]:
        return [f for fs in self.findings.values() for f in fs if pack.is_advisory(f)]

    def per_release(self) -> list[str]:
        """``Release ingress-cert-manager (cert-manager v1.21.1): 52 objects (4 hooks, 6 CRDs); 1 finding``."""
        lines = []
        for r in self.releases:
            ours = (r.spec.origin, f"{r.spec.origin} ")
            mine = [f for f in self.errors if f.subject == ours[0] or f.subject.startswith(ours[1])]
            advice = [f for f in self.advisories if f.subject.startswith(ours[1])]
            hooks = sum(1 for o in r.objects if o.hook)
            lines.append(f"{r.spec.origin} ({r.spec.chart_name} {r.spec.version}): {len(r.objects)} objects "
                         f"({hooks} hooks, {len(r.crds)} CRDs); "
                         + (f"{len(mine)} finding(s)" if mine else "all checks pass")
                         + (f", {len(advice)} advisory" if advice else ""))
        return lines

    def text(self) -> str:
        lines = [f"Cluster ({self.stack}): {len(self.objects)} objects, "
                 f"{sum(len(r.objects) for r in self.releases)} rendered from {len(self.releases)} Release(s) "
                 f"in {self.render_seconds:.2f}s, checks in {self.check_seconds:.2f}s"]
        lines += [f"  {line}" for line in self.per_release()]
        lines += [f"  warning: {m}" for m in self.missing_charts]
        if self.missing_charts:
            lines.append("  checks: not run (the cluster is incomplete without every chart)")
            return "\n".join(lines)
        failing = {id(f) for f in self.errors}
        lines.append("  checks: " + ", ".join(
            f"{c} {_summary(sum(id(f) in failing for f in fs), len(fs))}" for c, fs in self.findings.items()))
        lines += [f"  {f.line()}" for f in self.errors]
        lines += [f"  advisory: {f.line()}" for f in self.advisories]
        lines += [f"  {s.line()}" for s in self.skipped]
        return "\n".join(lines)


def _summary(failed: int, found: int) -> str:
    if not found:
        return "ok"
    return " ".join(([f"FAIL {failed}"] if failed else []) + ([f"advisory {found - failed}"] if found > failed else []))


# ------------------------------------------------------------------------------------------
# From a plan
# ------------------------------------------------------------------------------------------


def _resources(plan: Any) -> list[tuple[str, str, Mapping[str, Any]]]:
    if isinstance(plan, Mapping):
        return [(r["urn"], r["type"], r.get("inputs") or {}) for r in plan["deployment"]["resources"]]
    return [(r.urn, r.type, r.inputs) for r in plan.resources]


def program_objects(plan: Any) -> list[Obj]:
    """The program's own Kubernetes objects, exactly as ``tools plan --manifests`` writes them."""
    from tools.offline import mockrun
    from tools.offline.plan import manifests

    if isinstance(plan, Mapping):  # a stack export: rebuild the records manifests() reads
        records = [mockrun.Recorded(urn=r["urn"], type=r["type"], name=r["urn"].rsplit("::", 1)[-1],
                                    custom=bool(r.get("custom")), parent=r.get("parent", ""),
                                    inputs=_exported_secrets(r.get("inputs") or {}),
                                    outputs=helm.helm_values(r.get("outputs") or {}))
                   for r in plan["deployment"]["resources"] if r.get("custom")]
        plan = mockrun.Plan(project="", stack="", resources=records, stack_outputs={}, warnings=[], errors=[])
    return [Obj(body=body, origin=PROGRAM) for body in manifests(plan).values()]


def _exported_secrets(value: Any) -> Any:
    """Export form (ciphertext only) → wire form with a redacted value, which manifests() expects."""
    if isinstance(value, dict):
        if value.get(helm._SIG) == helm._SECRET_SIG:
            return {helm._SIG: helm._SECRET_SIG, "value": helm.SECRET_PLACEHOLDER}
        return {k: _exported_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exported_secrets(v) for v in value]
    return value


def platform_stack() -> tuple[list[helm.ReleaseSpec], list[Obj]]:
    """The Releases and the program objects of the stack that installs the shared platform (its
    program run offline)."""
    from tools.offline.plan import build

    plan = build(PLATFORM_STACK, reproducible=True)
    return helm.releases(_resources(plan)), program_objects(plan)


def judge_stack(plan: Any, stack: str, environment: str) -> ClusterReport:
    """``judge`` for ``tools plan``: an ephemeral stack is judged among the shared platform."""
    if environment != "ephemeral" or not helm.charts_dir().is_dir():
        return judge(plan, stack=stack, environment=environment)
    specs, objects = platform_stack()
    return judge(plan, stack=stack, environment=environment, platform=specs, platform_objects=objects)


def _policy_config(environment: str) -> dict[str, Any]:
    if not environment:
        return {}
    from tools.offline import check

    return check.load_policy_config(environment)


def judge(plan: Any, *, stack: str = "", environment: str = "", charts: Path | None = None,
          cache: Path | None = None, platform: Sequence[helm.ReleaseSpec] | None = None,
          platform_objects: Sequence[Obj] = ()) -> ClusterReport:
    """``plan``: a ``mockrun.Plan`` or a ``pulumi stack export`` document of one. ``environment``
    selects the policy pack config the pack's rules use on rendered objects."""
    charts = charts if charts is not None else helm.charts_dir()
    cache = cache if cache is not None else helm.cache_dir()
    started = time.perf_counter()
    specs = helm.releases(_resources(plan))
    if not charts.is_dir():
        missing = [f"Releases not rendered nor judged: the chart folder {helm.CHARTS_ENV}={charts} does not exist; "
                   "fill it with `make charts` (needs access to the chart repositories)"] if specs else []
    else:
        missing = [str(e) for e in _missing(specs, charts)]
    platform_crds: list[Obj] = []
    shared: list[Obj] = list(platform_objects)
    if platform:
        for r in helm.render_all([s for s in platform if not _missing([s], charts)], charts, cache=cache):
            platform_crds += r.crds
            shared += r.objects if platform_objects else []
    rendered = helm.render_all([s for s in specs if not _missing([s], charts)], charts, cache=cache,
                               extra_crds=platform_crds) if charts.is_dir() else []
    render_seconds = time.perf_counter() - started

    started = time.perf_counter()
    objects = program_objects(plan) + [o for r in rendered for o in r.objects]
    context = Context(stack=stack, platform_crds=platform_crds, shared=shared, policy_config=_policy_config(environment))
    findings: dict[str, list[Finding]] = {"helm-render": [f for r in rendered for f in r.findings]}
    if not missing:  # without every chart the cluster is incomplete: say so (above), judge nothing
        for check_id, function in CHECKS:
            findings[check_id] = function(objects, context)
    return ClusterReport(stack=stack, releases=rendered, objects=objects, findings=findings,
                         skipped=context.skipped, missing_charts=missing, render_seconds=render_seconds,
                         check_seconds=time.perf_counter() - started)


def _missing(specs: Sequence[helm.ReleaseSpec], charts: Path) -> list[helm.ChartMissingError]:
    out = []
    for s in specs:
        try:
            helm.archive(s, charts)
        except helm.ChartMissingError as exc:
            out.append(exc)
    return out
