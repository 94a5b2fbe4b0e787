"""Command line of the project's tools: ``python -m tools <command> ...``.

Three wings: ``offline`` (the engine without the cloud: plan, check, facts), ``delivery`` (what
the workflows call: ephemeral, comment, restore) and ``dev`` (repository upkeep: golden, docs,
bench, coverage). Each command is imported only when it runs, so ``plan`` does not pay for the
PR comment's imports and vice versa. Exit codes everywhere (tools/cli.py): 0 success, 1 a
mandatory policy violation or a failed operation, 2 bad input or usage, with a message and never
a traceback.
"""

from __future__ import annotations

import importlib
import sys

from tools import cli

COMMANDS = {
    "plan": ("tools.offline.plan", "offline plan of one or more stacks under Pulumi's mock runtime"),
    "check": ("tools.offline.check", "run the policy pack over a deployment (stack export) file"),
    "facts": ("tools.offline.facts", "a stack's facts (environment, region, host, ...) for Make and the workflows"),
    "ephemeral": ("tools.delivery.ephemeral", "per-PR environments: config | up | destroy | list | reap"),
    "comment": ("tools.delivery.comment", "render the PR comment from offline plans and verdicts"),
    "restore": ("tools.delivery.restore", "render the one-off Job that restores a Postgres backup"),
    "golden": ("tools.dev.golden", "check (or --write) the URN snapshots in tests/golden/"),
    "teardown": ("tools.dev.teardown", "check (or --write) docs/teardown.md: what a destroy deletes and keeps"),
    "docs": ("tools.dev.docs", "check (or --write) Pulumi.yaml's config block and the README table"),
    "bench": ("tools.dev.bench", "offline plan and PR verdict times next to the SDK import floor"),
    "coverage": ("tools.dev.coverage", "policy matrix rows the pack covers (policies/MATRIX.csv)"),
    "charts": ("tools.offline.charts", "fill the chart cache ($PLATFORM_CHARTS) from the chart repositories at the pinned versions"),
    "diff": ("tools.offline.diff", "what a change does to each stack: offline plan diff base -> head"),
    "constraints": ("tools.dev.constraints", "check (or --write) policies/aws_shapes.json against botocore"),
    "secrets": ("tools.dev.secrets", "check (or --write) policies/secret_inputs.json against the provider SDKs"),
    "release": ("tools.delivery.release", "blue/green releases: status | prepare | promote | rollback | decide"),
}


def usage() -> str:
    lines = ["usage: python -m tools <command> [args]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return cli.EXIT_OK if argv else cli.EXIT_USAGE
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        raise cli.UsageError(f"unknown command {name!r}\n\n{usage()}")
    module = importlib.import_module(COMMANDS[name][0])
    return cli.run(module.main, rest)


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
