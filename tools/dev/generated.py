"""One command shape for the data files the dev tools generate from upstream artifacts
(policies/aws_shapes.json from botocore, policies/secret_inputs.json from the provider SDKs):
print the file, fail when the committed one is stale, rewrite it with ``--write``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from tools import cli
from tools.cli import EXIT_FAILED, EXIT_OK, ROOT


def main(argv: list[str], *, prog: str, description: str, output: Path, render: Callable[[], str]) -> int:
    parser = cli.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--write", action="store_true", help=f"write {output.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    rendered = render()
    if args.write:
        output.write_text(rendered)
        print(f"wrote {output.relative_to(ROOT)}")
        return EXIT_OK
    current = output.read_text() if output.exists() else ""
    sys.stdout.write(rendered)
    if current != rendered:
        print(f"error: {output.relative_to(ROOT)} is stale; run `{prog} --write`", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
