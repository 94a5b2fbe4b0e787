"""``make docs``: regenerate what is derived from ``config.py`` — the ``config:`` block of
``Pulumi.yaml`` (every key with type and description), the README's environment table and the
table of backups per environment in ``docs/restore.md`` — and the table of chart scanner skips in
``docs/scanner-skips.md`` (from ``chart-scanner-skips.yaml``).

Without ``--write`` it only reports what is stale (exit 1); tests run that check.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import config
from tools import cli
from tools.cli import ROOT, UsageError

PROJECT_FILE = ROOT / "Pulumi.yaml"
README = ROOT / "README.md"
_CONFIG_HEADER = "config:\n"
_TABLE = re.compile(r"(<!-- BEGIN environment-table[^>]*-->\n)(.*?)(<!-- END environment-table -->)", re.S)
RESTORE_DOC = ROOT / "docs/restore.md"
_BACKUP_TABLE = re.compile(r"(<!-- BEGIN backup-table[^>]*-->\n)(.*?)(<!-- END backup-table -->)", re.S)
SKIPS_DOC = ROOT / "docs/scanner-skips.md"
_SKIPS_TABLE = re.compile(r"(<!-- BEGIN chart-skips[^>]*-->\n)(.*?)(<!-- END chart-skips -->)", re.S)
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def _scalar(text: str) -> str:
    """A YAML plain scalar when safe, else single-quoted."""
    if re.search(r"(^[\s'\"#&*!|>%@`{\[-])|(: )|( #)|[{}\[\],]$", text):
        return "'" + text.replace("'", "''") + "'"
    return text


def config_block() -> str:
    lines = [_CONFIG_HEADER.rstrip()]
    for key in config.KEYS:
        lines += [f"  {key.name}:", f"    type: {key.type}"]
        if key.type == "array":
            lines += ["    items:", "      type: string"]
        lines.append(f"    description: {_scalar(key.description)}")
        if key.secret:
            lines.append("    secret: true")
    return "\n".join(lines) + "\n"


def project_file(current: str) -> str:
    head = current.split(_CONFIG_HEADER, 1)[0]
    return head + config_block()


def readme(current: str) -> str:
    if not _TABLE.search(current):
        raise UsageError("README.md lost its <!-- BEGIN environment-table --> markers; restore them around the table")
    return _TABLE.sub(lambda m: m.group(1) + config.environment_table() + "\n" + m.group(3), current)


def when(schedule: str) -> str:
    """A CronJob schedule of the profiles (``M H * * *`` or ``M H * * D``) in words."""
    fields = schedule.split()
    if len(fields) != 5 or fields[2:4] != ["*", "*"] or not (fields[0] + fields[1]).isdigit() or not (
            fields[4] == "*" or fields[4] in "0123456"):
        raise ValueError(f"schedule {schedule!r}: docs/restore.md describes only daily (M H * * *) or weekly "
                         f"(M H * * D) schedules")
    at = f"{int(fields[1]):02d}:{int(fields[0]):02d} UTC"
    return f"daily {at}" if fields[4] == "*" else f"weekly, {_DAYS[int(fields[4])]} {at}"


def backup_table() -> str:
    """What is backed up, where, for how long and how it is proven restorable, per environment."""
    def cells(render: Any) -> str:
        return " | ".join(render(config.PROFILES[e]) for e in config.ENVIRONMENTS)

    def what(p: config.Profile) -> str:
        dump = f"`pg_dump` custom format, {when(p.backups.schedule)}"
        if p.postgres.in_cluster:
            return f"{dump} (the only copy: the in-cluster volume goes with the stack)"
        extra = ", final snapshot on delete" if p.postgres.final_snapshot else ""
        return f"{dump}; RDS automated backups (point-in-time){extra}"

    def where(p: config.Profile) -> str:
        rds = "" if p.postgres.in_cluster else "; RDS backups in the stack's region"
        here = f"`s3://platform-<stack>-backups-<account>-<region>/postgres/`, SSE-KMS `alias/platform-<stack>`{rds}"
        if not p.backups.cross_region_copy:
            return here
        rds_copy = "" if p.postgres.in_cluster else "; RDS automated backups replicated there (that region's key)"
        return (f"{here}; cross-region copy: every object replicated to `s3://platform-<stack>-backups-<account>-"
                f"<replicaRegion>/postgres/` (`platform:backups.replicaRegion`, its own `alias/platform-<stack>`)"
                f"{rds_copy}")

    def how_long(p: config.Profile) -> str:
        b = p.backups
        lock = f", Object Lock (GOVERNANCE) {b.object_lock_days} d" if b.object_lock_days else ""
        rds = "" if p.postgres.in_cluster else f"; RDS {p.postgres.backup_retention_days} d"
        copy = "; the cross-region copy the same" if b.cross_region_copy else ""
        return f"dumps {b.retention_days} d{lock}{rds}{copy}"

    def live_copies(p: config.Profile) -> str:
        if p.postgres.in_cluster:
            return "none"
        standby = ["Multi-AZ standby (failover)"] if p.postgres.multi_az else []
        replica = ["read replica, AZ chosen by RDS (`PGHOST_READER`)"] if p.postgres.read_replica else []
        copies = ", ".join(standby + replica) or "none"
        return copies if copies == "none" else f"{copies}; not backups: a delete or bad write reaches them at once"

    def proven(p: config.Profile) -> str:
        verified = "every dump read back block by block, row counts in its manifest"
        if p.backups.drill_schedule is None:
            return f"{verified}; no restore drill"
        return (f"{verified}; restore drill {when(p.backups.drill_schedule)} (newest dump into a throw-away "
                f"server, row counts checked, RTO/RPO pushed, report in `drills/postgres/`)")

    lines = ["| | ephemeral (`pr-<n>`) | staging | production |", "|---|---|---|---|"]
    lines += [f"| {title} | {cells(render)} |" for title, render in (
        ("What", what), ("Where", where), ("How long", how_long), ("Proven restorable", proven),
        ("Live copies", live_copies))]
    return "\n".join(lines)


def restore_doc(current: str) -> str:
    if not _BACKUP_TABLE.search(current):
        raise UsageError("docs/restore.md lost its <!-- BEGIN backup-table --> markers; restore them around the table")
    return _BACKUP_TABLE.sub(lambda m: m.group(1) + backup_table() + "\n" + m.group(3), current)


def chart_skips_table() -> str:
    """One row per (scanner, check, reason) of chart-scanner-skips.yaml, with the objects it covers."""
    from tools.offline import scanfiles

    rows: dict[tuple[str, str, str], list[str]] = {}
    for skip in scanfiles.load_skips(ROOT / scanfiles.SKIPS_FILE):
        rows.setdefault((skip.scanner, skip.check, skip.reason), []).append(f"`{skip.target}`")
    lines = ["| Scanner | Check | Object | Reason |", "|---|---|---|---|"]
    lines += [f"| {scanner} | {check} | {'<br>'.join(targets)} | {reason.replace('|', '/')} |"
              for (scanner, check, reason), targets in sorted(rows.items(), key=lambda r: (r[0][0], r[0][1]))]
    return "\n".join(lines)


def skips_doc(current: str) -> str:
    if not _SKIPS_TABLE.search(current):
        raise UsageError("docs/scanner-skips.md lost its <!-- BEGIN chart-skips --> markers; restore them around the table")
    return _SKIPS_TABLE.sub(lambda m: m.group(1) + chart_skips_table() + "\n" + m.group(3), current)


def stale() -> dict[Path, str]:
    """``{path: regenerated text}`` for every derived file that differs from its source of truth."""
    out = {}
    for path, render in ((PROJECT_FILE, project_file), (README, readme), (RESTORE_DOC, restore_doc),
                         (SKIPS_DOC, skips_doc)):
        current = path.read_text()
        fresh = render(current)
        if fresh != current:
            out[path] = fresh
    return out


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools docs", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    changed = stale()
    for path, text in changed.items():
        if args.write:
            path.write_text(text)
        print(f"{'wrote' if args.write else 'stale'}: {path.name}")
    return 1 if changed and not args.write else 0


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
