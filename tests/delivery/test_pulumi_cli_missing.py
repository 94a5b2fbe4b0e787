"""Without the Pulumi CLI, the Automation API commands stop with exit 2 and how to install it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import cli
from tools.delivery import ephemeral

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("argv", [["up", "--pr", "1"], ["destroy", "--pr", "1"],
                                  ["destroy", "--pr", "1", "--preview-only"], ["list"], ["reap", "--dry-run"]])
def test_missing_cli_message(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(ephemeral.shutil, "which", lambda name: None)
    assert cli.run(ephemeral.main, argv) == 2
    err = capsys.readouterr().err
    assert "Pulumi CLI is not installed" in err
    assert "curl -fsSL https://get.pulumi.com | sh" in err and "https://www.pulumi.com/docs/install/" in err


def test_missing_cli_end_to_end_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty directory: no pulumi on PATH
    proc = subprocess.run([sys.executable, "-m", "tools", "ephemeral", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "get.pulumi.com" in proc.stderr and "Traceback" not in proc.stderr
