"""``make docs``: regenerate what is derived from ``config.py`` — the ``config:`` block of
``Pulumi.yaml`` (every key with type and description) and the README's environment table.

Without ``--write`` it only reports what is stale (exit 1); tests run that check.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import config
from tools import cli
from tools.cli import ROOT, UsageError

PROJECT_FILE = ROOT / "Pulumi.yaml"
README = ROOT / "README.md"
_CONFIG_HEADER = "config:\n"
_TABLE = re.compile(r"(<!-- BEGIN environment-table[^>]*-->\n)(.*?)(<!-- END environment-table -->)", re.S)


def _scalar(text: str) -> str:
    """A YAML plain scalar when safe, else single-quoted."""
    if re.search(r"(^[\s'\"#&*!|>%@`{\[-])|(: )|( #)|[{}\[\],]$", text):
        return "'" + text.replace("'", "''") + "'"
    return text


def config_block() -> str:
    lines = [_CONFIG_HEADER.rstrip()]
    for key in config.KEYS:
        lines += [f"  {key.name}:", f"    type: {key.type}"]
        if key.type == "array":
            lines += ["    items:", "      type: string"]
        lines.append(f"    description: {_scalar(key.description)}")
        if key.secret:
            lines.append("    secret: true")
    return "\n".join(lines) + "\n"


def project_file(current: str) -> str:
    head = current.split(_CONFIG_HEADER, 1)[0]
    return head + config_block()


def readme(current: str) -> str:
    if not _TABLE.search(current):
        raise UsageError("README.md lost its <!-- BEGIN environment-table --> markers; restore them around the table")
    return _TABLE.sub(lambda m: m.group(1) + config.environment_table() + "\n" + m.group(3), current)


def stale() -> dict[Path, str]:
    """``{path: regenerated text}`` for every derived file that differs from its source of truth."""
    out = {}
    for path, render in ((PROJECT_FILE, project_file), (README, readme)):
        current = path.read_text()
        fresh = render(current)
        if fresh != current:
            out[path] = fresh
    return out


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools docs", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    changed = stale()
    for path, text in changed.items():
        if args.write:
            path.write_text(text)
        print(f"{'wrote' if args.write else 'stale'}: {path.name}")
    return 1 if changed and not args.write else 0


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
