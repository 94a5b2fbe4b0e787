"""The policy-pack analyzer never outlives the command that started it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from helpers import analyzer_processes

ROOT = Path(__file__).resolve().parents[2]


def _tagged_run(code: str, tag: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PLATFORM_TEST_TAG": tag})


def _left(tag: str, wait: float = 5.0) -> list[int]:
    deadline = time.monotonic() + wait
    while (left := analyzer_processes(tag=tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_no_analyzer_left_after_a_plan_refused_for_its_config(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "Pulumi.bad.yaml").write_text((ROOT / "Pulumi.staging.yaml").read_text() + "  platform:typo: 1\n")
    tag = uuid.uuid4().hex
    done = _tagged_run(f"import sys; from tools import cli; from tools.offline import plan; "
                       f"sys.exit(cli.run(plan.main, ['bad', '-C', {str(tmp_path)!r}]))", tag)
    assert done.returncode == 2 and "platform:typo" in done.stderr, done.stderr
    assert _left(tag, wait=1.0) == [], "the refused plan left its analyzer running"


def test_no_analyzer_left_when_its_parent_is_killed() -> None:
    tag = uuid.uuid4().hex
    code = ("import os, signal; from tools.offline import check; check.shared_analyzer(); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    done = _tagged_run(code, tag)
    assert done.returncode == -9, done.stderr
    assert _left(tag) == [], "the analyzer outlived a parent killed with SIGKILL (no cleanup ran)"


def test_the_analyzer_stops_when_its_context_ends() -> None:
    from tools.offline import check

    with check.Analyzer() as analyzer:
        assert analyzer.process.poll() is None
    assert analyzer.process.poll() is not None and analyzer.process.pid not in analyzer_processes(parent=os.getpid())
