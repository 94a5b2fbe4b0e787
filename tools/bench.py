"""``make bench``: wall time of the offline plan of production next to the bare SDK import time.

Both are measured in fresh interpreters in the same run (median of N), so the ratio is fair:
the plan must stay within 4x the time it takes just to import pulumi, pulumi_aws,
pulumi_kubernetes and pulumi_docker.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from tools import stackfile

IMPORT = "import pulumi, pulumi_aws, pulumi_kubernetes, pulumi_docker"
TARGET_RATIO = 4.0


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=stackfile.ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"benchmark command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")
    return elapsed


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stack", default="production")
    args = parser.parse_args(argv)
    py = sys.executable
    timed([py, "-c", IMPORT])  # warm the page cache and bytecode once
    imports = [timed([py, "-c", IMPORT]) for _ in range(args.runs)]
    plans = [timed([py, "-m", "tools", "plan", args.stack, "--quiet"]) for _ in range(args.runs)]
    plans_np = [timed([py, "-m", "tools", "plan", args.stack, "--quiet", "--no-policy"]) for _ in range(args.runs)]
    imp, plan, plan_np = statistics.median(imports), statistics.median(plans), statistics.median(plans_np)
    ratio = plan / imp
    print(f"bare import ({IMPORT}): median {imp:.3f}s of {args.runs}")
    print(f"offline plan of {args.stack} (with policy check): median {plan:.3f}s  ({ratio:.1f}x import)")
    print(f"offline plan of {args.stack} (--no-policy):       median {plan_np:.3f}s  ({plan_np / imp:.1f}x import)")
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"target: plan within {TARGET_RATIO:.0f}x import -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
