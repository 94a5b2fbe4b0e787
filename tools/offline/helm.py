"""Render every ``kubernetes:helm.sh/v3:Release`` of a plan with Helm's own engine, offline.

Engine: ``helm-python-sdk`` (PyPI, pinned in requirements.txt). It binds, through ctypes, to a
native library that embeds Helm's Go SDK (v4.2.3 for 0.2.2), so the templates run in Helm itself,
not in a re-implementation; it needs no ``helm`` binary, no Go toolchain and Python ≥ 3.10. The
other candidate, ``helm-sdkpy``, requires Python ≥ 3.12 and this project runs on 3.11.
(Pulumi's Release embeds Helm v3's engine; the template language and the functions charts use
are the same in v4, and ``.Capabilities.HelmVersion`` is the one visible difference.)

How a Release is rendered, as ``helm template`` would for ``pulumi up``:

* chart: ``<PLATFORM_CHARTS>/<chart>-<version>.tgz``, the archive ``helm pull`` writes for the
  pinned version (``oci://…/gateway-helm`` → ``gateway-helm-v1.9.0.tgz``); never fetched here;
* values: the Release's ``values`` input with secrets replaced by :data:`SECRET_PLACEHOLDER` and
  preview unknowns by :data:`UNKNOWN_PLACEHOLDER` (the plaintext of a secret never reaches Helm);
* release name and namespace from the inputs, Kubernetes :data:`KUBE_VERSION`, and the API
  versions the cluster will serve (built-in ones plus those of the CRDs the platform's charts
  install), so ``.Capabilities.APIVersions.Has`` answers as in the cluster;
* hooks included, marked with their events (``Obj.hook``); CRDs from the chart's ``crds/``
  folders included (Pulumi's Release installs them: ``skipCrds`` is false);
* objects without a namespace get the Release's (as the API server would, for namespaced kinds).

A template or values-schema failure is a :class:`Finding` ``helm-render`` carrying Helm's
message. Results are cached by (archive sha256, hash of values and options) under
``PLATFORM_RENDER_CACHE`` (default ``~/.cache/platform/render``), so a repeated plan renders
nothing. Charts come only from the one explicit input ``PLATFORM_CHARTS`` (default
``~/.cache/platform/charts``); ``python -m tools.offline.charts`` (``make charts``) fills it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.offline.checks.base import Finding, Obj
from tools.wire import RESOURCE_SIG, SECRET_SIG, SIG, UNKNOWN

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
KUBE_VERSION = "v1.31.0"
"""The EKS version the platform targets; charts gate templates on ``.Capabilities.KubeVersion``."""
CHARTS_ENV, DEFAULT_CHARTS = "PLATFORM_CHARTS", "~/.cache/platform/charts"
CACHE_ENV, DEFAULT_CACHE = "PLATFORM_RENDER_CACHE", "~/.cache/platform/render"
SECRET_PLACEHOLDER = "REDACTED"
UNKNOWN_PLACEHOLDER = "unknown-at-preview"
CACHE_FORMAT = 1

_SIG, _SECRET_SIG, _RESOURCE_SIG, _UNKNOWN = SIG, SECRET_SIG, RESOURCE_SIG, UNKNOWN
"""Pulumi's wire sentinels (the same constants as tools.mockrun; tools.wire after issue 9)."""

CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
    "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PriorityClass", "IngressClass",
    "RuntimeClass", "APIService", "CSIDriver", "CSINode", "VolumeAttachment", "PodSecurityPolicy",
    "FlowSchema", "PriorityLevelConfiguration", "CertificateSigningRequest",
})
"""Built-in cluster-scoped kinds (``kubectl api-resources --namespaced=false``, Kubernetes 1.31);
a custom kind's scope comes from its CRD."""


class ChartMissingError(Exception):
    """A pinned chart archive is not in the chart folder."""


@dataclass(frozen=True)
class ReleaseSpec:
    """What the program asks Helm to install: one ``helm.v3.Release`` resource."""

    resource: str
    """Pulumi logical name (``monitoring-kube-prometheus-stack``): names the origin of its objects."""
    name: str
    chart: str
    version: str
    namespace: str
    values: Mapping[str, Any] = field(default_factory=dict)
    repo: str = ""

    @property
    def origin(self) -> str:
        return f"Release {self.resource}"

    @property
    def chart_name(self) -> str:
        return self.chart.rstrip("/").rsplit("/", 1)[-1]

    @property
    def archive_name(self) -> str:
        return f"{self.chart_name}-{self.version}.tgz"

    def how_to_get(self) -> str:
        if self.chart.startswith("oci://"):
            source = f"{self.chart} --version {self.version}"
        else:
            source = f"{self.chart_name} --repo {self.repo} --version {self.version}"
        return f"`make charts` (or `helm pull {source} -d $PLATFORM_CHARTS`)"


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
    out = []
    for urn, type_, inputs in resources:
        if type_ != HELM_RELEASE:
            continue
        plain = helm_values(dict(inputs))
        resource = urn.rsplit("::", 1)[-1]
        out.append(ReleaseSpec(
            resource=resource, name=str(plain.get("name") or resource), chart=str(plain.get("chart", "")),
            version=str(plain.get("version", "")), namespace=str(plain.get("namespace") or "default"),
            values=plain.get("values") or {}, repo=str((plain.get("repositoryOpts") or {}).get("repo", ""))))
    return out


# ------------------------------------------------------------------------------------------
# Chart folder and render cache
# ------------------------------------------------------------------------------------------


