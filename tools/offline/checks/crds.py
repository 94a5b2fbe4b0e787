"""Every custom resource validates against the CRD the pinned charts ship, as the API server would.

For each object of a non-built-in API group (the program's and the charts'), in the order the
API server applies them (apiextensions-apiserver, Kubernetes 1.31):

* the kind and group are served by a CRD in the cluster (this plan's charts, ``crds/`` folders
  included, plus the shared platform's for a stack that does not install it);
* the version is one of the CRD's ``served`` versions;
* fields the structural schema does not declare, outside ``x-kubernetes-preserve-unknown-fields``
  and embedded resources, are **pruned** silently by the API server: an error here, since the
  program asked for something the cluster will drop;
* the ``openAPIV3Schema`` (types, enums, patterns, bounds, required) through ``jsonschema``
  (draft 4, the dialect of OpenAPI 3.0 schemas, with ``nullable`` and ``x-kubernetes-int-or-string``
  mapped to their JSON Schema meaning);
* ``x-kubernetes-validations`` CEL rules, evaluated with ``cel-python`` (``celpy``). A rule that
  uses a function cel-python lacks (Kubernetes' extension libraries: ``lowerAscii``, ``split``,
  ``isURL``, ``quantity``, ...) is recorded as skipped with that reason, never silently passed;
  transition rules (``oldSelf``) apply only to updates and are skipped as such.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from tools.offline.checks.base import Finding, Obj
from tools.offline.checks.skip import Skip

CHECK = "crd-schema"
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io", "networking.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "storage.k8s.io",
    "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io", "certificates.k8s.io",
    "events.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io", "authentication.k8s.io",
    "authorization.k8s.io", "internal.apiserver.k8s.io", "storagemigration.k8s.io",
})
"""API groups Kubernetes 1.31 serves itself (``kubectl api-versions`` on a 1.31 cluster)."""
ROOT_KEPT = ("apiVersion", "kind", "metadata")


@dataclass
class Catalog:
    """The CRDs the cluster serves, by (group, kind)."""

    by_kind: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, crds: Sequence[Obj]) -> Catalog:
        out = cls()
        for crd in crds:
            spec = crd.body.get("spec") or {}
            out.by_kind[(str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", "")))] = spec
        return out


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def check(objects: Sequence[Obj], crds: Sequence[Obj] = (), skipped: MutableSequence[Skip] | None = None) -> list[Finding]:
    """``crds``: CRDs the cluster has besides those in ``objects`` (the shared platform's)."""
    catalog = Catalog.of([*crds, *(o for o in objects if o.kind == "CustomResourceDefinition")])
    findings: list[Finding] = []
    for obj in objects:
        group, version = split_api_version(str(obj.body.get("apiVersion", "")))
        if group in BUILTIN_GROUPS:
            continue
        findings += _validate(obj, group, version, catalog, skipped if skipped is not None else [])
    return findings


def _validate(obj: Obj, group: str, version: str, catalog: Catalog, skipped: MutableSequence[Skip]) -> list[Finding]:
    subject = obj.describe()
    spec = catalog.by_kind.get((group, obj.kind))
    if spec is None:
        return [Finding(CHECK, subject, f"no CRD in the cluster serves kind {obj.kind} of group {group}",
                        fix="install the chart that ships this CRD before the resource (depends_on), "
                            "or correct apiVersion/kind")]
    versions = {str(v.get("name")): v for v in spec.get("versions") or []}
    served = sorted(n for n, v in versions.items() if v.get("served", True))
    entry = versions.get(version)
    if entry is None or not entry.get("served", True):
        return [Finding(CHECK, subject, f"version {group}/{version} is not served by the CRD (served: {served})",
                        fix=f"use apiVersion {group}/{served[-1]}" if served else "")]
    schema = (entry.get("schema") or {}).get("openAPIV3Schema") or {}
    body = {k: v for k, v in obj.body.items() if k != "metadata"}
    removed = pruned(body, schema, root=True)
    body = defaulted(body, schema)
    out = [Finding(CHECK, subject, f"field {path} is not in the {obj.kind} schema: the API server prunes it",
                   fix="remove it or use the field the CRD defines") for path in removed]
    out += [Finding(CHECK, subject, f"{where}: {message}", fix="match the CRD's schema")
            for where, message in schema_errors(body, schema)]
    for path, rule, result in cel_results(body, schema):
        if isinstance(result, str):
            skipped.append(Skip(CHECK, subject, f"CEL rule at {path} not evaluated: {result} ({rule['rule']})"))
        elif result is False:
            out.append(Finding(CHECK, subject, f"{path}: {rule.get('message') or 'CEL rule fails'} ({rule['rule']})",
                               fix="satisfy the CRD's validation rule"))
    return out


# ------------------------------------------------------------------------------------------
# Pruning
# ------------------------------------------------------------------------------------------


def pruned(value: Any, schema: Mapping[str, Any], path: str = "", *, root: bool = False) -> list[str]:
    """Paths the API server's structural pruning removes from ``value``."""
    out: list[str] = []
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_all = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
        embedded = root or schema.get("x-kubernetes-embedded-resource")
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in props:
                out += pruned(item, props[key], where)
            elif isinstance(extra, dict):
                out += pruned(item, extra, where)
            elif keep_all or (embedded and key in ROOT_KEPT):
                continue
            else:
                out.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            out += pruned(item, schema["items"], f"{path}[{i}]")
    return out


def defaulted(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value`` with the schema's ``default``s filled in, as the API server does before it
    validates (so CEL rules see ``kind: Service`` on a backendRef that leaves it out)."""
    if isinstance(value, dict):
        props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        out = dict(value)
        for key, sub in props.items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
        for key, item in out.items():
            sub = props.get(key) if key in props else (extra if isinstance(extra, dict) else None)
            if sub is not None and item is not None:
                out[key] = defaulted(item, sub)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [defaulted(item, schema["items"]) for item in value]
    return value


# ------------------------------------------------------------------------------------------
# OpenAPI v3 schema → JSON Schema (draft 4)
# ------------------------------------------------------------------------------------------

_DROP = re.compile(r"^x-kubernetes-|^(nullable|format|example|externalDocs|discriminator|readOnly|writeOnly|xml|deprecated)$")


def json_schema(schema: Any) -> Any:
    if isinstance(schema, list):
        return [json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (v if k in ("enum", "default", "required") else json_schema(v))
           for k, v in schema.items() if not _DROP.match(k) and k not in ("properties", "patternProperties")}
    for key in ("properties", "patternProperties"):  # maps of field name -> schema, not schemas
        if key in schema:
            out[key] = {k: json_schema(v) for k, v in schema[key].items()}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def schema_errors(body: Mapping[str, Any], schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    validator = _validator(_freeze(schema))
    out = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in err.absolute_path) or "(root)"
        out.append((where, " ".join(err.message.split())[:300]))
    return out


_SCHEMAS: dict[int, Any] = {}


def _freeze(schema: Mapping[str, Any]) -> int:
    _SCHEMAS.setdefault(id(schema), schema)
    return id(schema)


@cache
def _validator(key: int) -> Any:
    import jsonschema

    return jsonschema.Draft4Validator(json_schema(_SCHEMAS[key]))


# ------------------------------------------------------------------------------------------
# CEL (x-kubernetes-validations)
# ------------------------------------------------------------------------------------------


def cel_results(value: Any, schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """(path, rule, True | False | skip reason) for every rule on a node present in ``value``."""
    for rule in schema.get("x-kubernetes-validations") or []:
        yield path or "(root)", rule, _evaluate(str(rule.get("rule", "")), value)
    if isinstance(value, dict):
        props, extra = schema.get("properties") or {}, schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key) if key in props else (extra if isinstance(extra, dict) else None)
            if sub is not None:
                yield from cel_results(item, sub, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from cel_results(item, schema["items"], f"{path}[{i}]")


_UNDECLARED = re.compile(r"undeclared reference to '([^']+)'")


def _evaluate(rule: str, value: Any) -> bool | str:
    if re.search(r"\boldSelf\b", rule):
        return "a transition rule (oldSelf): it applies only to updates"
    program = _program(rule)
    if isinstance(program, str):
        return program
    import celpy

    try:
        result = program.evaluate({"self": celpy.json_to_cel(value)})
    except celpy.CELEvalError as exc:
        missing = _UNDECLARED.search(str(exc.args[0]) if exc.args else "")
        if missing:
            return f"cel-python lacks the function {missing.group(1)!r}"
        return f"cel-python cannot evaluate it: {str(exc.args[0])[:120]}"
    if isinstance(result, celpy.CELEvalError):
        missing = _UNDECLARED.search(str(result.args[0]) if result.args else "")
        return f"cel-python lacks the function {missing.group(1)!r}" if missing else \
            f"cel-python cannot evaluate it: {str(result.args[0])[:120]}"
    return bool(result)


@lru_cache(maxsize=1)
def _environment() -> Any:
    import celpy

    return celpy.Environment()  # builds the Lark parser: once per process


@cache
def _program(rule: str) -> Any:
    env = _environment()
    try:
        return env.program(env.compile(rule))
    except Exception as exc:  # noqa: BLE001 - celpy raises several parser error types
        return f"cel-python cannot parse it: {' '.join(str(exc).split())[:120]}"
