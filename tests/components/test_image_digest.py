"""``context_digest``: the tag of every image this program builds. Equal for equal content however
the files were written, different for any change ``docker build`` would see."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.registry import context_digest


def _context(root: Path, files: dict[str, str], *, reverse: bool = False) -> Path:
    for name in sorted(files, reverse=reverse):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(files[name])
    return root


FILES = {"Dockerfile": "FROM scratch\nCOPY run.sh /\n", "run.sh": "#!/bin/sh\necho ok\n", "lib/a.sh": "a=1\n"}


def test_same_content_same_digest_whatever_the_write_order_and_times(tmp_path: Path) -> None:
    a = _context(tmp_path / "a", FILES)
    b = _context(tmp_path / "b", FILES, reverse=True)
    os.utime(b / "run.sh", (1, 1))
    assert context_digest(a) == context_digest(b)


@pytest.mark.parametrize("change", ["byte", "rename", "new file", "executable", "dockerfile", "platform"])
def test_any_change_docker_build_sees_changes_the_digest(tmp_path: Path, change: str) -> None:
    ctx = _context(tmp_path / "ctx", FILES)
    before = context_digest(ctx)
    kwargs = {}
    if change == "byte":
        (ctx / "run.sh").write_text("#!/bin/sh\necho OK\n")
    elif change == "rename":
        (ctx / "lib/a.sh").rename(ctx / "lib/b.sh")
    elif change == "new file":
        (ctx / "lib/c.sh").write_text("")
    elif change == "executable":
        (ctx / "run.sh").chmod(0o755)
    else:
        kwargs = {"dockerfile": "Other.Dockerfile"} if change == "dockerfile" else {"platform": "linux/arm64"}
    assert context_digest(ctx, **kwargs) != before, change


def test_a_path_boundary_cannot_alias_content(tmp_path: Path) -> None:
    one = _context(tmp_path / "one", {"ab": "c"})
    two = _context(tmp_path / "two", {"a": "bc"})
    assert context_digest(one) != context_digest(two)
