"""``python -m tools diff BASE HEAD [--json OUT] [--markdown OUT] [--budget N]``

What a change does to each stack: the offline plans of the base and head commits (``python -m
tools plan STACK --json FILE``, ``pulumi stack export`` v3 format; BASE and HEAD are two such files
or two directories of ``<stack>.json``) compared resource by resource. A resource is created,
updated, deleted or replaced: replaced when its URN changes with no alias matching the old one
(delete + create), when an input changes that forces replacement for its type
(``tools/offline/replacements.py``) or is listed in its ``replaceOnChanges``, or when its
provider is replaced. Stateful resources (databases, caches, buckets, keys, volumes) and
``protect``ed ones that would be deleted or replaced are listed first, as blocking.

Secrets are never shown (``[secret] changed``); values computed at apply time show as
``(known after apply)``. The real ``pulumi preview --diff`` stays the source of truth.

Exit codes: 0 no blocking change, 2 bad input or usage, 3 a stateful resource would be deleted
or replaced.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tools import cli
from tools.cli import EXIT_BLOCKING, EXIT_OK, UsageError
from tools.offline import replacements, urns
from tools.wire import REDACTED, RESOURCE_SIG, SECRET_SIG, SIG, UNKNOWN

SECRET_SHOWN = REDACTED
UNKNOWN_SHOWN = "(known after apply)"
SYMBOL = {"create": "+", "update": "~", "delete": "-", "replace": "±"}




@dataclass
class PropertyChange:
    path: str
    old: Any
    new: Any
    forces_replacement: bool = False
    rejected: bool = False
    """An immutable field the API server refuses to update (and the provider does not replace)."""


@dataclass
class Change:
    urn: str
    type: str
    action: str
    """create | update | delete | replace"""
    reasons: list[str] = field(default_factory=list)
    properties: list[PropertyChange] = field(default_factory=list)
    renamed_from: str = ""
    delete_before_replace: bool = False
    blocking: str = ""
    """Why a delete/replace of this resource loses something (empty when it does not)."""

    @property
    def name(self) -> str:
        return urns.name_of(self.urn)


@dataclass
class StackDiff:
    stack: str
    changes: list[Change]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def blocking(self) -> list[Change]:
        return [c for c in self.changes if c.blocking]

    def summary(self) -> str:
        return (f"+{self.count('create')} ~{self.count('update')} -{self.count('delete')} "
                f"±{self.count('replace')} replace")


# ------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; write it with `python -m tools plan STACK --json {path}`") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not a readable JSON plan ({exc}); regenerate it with `python -m tools plan`") from None
    if not isinstance(doc, dict) or doc.get("version") != 3 or not isinstance(
            (doc.get("deployment") or {}).get("resources"), list):
        raise UsageError(f"{path}: not a `pulumi stack export` v3 document (need version 3 and "
                         f"deployment.resources); regenerate it with `python -m tools plan STACK --json`")
    return doc


def stack_of(doc: dict[str, Any], where: str = "plan") -> str:
    for r in doc["deployment"]["resources"]:
        if r.get("type") == urns.ROOT_STACK:
            return urns.parts(r["urn"])[0]
    raise UsageError(f"{where}: has no pulumi:pulumi:Stack resource, so its stack is unknown")


# ------------------------------------------------------------------------------------------
# Property diff
# ------------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _key(path: str, k: str) -> str:
    if _PLAIN_KEY.match(k):
        return f"{path}.{k}" if path else k
    return f'{path}["{k}"]'


def flatten(value: Any, path: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{path: leaf}``; a secret is one opaque leaf, a resource reference its URN."""
    out = {} if out is None else out
    if isinstance(value, dict):
        if value.get(SIG) == SECRET_SIG:
            out[path] = ("secret", value.get("ciphertext", value.get("value")))
        elif value.get(SIG) == RESOURCE_SIG:
            out[path] = value.get("urn")
        elif not value:
            out[path] = {}
        else:
            for k in sorted(value):
                if not k.startswith("__"):
                    flatten(value[k], _key(path, k), out)
    elif isinstance(value, list):
        if not value:
            out[path] = []
        for i, v in enumerate(value):
            flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value
    return out


def shown(leaf: Any) -> Any:
    if isinstance(leaf, tuple) and leaf and leaf[0] == "secret":
        return SECRET_SHOWN
    if leaf == UNKNOWN:
        return UNKNOWN_SHOWN
    if isinstance(leaf, float) and leaf.is_integer():  # the wire carries every number as a double
        return int(leaf)
    return leaf


