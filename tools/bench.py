"""``make bench``: wall time of the offline plan of production next to SDK import times.

Measured in fresh interpreters in the same run, best and median of N:
- bare import: ``import pulumi, pulumi_aws, pulumi_kubernetes, pulumi_docker`` (the packages
  load their submodules lazily, so this is only the entry cost);
- the SDK modules the program really uses (``pulumi_aws.ec2``, ``pulumi_kubernetes.core.v1``, ...):
  the floor no offline run of this program can go below;
- the plan with its policy check, and without it.
The target is the plan within 4x the bare import.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from tools import stackfile

BARE = "import pulumi, pulumi_aws, pulumi_kubernetes, pulumi_docker"
TARGET_RATIO = 4.0
_USED_MODULES = """
import json, sys
from tools import golden
golden.plan_for(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("pulumi_aws.", "pulumi_kubernetes.",
      "pulumi_docker", "pulumi_random", "pulumi_tls")) and m.count(".") <= 3)))
"""


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=stackfile.ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return elapsed


def series(cmd: list[str], runs: int) -> tuple[float, float]:
    times = [timed(cmd) for _ in range(runs)]
    return min(times), statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="production")
    args = parser.parse_args(argv)
    py = sys.executable
    used = json.loads(subprocess.run([py, "-c", _USED_MODULES, args.stack], cwd=stackfile.ROOT, check=True,
                                     capture_output=True, text=True).stdout)
    used_import = "import pulumi; " + "; ".join(f"import {m}" for m in used)
    timed([py, "-c", used_import])  # warm the page cache once
    rows = [
        (f"bare import ({BARE})", series([py, "-c", BARE], args.runs)),
        (f"import of the {len(used)} SDK modules the program uses", series([py, "-c", used_import], args.runs)),
        (f"offline plan of {args.stack}, with policy check", series(
            [py, "-m", "tools", "plan", args.stack, "--quiet"], args.runs)),
        (f"offline plan of {args.stack}, --no-policy", series(
            [py, "-m", "tools", "plan", args.stack, "--quiet", "--no-policy"], args.runs)),
    ]
    bare = rows[0][1][0]
    for label, (best, median) in rows:
        print(f"{label:<64} best {best:6.3f}s  median {median:6.3f}s  {best / bare:5.1f}x bare")
    plan = rows[2][1][0]
    print(f"target: plan within {TARGET_RATIO:.0f}x bare import -> {'met' if plan <= TARGET_RATIO * bare else 'NOT met'}"
          f" ({plan / bare:.1f}x); plan over the used-SDK import floor: {plan - rows[1][1][0]:+.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
