"""Every bad input is refused clearly: exit 2, one ``error:`` naming the key or path, no traceback.

The corpus is tests/inputs/cases.py (stack files, CLI arguments, plan JSON, output paths). Most cases
run in-process through ``cli.run`` (as ``python -m tools`` does); a few through a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cases import CASES, ROOT, Case

from tools import cli
from tools.__main__ import main as tools_main


def lay_out(case: Case, tmp_path: Path) -> list[str]:
    project, scratch = tmp_path / "p", tmp_path / "t"
    project.mkdir()
    scratch.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).symlink_to(ROOT / name)
    if case.stack_file is not None:
        data = case.stack_file
        (project / "Pulumi.bad.yaml").write_bytes(data if isinstance(data, bytes) else data.encode())
    for name, content in case.files.items():
        path = (project if name.startswith("Pulumi.") else scratch) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return [a.replace("{p}", str(project)).replace("{t}", str(scratch)) for a in case.argv]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clear_error(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = lay_out(case, tmp_path)
    before = _files(tmp_path)
    code = cli.run(tools_main, argv)
    out, err = capsys.readouterr()
    assert code == case.code, f"{case.kind} {case.id}: exit {code}, expected {case.code}\n{err}{out[-500:]}"
    assert err.startswith("error: ") and "Traceback" not in out + err, f"{case.id}:\n{err}"
    missing = [word for word in case.named if word not in err]
    assert not missing, f"{case.id}: the error does not name {missing}:\n{err}"
    assert _files(tmp_path) == before, f"{case.id}: a refused command changed or removed files"


def test_the_corpus_covers_every_class_with_150_cases() -> None:
    kinds = {kind: sum(c.kind == kind for c in CASES) for kind in ("stack-file", "cli-args", "plan-json", "output-path")}
    assert len(CASES) >= 150 and all(n >= 10 for n in kinds.values()), kinds
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


@pytest.mark.parametrize("case_id", ["namespace-typo", "not-utf8", "plan-manifests-project-folder", "nan-input"])
def test_in_a_real_process_the_error_is_one_line_without_traceback(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    argv = lay_out(case, tmp_path)
    done = subprocess.run([sys.executable, "-m", "tools", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == case.code and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout and all(w in done.stderr for w in case.named), done.stderr
