"""The replace-on-change table knows every type the plans create, and names real inputs."""

from __future__ import annotations

import importlib
import re

import pytest
from diff_plans import base_plan_fixture  # noqa: F401 - fixture

from tools.offline import replacements

STACKS = ("pr-7", "staging", "production")


@pytest.mark.parametrize("stack", STACKS)
def test_table_knows_every_type_the_plan_creates(base_plan, stack):
    types = {r["type"] for r in base_plan(stack)["deployment"]["resources"]} - {"pulumi:pulumi:Stack"}
    unknown = sorted(t for t in types if replacements.rules_for(t) is None)
    assert not unknown, f"{stack}: add to tools/offline/replacements.py TABLE, with a source: {unknown}"


@pytest.mark.parametrize("type_", sorted(replacements.TABLE))
def test_every_entry_cites_a_repository_file(type_):
    source = replacements.TABLE[type_].source
    assert re.search(r"[\w-]+/[\w-]+ \S+\.go", source), f"{type_}: source {source!r} names no upstream file"


def _args_class(type_: str) -> type:
    """The resource's own args class (``<Name>InitArgs`` where an input type took ``<Name>Args``)."""
    package, module_path, name = type_.split(":")
    module = module_path.split("/")[0]
    prefix = f"pulumi_{package}" + ("" if module == "index" else f".{module}")
    resource_module = importlib.import_module(f"{prefix}.{_snake(name)}")
    assert getattr(resource_module, name).pulumi_type == type_  # type: ignore[attr-defined]
    return getattr(resource_module, f"{name}InitArgs", None) or getattr(resource_module, f"{name}Args")


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


@pytest.mark.parametrize("type_", sorted(t for t in replacements.TABLE if t.split(":")[0] in ("aws", "random")))
def test_force_new_fields_are_inputs_of_the_installed_sdk(type_):
    args = _args_class(type_)
    missing = [f for f in replacements.TABLE[type_].force_new if not hasattr(args, _snake(f))]
    assert not missing, f"{type_}: {missing} are not inputs of {args.__module__}.{args.__name__}"