def _pattern(rule: str) -> re.Pattern[str]:
    body = re.escape(rule).replace(r"\[\*\]", r"\[\d+\]")
    return re.compile(rf"^{body}($|[.\[])")


def _matches(path: str, rules: tuple[str, ...] | list[str]) -> bool:
    return any(_pattern(r).match(path) or r == "*" for r in rules)


def property_changes(old: dict[str, Any], new: dict[str, Any], *, force_new: tuple[str, ...] | list[str],
                     immutable: tuple[str, ...] | list[str] = (),
                     ignore: tuple[str, ...] | list[str] = ()) -> list[PropertyChange]:
    a, b = flatten(old), flatten(new)
    out = []
    for path in sorted(set(a) | set(b)):
        if a.get(path, KeyError) == b.get(path, KeyError) or _matches(path, ignore):
            continue
        out.append(PropertyChange(path=path, old=shown(a.get(path)) if path in a else None,
                                  new=shown(b.get(path)) if path in b else None,
                                  forces_replacement=_matches(path, force_new),
                                  rejected=_matches(path, immutable)))
    return out


# ------------------------------------------------------------------------------------------
# Resource diff
# ------------------------------------------------------------------------------------------


def _rules(type_: str) -> replacements.Rules:
    rules = replacements.rules_for(type_)
    if rules is None:
        raise UsageError(f"resource type {type_} is not in tools/offline/replacements.py TABLE; add its "
                         f"replace-on-change fields with their source")
    return rules


def _force_new(res: dict[str, Any], rules: replacements.Rules, providers: dict[str, dict[str, Any]]) -> list[str]:
    if rules.patch:
        return list(replacements.K8S_META)
    fields = list(rules.force_new)
    provider_inputs = providers.get(str(res.get("provider", "")).rsplit("::", 1)[0], {}).get("inputs", {})
    kind = res["type"].rsplit(":", 1)[-1]
    mutable_flag = {"ConfigMap": "enableConfigMapMutable", "Secret": "enableSecretMutable"}.get(kind)
    if mutable_flag and provider_inputs.get(mutable_flag) in (True, "true") and not (res.get("inputs") or {}).get("immutable"):
        fields = [f for f in fields if f not in ("data", "binaryData", "stringData")]
    return fields + list(res.get("replaceOnChanges") or [])


def diff_stack(base: dict[str, Any], head: dict[str, Any]) -> StackDiff:
    """The changes that turn ``base`` (a plan export) into ``head``, in head's resource order."""
    stack = stack_of(head, "HEAD")
    if stack_of(base, "BASE") != stack:
        raise UsageError(f"BASE is stack {stack_of(base)!r} but HEAD is {stack!r}: compare plans of one stack")
    old = {r["urn"]: r for r in base["deployment"]["resources"] if r.get("type") != urns.ROOT_STACK}
    new = {r["urn"]: r for r in head["deployment"]["resources"] if r.get("type") != urns.ROOT_STACK}
    for r in [*old.values(), *new.values()]:
        _rules(r["type"])

    matched: dict[str, str] = {u: u for u in new if u in old}     # head urn -> base urn
    for u, r in new.items():
        if u in matched:
            continue
        for alias in r.get("aliases") or []:
            if alias in old and alias not in new and alias not in matched.values():
                matched[u] = alias
                break

    head_providers = {u: r for u, r in new.items() if r["type"].startswith("pulumi:providers:")}
    changes: dict[str, Change] = {}
    for u, r in new.items():
        if u not in matched:
            changes[u] = Change(urn=u, type=r["type"], action="create")
            continue
        was = old[matched[u]]
        rules = _rules(r["type"])
        props = property_changes(was.get("inputs") or {}, r.get("inputs") or {},
                                 force_new=_force_new(r, rules, head_providers), immutable=rules.immutable,
                                 ignore=r.get("ignoreChanges") or [])
        reasons = [f"{p.path} changed" for p in props if p.forces_replacement]
        if r["type"] != was["type"]:
            reasons.append(f"type changed from {was['type']}")
        action = "replace" if reasons else ("update" if props or matched[u] != u else "")
        rejected = [p.path for p in props if p.rejected and not p.forces_replacement]
        if rejected and action == "update":
            reasons.append("the API server rejects updates of " + ", ".join(rejected))
        if action:
            changes[u] = Change(urn=u, type=r["type"], action=action, reasons=reasons, properties=props,
                                renamed_from=matched[u] if matched[u] != u else "",
                                delete_before_replace=bool(r.get("deleteBeforeReplace")))
    # A replaced provider replaces every resource it manages.
    replaced_providers = {u for u, c in changes.items() if c.action == "replace" and u in head_providers}
    for u, r in new.items():
        prov = str(r.get("provider", "")).rsplit("::", 1)[0]
        if prov in replaced_providers and u in matched:
            c = changes.setdefault(u, Change(urn=u, type=r["type"], action="replace"))
            c.action = "replace"
            c.reasons.append(f"its provider {urns.name_of(prov)} is replaced")
    deleted = [u for u in old if u not in matched.values()]
    ordered = [changes[u] for u in new if u in changes]
    ordered += [Change(urn=u, type=old[u]["type"], action="delete", reasons=_recreated_as(old[u], new, matched))
                for u in deleted]
    for c in ordered:
        if c.action in ("delete", "replace"):
            c.blocking = _blocking(c, old.get(c.renamed_from or c.urn) or old.get(c.urn) or {})
    return StackDiff(stack=stack, changes=ordered)


