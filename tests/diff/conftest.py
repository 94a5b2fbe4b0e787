"""Fixtures of plan pairs: the unedited program's plan (cached) and a plan after code edits."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from diff_plans import ROOT, SOURCES, plan_of

_BASE: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session")
def base_plan() -> Callable[[str], dict[str, Any]]:
    """The unedited program's plan of a stack, once per session."""
    def get(stack: str) -> dict[str, Any]:
        if stack not in _BASE:
            _BASE[stack] = plan_of(stack)
        return _BASE[stack]
    return get


@pytest.fixture
def edited_plan(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``edited_plan("staging", ("components/app.py", old, new), ...)``: the plan after the edits."""
    for name in SOURCES:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)

    def get(stack: str, *edits: tuple[str, str, str]) -> dict[str, Any]:
        for file, old, new in edits:
            path = tmp_path / file
            text = path.read_text()
            assert text.count(old) == 1, f"{file}: expected exactly one {old!r} to edit"
            path.write_text(text.replace(old, new))
        return plan_of(stack, tmp_path)
    return get
