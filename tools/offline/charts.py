"""``python -m tools.offline.charts [--dest DIR]`` (``make charts``): fill the chart folder.

Pulls every chart the program's Releases pin (read from the offline plans of the stack files, so
the list is always the program's own) at its pinned version, through Helm's own client
(helm-python-sdk's ``pull``: HTTP repositories via their ``index.yaml``, OCI registries natively),
into ``PLATFORM_CHARTS`` (default ``~/.cache/platform/charts``) as ``<chart>-<version>.tgz``.
An archive already there is kept. Needs access to the chart repositories; where there is none
(CI, this project's sandbox) point ``PLATFORM_CHARTS`` at a folder holding the same archives.

Exit codes: 0 every chart present, 1 a pull failed (Helm's message), 2 usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tools import cli
from tools.cli import EXIT_FAILED, EXIT_OK
from tools.offline import helm

STACKS = ("staging", "production", "pr-1")
"""One stack per environment class: together they pin every chart the program installs."""


def pinned() -> list[helm.ReleaseSpec]:
    from tools.offline.plan import build

    seen: dict[str, helm.ReleaseSpec] = {}
    for stack in STACKS:
        plan = build(stack, reproducible=True)
        for spec in helm.releases((r.urn, r.type, r.inputs) for r in plan.resources):
            seen.setdefault(spec.archive_name, spec)
    return sorted(seen.values(), key=lambda s: s.archive_name)


def pull(spec: helm.ReleaseSpec, dest: Path) -> None:
    import helm_python

    if spec.chart.startswith("oci://"):
        helm_python.pull(spec.chart, version=spec.version, destination=dest)
    else:
        helm_python.pull(spec.chart_name, repo_url=spec.repo, version=spec.version, destination=dest)


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools charts", description=__doc__.split("\n\n")[1])
    parser.add_argument("--dest", type=Path, default=None, help=f"chart folder (default ${helm.CHARTS_ENV} or "
                                                                f"{helm.DEFAULT_CHARTS})")
    args = parser.parse_args(argv)
    dest = args.dest or helm.charts_dir()
    dest.mkdir(parents=True, exist_ok=True)
    failed = 0
    for spec in pinned():
        if (dest / spec.archive_name).is_file():
            print(f"have   {spec.archive_name}")
            continue
        try:
            pull(spec, dest)
        except Exception as exc:  # noqa: BLE001 - helm_python raises HelmError subclasses; report every one
            print(f"error: cannot pull {spec.archive_name} for {spec.origin}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"pulled {spec.archive_name}" if (dest / spec.archive_name).is_file() else
              f"error: Helm pulled {spec.chart} but {spec.archive_name} is not in {dest}")
    return EXIT_FAILED if failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