def charts_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(CHARTS_ENV) or DEFAULT_CHARTS).expanduser()


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def archive(spec: ReleaseSpec, charts: Path) -> Path:
    path = charts / spec.archive_name
    if not path.is_file():
        raise ChartMissingError(f"chart {spec.archive_name} for {spec.origin} is not in {CHARTS_ENV}={charts}; "
                           f"get it with {spec.how_to_get()}")
    return path


# ------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------


def render(spec: ReleaseSpec, charts: Path, *, api_versions: Sequence[str] = (),
           cache: Path | None = None) -> Rendered:
    """Renders one Release (from the cache when the same chart and inputs were rendered before).
    Raises ChartMissingError when the archive is not in ``charts``."""
    path = archive(spec, charts)
    options = {"name": spec.name, "namespace": spec.namespace, "kube_version": KUBE_VERSION,
               "api_versions": sorted(set(api_versions)), "is_install": True}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = hashlib.sha256(json.dumps([CACHE_FORMAT, digest, spec.values, options], sort_keys=True,
                                    default=str).encode()).hexdigest()
    entry = cache / key[:2] / f"{key}.json" if cache is not None else None
    if entry is not None and entry.is_file():
        stored = json.loads(entry.read_text())
        return _from_stored(spec, stored, cached=True)
    stored = _render_native(path, spec, options)
    if entry is not None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stored))
        tmp.replace(entry)  # atomic: parallel test workers never read half a file
    return _from_stored(spec, stored, cached=False)


def _render_native(path: Path, spec: ReleaseSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    import helm_python
    from helm_python import _native

    try:
        with helm_python.Chart.load(path) as chart:
            crds = chart.crds
            # Chart.render does not expose kube_version/api_versions; the native call takes the
            # same options JSON (helm-c-sdk's render options) and rejects unknown keys.
            manifests = json.loads(_native.call_string(
                "helm_render", chart._raw(), json.dumps(spec.values), json.dumps(options)))
    except helm_python.HelmError as exc:
        return {"error": _helm_message(exc)}
    docs: list[dict[str, Any]] = []
    for source, text in sorted(manifests.items()):
        if source.endswith(("NOTES.txt", ".tpl")) or not text.strip():
            continue
        docs += [{"source": source, "body": b} for b in _load_all(text, source)]
    for crd in crds:
        docs += [{"source": crd["filename"], "body": b, "crd_folder": True} for b in _load_all(crd["data"], crd["filename"])]
    return {"objects": docs}


def _helm_message(exc: Exception) -> str:
    detail = getattr(exc, "detail", None) or str(exc)
    return " ".join(str(detail).split())


_SEPARATOR = re.compile(r"(?m)^---")
"""Helm's document separator (releaseutil.SplitManifests: ``---`` right after a newline), so
``---# comment`` splits too."""


_PARSED: dict[str, list[dict[str, Any]]] = {}
"""Parsed documents by text digest: a re-render with more API versions re-parses only the
templates whose output changed (the multi-megabyte CRDs never do)."""


def _load_all(text: str, source: str) -> list[dict[str, Any]]:
    key = hashlib.sha256(text.encode()).hexdigest()
    if key not in _PARSED:
        _PARSED[key] = _parse_all(text, source)
    return json.loads(json.dumps(_PARSED[key]))  # callers own their copies


def _parse_all(text: str, source: str) -> list[dict[str, Any]]:
    """Each document parsed by Go's sigs.k8s.io/yaml inside the native library: the parser the
    API server and kubectl use (YAML 1.1 quirks such as ``=`` keys read as they do), and ten
    times faster than PyYAML on the charts' multi-megabyte CRDs."""
    import helm_python

    docs = []
    for part in _SEPARATOR.split(text):
        if not part.strip():
            continue
        try:
            doc = helm_python.values_from_yaml(part)
        except helm_python.HelmError as exc:
            return [{"kind": "", "_yaml_error": f"{source}: {_helm_message(exc)}"}]
        if isinstance(doc, dict) and doc.get("kind"):
            docs.append(doc)
    return docs


def _from_stored(spec: ReleaseSpec, stored: Mapping[str, Any], *, cached: bool) -> Rendered:
    out = Rendered(spec=spec, cached=cached)
    if "error" in stored:
        out.findings.append(Finding("helm-render", spec.origin, f"Helm cannot render chart {spec.archive_name}: "
                                    f"{stored['error']}", fix="correct the Release's values (see Helm's message)"))
        return out
    cluster_kinds = CLUSTER_SCOPED | {
        str((d["body"].get("spec") or {}).get("names", {}).get("kind")) for d in stored["objects"]
        if d["body"].get("kind") == "CustomResourceDefinition" and (d["body"].get("spec") or {}).get("scope") == "Cluster"}
    for doc in stored["objects"]:
        body = doc["body"]
        if "_yaml_error" in body:
            out.findings.append(Finding("helm-render", spec.origin, f"rendered YAML does not parse: {body['_yaml_error']}"))
            continue
        meta = dict(body.get("metadata") or {})
        if not meta.get("namespace") and body.get("kind") not in cluster_kinds:
            meta["namespace"] = spec.namespace
            body = {**body, "metadata": meta}
        hook = (meta.get("annotations") or {}).get("helm.sh/hook")
        out.objects.append(Obj(body=body, origin=spec.origin, hook=str(hook) if hook else None))
    return out


def served_api_versions(crds: Iterable[Obj]) -> list[str]:
    """``group/version`` and ``group/version/Kind`` of every served version, as discovery lists them."""
    out = []
    for crd in crds:
        spec = crd.body.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        for v in spec.get("versions") or []:
            if v.get("served", True):
                out += [f"{group}/{v['name']}", f"{group}/{v['name']}/{kind}"]
    return out


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

