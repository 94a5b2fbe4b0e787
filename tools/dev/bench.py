"""``make bench`` (``python -m tools bench``): wall times of the offline plan and of the PR verdict
next to the SDK import floor.

Measured in fresh interpreters in the same run, best and median of N:
- bare import: ``import pulumi, pulumi_aws, pulumi_kubernetes, pulumi_docker`` (the packages
  load their submodules lazily, so this is only the entry cost);
- the SDK modules the program really uses (``pulumi_aws.ec2``, ``pulumi_kubernetes.core.v1``, ...):
  the floor no offline run of this program can go below;
- the plan of one stack with its policy check, and without it;
- the same plan without rendering the Helm Releases (``--no-render``), and with rendering from a
  cold render cache (a fresh ``PLATFORM_RENDER_CACHE`` each run; the others run warm), when the
  chart folder exists;
- the PR verdict: ``plan staging production pr-7`` in one process, the pack once per stack.
Targets: the plan within 4x the bare import; the PR verdict within 2x the used-SDK floor.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from tools import cli
from tools.cli import ROOT, UsageError
from tools.offline.helm import charts_dir

BARE = "import pulumi, pulumi_aws, pulumi_kubernetes, pulumi_docker"
TARGET_RATIO = 4.0
VERDICT_STACKS = ("staging", "production", "pr-7")
VERDICT_RATIO = 2.0
_USED_MODULES = """
import json, sys
from tools.offline.plan import build
build(sys.argv[1], reproducible=True)
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("pulumi_aws.", "pulumi_kubernetes.",
      "pulumi_docker", "pulumi_random", "pulumi_tls")) and m.count(".") <= 3)))
"""


def used_sdk_modules(stack: str = "production") -> list[str]:
    """The provider SDK modules a run of the program imports (the import floor's list)."""
    done = subprocess.run([sys.executable, "-c", _USED_MODULES, stack], cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def timed(cmd: list[str], cold_cache: bool = False) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as cache:
        env = {**os.environ, **({"PLATFORM_RENDER_CACHE": cache} if cold_cache else {})}
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise UsageError(f"benchmark command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return elapsed


def series(cmd: list[str], runs: int, cold_cache: bool = False) -> tuple[float, float]:
    times = [timed(cmd, cold_cache) for _ in range(runs)]
    return min(times), statistics.median(times)


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="production")
    args = parser.parse_args(argv)
    py = sys.executable
    used = used_sdk_modules(args.stack)
    used_import = "import pulumi; " + "; ".join(f"import {m}" for m in used)
    timed([py, "-c", used_import])  # warm the page cache once
    rows = [
        (f"bare import ({BARE})", series([py, "-c", BARE], args.runs)),
        (f"import of the {len(used)} SDK modules the program uses", series([py, "-c", used_import], args.runs)),
        (f"offline plan of {args.stack}, with policy check", series(
            [py, "-m", "tools", "plan", args.stack, "--quiet"], args.runs)),
        (f"offline plan of {args.stack}, --no-policy", series(
            [py, "-m", "tools", "plan", args.stack, "--quiet", "--no-policy"], args.runs)),
        (f"PR verdict: plan {' '.join(VERDICT_STACKS)} (one process)", series(
            [py, "-m", "tools", "plan", *VERDICT_STACKS, "--quiet"], args.runs)),
    ]
    if charts_dir().is_dir():
        plan_cmd = [py, "-m", "tools", "plan", args.stack, "--quiet"]
        rows += [(f"offline plan of {args.stack}, --no-render (charts neither rendered nor judged)",
                  series([*plan_cmd, "--no-render"], args.runs)),
                 (f"offline plan of {args.stack}, rendering from a cold render cache",
                  series(plan_cmd, args.runs, cold_cache=True))]
    bare, floor = rows[0][1][0], rows[1][1][0]
    for label, (best, median) in rows:
        print(f"{label:<64} best {best:6.3f}s  median {median:6.3f}s  {best / bare:5.1f}x bare  "
              f"{best / floor:4.1f}x floor")
    plan, verdict = rows[2][1][0], rows[4][1][0]
    print(f"target: plan within {TARGET_RATIO:.0f}x bare import -> {'met' if plan <= TARGET_RATIO * bare else 'NOT met'}"
          f" ({plan / bare:.1f}x); plan over the used-SDK import floor: {plan - floor:+.2f}s")
    print(f"target: PR verdict within {VERDICT_RATIO:.0f}x the used-SDK floor -> "
          f"{'met' if verdict <= VERDICT_RATIO * floor else 'NOT met'} ({verdict / floor:.2f}x)")
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
