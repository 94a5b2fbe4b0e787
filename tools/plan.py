"""``python -m tools plan <stack> [--json FILE] [--manifests DIR] [--no-policy]``

The offline plan: runs the real program for a stack under Pulumi's mock runtime and prints what
``pulumi preview`` would create, as a tree, with counts per type, the stack outputs (secrets as
``[secret]``) and the policy verdict. ``--json`` writes the plan in ``pulumi stack export``
format; ``--manifests`` writes every Kubernetes object the program declares, one YAML file each.

Exit codes: 0 plan ok, 1 mandatory policy violation, 2 configuration or usage error.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from tools import mockrun, stackfile

EXIT_OK, EXIT_POLICY, EXIT_USAGE = 0, 1, 2
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


class UsageError(Exception):
    pass


def build(stack: str, root: Path = stackfile.ROOT, *, first_preview: bool = False) -> mockrun.Plan:
    """Loads the stack file and runs the program. Raises ConfigError / StackFileError."""
    cfg = stackfile.load(stack, root)
    return mockrun.run_program(stack, cfg.config, secret_keys=cfg.secret_keys, project=cfg.project,
                               program=root / "__main__.py", first_preview=first_preview)


# ------------------------------------------------------------------------------------------
# Export format
# ------------------------------------------------------------------------------------------


def export(plan: mockrun.Plan) -> dict[str, Any]:
    """The plan as ``pulumi stack export`` would show it after an update (secrets encrypted)."""
    stack_res = {
        "urn": plan.stack_urn,
        "custom": False,
        "type": "pulumi:pulumi:Stack",
        "outputs": mockrun.redact(plan.stack_outputs),
    }
    resources = [stack_res]
    for r in plan.resources:
        entry: dict[str, Any] = {
            "urn": r.urn,
            "custom": r.custom,
            "type": r.type,
            "inputs": mockrun.redact(r.inputs),
            "outputs": mockrun.redact(mockrun.mark_secret_outputs(r)),
            "parent": r.parent or plan.stack_urn,
            "dependencies": r.dependencies,
            "propertyDependencies": r.property_dependencies,
            "protect": r.protect,
        }
        if r.custom:
            entry["id"] = r.id
        if r.provider:
            entry["provider"] = r.provider
        if r.retain_on_delete:
            entry["retainOnDelete"] = True
        if r.delete_before_replace:
            entry["deleteBeforeReplace"] = True
        if r.additional_secret_outputs:
            entry["additionalSecretOutputs"] = r.additional_secret_outputs
        resources.append(entry)
    return {
        "version": 3,
        "deployment": {
            "manifest": {"time": "1970-01-01T00:00:00Z", "magic": "", "version": "offline-plan",
                         "plugins": []},
            "secrets_providers": {"type": "offline", "state": {}},
            "resources": resources,
        },
    }


# ------------------------------------------------------------------------------------------
# Kubernetes manifests
# ------------------------------------------------------------------------------------------


def manifests(plan: mockrun.Plan) -> dict[str, dict[str, Any]]:
    """``{filename: object}`` for every Kubernetes object the program declares (not Helm's)."""
    out: dict[str, dict[str, Any]] = {}
    for r in plan.resources:
        if not r.custom or not r.type.startswith("kubernetes:") or r.type == HELM_RELEASE:
            continue
        obj = _integral(mockrun.plain(r.inputs, secret="REDACTED"))
        if "kind" not in obj or "apiVersion" not in obj:
            continue
        meta = dict(obj.get("metadata") or {})
        meta["name"] = (r.outputs.get("metadata") or {}).get("name") or meta.get("name")
        obj["metadata"] = meta
        if obj["kind"] == "Secret":
            # The SDK marks the whole data/stringData map secret: keep the keys, redact the values.
            for prop, redacted in (("data", "UkVEQUNURUQ="), ("stringData", "REDACTED")):  # base64("REDACTED")
                raw = r.inputs.get(prop)
                keys = raw["value"] if raw is not None and mockrun.is_secret(raw) else obj.get(prop)
                if isinstance(keys, dict):
                    obj[prop] = {k: redacted for k in keys}
        ordered = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
        ordered.update({k: v for k, v in obj.items() if k not in ordered})
        ns = meta.get("namespace") or "cluster"
        out[f"{ns}--{obj['kind'].lower()}--{meta['name']}.yaml"] = ordered
    return out


def _integral(value: Any) -> Any:
    """The wire format carries every number as a double; Kubernetes wants ``replicas: 2``, not 2.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def write_manifests(plan: mockrun.Plan, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.yaml"):
        stale.unlink()
    objects = manifests(plan)
    for filename, obj in objects.items():
        (directory / filename).write_text(yaml.safe_dump(obj, sort_keys=False))
    return len(objects)


# ------------------------------------------------------------------------------------------
# Human output
# ------------------------------------------------------------------------------------------


def tree(plan: mockrun.Plan) -> str:
    children: dict[str, list[mockrun.Recorded]] = {}
    for r in plan.resources:
        children.setdefault(r.parent or plan.stack_urn, []).append(r)
    width = max([len(r.type) for r in plan.resources] + [20]) + 6
    lines = [f"     {'Type':<{width}} Name", f" +   {'pulumi:pulumi:Stack':<{width}} {plan.project}-{plan.stack}"]

    def walk(urn: str, prefix: str) -> None:
        kids = children.get(urn, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            branch = "└─ " if last else "├─ "
            flags = " [protect]" if r.protect else ""
            flags += " [retain]" if r.retain_on_delete else ""
            label = f"{prefix}{branch}{r.type}"
            lines.append(f" +   {label:<{width}} {r.name}{flags}")
            walk(r.urn, prefix + ("   " if last else "│  "))

    walk(plan.stack_urn, "")
    return "\n".join(lines)


def counts(plan: mockrun.Plan) -> str:
    by_type = Counter(r.type for r in plan.resources)
    lines = ["Resources by type:"]
    lines += [f"  {n:>4}  {t}" for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines.append(f"  {sum(by_type.values()) + 1:>4}  total to create (including the stack)")
    return "\n".join(lines)


def outputs_text(plan: mockrun.Plan) -> str:
    shown = mockrun.plain(plan.stack_outputs)
    lines = ["Outputs:"]
    lines += [f"  {k}: {v}" for k, v in sorted(shown.items())]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools plan", description=__doc__.split("\n\n")[1])
    p.add_argument("stack", help="stack name: staging, production or pr-<n>")
    p.add_argument("--json", dest="json_file", type=Path, help="write the plan in `pulumi stack export` format")
    p.add_argument("--manifests", type=Path, help="write every declared Kubernetes object as YAML here")
    p.add_argument("--no-policy", action="store_true", help="skip the policy check")
    p.add_argument("--first-preview", action="store_true",
                   help="as the first `pulumi preview` of a new stack sees it: ids, ARNs and endpoints "
                        "of resources to create are unknown (the policy pack must still pass)")
    p.add_argument("--no-render", action="store_true",
                   help="do not render the Helm Releases nor judge the whole cluster (tools.offline.cluster)")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("-C", "--cwd", type=Path, default=stackfile.ROOT,
                   help="project directory holding Pulumi.yaml and the stack files (default: this repo)")
    return p


def _start_policy_pack() -> threading.Thread:
    """Boots the analyzer plugin while the program runs: the two overlap on separate cores."""
    from tools import check

    thread = threading.Thread(target=check.shared_analyzer, name="policy-pack", daemon=True)
    thread.start()
    return thread


def _policy(plan_export: dict[str, Any], stack: str, environment: str) -> tuple[int, str]:
    from tools import check

    try:
        result = check.check_deployment(plan_export, environment, stack=stack)
    except RuntimeError as exc:  # the pack failed to start or crashed: never report a pass
        return EXIT_POLICY, f"Policy: FAIL, the policy pack could not run: {exc}"
    return (EXIT_POLICY if result.mandatory else EXIT_OK), check.render(result)


def main(argv: list[str]) -> int:
    import config  # deferred: keeps `python -m tools --help` instant

    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    started = time.perf_counter()
    if not args.no_policy:
        _start_policy_pack()
    try:
        plan = build(args.stack, args.cwd, first_preview=args.first_preview)
    except stackfile.StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except config.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if plan.errors:
        print("error: the program reported errors:\n  " + "\n  ".join(plan.errors), file=sys.stderr)
        return EXIT_USAGE
    elapsed = time.perf_counter() - started

    environment = mockrun.plain(plan.stack_outputs).get("environment", "")
    document = export(plan)
    if not args.quiet:
        print(f"Previewing update ({args.stack}) offline, under Pulumi's mock runtime:\n")
        print(tree(plan))
        print()
        print(outputs_text(plan))
        print()
        print(counts(plan))
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json_file:
        args.json_file.parent.mkdir(parents=True, exist_ok=True)
        args.json_file.write_text(mockrun.to_json(document) + "\n")
        print(f"\nWrote {args.json_file} ({len(document['deployment']['resources'])} resources).")
    if args.manifests:
        n = write_manifests(plan, args.manifests)
        print(f"Wrote {n} Kubernetes manifests to {args.manifests}/.")

    code, verdict = (EXIT_OK, "Policy: skipped (--no-policy).") if args.no_policy else _policy(
        document, args.stack, str(environment))
    print()
    print(verdict)
    judged = ""
    if not args.no_render:
        from tools.offline import cluster

        report = cluster.judge_stack(plan, args.stack, str(environment))
        print()
        print(report.text())
        code = max(code, EXIT_POLICY if report.errors else EXIT_OK)
        judged = f", charts rendered in {report.render_seconds:.2f}s and judged in {report.check_seconds:.2f}s"
    print(f"\nPlan of {args.stack}: {len(plan.resources) + 1} resources to create, "
          f"{len(plan.warnings)} warning(s), program ran in {elapsed:.2f}s{judged}.")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
