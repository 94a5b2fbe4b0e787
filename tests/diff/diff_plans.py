"""Plans of the real program, unedited or with one code edit applied to a copy of the repository.

Each edited plan runs the copy's ``__main__.py`` under the mocks with the copy's ``config`` and
``components`` imported in place of the repository's (they are evicted from ``sys.modules``
before and after), so a test diffs exactly what the edit changes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import golden, mockrun, plan  # noqa: E402

SOURCES = ("__main__.py", "config.py", "components", "images", "Pulumi.yaml")


@contextmanager
def _program_modules(directory: Path) -> Iterator[None]:
    def evict() -> None:
        for name in [m for m in sys.modules if m == "config" or m == "components" or m.startswith("components.")]:
            del sys.modules[name]
    evict()
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        evict()


def plan_of(stack: str, directory: Path = ROOT) -> dict[str, Any]:
    """The plan export (as `tools plan --json` writes it) of the program in ``directory``."""
    config, secrets = golden.stack_config(stack)
    with _program_modules(directory):
        result = mockrun.run_program(stack, config, secret_keys=secrets, program=directory / "__main__.py")
    assert not result.errors, result.errors
    return plan.export(result)
