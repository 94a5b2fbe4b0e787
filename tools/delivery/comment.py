"""``python -m tools comment --plan ENV=FILE ... [--check ENV=FILE ...] [--diff-against DIR] --out comment.md``

Renders the pull-request comment from offline plans and their policy verdicts, as
``python -m tools plan STACK ... --json-dir DIR --check-json-dir DIR`` writes them (``pulumi stack
export`` format; ``CheckResult.to_json``, read back strictly with ``CheckResult.from_json``).

Order: the summary (per environment: resources, verdict PASS/FAIL with mandatory/advisory counts),
with ``--diff-against DIR`` (the base plans, as ``tools plan --json-dir`` wrote them on the PR's merge
base) what the PR changes per stack (``+3 ~2 -0 ±1 replace``, ``tools/offline/diff.py``) and the
blocking list (stateful or protected resources deleted or replaced), then the property diffs per
stack in collapsed sections, resources per environment (counts by type), policy violations, the profile settings that differ
between the environments, and a Mermaid flowchart of each environment's components.

The comment starts with the hidden marker ``<!-- platform-plan -->`` so the workflow edits one
comment in place. It stays under GitHub's 65,536-character limit: when it would not, detail
sections are cut (violations last, Mermaid first) and the summary says what was cut; the summary,
verdict, change summary and blocking list are never cut. Every section comes from the offline plan;
the comment says so, and that the online job's ``pulumi preview --diff`` is the source of truth. An unreadable plan or check file is reported in the comment as an
ERROR verdict rather than failing the render: the comment must say why the plan is red.

Exit codes: 0 comment written, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import cli
from tools.cli import EXIT_OK, UsageError
from tools.offline import diff
from tools.report import CheckResult

MARKER = "<!-- platform-plan -->"
GITHUB_LIMIT = 65_536
"""GitHub rejects comment bodies of 65,536 characters or more."""
DEFAULT_BUDGET = 65_000
"""Headroom under the limit for whatever the workflow appends."""
STACK_TYPE = "pulumi:pulumi:Stack"
MERMAID_MAX_NODES = 150
"""GitHub's Mermaid refuses very large graphs; beyond this the flowchart keeps components only."""

def length(text: str) -> int:
    """Length as GitHub counts it (UTF-16 code units): never less than ``len(text)``."""
    return len(text.encode("utf-16-le")) // 2


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


@dataclass
class Env:
    """One planned stack: its resources, policy result and what went wrong reading them."""

    stack: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    check: CheckResult | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def environment(self) -> str:
        """The stack's class: the verdict's, else tools/offline/facts.py's; "" if it cannot be told."""
        from tools.offline.facts import environment_of

        if self.check is not None:
            return self.check.environment
        try:
            return environment_of(self.stack)
        except UsageError:
            return ""

    @property
    def counted(self) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("type") != STACK_TYPE]

    @property
    def verdict(self) -> str:
        if self.errors:
            return "ERROR"
        if self.check is None:
            return "NOT CHECKED"
        return "FAIL" if self.check.mandatory else "PASS"


