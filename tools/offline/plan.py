"""``python -m tools plan STACK [STACK ...] [--json FILE | --json-dir DIR] [--check-json FILE |
--check-json-dir DIR] [--manifests DIR] [--no-policy] [--first-preview] [--diff-against BASE]
[-C DIR]``

The offline plan: runs the real program for each stack under Pulumi's mock runtime and prints what
``pulumi preview`` would create, as a tree, with counts per type, the stack outputs (secrets as
``[secret]``) and the policy verdict. ``--json`` writes the plan in ``pulumi stack export``
format; ``--manifests`` writes every Kubernetes object the program declares, one YAML file each.

Several stacks run in one interpreter (the provider SDKs are imported once) and the policy pack
runs once per stack, in its own process, while the next stack's program runs: this is the PR
verdict CI asks for (``--json-dir`` / ``--check-json-dir`` write ``plan-<stack>.json`` and
``check-<stack>.json`` for ``python -m tools comment``). Each stack's Releases are rendered once
(tools/offline/cluster.py), the first pass while its program still runs (``helm.Prerender``); the
pack is handed those objects and runs side by side with the whole-cluster checks. A ``pr-<n>`` stack without its stack file
is planned with the config ``python -m tools ephemeral config --pr <n>`` would write (tools/offline/facts.py).

``--diff-against BASE`` prints, after each stack's verdict, what the plan changes against a base
plan (``tools/offline/diff.py``): BASE is one stack's plan JSON, or a directory of them as
``--json-dir`` writes (a stack with no plan there is new: all of it is created). ``-C DIR`` plans
the program of another checkout (e.g. the PR's merge base in a git worktree) with these tools and
that checkout's own ``config`` and ``components``, so base and head plans compare like with like.

Exit codes, per stack, and the worst over all stacks in this order (one stack's error does not
stop the others): 2 configuration or usage error, 1 mandatory policy violation, 3 the diff has a
blocking change (a stateful or protected resource deleted or replaced), 0 ok. A policy violation
outranks a blocking diff: it must be fixed whatever the diff says, while a blocking change may be
intended and is then approved by a reviewer who has read the diff.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools import cli, wire
from tools.cli import EXIT_BLOCKING, ROOT, UsageError
from tools.offline import facts, mockrun
from tools.report import CheckResult

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def build(stack: str, root: Path = ROOT, *, first_preview: bool = False, reproducible: bool = False,
          observe: Callable[[mockrun.Recorded], None] | None = None) -> mockrun.Plan:
    """Runs the program for the stack's engine config. Raises ConfigError / UsageError."""
    cfg = facts.engine_config(stack, root, reproducible=reproducible)
    return mockrun.run_program(stack, cfg.config, secret_keys=cfg.secret_keys, project=cfg.project,
                               program=root / "__main__.py", first_preview=first_preview, observe=observe)


# ------------------------------------------------------------------------------------------
# Export format
# ------------------------------------------------------------------------------------------


