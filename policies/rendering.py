"""Render one Helm Release with Helm's own engine: the kernel both judging paths share.

The offline plan (``tools/offline/helm.py``) and the policy pack under a real ``pulumi preview
--policy-pack policies`` (``policies/rules/_rendered.py``) render a Release through this module
alone, so the Kubernetes rules judge the same objects on both paths. Plain data in and out (no
Pulumi, no tools/): the pack runs it in its own process with ``policies/`` as its root.

Engine: ``helm-python-sdk`` (PyPI, pinned in policies/requirements.txt). It binds, through ctypes,
to a native library that embeds Helm's Go SDK (v4.2.3 for 0.2.2), so the templates run in Helm
itself, not in a re-implementation; it needs no ``helm`` binary, no Go toolchain and Python ≥ 3.10.
The other candidate, ``helm-sdkpy``, requires Python ≥ 3.12 and this project runs on 3.11.
(Pulumi's Release embeds Helm v3's engine; the template language and the functions charts use
are the same in v4, and ``.Capabilities.HelmVersion`` is the one visible difference.)

How a Release is rendered, as ``helm template`` would for ``pulumi up``:

* chart: ``<PLATFORM_CHARTS>/<chart>-<version>.tgz``, the archive ``helm pull`` writes for the
  pinned version (``oci://…/gateway-helm`` → ``gateway-helm-v1.9.0.tgz``); never fetched here;
* values: the Release's ``values`` input, secrets and preview unknowns already replaced by the
  caller with :data:`SECRET_PLACEHOLDER` / :data:`UNKNOWN_PLACEHOLDER`;
* release name and namespace from the inputs, Kubernetes :data:`KUBE_VERSION`, and the API
  versions the cluster will serve (built-in ones plus those of the CRDs the platform's charts
  install), so ``.Capabilities.APIVersions.Has`` answers as in the cluster;
* hooks included (``hook``: their events); CRDs from the chart's ``crds/`` folders included
  (Pulumi's Release installs them: ``skipCrds`` is false);
* objects without a namespace get the Release's (as the API server would, for namespaced kinds).

Results are cached by (archive sha256, hash of values and options) under ``PLATFORM_RENDER_CACHE``
(default ``~/.cache/platform/render``) when the caller passes a cache folder. Only values without
plaintext secrets are written there: the offline plan's (secrets are placeholders) and the pack's
when the one driving it says so (:data:`CACHE_WRITES_ENV`, set by ``tools check``, which sends the
pack mock or redacted secrets only); under a real ``pulumi preview`` the pack reads the cache only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release",)
"""What the renderer renders. (``helm.sh/v4:Chart`` renders client-side into resources the
engine already sends the pack one by one; the program installs Releases only.)"""
KUBE_VERSION = "v1.31.0"
"""The EKS version the platform targets; charts gate templates on ``.Capabilities.KubeVersion``."""
CHARTS_ENV, DEFAULT_CHARTS = "PLATFORM_CHARTS", "~/.cache/platform/charts"
CACHE_ENV, DEFAULT_CACHE = "PLATFORM_RENDER_CACHE", "~/.cache/platform/render"
SECRET_PLACEHOLDER = "REDACTED"
UNKNOWN_PLACEHOLDER = "unknown-at-preview"
CACHE_FORMAT = 1
CACHE_WRITES_ENV = "PLATFORM_RENDER_CACHE_WRITES"
"""``1``: the values this process renders hold no plaintext secret, so rendered output may be cached."""

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
        return f"`make charts` (or `helm pull {source} -d ${CHARTS_ENV}`)"


def release_spec(resource: str, inputs: Mapping[str, Any]) -> ReleaseSpec:
    """A Release's plain inputs (placeholders already in) → what to render."""
    return ReleaseSpec(
        resource=resource, name=str(inputs.get("name") or resource), chart=str(inputs.get("chart", "")),
        version=str(inputs.get("version", "")), namespace=str(inputs.get("namespace") or "default"),
        values=inputs.get("values") or {}, repo=str((inputs.get("repositoryOpts") or {}).get("repo", "")))


