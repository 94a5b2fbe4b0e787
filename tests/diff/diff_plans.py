"""Plans of the real program, unedited or with one code edit applied to a copy of the repository.

Each edited plan runs the copy's ``__main__.py`` under the mocks with the copy's ``config`` and
``components`` imported in place of the repository's (``mockrun.program_modules``, as ``tools plan
-C`` does for the PR's merge base), so a test diffs exactly what the edit changes.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.offline import facts, mockrun, plan  # noqa: E402

SOURCES = ("__main__.py", "config.py", "components", "images", "Pulumi.yaml")


def plan_of(stack: str, directory: Path = ROOT) -> dict[str, Any]:
    """The plan export (as `tools plan --json` writes it) of the program in ``directory``."""
    cfg = facts.engine_config(stack, reproducible=True)
    config, secrets = dict(cfg.config), cfg.secret_keys
    # run_program imports the copy's own config and components (mockrun.program_modules).
    result = mockrun.run_program(stack, config, secret_keys=secrets, program=directory / "__main__.py")
    assert not result.errors, result.errors
    return plan.export(result)


_BASE: dict[str, dict[str, Any]] = {}
# Test modules import these fixtures by their function names (``from diff_plans import ...``):
# a conftest.py here would shadow the top-level one, which other tests import as ``conftest``.


@pytest.fixture(scope="session", name="base_plan")
def base_plan_fixture() -> Callable[[str], dict[str, Any]]:
    """The unedited program's plan of a stack, once per session."""
    def get(stack: str) -> dict[str, Any]:
        if stack not in _BASE:
            _BASE[stack] = plan_of(stack)
        return _BASE[stack]
    return get


@pytest.fixture(name="edited_plan")
def edited_plan_fixture(tmp_path: Path) -> Callable[..., dict[str, Any]]:
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
