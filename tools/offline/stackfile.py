"""Read ``Pulumi.yaml`` + ``Pulumi.<stack>.yaml`` into config shaped like the engine's.

The engine hands a program its config as ``{"ns:key": "string"}`` (objects and lists as JSON) plus
the list of secret keys. ``secure:`` values are ciphertext that only the stack's secrets provider
can decrypt; offline they stay opaque: the program gets a placeholder marked secret, so every
code path that handles the secret runs, and no plaintext exists to leak.

Files are read the way the Pulumi CLI reads them (Go yaml.v3 into ``config.Value``): a top-level
scalar is the text the user wrote (``imageTag: 0123456`` stays ``"0123456"``, ``1.10`` stays
``"1.10"``, ``12:30`` stays ``"12:30"``), and nested values follow the YAML 1.2 core schema (only
``true``/``false`` are booleans; no octal, sexagesimal or timestamp coercion). PyYAML alone applies
YAML 1.1 and silently changes such values. A duplicate key, a byte that is not UTF-8 and absurd
nesting are refused with the file and line.
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
MAX_DEPTH = 32
"""Nesting deeper than this is refused: no stack setting is more than a few levels deep, and the
parser would otherwise recurse until Python's stack overflows."""
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
        if not isinstance(key, str):
            raise UsageError(f"{path.name}: config key {key!r} is not a name; keys are strings like {name}:owner")
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
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path.name} not found in {path.parent}") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, expected a YAML file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"{path.name} line {line} (byte {exc.start}): not UTF-8 (byte 0x{data[exc.start]:02x}); "
                         "save the file as UTF-8") from None
    try:
        loaded = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader (core schema)
    except yaml.MarkedYAMLError as exc:
        raise UsageError(f"{path.name}{_where(exc)}: not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path.name}: not valid YAML ({exc})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"{path.name}: expected a YAML mapping at the top level")
    return loaded


def _where(exc: yaml.MarkedYAMLError) -> str:
    """The line of the problem; an unclosed quote or bracket is reported where it was opened (the
    parser only notices at the end of the file)."""
    problem, context = exc.problem_mark, exc.context_mark
    if problem is None:
        return ""
    if context is not None and context.line != problem.line and _at_end(problem):
        return f" line {context.line + 1} (unclosed; the file ends at line {problem.line + 1})"
    if context is not None and context.line != problem.line:
        return f" line {problem.line + 1} ({exc.context} at line {context.line + 1})"
    return f" line {problem.line + 1}"


def _at_end(mark: Any) -> bool:
    buffer = getattr(mark, "buffer", None)
    return buffer is None or mark.pointer >= len(buffer.rstrip("\0").rstrip())


class _Source:
    """A number as written: nested values convert (``json.dumps``), top-level values keep the text."""

    source: str


class _Int(int, _Source):
    pass


class _Float(float, _Source):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's resolvers, duplicate keys and depth refused."""

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise yaml.constructor.ConstructorError(None, None, "a key must be a plain value",
                                                            key_node.start_mark)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {seen[key] + 1}); keep one",
                        key_node.start_mark)
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)

    def construct_core_int(self, node: Any) -> int:
        text = self.construct_scalar(node)
        digits = text.replace("_", "")
        value = _Int(int(digits[2:], 8) if digits.startswith("0o") else int(digits, 0) if digits.startswith("0x")
                     else int(digits))
        value.source = text
        return value

    def construct_core_float(self, node: Any) -> float:
        text = self.construct_scalar(node)
        lowered = text.lower()
        value = _Float("nan" if lowered == ".nan" else lowered.replace(".inf", "inf"))
        value.source = text
        return value


# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+.0123456789"))
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_core_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_core_float)
for _tag in ("timestamp", "binary", "omap", "pairs", "set"):  # YAML 1.1 only: such a value is refused
    _Loader.yaml_constructors.pop(f"tag:yaml.org,2002:{_tag}", None)


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
    if isinstance(value, _Source):
        return value.source
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)