def export(plan: mockrun.Plan) -> dict[str, Any]:
    """The plan as ``pulumi stack export`` would show it after an update (secrets encrypted)."""
    stack_res = {
        "urn": plan.stack_urn,
        "custom": False,
        "type": "pulumi:pulumi:Stack",
        "outputs": wire.redact(plan.stack_outputs),
    }
    resources = [stack_res]
    for r in plan.resources:
        entry: dict[str, Any] = {
            "urn": r.urn,
            "custom": r.custom,
            "type": r.type,
            "inputs": wire.redact(r.inputs),
            "outputs": wire.redact(mockrun.mark_secret_outputs(r)),
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
        if r.aliases:
            entry["aliases"] = r.aliases
        if r.ignore_changes:
            entry["ignoreChanges"] = r.ignore_changes
        if r.replace_on_changes:
            entry["replaceOnChanges"] = r.replace_on_changes
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
        obj = wire.integral(wire.plain(r.inputs, secret="REDACTED"))
        if "kind" not in obj or "apiVersion" not in obj:
            continue
        meta = dict(obj.get("metadata") or {})
        meta["name"] = (r.outputs.get("metadata") or {}).get("name") or meta.get("name")
        obj["metadata"] = meta
        if obj["kind"] == "Secret":
            # The SDK marks the whole data/stringData map secret: keep the keys, redact the values.
            for prop, redacted in (("data", "UkVEQUNURUQ="), ("stringData", "REDACTED")):  # base64("REDACTED")
                raw = r.inputs.get(prop)
                keys = raw["value"] if raw is not None and wire.is_secret(raw) else obj.get(prop)
                if isinstance(keys, dict):
                    obj[prop] = {k: redacted for k in keys}
        ordered = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
        ordered.update({k: v for k, v in obj.items() if k not in ordered})
        ns = meta.get("namespace") or "cluster"
        out[f"{ns}--{obj['kind'].lower()}--{meta['name']}.yaml"] = ordered
    return out


MANIFESTS_MARKER = ".platform-manifests"
"""Lists the files ``--manifests`` wrote into a folder: the only files a later run may replace."""


def manifests_folder(directory: Path) -> list[str]:
    """The files a previous run wrote into ``directory``; a folder holding anything else is refused
    (``--manifests .`` would otherwise replace Pulumi.yaml and the stack files)."""
    cli.output_dir(directory, "--manifests")
    marker = directory / MANIFESTS_MARKER
    if marker.is_file():
        return [line for line in marker.read_text().splitlines() if line and "/" not in line and line != ".."]
    present = sorted(p.name for p in directory.iterdir())
    if present:
        raise cli.UsageError(f"--manifests {directory}: the folder holds files this command did not write "
                             f"({', '.join(present[:3])}{', ...' if len(present) > 3 else ''}); "
                             "give an empty or new folder")
    return []


def write_manifests(plan: mockrun.Plan, directory: Path) -> int:
    previous = manifests_folder(directory)
    for name in previous:
        (directory / name).unlink(missing_ok=True)
    objects = manifests(plan)
    for filename, obj in objects.items():
        (directory / filename).write_text(yaml.safe_dump(obj, sort_keys=False))
    (directory / MANIFESTS_MARKER).write_text("".join(f"{name}\n" for name in sorted(objects)))
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
    shown = wire.plain(plan.stack_outputs)
    lines = ["Outputs:"]
    lines += [f"  {k}: {v}" for k, v in sorted(shown.items())]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def _parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m tools plan", description=(__doc__ or "").split("\n\n")[1])
    p.add_argument("stacks", nargs="+", metavar="STACK", help="stack name(s): staging, production or pr-<n>")
    p.add_argument("--json", dest="json_file", type=Path, help="write the plan in `pulumi stack export` format "
                   "(one stack)")
    p.add_argument("--json-dir", type=Path, help="write each stack's plan to DIR/plan-<stack>.json")
    p.add_argument("--check-json", type=Path, help="write the policy verdict (tools check --json format; one stack)")
    p.add_argument("--check-json-dir", type=Path, help="write each stack's policy verdict to DIR/check-<stack>.json")
    p.add_argument("--manifests", type=Path, help="write every declared Kubernetes object as YAML here (one stack)")
    p.add_argument("--no-policy", action="store_true", help="skip the policy check")
    p.add_argument("--first-preview", action="store_true",
                   help="as the first `pulumi preview` of a new stack sees it: ids, ARNs and endpoints "
                        "of resources to create are unknown (the policy pack must still pass)")
    p.add_argument("--no-render", action="store_true",
                   help="do not render the Helm Releases: neither the whole-cluster checks (tools/offline/cluster.py) "
                        "nor the pack judge what they create")
    p.add_argument("--diff-against", type=Path, metavar="BASE",
                   help="print what each plan changes against BASE: a plan JSON (one stack) or a directory "
                        "of them as --json-dir writes; exit 3 when a stateful resource is deleted or replaced")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("-C", "--cwd", type=Path, default=ROOT,
                   help="project directory holding Pulumi.yaml and the stack files (default: this repo)")
    return p


def _check_args(args: Any) -> None:
    if len(args.stacks) != len(set(args.stacks)):
        raise UsageError(f"a stack is named twice: {' '.join(args.stacks)}")
    if len(args.stacks) > 1:
        for flag, value, instead in (("--json", args.json_file, "--json-dir"),
                                     ("--check-json", args.check_json, "--check-json-dir"),
                                     ("--manifests", args.manifests, "one stack at a time")):
            if value is not None:
                raise UsageError(f"{flag} takes one stack; with {len(args.stacks)} stacks use {instead}")
    if args.diff_against is not None and not args.diff_against.exists():
        raise UsageError(f"--diff-against {args.diff_against}: no such file or directory; write the base plans "
                         f"with `python -m tools plan STACK ... --json-dir DIR` on the base commit")
    if args.diff_against is not None and args.diff_against.is_file() and len(args.stacks) > 1:
        raise UsageError(f"--diff-against {args.diff_against} is one stack's plan; with {len(args.stacks)} stacks "
                         f"give the directory --json-dir wrote")
    if args.no_policy and (args.check_json or args.check_json_dir):
        raise UsageError("--no-policy writes no policy verdict: drop --check-json/--check-json-dir")
    if not (args.cwd / "Pulumi.yaml").is_file():
        raise UsageError(f"-C {args.cwd}: no Pulumi.yaml there; give the project folder")
    # Every output is checked before the program runs: a bad path costs no plan.
    for flag, file in (("--json", args.json_file), ("--check-json", args.check_json)):
        if file is not None:
            cli.output_file(file, flag)
    for flag, folder in (("--json-dir", args.json_dir), ("--check-json-dir", args.check_json_dir)):
        if folder is not None:
            cli.output_dir(folder, flag)
    if args.manifests is not None:
        manifests_folder(args.manifests)


def _start_policy_pack() -> threading.Thread:
    """Boots the analyzer plugin while the program runs: the two overlap on separate cores."""
    from tools.offline import check

    thread = threading.Thread(target=check.shared_analyzer, name="policy-pack", daemon=True)
    thread.start()
    return thread


def prerequisites_text(environment: str) -> list[str]:
    """What the stack needs before its first `pulumi up` (config.PREREQUISITES)."""
    import config

    return [f"Prerequisites ({environment}; config.PREREQUISITES):", *config.prerequisites(environment)]  # type: ignore[arg-type]


NOT_RENDERED = "--no-render: what the Helm Releases create is neither rendered nor judged"


def _policy(plan: mockrun.Plan, plan_export: dict[str, Any], stack: str, environment: str,
            rendering: Future[Any] | None) -> CheckResult:
    from tools.offline import check, cluster

    def handed() -> dict[str, Any]:  # called by the check once all but the Releases are judged
        return cluster.handoff(plan, rendering.result() if rendering is not None else None,
                               unjudged="" if rendering is not None else NOT_RENDERED)

    return check.check_deployment(plan_export, environment, stack=stack, rendered=handed)


@dataclass
class _Planned:
    """One stack, planned: what to print, and its policy verdict (running in the background)."""

    stack: str
    text: str
    summary: str
    verdict: Future[CheckResult] | None
    document: dict[str, Any]
    cluster: Future[Any] | None = None
    """The whole-cluster judgement (charts rendered with Helm's engine), running in the background."""


def _plan_one(stack: str, args: Any, checks: ThreadPoolExecutor | None) -> _Planned:
    started = time.perf_counter()
    prerender = None if args.no_render else _prerender()
    try:
        plan = build(stack, args.cwd, first_preview=args.first_preview,
                     observe=prerender.observe if prerender is not None else None)
        environment = facts.environment_of(stack, args.cwd)
        if plan.errors:
            raise UsageError("the program reported errors:\n  " + "\n  ".join(plan.errors))
    except BaseException:  # no plan to judge: end the renders begun for it
        if prerender is not None:
            prerender.wait()
        raise
    elapsed = time.perf_counter() - started
    document = export(plan)
    # Rendered once: the whole-cluster checks and the pack (handed the objects) judge the same
    # renders. The pack starts with the renders (it judges every other resource meanwhile, in its
    # own process) and the checks follow them; queued in this order, a task waits only on the renders.
    rendering = judged = verdict = None
    if not args.no_render:
        rendering = checks.submit(_render, plan, environment, prerender) if checks is not None \
            else _done(_render(plan, environment, prerender))
    if checks is not None:
        verdict = checks.submit(_policy, plan, document, stack, environment, rendering)
    if rendering is not None:
        judged = checks.submit(_judge, plan, stack, environment, rendering) if checks is not None \
            else _done(_judge(plan, stack, environment, rendering))
    lines: list[str] = []
    if not args.quiet:
        lines += [f"Previewing update ({stack}) offline, under Pulumi's mock runtime:", ""]
        pr = facts.pr_number(stack)
        if pr is not None and not (args.cwd / f"Pulumi.{stack}.yaml").exists():
            lines += [f"(no Pulumi.{stack}.yaml: planning what `python -m tools ephemeral config --pr {pr}` "
                      f"writes, expiring {facts.format_time(facts.SNAPSHOT_EXPIRES_AT)})", ""]
        lines += [tree(plan), "", outputs_text(plan), "", counts(plan), "", *prerequisites_text(environment)]
    for w in plan.warnings:
        print(f"warning: {stack}: {w}", file=sys.stderr)
    json_file = args.json_file or (args.json_dir / f"plan-{stack}.json" if args.json_dir else None)
    if json_file:
        cli.write_text(json_file, wire.to_json(document) + "\n", "--json" if args.json_file else "--json-dir")
        lines.append(f"\nWrote {json_file} ({len(document['deployment']['resources'])} resources).")
    if args.manifests:
        n = write_manifests(plan, args.manifests)
        lines.append(f"Wrote {n} Kubernetes manifests to {args.manifests}/.")
    summary = (f"Plan of {stack}: {len(plan.resources) + 1} resources to create, "
               f"{len(plan.warnings)} warning(s), program ran in {elapsed:.2f}s.")
    return _Planned(stack, "\n".join(lines), summary, verdict, document, judged)


def _prerender() -> Any:
    from tools.offline import helm

    return helm.Prerender()


def _render(plan: mockrun.Plan, environment: str, prerender: Any) -> Any:
    from tools.offline import cluster

    prerender.wait()  # the renders begun while the program ran: the cache holds them now
    return cluster.render_for(plan, environment)


def _judge(plan: mockrun.Plan, stack: str, environment: str, rendering: Future[Any]) -> Any:
    from tools.offline import cluster

    return cluster.judge_stack(plan, stack, environment, rendering.result())


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def _finish(planned: _Planned, args: Any) -> int:
    """Prints a planned stack with its verdict (waiting for it) and writes the verdict file."""
    from tools.report import render

    code, verdict = cli.EXIT_OK, "Policy: skipped (--no-policy)."
    if planned.verdict is not None:
        try:
            result = planned.verdict.result()
        except RuntimeError as exc:  # the pack failed to start or crashed: never report a pass
            code, verdict = cli.EXIT_FAILED, f"Policy: FAIL, the policy pack could not run: {exc}"
        else:
            code, verdict = (cli.EXIT_FAILED if result.mandatory else cli.EXIT_OK), render(result)
            target = args.check_json or (args.check_json_dir / f"check-{planned.stack}.json"
                                         if args.check_json_dir else None)
            if target:
                result.write(target)
    if planned.text:
        print(planned.text)
    print()
    print(verdict)
    summary = planned.summary
    if planned.cluster is None and args.no_render:
        print(f"\nCluster ({planned.stack}): {NOT_RENDERED}.")
    if planned.cluster is not None:
        report = planned.cluster.result()
        print()
        print(report.text())
        code = max(code, cli.EXIT_FAILED if report.errors else cli.EXIT_OK)
        summary = summary.rstrip(".") + (f", charts rendered in {report.render_seconds:.2f}s and judged in "
                                         f"{report.check_seconds:.2f}s.")
    if args.diff_against is not None:
        try:
            blocking = _print_diff(planned, args.diff_against)
        except UsageError as exc:  # e.g. an unreadable base plan: this stack errs, the others go on
            print(f"error: {planned.stack}: diff: {exc}", file=sys.stderr)
            return cli.EXIT_USAGE
        code = worst([code, EXIT_BLOCKING if blocking else cli.EXIT_OK])
    print(f"\n{summary}")
    return code


def _print_diff(planned: _Planned, base: Path) -> bool:
    """Prints the stack's diff against its base plan; True when a change is blocking."""
    from tools.offline import diff

    before, note = diff.base_for(base, planned.stack, planned.document)
    stack_diff = diff.diff_stack(before, planned.document)
    print(f"\nDiff against {base} (offline plan, base → head):")
    if note:
        print(note)
    print(diff.render_text([stack_diff]), end="")
    return bool(stack_diff.blocking)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    _check_args(args)
    import config  # deferred: keeps `python -m tools --help` instant

    started = time.perf_counter()
    starting = None if args.no_policy else _start_policy_pack()
    codes: dict[str, int] = {}
    pending: _Planned | None = None
    # Two workers: a stack's pack verdict and its whole-cluster checks run at once, after its renders
    # (tasks only wait on tasks submitted before them, so the queue cannot deadlock).
    checks = None if args.no_policy else ThreadPoolExecutor(max_workers=2, thread_name_prefix="policy")
    try:
        for stack in args.stacks:
            try:
                planned = _plan_one(stack, args, checks)
            except (UsageError, config.ConfigError) as exc:
                prefix = f"{stack}: " if len(args.stacks) > 1 else ""
                print(f"error: {prefix}{exc}", file=sys.stderr)
                codes[stack] = cli.EXIT_USAGE
                continue
            if pending is not None:  # print the previous stack while this one's verdict runs
                codes[pending.stack] = _finish(pending, args)
                print()
            pending = planned
        if pending is not None:
            codes[pending.stack] = _finish(pending, args)
    finally:
        if checks is not None:
            checks.shutdown(wait=True)
        if starting is not None and pending is None:  # every stack refused: stop the pack now
            from tools.offline import check

            starting.join()
            check.close_shared()
    if len(args.stacks) > 1:
        names = {cli.EXIT_OK: "PASS", cli.EXIT_FAILED: "FAIL", cli.EXIT_USAGE: "ERROR", EXIT_BLOCKING: "BLOCKING"}
        print(f"\nVerdict: {', '.join(f'{s} {names[codes[s]]}' for s in args.stacks)} "
              f"({len(args.stacks)} stacks in {time.perf_counter() - started:.2f}s)")
    return worst(codes.values())


PRECEDENCE = (cli.EXIT_USAGE, cli.EXIT_FAILED, EXIT_BLOCKING, cli.EXIT_OK)
"""Exit codes, worst first (see the module doc)."""


def worst(codes: Any) -> int:
    found = set(codes)
    return next((c for c in PRECEDENCE if c in found), cli.EXIT_OK)


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
