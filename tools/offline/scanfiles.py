"""Objects → a folder the external scanners read (kubernetes-validate, checkov, trivy config).

``write(objects, directory, skips)`` writes one YAML file per object, named after where it comes
from (``program`` objects as ``tools plan --manifests`` names them, chart objects prefixed with
their Release: ``kube-prometheus-stack--monitoring--deployment--grafana.yaml``), and applies the
skips the way each scanner reads them:

* checkov: a ``checkov.io/skip<n>: <check>=<reason>`` annotation on the written copy (the
  object the cluster receives is untouched: a chart's templates are not ours to annotate);
* trivy: an entry in the returned ``.trivyignore.yaml`` document, scoped to that one file, with
  the reason as its ``statement``.

A skip names the object as ``Obj.describe()`` does, with ``fnmatch`` wildcards (``Release
kube-prometheus-stack → Deployment monitoring/*``); it must carry a reason, and a skip that
matches no object is an error, so none outlives its cause. The committed skips for rendered chart
objects live in ``chart-scanner-skips.yaml`` and are listed in docs/scanner-skips.md.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.offline.checks.base import PROGRAM, Obj

SCANNERS = ("checkov", "trivy")
SKIPS_FILE = "chart-scanner-skips.yaml"


class SkipFileError(ValueError):
    """A malformed skip list: the message names the entry, the key and the fix."""


@dataclass(frozen=True)
class Skip:
    scanner: str
    check: str
    target: str
    """``Obj.describe()`` pattern (fnmatch)."""
    reason: str


def load_skips(path: Path) -> list[Skip]:
    """The skips in ``path`` (``skips: [{scanner, check, target, reason}]``, optional ``reasons:`` of
    YAML anchors the entries refer to); strict, every key required."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SkipFileError(f"{path}: cannot read the skip list ({exc})") from None
    entries = data.get("skips") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SkipFileError(f"{path}: expected a top-level 'skips:' list")
    # `reasons:` holds YAML anchors only: a reason shared by several objects is written once.
    unknown_top = sorted(set(data) - {"skips", "reasons"})
    if unknown_top:
        raise SkipFileError(f"{path}: unknown top-level key(s) {unknown_top}; allowed: skips, reasons (anchors)")
    skips = []
    for i, entry in enumerate(entries):
        where = f"{path}: skips[{i}]"
        if not isinstance(entry, dict):
            raise SkipFileError(f"{where}: expected a mapping with scanner, check, target, reason")
        unknown = sorted(set(entry) - {"scanner", "check", "target", "reason"})
        if unknown:
            raise SkipFileError(f"{where}: unknown key(s) {unknown}; allowed: scanner, check, target, reason")
        for key in ("scanner", "check", "target", "reason"):
            if not str(entry.get(key) or "").strip():
                raise SkipFileError(f"{where}: '{key}' is missing or empty; every skip needs a written {key}")
        if entry["scanner"] not in SCANNERS:
            raise SkipFileError(f"{where}: scanner {entry['scanner']!r} is not one of {', '.join(SCANNERS)}")
        skips.append(Skip(str(entry["scanner"]), str(entry["check"]), str(entry["target"]), str(entry["reason"]).strip()))
    return skips


def filename(obj: Obj) -> str:
    ns = obj.namespace or "cluster"
    base = f"{ns}--{obj.kind.lower()}--{obj.name}.yaml"
    if obj.origin == PROGRAM:
        return base
    release = re.sub(r"[^A-Za-z0-9._-]+", "-", obj.origin.removeprefix("Release ")).strip("-")
    return f"{release}--{base}"


def write(objects: Sequence[Obj], directory: Path, skips: Sequence[Skip] = ()) -> dict[str, Any]:
    """Writes every object to ``directory`` (created; must be empty) and returns the trivy ignore document.

    Raises SkipFileError when a skip matches no object and ValueError when two objects would
    share a file or the directory already holds files.
    """
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"{directory}: not empty; give a new or empty folder (nothing there is overwritten)")
    names: dict[str, Obj] = {}
    for obj in objects:
        name = filename(obj)
        if name in names:
            raise ValueError(f"{obj.describe()} and {names[name].describe()} would both be written to {name}")
        names[name] = obj
    used: set[Skip] = set()
    trivy: list[dict[str, Any]] = []
    directory.mkdir(parents=True, exist_ok=True)
    for name, obj in names.items():
        body = _plain(obj.body)
        mine = [s for s in skips if fnmatch.fnmatchcase(obj.describe(), s.target)]
        used.update(mine)
        checkov = [s for s in mine if s.scanner == "checkov"]
        if checkov:
            annotations = body.setdefault("metadata", {}).setdefault("annotations", {})
            start = sum(1 for k in annotations if k.startswith("checkov.io/skip"))
            for n, skip in enumerate(checkov, start + 1):
                annotations[f"checkov.io/skip{n}"] = f"{skip.check}={skip.reason}"
        trivy += [{"id": s.check, "paths": [name], "statement": s.reason} for s in mine if s.scanner == "trivy"]
        (directory / name).write_text(yaml.safe_dump(body, sort_keys=False))
    stale = [s for s in skips if s not in used]
    if stale:
        raise SkipFileError("skips that match no object (remove them or fix the target): "
                            + "; ".join(f"{s.scanner} {s.check} on {s.target!r}" for s in stale))
    return {"misconfigurations": trivy}


def _plain(value: Any) -> Any:
    """A deep, mutable copy (Obj bodies are shared, read-only mappings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