@dataclass(frozen=True)
class Output:
    """One Release rendered, as plain data: ``objects`` are ``(body, hook events or None)``."""

    objects: list[tuple[dict[str, Any], str | None]]
    error: str | None = None
    """Helm's message when the chart does not render (template or values-schema failure)."""
    cached: bool = False

    @property
    def crds(self) -> list[dict[str, Any]]:
        return [b for b, _ in self.objects if b.get("kind") == "CustomResourceDefinition"]


# ------------------------------------------------------------------------------------------
# Chart folder and render cache
# ------------------------------------------------------------------------------------------


def charts_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The chart folder (the first, when ``PLATFORM_CHARTS`` lists several)."""
    return charts_dirs(environ)[0]


def charts_dirs(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """Every folder ``PLATFORM_CHARTS`` lists (``os.pathsep``-separated, searched in order)."""
    value = environ.get(CHARTS_ENV) or DEFAULT_CHARTS
    return [Path(p).expanduser() for p in value.split(os.pathsep) if p] or [Path(DEFAULT_CHARTS).expanduser()]


def folder_of(spec: ReleaseSpec, folders: Sequence[Path]) -> Path:
    """The first folder holding the Release's archive (ChartMissingError names the first folder)."""
    for folder in folders:
        if (folder / spec.archive_name).is_file():
            return folder
    archive(spec, folders[0])
    return folders[0]


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
           cache: Path | None = None, write: bool = True) -> Output:
    """Renders one Release (from the cache when the same chart and inputs were rendered before).
    ``write=False`` reads the cache but never adds to it (values that may hold plaintext secrets).
    Raises ChartMissingError when the archive is not in ``charts``."""
    path = archive(spec, charts)
    options = {"name": spec.name, "namespace": spec.namespace, "kube_version": KUBE_VERSION,
               "api_versions": sorted(set(api_versions)), "is_install": True}
    digest = _file_digest(path)
    key = hashlib.sha256(json.dumps([CACHE_FORMAT, digest, spec.values, options], sort_keys=True,
                                    default=str).encode()).hexdigest()
    entry = cache / key[:2] / f"{key}.json" if cache is not None else None
    if entry is not None and entry.is_file():
        return _from_stored(spec, json.loads(entry.read_text()), cached=True)
    stored = _render_native(path, spec, options)
    if entry is not None and write:
        entry.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(entry, json.dumps(stored).encode())
    return _from_stored(spec, stored, cached=False)


_DIGESTS: dict[tuple[str, float, int], str] = {}


def _file_digest(path: Path) -> str:
    """sha256 of an archive, memoised by (path, mtime, size): a plan renders each chart twice."""
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


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
        return {"error": helm_message(exc)}
    docs: list[dict[str, Any]] = []
    for source, text in sorted(manifests.items()):
        if source.endswith(("NOTES.txt", ".tpl")) or not text.strip():
            continue
        docs += [{"source": source, "body": b} for b in _load_all(text, source)]
    for crd in crds:
        docs += [{"source": crd["filename"], "body": b, "crd_folder": True} for b in _load_all(crd["data"], crd["filename"])]
    return {"objects": docs}


def helm_message(exc: Exception) -> str:
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
            return [{"kind": "", "_yaml_error": f"{source}: {helm_message(exc)}"}]
        if isinstance(doc, dict) and doc.get("kind"):
            docs.append(doc)
    return docs


def _from_stored(spec: ReleaseSpec, stored: Mapping[str, Any], *, cached: bool) -> Output:
    if "error" in stored:
        return Output(objects=[], error=f"Helm cannot render chart {spec.archive_name}: {stored['error']}",
                      cached=cached)
    cluster_kinds = CLUSTER_SCOPED | {
        str((d["body"].get("spec") or {}).get("names", {}).get("kind")) for d in stored["objects"]
        if d["body"].get("kind") == "CustomResourceDefinition" and (d["body"].get("spec") or {}).get("scope") == "Cluster"}
    objects: list[tuple[dict[str, Any], str | None]] = []
    for doc in stored["objects"]:
        body = doc["body"]
        if "_yaml_error" in body:
            return Output(objects=[], error=f"rendered YAML does not parse: {body['_yaml_error']}", cached=cached)
        meta = dict(body.get("metadata") or {})
        if not meta.get("namespace") and body.get("kind") not in cluster_kinds:
            meta["namespace"] = spec.namespace
            body = {**body, "metadata": meta}
        hook = (meta.get("annotations") or {}).get("helm.sh/hook")
        objects.append((body, str(hook) if hook else None))
    return Output(objects=objects, cached=cached)