def load_plan(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    resources = (data.get("deployment") or {}).get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise ValueError("not a stack export: expected {\"deployment\": {\"resources\": [...]}}")
    return resources


def load_env(stack: str, plan: Path, check: Path | None) -> Env:
    env = Env(stack)
    try:
        env.resources = load_plan(plan)
    except (OSError, ValueError) as exc:
        env.errors.append(f"plan {plan.name}: {_reason(exc)}")
    if check is not None:
        try:
            env.check = CheckResult.read(check)
        except UsageError as exc:
            env.errors.append(f"policy check {check.name}: {_reason(exc)}")
    return env


def _reason(exc: Exception) -> str:
    if isinstance(exc, FileNotFoundError) or str(exc).endswith(": not found"):
        return "not produced (see the job log)"
    return str(exc).splitlines()[0][:200]


# ------------------------------------------------------------------------------------------
# Sections. A block is a fixed head, rows that may be cut, and a fixed tail; an atomic block
# (a Mermaid diagram) is shown whole or not at all.
# ------------------------------------------------------------------------------------------


@dataclass
class Block:
    name: str
    head: str
    rows: list[str] = field(default_factory=list)
    tail: str = ""
    atomic: bool = False

    def render(self, rows: int | None = None) -> str:
        shown = self.rows if rows is None else self.rows[:rows]
        cut = len(self.rows) - len(shown)
        note = [f"| … {cut} more row(s) truncated |"] if cut and self.head.rstrip().endswith("|") else (
            [f"… {cut} more line(s) truncated"] if cut else [])
        return "\n".join([self.head, *shown, *note]) + self.tail


def cell(text: Any) -> str:
    """A value made safe for a Markdown table cell."""
    value = text if isinstance(text, str) else json.dumps(text)
    value = value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    value = value.replace("<", "&lt;").replace(">", "&gt;")
    return value[:300] + "…" if len(value) > 300 else value


def summary(envs: Sequence[Env]) -> str:
    failing = [e.stack for e in envs if e.verdict in ("FAIL", "ERROR")]
    overall = "FAIL" if failing else ("PASS" if all(e.verdict == "PASS" for e in envs) else "NOT CHECKED")
    icon = {"PASS": "✅", "FAIL": "❌", "ERROR": "❌", "NOT CHECKED": "⚠️"}
    lines = [f"## {icon[overall]} Platform plan: **{overall}**", ""]
    if failing:
        lines += [f"Blocking: {', '.join(failing)}. Mandatory policy violations and plan errors block the merge.", ""]
    lines += ["| Environment | Resources | Verdict | Mandatory | Advisory |", "|---|---:|---|---:|---:|"]
    for e in envs:
        mandatory = str(e.check.mandatory) if e.check else "-"
        advisory = str(e.check.advisory) if e.check else "-"
        resources = "-" if e.errors and not e.resources else str(len(e.counted))
        lines.append(f"| `{e.stack}` | {resources} | {icon[e.verdict]} **{e.verdict}** | {mandatory} | {advisory} |")
    for e in envs:
        lines += [f"- `{e.stack}`: {cell(err)}" for err in e.errors]
    return "\n".join(lines)


def resource_blocks(envs: Sequence[Env]) -> list[Block]:
    counts = {e.stack: Counter(r.get("type", "?") for r in e.counted) for e in envs}
    types = sorted(set().union(*counts.values())) if counts else []
    head = ("### Resources per environment\n\n"
            "| Type | " + " | ".join(f"`{e.stack}`" for e in envs) + " |\n"
            "|---|" + "---:|" * len(envs))
    rows = [f"| `{cell(t)}` | " + " | ".join(str(counts[e.stack].get(t, 0) or "-") for e in envs) + " |"
            for t in types]
    rows.append("| **total** | " + " | ".join(f"**{len(e.counted)}**" for e in envs) + " |")
    return [Block("resources per environment", head, rows)]


def violation_blocks(envs: Sequence[Env]) -> list[Block]:
    blocks = []
    for e in envs:
        if e.check is None:
            continue
        if not e.check.violations:
            blocks.append(Block(f"policy violations ({e.stack})", f"#### `{e.stack}`: no policy violations"))
            continue
        ordered = sorted(e.check.violations, key=lambda v: (not v.mandatory, v.rule, v.urn))
        head = (f"#### `{e.stack}`: {e.check.mandatory} mandatory, {e.check.advisory} advisory\n\n"
                "| Enforcement | Severity | Rule | Resource | What | Fix |\n|---|---|---|---|---|---|")
        rows = [f"| {'**mandatory**' if v.mandatory else 'advisory'} | {cell(v.severity)} | `{cell(v.rule)}` | "
                f"`{cell(_short_urn(v.urn))}` | {cell(v.what)} | {cell(v.fix)} |"
                for v in ordered]
        blocks.append(Block(f"policy violations ({e.stack})", head, rows))
    if blocks:
        blocks[0].head = "### Policy violations\n\n" + blocks[0].head
    return blocks


def _short_urn(urn: str) -> str:
    """``urn:pulumi:staging::platform::a$b::name`` -> ``b::name`` (type and name say enough)."""
    parts = urn.split("::")
    return f"{parts[-2].split('$')[-1]}::{parts[-1]}" if len(parts) >= 4 else urn


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def settings_blocks(envs: Sequence[Env]) -> list[Block]:
    import config

    environments = list(dict.fromkeys(e.environment for e in envs if e.environment in config.ENVIRONMENTS))
    if len(environments) < 2:
        return []
    profiles = {env: flatten(config.profile_dict(env)) for env in environments}
    keys = [k for k in dict.fromkeys(k for p in profiles.values() for k in p) if k != "environment"]
    differing = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in profiles.values()}) > 1]
    head = ("### Settings that differ between environments\n\n"
            "Profile defaults from `config.py`; a stack file may override a size.\n\n"
            "| Setting | " + " | ".join(environments) + " |\n|---|" + "---|" * len(environments))
    rows = [f"| `{k}` | " + " | ".join(cell(_value(profiles[env].get(k))) for env in environments) + " |"
            for k in differing]
    return [Block("settings that differ", head, rows or ["| (none) |" + " |" * len(environments)])]


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def mermaid(env: Env) -> str:
    """Flowchart of the component tree: components (custom false) as boxes, their custom children
    grouped by type (``type ×n``) as rounded leaves."""
    by_urn = {r.get("urn"): r for r in env.resources}
    components = [r for r in env.resources if not r.get("custom") and r.get("type") != STACK_TYPE]
    ids = {r.get("urn"): f"c{i}" for i, r in enumerate(components)}
    lines = ["```mermaid", "flowchart LR"]
    root = next((r for r in env.resources if r.get("type") == STACK_TYPE), None)
    root_id = "stack"
    lines.append(f'  {root_id}(["{_label(env.stack)}"])')
    for r in components:
        name = r.get("urn", "").split("::")[-1]
        lines.append(f'  {ids[r.get("urn")]}["{_label(name)}<br/><small>{_label(r.get("type", "?"))}</small>"]')
    for r in components:
        parent = r.get("parent")
        parent_id = ids.get(parent) if parent in by_urn and parent in ids else root_id
        lines.append(f"  {parent_id} --> {ids[r.get('urn')]}")
    leaves: Counter[tuple[str, str]] = Counter()
    for r in env.resources:
        if r.get("custom") and r.get("parent") in ids:
            leaves[(ids[r["parent"]], r.get("type", "?"))] += 1
    if len(components) + len(leaves) <= MERMAID_MAX_NODES:
        for i, ((parent_id, type_), n) in enumerate(sorted(leaves.items())):
            lines.append(f'  {parent_id} --> t{i}("{_label(type_)} ×{n}")')
    else:
        lines.append(f'  note["{len(leaves)} child resource groups omitted (graph too large)"]')
    if root is None and not components:
        lines.append('  empty["no resources"]')
    lines.append("```")
    return "\n".join(lines)


