"""Run one rule's pure validator over a deployment, the way the pack's wrappers do."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from policies.rules import REGISTRY, VALIDATORS, Context, Res
from policies.rules._core import SUPPRESS_PREFIX, Accepted, keep_secrets, plain, secret_paths
from tools.offline.check import name_of
from tools.wire import UNKNOWN, to_analyzer_value

CONFIG_DIR = Path(__file__).resolve().parents[2] / "policies" / "config"
META = {m.id: m for m in REGISTRY}


class _Delete:
    """Sentinel: drop the field. Its repr is stable, so parametrize ids are the same in every
    process (pytest-xdist workers must collect identical ids)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()
__all__ = ["DELETE", "META", "UNKNOWN", "mandatory", "mutate", "rule_config", "run_rule", "suppress"]


def mandatory(result: Any, rule: str | None = None) -> list[Any]:
    """The mandatory violations of a ``CheckResult`` (of ``rule`` only, when given)."""
    return [v for v in result.violations if v.enforcement == "mandatory" and rule in (None, v.rule)]


def rule_config(rule: str, environment: str) -> dict[str, Any]:
    entry = json.loads((CONFIG_DIR / f"{environment}.json").read_text()).get(rule, {})
    return {k: v for k, v in entry.items() if k != "enforcementLevel"} if isinstance(entry, dict) else {}


def run_rule(rule: str, deployment: dict[str, Any], environment: str = "production") -> list[tuple[str, str]]:
    """(resource name, message) for every violation the rule reports."""
    meta, fn = META[rule], VALIDATORS[rule]
    config = rule_config(rule, environment)
    # Properties as the pack's deserializer leaves them (secrets marked), then as validators see them.
    raw = [keep_secrets(to_analyzer_value(r.get("inputs") or {})) for r in deployment["deployment"]["resources"]]
    resources = [Res(type=r["type"], urn=r["urn"], name=name_of(r["urn"]), props=plain(props),
                     protect=bool(r.get("protect")), dependencies=list(r.get("dependencies") or []),
                     property_dependencies=dict(r.get("propertyDependencies") or {}), secrets=secret_paths(props))
                 for r, props in zip(deployment["deployment"]["resources"], raw, strict=True)]
    if meta.kind == "stack":
        return [(name_of(urn) if urn else "", msg) for urn, msg in fn(resources, Context(config=config))]
    found = []
    for r in resources:
        if r.type in meta.types or "*" in meta.types:
            ctx = Context(type=r.type, name=r.name, urn=r.urn, protect=r.protect, config=config, secrets=r.secrets)
            # An exception the pack holds (Accepted) is listed by the wrapper, not reported.
            found += [(r.name, msg) for msg in fn(r.props, ctx) if not isinstance(msg, Accepted)]
    return found


def mutate(deployment: dict[str, Any], name: str, path: str, value: Any) -> dict[str, Any]:
    """A copy with one field of resource ``name`` changed (``path`` is dotted; "" drops the
    resource; a path starting with "@" sets a resource field such as @protect)."""
    deployment = copy.deepcopy(deployment)
    resources = deployment["deployment"]["resources"]
    target = next(r for r in resources if name_of(r["urn"]) == name)
    if path == "":
        resources.remove(target)
        return deployment
    if path.startswith("@"):
        target[path[1:]] = value
        return deployment
    for holder in ("inputs", "outputs"):
        obj = target.get(holder)
        if not obj and holder == "outputs":
            continue
        keys = path.split(".")
        for key in keys[:-1]:
            key = int(key) if isinstance(obj, list) else key
            if isinstance(obj, dict) and key not in obj:
                obj[key] = {}
            obj = obj[key]
        last = int(keys[-1]) if isinstance(obj, list) else keys[-1]
        if value is DELETE:
            if isinstance(obj, dict):
                obj.pop(last, None)
        else:
            obj[last] = copy.deepcopy(value)
    return deployment


def suppress(deployment: dict[str, Any], name: str, rule: str, reason: Any) -> dict[str, Any]:
    """A copy where resource ``name`` suppresses ``rule`` (annotation on Kubernetes objects, tag
    on AWS resources)."""
    deployment = copy.deepcopy(deployment)
    target = next(r for r in deployment["deployment"]["resources"] if name_of(r["urn"]) == name)
    top = "metadata" if target["type"].startswith("kubernetes:") else "tags"
    for holder in ("inputs", "outputs"):
        props = target.setdefault(holder, {})
        if holder == "outputs" and top not in props:
            continue  # the stack view is outputs over inputs: a partial output would hide the inputs
        mapping = props.setdefault(top, {})
        mapping = mapping.setdefault("annotations", {}) if top == "metadata" else mapping
        mapping[SUPPRESS_PREFIX + rule] = reason
    return deployment
