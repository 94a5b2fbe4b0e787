"""Teardown matrix: what `pulumi destroy` of each environment class deletes, keeps and leaves behind,
derived from the plans (``protect``, ``retainOnDelete``, final snapshots) — never from a hand list.

Rows are the resources whose loss loses data (``tools/offline/replacements.py`` ``stateful``) plus
every resource a destroy keeps. "Readable" says whether what is kept can still be read: every KMS
key it depends on (directly or through its settings' own dependencies) is kept too. A protected
resource stops the destroy until someone runs ``pulumi state unprotect`` — a deliberate second step;
a retained one is only dropped from the state. ``docs/teardown.md`` is this output (``--write``;
``tests/program/test_teardown.py`` keeps it current).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from tools import cli
from tools.cli import ROOT
from tools.offline import mockrun, replacements

DOC = ROOT / "docs" / "teardown.md"
STACKS = ("pr-7", "staging", "production")
KMS_KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
SNAPSHOT_TYPES = ("aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup")


@dataclass(frozen=True)
class Row:
    type: str
    name: str
    fate: str
    """``deleted``, ``kept (protect)``, ``kept (retained)`` or ``kept (protect, retained)``."""
    snapshot: bool
    """A destroy leaves a final snapshot (RDS, ElastiCache)."""
    keys: tuple[str, ...]
    """The KMS keys the data (or the snapshot) is encrypted under."""
    readable: bool
    """Nothing kept, or every key of what is kept is kept too."""

    @property
    def kept(self) -> bool:
        return self.fate != "deleted"


def _fate(r: mockrun.Recorded) -> str:
    how = [w for w, on in (("protect", r.protect), ("retained", r.retain_on_delete)) if on]
    if how:
        return f"kept ({', '.join(how)})"
    if r.inputs.get("deletionProtection") is True:
        return "kept (deletionProtection: AWS refuses the delete)"
    return "deleted"


def _leaves_snapshot(r: mockrun.Recorded) -> bool:
    if r.type not in SNAPSHOT_TYPES or not r.inputs.get("finalSnapshotIdentifier"):
        return False
    return r.inputs.get("skipFinalSnapshot") is not True


def _keys(r: mockrun.Recorded, by_urn: dict[str, mockrun.Recorded]) -> tuple[str, ...]:
    """KMS keys ``r`` depends on, directly or through the resources it depends on (an alias, a setting)."""
    seen, todo, keys = set(), [r.urn], set()
    while todo:
        urn = todo.pop()
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        dep = by_urn[urn]
        if dep.type == KMS_KEY and urn != r.urn:
            keys.add(urn)
            continue
        todo += dep.dependencies + [u for us in dep.property_dependencies.values() for u in us]
    return tuple(sorted(keys))


def matrix(plan: mockrun.Plan) -> list[Row]:
    by_urn = {r.urn: r for r in plan.resources}
    rows = []
    for r in plan.resources:
        stateful = r.type in replacements.TABLE and replacements.TABLE[r.type].stateful
        if not (stateful or r.protect or r.retain_on_delete) or not r.custom:
            continue
        # A bucket's objects are encrypted under the key its encryption setting names.
        settings = [s for s in plan.resources if r.type == BUCKET and s.type.startswith("aws:s3/bucket")
                    and r.urn in s.dependencies]
        keys = tuple(sorted({k for x in (r, *settings) for k in _keys(x, by_urn)}))
        kept = _fate(r) != "deleted" or _leaves_snapshot(r)
        # A refused delete (protect, deletionProtection) stops the destroy before the resource's
        # dependencies, so its key survives it; what outlives its own delete (retained, a final
        # snapshot) needs its key kept for good.
        blocks = r.protect or r.inputs.get("deletionProtection") is True
        outlives = r.retain_on_delete or _leaves_snapshot(r)
        keys_kept = all(by_urn[k].protect or by_urn[k].retain_on_delete for k in keys)
        readable = not kept or keys_kept or (blocks and not outlives)
        rows.append(Row(type=r.type, name=r.name, fate=_fate(r), snapshot=_leaves_snapshot(r),
                        keys=tuple(by_urn[k].name for k in keys), readable=readable))
    return sorted(rows, key=lambda row: (row.fate == "deleted", row.type, row.name))


def render(plans: list[mockrun.Plan]) -> str:
    out = ["# Teardown matrix", "",
           "What `pulumi destroy` does per environment class, generated from the offline plans by",
           "`python -m tools teardown --write` (`tools/dev/teardown.py`; a test keeps it current). Rows: every",
           "resource whose loss loses data and every resource a destroy keeps. *protect*: the destroy stops",
           "until `pulumi state unprotect` (a deliberate second step); *retained* (`retainOnDelete`): dropped",
           "from the state, left in AWS; *deletionProtection*: AWS refuses the delete and the destroy fails",
           "there. *Readable*: every KMS key the kept data or snapshot is encrypted under is kept too (a",
           "refused delete that leaves nothing behind once allowed needs no more: the destroy stops before",
           "the key).", ""]
    for plan in plans:
        rows = matrix(plan)
        kept = sum(r.kept for r in rows)
        out += [f"## {plan.stack}", "",
                f"{len(rows)} resource(s): {kept} kept, {len(rows) - kept} deleted, "
                f"{sum(r.snapshot for r in rows)} leave a final snapshot.", "",
                "| resource | type | destroy | final snapshot | KMS key | readable afterwards |",
                "|---|---|---|---|---|---|"]
        for r in rows:
            readable = "yes" if r.readable and (r.kept or r.snapshot) else ("—" if r.readable else "**no**")
            out.append(f"| `{r.name}` | `{r.type.split(':', 1)[1]}` | {r.fate} | {'yes' if r.snapshot else '—'} | "
                       f"{', '.join(f'`{k}`' for k in r.keys) or '—'} | {readable} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools teardown", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    from tools.dev.golden import plan_for
    text = render([plan_for(s) for s in STACKS])
    if DOC.exists() and DOC.read_text() == text:
        print(f"{DOC.relative_to(ROOT)} is current")
        return cli.EXIT_OK
    if args.write:
        DOC.write_text(text)
    print(f"{'wrote' if args.write else 'differs'}: {DOC.relative_to(ROOT)}")
    return cli.EXIT_OK if args.write else cli.EXIT_FAILED


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