def _label(text: str) -> str:
    return re.sub(r'["<>`|{}\[\]]', lambda m: f"#{ord(m.group(0))};", text)


def mermaid_blocks(envs: Sequence[Env]) -> list[Block]:
    blocks = [Block(f"Mermaid diagram ({e.stack})",
                    f"<details><summary>Components of <code>{e.stack}</code></summary>\n\n{mermaid(e)}\n\n</details>",
                    atomic=True)
              for e in envs if e.resources]
    if blocks:
        blocks[0].head = "### Components\n\n" + blocks[0].head
    return blocks


@dataclass
class Changes:
    """What the PR changes: each stack's offline plan diff against the merge base, or why not."""

    base: Path
    diffs: list[diff.StackDiff] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_changes(base: Path, envs: Sequence[Env]) -> Changes:
    """Diffs every readable head plan against its base; a failure is reported, never a traceback."""
    changes = Changes(base)
    if not base.exists():  # the workflow removes it when the merge base could not be planned
        changes.errors += [f"{e.stack}: base plans not produced (see the job log)" for e in envs]
        return changes
    for e in envs:
        if e.errors or not e.resources:
            continue
        head = {"version": 3, "deployment": {"resources": e.resources}}
        try:
            before, note = diff.base_for(base, e.stack, head)
            changes.diffs.append(diff.diff_stack(before, head))
        except UsageError as exc:
            changes.errors.append(f"{e.stack}: {_reason(exc)}")
            continue
        if note:
            changes.notes.append(f"`{e.stack}` has no base plan: a new stack, every resource is created")
    return changes


