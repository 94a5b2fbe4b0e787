"""Read ``Pulumi.yaml`` + ``Pulumi.<stack>.yaml`` into config shaped like the engine's.

The engine hands a program its config as ``{"ns:key": "string"}`` (objects and lists as JSON) plus
the list of secret keys. ``secure:`` values are ciphertext that only the stack's secrets provider
can decrypt; offline they stay opaque: the program gets a placeholder marked secret, so every
code path that handles the secret runs, and no plaintext exists to leak.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cli import ROOT, UsageError

SECRET_PLACEHOLDER = "offline-placeholder-for-a-secret"
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


@dataclass(frozen=True)
class StackConfig:
    stack: str
    project: str
    config: dict[str, str]
    secret_keys: frozenset[str]
    path: Path


def project_name(root: Path = ROOT) -> str:
    return str(read_yaml(root / "Pulumi.yaml").get("name", "platform"))


def load(stack: str, root: Path = ROOT) -> StackConfig:
    if not STACK_NAME.fullmatch(stack):
        raise UsageError(f"{stack!r} is not a valid stack name (letters, digits, '-', '_', '.')")
    path = root / f"Pulumi.{stack}.yaml"
    if not path.exists():
        hint = (f"run `python -m tools ephemeral config --pr {stack[3:]}`" if re.fullmatch(r"pr-\d+", stack)
                else f"create it (copy Pulumi.staging.yaml) or pick one of: {', '.join(known_stacks(root))}")
        raise UsageError(f"unknown stack {stack!r}: {path.name} not found; {hint}")
    return from_mapping(stack, read_yaml(path).get("config") or {}, root, path)


def from_mapping(stack: str, raw: Any, root: Path, path: Path) -> StackConfig:
    """The ``config:`` mapping of a stack file (as YAML holds it) in the engine's shape."""
    project = read_yaml(root / "Pulumi.yaml")
    name = str(project.get("name", "platform"))
    if not isinstance(raw, dict):
        raise UsageError(f"{path.name}: 'config' must be a mapping of key: value")
    config: dict[str, str] = {}
    secrets: set[str] = set()
    # Project-level defaults first (Pulumi.yaml `config: key: {default: ...}`), then the stack file.
    for key, decl in (project.get("config") or {}).items():
        if isinstance(decl, dict) and "default" in decl:
            config[key if ":" in key else f"{name}:{key}"] = engine_value(decl["default"])
    for key, value in raw.items():
        full = key if ":" in key else f"{name}:{key}"
        if _has_secure(value):
            secrets.add(full)
            value = _replace_secure(value)
        config[full] = engine_value(value)
    return StackConfig(stack=stack, project=name, config=config, secret_keys=frozenset(secrets), path=path)


def known_stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping file; a missing or malformed one raises UsageError saying which and where."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path.name} not found in {path.parent}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path.name}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path.name}: expected a YAML mapping at the top level")
    return data


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _replace_secure(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        return {k: _replace_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v) for v in value]
    return value


def engine_value(value: Any) -> str:
    """A YAML value as the engine hands it to a program: a string, JSON for lists and objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)