def _recreated_as(was: dict[str, Any], new: dict[str, dict[str, Any]], matched: dict[str, str]) -> list[str]:
    """A hint for a URN change: a created resource of the same type and physical name."""
    name = _physical(was)
    for u, r in new.items():
        if u not in matched and r["type"] == was["type"] and name and _physical(r) == name:
            return [f"URN changed with no alias: recreated as {u}"]
    return []


def _physical(r: dict[str, Any]) -> str:
    inputs = r.get("inputs") or {}
    for key in ("bucket", "identifier", "replicationGroupId", "name", "repository"):
        if isinstance(inputs.get(key), str):
            return str(inputs[key])
    meta = inputs.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta['name']}" if isinstance(meta.get("name"), str) else ""


def _blocking(change: Change, was: dict[str, Any]) -> str:
    rules = _rules(change.type)
    why = [rules.stateful] if rules.stateful else []
    if was.get("protect"):
        why.append("protected (`protect`): the engine refuses to delete it")
    return "; ".join(why)


def diff(base: dict[str, dict[str, Any]], head: dict[str, dict[str, Any]]) -> list[StackDiff]:
    """``{stack: export}`` of each side -> one diff per stack, stacks in name order. A stack on
    one side only is created (a new PR stack) or deleted whole."""
    return [diff_stack(base.get(s) or empty_like(head[s]), head.get(s) or empty_like(base[s]))
            for s in sorted(set(base) | set(head))]


def empty_like(like: dict[str, Any]) -> dict[str, Any]:
    """A plan of ``like``'s stack with nothing in it: the other side of a new or deleted stack."""
    stack_res = [r for r in like["deployment"]["resources"] if r.get("type") == urns.ROOT_STACK]
    return {"version": 3, "deployment": {"resources": stack_res}}


def load_side(path: Path) -> dict[str, dict[str, Any]]:
    # A directory `plan --json-dir` wrote may also hold the verdicts (--check-json-dir DIR).
    files = (sorted(path.glob("plan-*.json")) or sorted(path.glob("*.json"))) if path.is_dir() else [path]
    if not files:
        raise UsageError(f"{path}: a directory with no <stack>.json plans in it")
    docs = {}
    for f in files:
        doc = load(f)
        docs[stack_of(doc, str(f))] = doc
    return docs