def served_api_versions(crds: Iterable[Mapping[str, Any]]) -> list[str]:
    """``group/version`` and ``group/version/Kind`` of every served version, as discovery lists them."""
    out = []
    for crd in crds:
        spec = crd.get("spec") or {}
        group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
        for v in spec.get("versions") or []:
            if v.get("served", True):
                out += [f"{group}/{v['name']}", f"{group}/{v['name']}/{kind}"]
    return out


def ref(body: Mapping[str, Any]) -> str:
    """``Deployment monitoring/grafana`` (cluster-scoped objects: ``ClusterRole foo``)."""
    meta = body.get("metadata") or {}
    where = f"{meta.get('namespace')}/{meta.get('name')}" if meta.get("namespace") else str(meta.get("name") or "")
    return f"{body.get('kind', '')} {where}"


def subject(spec: ReleaseSpec, body: Mapping[str, Any]) -> str:
    """``Release monitoring-kube-prometheus-stack → Deployment monitoring/grafana``: how both paths
    name a rendered object in a finding."""
    return f"{spec.origin} → {ref(body)}"


# ------------------------------------------------------------------------------------------
# Hand-off: the offline driver's renders, judged by the pack without rendering them again
# ------------------------------------------------------------------------------------------

HANDOFF_ENV = "PLATFORM_RENDERED"
"""A folder the offline driver (``tools plan`` through tools/offline/check.py) fills, before each
check, with what it rendered for each Release URN, so the pack judges those very objects instead
of rendering every Release a second time. Unset under a real ``pulumi preview``: the pack renders."""
HANDOFF_INDEX = "index.json"


def release_identity(spec: ReleaseSpec) -> dict[str, str]:
    """What a hand-off record must match to stand for a Release the pack receives."""
    return {"name": spec.name, "chart": spec.chart, "version": spec.version, "namespace": spec.namespace}


def write_handoff(folder: Path, records: Mapping[str, Mapping[str, Any]]) -> None:
    """``records``: Release URN → ``{"release": release_identity, and one of "objects": [body, …],
    "problem": text (Helm's message, a missing chart), "unjudged": why the driver judges it
    elsewhere}``. Records are stored by content digest under an index replaced atomically, so
    the pack never reads a half-written or a previous check's hand-off."""
    index: dict[str, dict[str, Any]] = {}
    for urn, record in records.items():
        data = json.dumps(record, sort_keys=True).encode()
        digest = hashlib.sha256(data).hexdigest()
        path = folder / f"{digest}.json"
        if not path.is_file():
            _write_atomic(path, data)
        index[urn] = {"digest": digest, "release": record["release"]}
    _write_atomic(folder / HANDOFF_INDEX, json.dumps(index, sort_keys=True).encode())
    kept = {entry["digest"] for entry in index.values()}
    for stale in folder.glob("*.json"):
        if stale.name != HANDOFF_INDEX and stale.stem not in kept:
            stale.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    """Atomic: parallel workers and threads (one temporary file each) never read half a file."""
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


_INDEX: dict[str, Any] = {"key": None, "index": {}}


def handed_off(urn: str, spec: ReleaseSpec, environ: Mapping[str, str] = os.environ) -> str | None:
    """The digest of the record the driver handed off for this Release (read it with
    :func:`handoff_record`), or None: no hand-off folder, no record for the URN, or one made for
    other inputs (the caller renders)."""
    folder = environ.get(HANDOFF_ENV)
    if not folder:
        return None
    index_path = Path(folder) / HANDOFF_INDEX
    try:
        stat = index_path.stat()
        key = (str(index_path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != _INDEX["key"]:
            _INDEX.update(key=key, index=json.loads(index_path.read_text()))
    except (OSError, ValueError):
        return None
    entry = _INDEX["index"].get(urn) or {}
    return str(entry["digest"]) if entry.get("release") == release_identity(spec) else None


def handoff_record(digest: str, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    return json.loads((Path(environ[HANDOFF_ENV]) / f"{digest}.json").read_text())
