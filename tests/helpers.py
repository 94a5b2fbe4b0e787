"""What tests share besides fixtures: the stacks, their plans (run once per session and cached)
and small readers. Import it as ``from helpers import ...`` (tests/ is on the path through
tests/conftest.py); fixtures live in conftest.py and use these.

Each plan is a full, independent run of the real ``__main__.py`` under the mock runtime (fresh
event loop, fresh mocks, fresh context), so tests read resources exactly as the engine sees them.
Plans come from ``tools.offline.facts`` with ``reproducible=True``: pr-7 is synthesized from
staging, so a stray local ``Pulumi.pr-7.yaml`` never changes a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools import wire
from tools.offline import facts, mockrun
from tools.offline.facts import environment_of

__all__ = ["ROOT", "STACKS", "cached_plan", "environment_of", "inputs", "run"]

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("pr-7", "staging", "production")
"""One stack per environment class; pr-7 is the ephemeral one."""


def run(stack: str, overrides: Mapping[str, Any] | None = None,
        secret_keys: frozenset[str] = frozenset(), missing_images: frozenset[str] = frozenset()) -> mockrun.Plan:
    """A fresh plan of ``stack`` with config ``overrides`` (engine-shaped values); ``missing_images``
    (``<repository>:<tag>``) are not in ECR."""
    cfg = facts.engine_config(stack, reproducible=True)
    config = {**cfg.config, **(overrides or {})}
    return mockrun.run_program(stack, config, secret_keys=cfg.secret_keys | secret_keys, project=cfg.project,
                               missing_images=missing_images)


_CACHE: dict[str, mockrun.Plan] = {}


def cached_plan(stack: str) -> mockrun.Plan:
    """The session's plan of ``stack`` (never mutate it)."""
    if stack not in _CACHE:
        _CACHE[stack] = run(stack)
    return _CACHE[stack]


def inputs(resource: mockrun.Recorded) -> dict[str, Any]:
    """A resource's inputs as plain data (secrets shown as '[secret]')."""
    return wire.plain(resource.inputs)


def analyzer_processes(*, parent: int | None = None, tag: str | None = None) -> list[int]:
    """Live policy-pack analyzer processes (``pulumi.policy``): children of ``parent``, or carrying
    ``PLATFORM_TEST_TAG=<tag>`` in their environment (a tagged command's, whoever its parent is now)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            status = (proc / "status").read_text()
            environ = (proc / "environ").read_bytes() if tag is not None else b""
        except OSError:
            continue  # ended meanwhile, or not ours to read
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if b"pulumi.policy" not in cmdline or fields.get("State", "").startswith("Z"):
            continue
        if parent is not None and fields.get("PPid", "").strip() != str(parent):
            continue
        if tag is not None and f"PLATFORM_TEST_TAG={tag}".encode() not in environ.split(b"\0"):
            continue
        found.append(int(proc.name))
    return found
