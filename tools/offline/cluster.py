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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.rendering import release_identity
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


def render_for(plan: Any, environment: str) -> Rendering:
    """``render_stack`` for ``tools plan``: an ephemeral stack is rendered among the shared platform."""
    if environment != "ephemeral" or not helm.charts_dir().is_dir():
        return render_stack(plan)
    specs, objects = platform_stack()
    return render_stack(plan, platform=specs, platform_objects=objects)


def judge_stack(plan: Any, stack: str, environment: str, rendering: Rendering | None = None) -> ClusterReport:
    """``judge`` for ``tools plan`` (``rendering``: :func:`render_for`'s, made already)."""
    return judge(plan, stack=stack, environment=environment, rendering=rendering or render_for(plan, environment))


def _policy_config(environment: str) -> dict[str, Any]:
    if not environment:
        return {}
    from tools.offline import check

    return check.load_policy_config(environment)


@dataclass
class Rendering:
    """A stack's Releases rendered (the first half of :func:`judge`), ready to judge and to hand
    to the policy pack (:func:`handoff`)."""

    specs: list[helm.ReleaseSpec]
    rendered: list[helm.Rendered]
    charts: Path
    folder_missing: bool
    """The chart folder did not exist when the stack was rendered."""
    absent: dict[str, str]
    """Release logical name → why its chart is not in the (existing) chart folder."""
    platform_crds: list[Obj]
    shared: list[Obj]
    seconds: float

    @property
    def missing(self) -> list[str]:
        """One line per chart not there (or one for a missing chart folder): the cluster is incomplete."""
        if self.folder_missing and self.specs:
            return [f"Releases not rendered nor judged: the chart folder {helm.CHARTS_ENV}={self.charts} does not "
                    "exist; fill it with `make charts` (needs access to the chart repositories)"]
        return list(self.absent.values())


def render_stack(plan: Any, *, charts: Path | None = None, cache: Path | None = None,
                 platform: Sequence[helm.ReleaseSpec] | None = None, platform_objects: Sequence[Obj] = ()) -> Rendering:
    """Renders every Release of ``plan`` (and, for a PR stack, the platform's for their CRDs)."""
    charts = charts if charts is not None else helm.charts_dir()
    cache = cache if cache is not None else helm.cache_dir()
    started = time.perf_counter()
    specs = helm.releases(_resources(plan))
    folder_missing = not charts.is_dir()
    absent = {} if folder_missing else {s.resource: str(e) for s in specs for e in _missing([s], charts)}
    platform_crds: list[Obj] = []
    shared: list[Obj] = list(platform_objects)
    if platform:
        for r in helm.render_all([s for s in platform if not _missing([s], charts)], charts, cache=cache):
            platform_crds += r.crds
            shared += r.objects if platform_objects else []
    rendered = [] if folder_missing else helm.render_all([s for s in specs if s.resource not in absent], charts,
                                                         cache=cache, extra_crds=platform_crds)
    return Rendering(specs=specs, rendered=rendered, charts=charts, folder_missing=folder_missing, absent=absent,
                     platform_crds=platform_crds, shared=shared, seconds=time.perf_counter() - started)


def handoff(plan: Any, rendering: Rendering | None, *, unjudged: str = "") -> dict[str, dict[str, Any]]:
    """What the policy pack receives instead of rendering each Release again (policies/rendering.py
    ``write_handoff``), per Release URN: the rendered objects, Helm's message, or, for a Release
    this plan reports itself in one line (``unjudged``: ``--no-render``, or no chart folder), nothing
    to judge. A chart missing from an existing folder stays the pack's finding: the program pins a
    version nobody pulled. ``rendering`` None: nothing rendered (``unjudged`` says why)."""
    by_name = {r.spec.resource: r for r in (rendering.rendered if rendering else [])}
    missing = rendering.absent if rendering else {}
    reason = unjudged or (rendering.missing[0] if rendering and rendering.folder_missing and rendering.specs else "")
    out: dict[str, dict[str, Any]] = {}
    urns = [urn for urn, type_, _ in _resources(plan) if type_ == helm.HELM_RELEASE]
    specs = rendering.specs if rendering else helm.releases(_resources(plan))  # both in the plan's order
    names = Counter(spec.resource for spec in specs)
    for urn, spec in zip(urns, specs, strict=True):
        if names[spec.resource] > 1:
            continue  # two Releases of one logical name: the pack renders each itself
        record: dict[str, Any] = {"release": release_identity(spec)}
        if reason:
            record["unjudged"] = reason
        elif spec.resource in missing:
            record["problem"] = f"{missing[spec.resource]}, so what {spec.origin} creates cannot be judged"
        elif spec.resource in by_name:
            done = by_name[spec.resource]
            if done.findings:
                record["problem"] = done.findings[0].what
            else:
                record["objects"] = [o.body for o in done.objects]
        else:
            continue
        out[urn] = record
    return out


def judge(plan: Any, *, stack: str = "", environment: str = "", charts: Path | None = None,
          cache: Path | None = None, platform: Sequence[helm.ReleaseSpec] | None = None,
          platform_objects: Sequence[Obj] = (), rendering: Rendering | None = None) -> ClusterReport:
    """``plan``: a ``mockrun.Plan`` or a ``pulumi stack export`` document of one. ``environment``
    selects the policy pack config the pack's rules use on rendered objects. ``rendering``: the
    plan's Releases rendered already (:func:`render_stack`); rendered here otherwise."""
    if rendering is None:
        rendering = render_stack(plan, charts=charts, cache=cache, platform=platform, platform_objects=platform_objects)
    started = time.perf_counter()
    rendered, missing = rendering.rendered, rendering.missing
    objects = program_objects(plan) + [o for r in rendered for o in r.objects]
    context = Context(stack=stack, platform_crds=rendering.platform_crds, shared=rendering.shared,
                      policy_config=_policy_config(environment))
    findings: dict[str, list[Finding]] = {"helm-render": [f for r in rendered for f in r.findings]}
    if not missing:  # without every chart the cluster is incomplete: say so (above), judge nothing
        for check_id, function in CHECKS:
            findings[check_id] = function(objects, context)
    return ClusterReport(stack=stack, releases=rendered, objects=objects, findings=findings,
                         skipped=context.skipped, missing_charts=missing, render_seconds=rendering.seconds,
                         check_seconds=time.perf_counter() - started)


def _missing(specs: Sequence[helm.ReleaseSpec], charts: Path) -> list[helm.ChartMissingError]:
    out = []
    for s in specs:
        try:
            helm.archive(s, charts)
        except helm.ChartMissingError as exc:
            out.append(exc)
    return out