def base_for(base: Path, stack: str, like: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The base side of ``stack``'s diff: BASE is that stack's plan JSON, or a directory of plans
    (``tools plan --json-dir``); plus a note when the directory has no plan of it (a new stack)."""
    if base.is_file():
        doc = load(base)
        if stack_of(doc, str(base)) != stack:
            raise UsageError(f"{base} is a plan of stack {stack_of(doc, str(base))!r}, not {stack!r}")
        return doc, ""
    if not base.is_dir():
        raise UsageError(f"{base}: no such file or directory; write the base plans with "
                         f"`python -m tools plan STACK ... --json-dir {base}` on the base commit")
    plans = load_side(base) if any(base.glob("*.json")) else {}
    if stack in plans:
        return plans[stack], ""
    return empty_like(like), f"(no plan of {stack} in {base}/: a new stack, every resource is created)"


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------


def _value(v: Any) -> str:
    if v is None:
        return "(none)"
    return v if v in (SECRET_SHOWN, UNKNOWN_SHOWN) else json.dumps(v)


def prop_line(p: PropertyChange) -> str:
    if SECRET_SHOWN in (p.old, p.new):
        text = f"{p.path}: [secret] changed"
    else:
        text = f"{p.path}: {_value(p.old)} → {_value(p.new)}"
    if p.forces_replacement:
        text += "  (forces replacement)"
    elif p.rejected:
        text += "  (immutable: the update will be rejected)"
    return text


def headline(c: Change) -> str:
    line = f"{SYMBOL[c.action]} {c.type} {c.name}"
    if c.renamed_from:
        line += f" (renamed via alias from {urns.name_of(c.renamed_from)})"
    if c.reasons:
        line += f" [{c.action}: {'; '.join(c.reasons)}]"
    if c.delete_before_replace and c.action == "replace":
        line += " [delete before replace]"
    return line


def render_text(diffs: list[StackDiff]) -> str:
    lines: list[str] = []
    blocking = [(d.stack, c) for d in diffs for c in d.blocking]
    if blocking:
        lines.append(f"BLOCKING: {len(blocking)} stateful resource(s) would be deleted or replaced:")
        lines += [f"  {stack}: {headline(c)} — loses {c.blocking}" for stack, c in blocking]
        lines.append("")
    for d in diffs:
        lines.append(f"{d.stack}: {d.summary()}")
        for c in d.changes:
            lines.append(f"  {headline(c)}")
            lines += [f"      {prop_line(p)}" for p in c.properties]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(diffs: list[StackDiff], budget: int = 60_000) -> str:
    """The PR comment section: summaries and the blocking list always, then property diffs in
    collapsed sections per stack while they fit in ``budget`` characters."""
    head: list[str] = ["### Plan diff (offline, base → head)", "",
                       "| stack | changes |", "|---|---|"]
    head += [f"| `{d.stack}` | `{d.summary()}` |" for d in diffs]
    blocking = [(d.stack, c) for d in diffs for c in d.blocking]
    head.append("")
    if blocking:
        head.append(f"**Blocking: {len(blocking)} stateful resource(s) would be deleted or replaced**")
        head.append("")
        head += [f"- `{stack}` {SYMBOL[c.action]} `{c.type}` **{c.name}**: {c.action}"
                 f"{' (' + '; '.join(c.reasons) + ')' if c.reasons else ''} — loses {c.blocking}"
                 for stack, c in blocking]
    else:
        head.append("No stateful resource is deleted or replaced.")
    head.append("")
    out = "\n".join(head)
    omitted = 0
    for d in diffs:
        if not d.changes:
            continue
        body = [f"<details><summary><code>{d.stack}</code>: {d.summary()}</summary>", "", "```diff"]
        close = ["```", "", "</details>", ""]
        for i, c in enumerate(d.changes):
            block = [headline(c)] + [f"    {prop_line(p)}" for p in c.properties]
            note = f"… {len(d.changes) - i} more change(s) not shown (comment size limit)"
            if len(out) + len("\n".join(body + block + close)) + len(note) + 2 > budget:
                body.append(note)
                omitted += len(d.changes) - i
                break
            body += block
        section = "\n".join(body + close)
        if len(out) + len(section) > budget:
            omitted += 0 if omitted else len(d.changes)
            continue
        out += "\n" + section
    if omitted:
        out += f"\n_{omitted} change(s) left out to fit the comment; run `python -m tools diff` for all._\n"
    return out


def to_json(diffs: list[StackDiff]) -> dict[str, Any]:
    return {"stacks": [{"stack": d.stack, "summary": {a: d.count(a) for a in SYMBOL},
                        "blocking": [c.urn for c in d.blocking],
                        "changes": [asdict(c) for c in d.changes]} for d in diffs],
            "blocking": sum(len(d.blocking) for d in diffs)}


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def _parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m tools diff", description=__doc__.split("\n\n")[1])
    p.add_argument("base", type=Path, help="plan JSON of the base commit, or a directory of <stack>.json")
    p.add_argument("head", type=Path, help="plan JSON of the head commit, or a directory of <stack>.json")
    p.add_argument("--json", dest="json_file", type=Path, help="also write the diff as JSON here")
    p.add_argument("--markdown", type=Path, help="also write the PR-comment Markdown here")
    p.add_argument("--budget", type=int, default=60_000, help="character budget of the Markdown (default 60000)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    for flag, path in (("--json", args.json_file), ("--markdown", args.markdown)):
        if path is not None:
            cli.output_file(path, flag)
    diffs = diff(load_side(args.base), load_side(args.head))
    print(render_text(diffs), end="")
    if args.json_file:
        cli.write_text(args.json_file, json.dumps(to_json(diffs), indent=2, sort_keys=True) + "\n", "--json")
    if args.markdown:
        cli.write_text(args.markdown, render_markdown(diffs, args.budget), "--markdown")
    return EXIT_BLOCKING if any(d.blocking for d in diffs) else EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
