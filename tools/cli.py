"""What every command shares: the repository root, the exit codes, the usage error and ``run``.

A command is ``main(argv) -> int``. Bad input raises ``UsageError`` (or ``config.ConfigError``)
with a one-line message naming the key or file and the fix; ``run`` prints it as ``error: ...``
and returns ``EXIT_USAGE``, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
"""The repository: Pulumi.yaml, the stack files, __main__.py, policies/."""

EXIT_OK = 0
EXIT_FAILED = 1
"""A mandatory policy violation or a failed operation."""
EXIT_USAGE = 2
"""Bad input or usage: a message, never a traceback."""
EXIT_BLOCKING = 3
"""``tools diff``: a stateful resource would be deleted or replaced (distinct from a policy violation)."""


class UsageError(Exception):
    """Bad arguments or input; the message says what is wrong and what to do."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises ``UsageError`` instead of exiting, so ``run`` reports every bad input alike."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def output_file(path: Path, flag: str) -> Path:
    """``path`` made ready to be written as a file: missing parent folders are created (as for every
    output of every command); a folder, or a parent that is a file, is a ``UsageError``."""
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give a file name (e.g. {path / 'out.json'})")
    _make_parent(path.parent, flag, path)
    return path


def output_dir(path: Path, flag: str) -> Path:
    """``path`` made ready as a folder to write into (created with its parents); a file is a ``UsageError``."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: is a file; give a folder")
    _make_parent(path, flag, path)
    return path


def _make_parent(folder: Path, flag: str, path: Path) -> None:
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise UsageError(f"{flag} {path}: {ancestor} is a file, not a folder")
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot create {folder} ({exc.strerror})") from None


def write_text(path: Path, text: str, flag: str) -> None:
    """Writes an output file; an unusable path is a ``UsageError`` naming the flag, never a traceback."""
    output_file(path, flag)
    try:
        path.write_text(text)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot be written ({exc.strerror})") from None


def run(main: Callable[[list[str]], int | None], argv: Sequence[str]) -> int:
    """``main(argv)`` with usage and configuration errors turned into ``error: ...`` and exit 2."""
    try:
        return int(main(list(argv)) or EXIT_OK)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse's --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK if exc.code is None else EXIT_USAGE
    except Exception as exc:
        if _is_config_error(exc):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _is_config_error(exc: Exception) -> bool:
    config = sys.modules.get("config")  # only a command that read configuration can raise it
    return config is not None and isinstance(exc, config.ConfigError)