SOURCE_NOTE = ("_Source: the offline plan (the program under Pulumi's mock runtime, no credentials) of "
               "the merge base and of this PR. The online job's `pulumi preview --diff` (staging, PRs from "
               "this repository) is the source of truth for what an update does._")


def changes_head(changes: Changes, budget: int = DEFAULT_BUDGET // 2) -> str:
    """The change summary and the blocking list: part of the comment's head, never cut. Past
    ``budget`` characters the list drops the reasons (one short line per resource); only a list
    that would not fit GitHub's limit even so is cut, saying how many are left out."""
    lines = ["### What this PR changes (offline plan diff, merge base → head)", "", SOURCE_NOTE, ""]
    if changes.diffs:
        lines += ["| Stack | Changes | Blocking |", "|---|---|---:|"]
        lines += [f"| `{d.stack}` | `{d.summary()}` | {len(d.blocking)} |" for d in changes.diffs]
        lines.append("")
    lines += [f"- {cell(n)}" for n in changes.notes]
    lines += [f"- ❌ no diff for {cell(err)}" for err in changes.errors]
    if changes.notes or changes.errors:
        lines.append("")
    blocking = [(d.stack, c) for d in changes.diffs for c in d.blocking]
    if blocking:
        lines += [f"**⚠️ Blocking: {len(blocking)} stateful or protected resource(s) would be deleted or "
                  f"replaced** (review before merging; the data is lost):", ""]
        full = [f"- `{stack}` {diff.SYMBOL[c.action]} `{c.type}` **{cell(c.name)}**: {c.action}"
                f"{' (' + cell('; '.join(c.reasons)) + ')' if c.reasons else ''} — loses {cell(c.blocking)}"
                for stack, c in blocking]
        if length("\n".join(full)) > budget:
            full = [f"- `{stack}` {diff.SYMBOL[c.action]} `{c.type}` **{cell(c.name)}**" for stack, c in blocking]
        while full and length("\n".join(full)) > budget * 1.8:  # cannot fit GitHub's limit at all
            full = full[: len(full) * 3 // 4]
        lines += full
        if len(full) < len(blocking):
            lines.append(f"- … and {len(blocking) - len(full)} more: the list is too long for a comment; "
                         f"the job summary has all of them")
    elif changes.diffs:
        lines.append("No stateful or protected resource is deleted or replaced.")
    return "\n".join(lines).rstrip()


def _fenced(line: str) -> str:
    return line.replace("```", "`\u200b``")  # a value cannot close the code fence


def change_blocks(changes: Changes) -> list[Block]:
    """Per stack with changes, its property diffs in a collapsed ``diff`` block (cut by lines)."""
    blocks = []
    for d in changes.diffs:
        if not d.changes:
            continue
        rows = []
        for c in d.changes:
            rows.append(_fenced(diff.headline(c)))
            rows += [_fenced(f"    {diff.prop_line(p)}") for p in c.properties]
        blocks.append(Block(f"property diffs ({d.stack})",
                            f"<details><summary>Changes to <code>{d.stack}</code>: {d.summary()} (offline plan)"
                            f"</summary>\n\n```diff", rows, "\n```\n\n</details>"))
    return blocks


# ------------------------------------------------------------------------------------------
# Assembly under the budget
# ------------------------------------------------------------------------------------------


def render(envs: Sequence[Env], *, budget: int = DEFAULT_BUDGET, changes: Changes | None = None) -> str:
    """The comment: marker + summary (+ change summary and blocking list) always; detail blocks
    fitted into what remains."""
    if budget >= GITHUB_LIMIT:
        raise UsageError(f"budget {budget} must be below GitHub's limit of {GITHUB_LIMIT}")
    sections = [resource_blocks(envs), violation_blocks(envs), settings_blocks(envs), mermaid_blocks(envs),
                change_blocks(changes) if changes else []]
    # Fill order: the small, bounded tables first (each capped at half of what is left, so a huge
    # type list cannot crowd out the violations), then the violations, the property diffs, and
    # whole diagrams last.
    fill = [(0, 0.5), (2, 0.5), (1, 1.0), (4, 1.0), (3, 1.0)]
    head = f"{MARKER}\n{summary(envs)}"
    if changes is not None:
        head += f"\n\n{changes_head(changes, budget // 2)}"
    rendered: dict[int, list[str]] = {i: [] for i in range(len(sections))}
    cuts: list[str] = []
    notice_reserve = 600
    remaining = budget - length(head) - notice_reserve
    for index, share in fill:
        for block in sections[index]:
            text, note = _fit(block, int(remaining * share) - 2)
            if note:
                cuts.append(note)
            if text:
                rendered[index].append(text)
                remaining -= length(text) + 2
    body = [head]
    if cuts:
        listed = "; ".join(cuts)
        if len(listed) > notice_reserve - 200:
            listed = listed[: notice_reserve - 220] + "; …"
        body.append(f"> [!NOTE]\n> Detail truncated to stay under GitHub's {GITHUB_LIMIT:,}-character comment "
                    f"limit: {listed}. The job summary and log have the full plan.")
    for index in (4, 0, 1, 2, 3):  # the property diffs right under the change summary
        body.extend(rendered[index])
    text = "\n\n".join(body) + "\n"
    assert length(text) < GITHUB_LIMIT, "comment over GitHub's limit"
    return text


def _fit(block: Block, budget: int) -> tuple[str, str | None]:
    """The block whole, cut by rows, or nothing; plus a note when something was left out."""
    whole = block.render()
    if length(whole) <= budget:
        return whole, None
    if block.atomic or length(block.render(0)) > budget:
        return "", f"{block.name} omitted"
    low, high = 0, len(block.rows)
    while low < high:  # the most rows that fit
        mid = (low + high + 1) // 2
        if length(block.render(mid)) <= budget:
            low = mid
        else:
            high = mid - 1
    return block.render(low), f"{block.name}: {low} of {len(block.rows)} rows shown"


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------


def _pairs(values: Sequence[str] | None, flag: str) -> dict[str, Path]:
    pairs: dict[str, Path] = {}
    for value in values or []:
        stack, sep, path = value.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", stack) or not path:
            raise UsageError(f"{flag} {value!r}: expected STACK=FILE, e.g. {flag} staging=plan-staging.json")
        if stack in pairs:
            raise UsageError(f"{flag}: {stack} given twice")
        pairs[stack] = Path(path)
    return pairs


def main(argv: list[str]) -> int:
    p = cli.ArgumentParser(prog="python -m tools comment", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--plan", action="append", required=True, metavar="STACK=FILE", help="offline plan (repeat)")
    p.add_argument("--check", action="append", metavar="STACK=FILE", help="policy check result (repeat)")
    p.add_argument("--diff-against", type=Path, metavar="DIR",
                   help="base plans (tools plan --json-dir on the merge base): add what the PR changes")
    p.add_argument("--out", required=True, metavar="FILE", help="markdown output ('-' for stdout)")
    p.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.out != "-":
        cli.output_file(Path(args.out), "--out")
    plans = _pairs(args.plan, "--plan")
    checks = _pairs(args.check, "--check")
    unknown = sorted(set(checks) - set(plans))
    if unknown:
        raise UsageError(f"--check for {', '.join(unknown)} without a --plan for it")
    envs = [load_env(stack, path, checks.get(stack)) for stack, path in plans.items()]
    changes = load_changes(args.diff_against, envs) if args.diff_against is not None else None
    text = render(envs, budget=args.budget, changes=changes)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        cli.write_text(Path(args.out), text, "--out")
        print(f"wrote {args.out} ({length(text):,} characters): "
              + ", ".join(f"{e.stack} {e.verdict}" for e in envs))
    for e in envs:
        for err in e.errors:
            print(f"warning: {e.stack}: {err}", file=sys.stderr)
    for err in changes.errors if changes else []:
        print(f"warning: diff: {err}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
