"""Command line of the project's offline tools: ``python -m tools <command> ...``.

Each command lives in its own module and is imported only when it runs, so ``plan`` does not
pay for the policy checker's imports and vice versa. Exit codes everywhere: 0 success,
1 a mandatory policy violation (or a failed operation), 2 bad input or usage, with a message
and never a traceback.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "plan": ("tools.plan", "offline plan of a stack under Pulumi's mock runtime"),
    "check": ("tools.check", "run the policy pack over a deployment (stack export) file"),
    "policy": ("tools.coverage", "policy pack reports: `policy coverage`"),
    "ephemeral": ("tools.ephemeral", "per-PR environments: config | up | destroy | list | reap"),
    "restore": ("tools.restore", "render the one-off Job that restores a Postgres backup"),
    "comment": ("tools.comment", "render the PR comment from offline plans"),
    "release": ("tools.delivery.release", "blue/green releases: status | prepare | promote | rollback | decide"),
}


def usage() -> str:
    lines = ["usage: python -m tools <command> [args]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
