"""Resource-graph snapshots: one golden file of URNs per stack class (``tests/golden/<stack>.urns``).

A URN is type + logical name + parent chain. Changing one makes Pulumi delete and recreate the
resource (a replaced database, a new bucket), so a changed URN must be a deliberate decision:
``make golden`` (``python -m tools golden --write``) regenerates the files, and the diff shows up in review.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tools import cli
from tools.cli import ROOT
from tools.offline import mockrun, stackfile
from tools.offline.plan import build

GOLDEN_DIR = ROOT / "tests" / "golden"
STACKS = ("pr-7", "staging", "production")
"""One stack per environment class; pr-7 is always synthesized from staging (tools/offline/facts.py),
never read from a local Pulumi.pr-7.yaml."""
BOOTSTRAP_DIR = ROOT / "bootstrap"
BOOTSTRAP_STACKS = ("staging-eu-west-1", "production-eu-west-1")
"""The bootstrap project's stacks: ``tests/golden/bootstrap-<stack>.urns``."""


def plan_for(stack: str) -> mockrun.Plan:
    return build(stack, reproducible=True)


def bootstrap_plan_for(stack: str) -> mockrun.Plan:
    loaded = stackfile.load(stack, BOOTSTRAP_DIR)
    return mockrun.run_program(stack, loaded.config, secret_keys=loaded.secret_keys, project=loaded.project,
                               program=BOOTSTRAP_DIR / "__main__.py")


def urns(plan: mockrun.Plan) -> list[str]:
    return sorted(r.urn for r in plan.resources)


def render(plan: mockrun.Plan) -> str:
    header = (f"# URNs of stack {plan.stack}: a change here replaces the resource in real life.\n"
              f"# Regenerate deliberately with `make golden`.\n")
    return header + "\n".join(urns(plan)) + "\n"


def path_for(stack: str) -> Path:
    return GOLDEN_DIR / f"{stack}.urns"


def read(stack: str) -> list[str]:
    return [line for line in path_for(stack).read_text().splitlines() if line and not line.startswith("#")]


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools golden", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the golden files")
    args = parser.parse_args(argv)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    changed = 0
    snapshots = [(path_for(s), lambda s=s: plan_for(s)) for s in STACKS]
    snapshots += [(GOLDEN_DIR / f"bootstrap-{s}.urns", lambda s=s: bootstrap_plan_for(s)) for s in BOOTSTRAP_STACKS]
    for path, plan in snapshots:
        text = render(plan())
        if not path.exists() or path.read_text() != text:
            changed += 1
            if args.write:
                path.write_text(text)
            print(f"{'wrote' if args.write else 'differs'}: {path.relative_to(ROOT)}")
    if not changed:
        print("golden files are current")
    return 1 if changed and not args.write else 0


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
