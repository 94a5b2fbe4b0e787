"""``python -m tools secrets [--write]``: regenerate policies/secret_inputs.json from the provider SDKs.

Which inputs a provider's schema marks ``secret: true`` is not shipped as a schema file (the
SDK wheels carry only ``pulumi-plugin.json``), but Pulumi's code generator writes it into every
generated resource class: the constructor wraps each such input in ``pulumi.Output.secret(...)``
(``__props__.__dict__["password"] = None if password is None else pulumi.Output.secret(password)``),
and the ``@pulumi.getter(name="...")`` of the matching property gives its wire (camelCase) name.
This command reads that, without importing the SDKs (pulumi-aws alone takes seconds), from the
pinned SDKs in requirements.txt, for every resource type token, into a small JSON file the
policy pack reads (``policies/rules/secrets.py``: the schema half of "secrets by class").

Only top-level inputs are marked this way (the generator does not wrap nested fields), so the
pack adds the name half: any input whose name means a credential, at any depth.

Without ``--write`` it prints the file it would write and exits 1 when the committed one differs;
a test runs the same comparison.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from tools import cli
from tools.cli import ROOT, UsageError
from tools.dev import generated

OUTPUT = ROOT / "policies" / "secret_inputs.json"
SDKS = {"pulumi_aws": "pulumi-aws", "pulumi_kubernetes": "pulumi-kubernetes", "pulumi_random": "pulumi-random",
        "pulumi_tls": "pulumi-tls", "pulumi_docker": "pulumi-docker", "pulumi_github": "pulumi-github"}
"""The provider SDKs the program and the bootstrap project use (module -> distribution)."""
MARK = "pulumi.Output.secret("


def _token(init: ast.FunctionDef) -> str | None:
    """The type token the constructor registers (``super(X, __self__).__init__('aws:rds/instance:Instance', ...)``)."""
    for node in ast.walk(init):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                and isinstance(node.func.value, ast.Call) and getattr(node.func.value.func, "id", None) == "super"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            return node.args[0].value
    return None


def _wire_names(cls: ast.ClassDef) -> dict[str, str]:
    """Python property name -> wire name, from the class's ``@pulumi.getter`` decorators."""
    names: dict[str, str] = {}
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for dec in fn.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            if isinstance(target, ast.Attribute) and target.attr == "getter":
                kw = {k.arg: k.value for k in dec.keywords} if isinstance(dec, ast.Call) else {}
                name = kw.get("name")
                names[fn.name] = str(name.value) if isinstance(name, ast.Constant) else fn.name
    return names


def _secret_props(init: ast.FunctionDef) -> list[str]:
    """Python names of the inputs the constructor wraps in ``pulumi.Output.secret``."""
    found = []
    for node in ast.walk(init):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Subscript)
                and ast.unparse(node.targets[0].value) == "__props__.__dict__"
                and isinstance(node.targets[0].slice, ast.Constant) and MARK in ast.unparse(node.value)):
            found.append(str(node.targets[0].slice.value))
    return found


def scan_file(path: Path) -> dict[str, list[str]]:
    """``{type token: [wire names of secret inputs]}`` for the resource classes of one SDK module."""
    source = path.read_text(encoding="utf-8")
    if MARK not in source:
        return {}
    found: dict[str, list[str]] = {}
    for cls in ast.parse(source).body:
        init = next((f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "_internal_init"), None) \
            if isinstance(cls, ast.ClassDef) else None
        if init is None or MARK not in ast.unparse(init):
            continue  # not a resource class, or none of its inputs is secret
        token, props = _token(init), _secret_props(init)
        if token and props and isinstance(cls, ast.ClassDef):
            wire = _wire_names(cls)
            found[token] = sorted({wire.get(p, p) for p in props})
    return found


def extract() -> dict[str, Any]:
    types: dict[str, list[str]] = {}
    versions: dict[str, str] = {}
    for module, dist in SDKS.items():
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise UsageError(f"{dist} is not installed; run `make setup` (it is pinned in requirements.txt)")
        versions[dist] = importlib.metadata.version(dist)
        for path in sorted(Path(next(iter(spec.submodule_search_locations))).rglob("*.py")):
            types.update(scan_file(path))
    return {"generator": "python -m tools secrets --write",
            "source": "inputs each SDK's generated constructor wraps in pulumi.Output.secret (schema secret: true)",
            "sdks": versions, "types": dict(sorted(types.items()))}


def render() -> str:
    return json.dumps(extract(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    return generated.main(argv, prog="python -m tools secrets", description=__doc__.split("\n")[0],
                          output=OUTPUT, render=render)


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
