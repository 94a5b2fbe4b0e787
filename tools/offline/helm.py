"""Render every ``kubernetes:helm.sh/v3:Release`` of a plan with Helm's own engine, offline.

The renderer itself is ``policies/rendering.py``: the policy pack renders the Releases it receives
under a real ``pulumi preview`` with the same module, so both paths judge the same objects (engine
choice, chart folder, placeholders, capabilities and cache are described there). This wing turns
a plan's Releases into what the kernel renders (:func:`releases`: wire secrets and preview
unknowns become placeholders, so the plaintext of a secret never reaches Helm or the cache) and
its output into whole-cluster objects (``Obj`` with origin ``Release <name>`` and hook marks).

A template or values-schema failure is a :class:`Finding` ``helm-render`` carrying Helm's
message. Charts come only from the one explicit input ``PLATFORM_CHARTS`` (default
``~/.cache/platform/charts``); ``python -m tools charts`` (``make charts``) fills it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies import rendering
from policies.rendering import (  # noqa: F401  (re-exported: the offline plan's names for the kernel's)
    CACHE_ENV,
    CHARTS_ENV,
    CLUSTER_SCOPED,
    DEFAULT_CACHE,
    DEFAULT_CHARTS,
    KUBE_VERSION,
    SECRET_PLACEHOLDER,
    UNKNOWN_PLACEHOLDER,
    ChartMissingError,
    ReleaseSpec,
    archive,
    cache_dir,
    charts_dir,
    release_spec,
)
from tools.offline.checks.base import Finding, Obj
from tools.wire import RESOURCE_SIG, SECRET_SIG, SIG, UNKNOWN

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"

_SIG, _SECRET_SIG, _RESOURCE_SIG, _UNKNOWN = SIG, SECRET_SIG, RESOURCE_SIG, UNKNOWN
"""Pulumi's wire sentinels (tools.wire)."""


@dataclass
class Rendered:
    """One Release rendered: its objects (hooks marked), the CRDs it installs, and any failure."""

    spec: ReleaseSpec
    objects: list[Obj] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cached: bool = False

    @property
    def crds(self) -> list[Obj]:
        return [o for o in self.objects if o.kind == "CustomResourceDefinition"]


# ------------------------------------------------------------------------------------------
# From the plan
# ------------------------------------------------------------------------------------------


def helm_values(value: Any) -> Any:
    """Wire or export value → what Helm receives: secrets and unknowns become placeholders,
    integral doubles (the wire carries every number as a double) become ints."""
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET_SIG:
            return SECRET_PLACEHOLDER
        if value.get(_SIG) == _RESOURCE_SIG:
            return value.get("id") or value.get("urn")
        return {k: helm_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [helm_values(v) for v in value]
    if value == _UNKNOWN:
        return UNKNOWN_PLACEHOLDER
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def releases(resources: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[ReleaseSpec]:
    """``(urn or logical name, type, inputs)`` of a plan's resources → the Releases to render."""
    return [release_spec(urn.rsplit("::", 1)[-1], helm_values(dict(inputs)))
            for urn, type_, inputs in resources if type_ == HELM_RELEASE]


# ------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------


def render(spec: ReleaseSpec, charts: Path, *, api_versions: Sequence[str] = (),
           cache: Path | None = None) -> Rendered:
    """Renders one Release (from the cache when the same chart and inputs were rendered before).
    Raises ChartMissingError when the archive is not in ``charts``."""
    out = rendering.render(spec, charts, api_versions=api_versions, cache=cache)
    rendered = Rendered(spec=spec, cached=out.cached,
                        objects=[Obj(body=body, origin=spec.origin, hook=hook) for body, hook in out.objects])
    if out.error is not None:
        rendered.findings.append(Finding("helm-render", spec.origin, out.error,
                                         fix="correct the Release's values (see Helm's message)"))
    return rendered


def served_api_versions(crds: Iterable[Obj]) -> list[str]:
    """``group/version`` and ``group/version/Kind`` of every served version, as discovery lists them."""
    return rendering.served_api_versions(c.body for c in crds)


def render_all(specs: Sequence[ReleaseSpec], charts: Path, *, cache: Path | None = None,
               extra_crds: Sequence[Obj] = ()) -> list[Rendered]:
    """Renders every Release. CRD-shipping charts first, so the others see those APIs in
    ``.Capabilities`` (the program orders such Releases after the CRDs' with ``depends_on``)."""
    if not charts.is_dir():
        raise ChartMissingError(f"the chart folder {CHARTS_ENV}={charts} does not exist; fill it with `make charts` "
                                f"(or point {CHARTS_ENV} at a folder holding the pinned <chart>-<version>.tgz archives)")
    first = [render(s, charts, cache=cache) for s in specs]
    crds = [*extra_crds, *(c for r in first for c in r.crds)]
    if not crds:
        return first
    apis = served_api_versions(crds)
    return [render(s, charts, api_versions=apis, cache=cache) for s in specs]


class Prerender:
    """Renders each Release while the program is still running (``mockrun.run_program``'s
    ``observe``): the first of :func:`render_all`'s two passes lands in the render cache on the
    other core (the engine's native calls run without Python's lock), so after the program only
    the pass with the cluster's API versions is left. A failure here is only a cache miss: the
    plan's own render reports it."""

    def __init__(self, charts: Path | None = None, cache: Path | None = None):
        from concurrent.futures import ThreadPoolExecutor

        self.charts = charts if charts is not None else charts_dir()
        self.cache = cache if cache is not None else cache_dir()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prerender") if self.charts.is_dir() else None

    def observe(self, recorded: Any) -> None:
        if self._pool is not None and recorded.type == HELM_RELEASE:
            [spec] = releases([(recorded.urn, recorded.type, recorded.inputs)])
            self._pool.submit(self._warm, spec)

    def _warm(self, spec: ReleaseSpec) -> None:
        # A failure is only a cache miss: the plan's own render of the same Release raises or reports it.
        with contextlib.suppress(Exception):
            rendering.render(spec, self.charts, cache=self.cache)

    def wait(self) -> None:
        """Blocks until every render begun has ended (the plan's renders then read the cache)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
