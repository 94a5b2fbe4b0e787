"""Resource-graph snapshots: one golden file of URNs per stack class (``tests/golden/<stack>.urns``).

A URN is type + logical name + parent chain. Changing one makes Pulumi delete and recreate the
resource (a replaced database, a new bucket), so a changed URN must be a deliberate decision:
``make golden`` regenerates the files, and the diff shows up in review.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from tools import mockrun, stackfile

GOLDEN_DIR = stackfile.ROOT / "tests" / "golden"
STACKS = ("pr-7", "staging", "production")
BOOTSTRAP_DIR = stackfile.ROOT / "bootstrap"
BOOTSTRAP_STACKS = ("staging-eu-west-1", "production-eu-west-1")
"""The bootstrap project's stacks: ``tests/golden/bootstrap-<stack>.urns``."""
EXPIRES_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
"""Fixed so the snapshot of the PR stack does not depend on today's date (URNs don't either)."""


def stack_config(stack: str) -> tuple[dict[str, str], frozenset[str]]:
    """Engine-shaped config of a snapshot stack. ``pr-<n>`` is generated from staging exactly as
    ``python -m tools ephemeral config`` would write it, with a fixed expiry."""
    if stack.startswith("pr-") and not (stackfile.ROOT / f"Pulumi.{stack}.yaml").exists():
        from tools import ephemeral

        _, cfg = ephemeral.render_stack_file(
            pr=int(stack[3:]), base="staging", base_config=stackfile.load("staging").config,
            expires_at=EXPIRES_AT)
        return {k: stackfile.engine_value(v) for k, v in cfg.items()}, frozenset()
    loaded = stackfile.load(stack)
    return dict(loaded.config), loaded.secret_keys


def plan_for(stack: str) -> mockrun.Plan:
    config, secret_keys = stack_config(stack)
    return mockrun.run_program(stack, config, secret_keys=secret_keys, project=stackfile.project_name())


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
    parser = argparse.ArgumentParser(prog="python -m tools.golden", description=__doc__.split("\n\n")[0])
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
            print(f"{'wrote' if args.write else 'differs'}: {path.relative_to(stackfile.ROOT)}")
    if not changed:
        print("golden files are current")
    return 1 if changed and not args.write else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
