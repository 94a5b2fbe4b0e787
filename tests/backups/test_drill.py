"""drill.sh against a real PostgreSQL server: restore the newest backup into a throw-away server, check, measure."""

from __future__ import annotations

import json
import time

import pytest

AGE = 3600
"""The drilled backup is made to look this old (its manifest's snapshot time), so the RPO is known."""


def drill_report(bucket) -> dict:
    reports = [k for k in bucket.keys(".json") if k.startswith("drills/postgres/")]
    assert reports, f"no drill report in the bucket: {bucket.keys()}"
    return bucket.json(reports[-1])


def edit_manifest(bucket, change) -> None:
    key = bucket.newest(".manifest.json")
    bucket.path(key).write_text(json.dumps(change(bucket.json(key))))


@pytest.fixture(scope="module")
def passed(new_bucket, one_backup):
    """A drill of a copy of ``one_backup`` aged by AGE, next to an older verified backup and a newer
    unverified dump: (bucket, report, pushed metrics, wall time of the drill, process)."""
    b = new_bucket(seed=one_backup)
    edit_manifest(b, lambda m: {**m, "created_epoch": m["created_epoch"] - AGE})
    b.path("postgres/20200101T000000Z.manifest.json").write_text('{"key": "postgres/20200101T000000Z.dump"}')
    b.path("postgres/20991231T000000Z.dump").write_bytes(b"unverified: no manifest")
    started = time.monotonic()
    proc = b.drill()
    return b, drill_report(b), b.metrics("postgres-restore-drill"), time.monotonic() - started, proc


def test_drill_passes_and_checks_every_table_of_the_dump(passed, source) -> None:
    _, report, _, _, proc = passed
    assert proc.returncode == 0 and report["status"] == "passed", proc.stderr
    assert {t["table"]: t["restored"] for t in report["tables"]} == source.expected, report["tables"]
    assert all(t["restored"] == t["expected"] for t in report["tables"]), report["tables"]


def test_an_empty_table_passes_when_the_dump_says_it_is_empty(passed) -> None:
    _, report, _, _, _ = passed
    (empty,) = [t for t in report["tables"] if t["table"] == "public.audit_log"]
    assert empty == {"table": "public.audit_log", "expected": 0, "restored": 0} and report["status"] == "passed", report


def test_drill_takes_the_newest_verified_backup(passed, one_backup) -> None:
    _, report, _, _, _ = passed
    assert report["backup_key"] == one_backup.newest(".dump"), report


def test_rto_is_measured_and_pushed(passed) -> None:
    _, report, pushed, wall, _ = passed
    assert 0 < report["restore_seconds"] <= report["rto_seconds"] < wall, (report, wall)
    assert pushed["restore_drill_rto_seconds"] == report["rto_seconds"] and pushed["restore_drill_last_run_success"] == 1


def test_rpo_is_the_age_of_the_restored_backup(passed, one_backup) -> None:
    _, report, pushed, _, _ = passed
    taken = one_backup.json(one_backup.newest(".manifest.json"))["created_epoch"]
    assert AGE <= report["rpo_seconds"] <= time.time() - taken + AGE + 1, report
    assert pushed["restore_drill_rpo_seconds"] == report["rpo_seconds"], pushed


def test_drill_leaves_no_server_and_no_data(passed, env) -> None:
    b = passed[0]
    assert env.leftover_servers(b.drill_dir) == [], "the drill's server is still running"
    assert sorted(p.name for p in b.drill_dir.iterdir()) == [], "the drill left files behind"


@pytest.mark.parametrize("damage, message", [
    ("corrupted after the upload", "does not match the recorded"),
    ("corrupted before the checksum", "pg_restore failed"),
])
def test_corrupted_dump_fails_the_drill(backed_up, env, damage: str, message: str) -> None:
    key = backed_up.newest(".dump")
    data = bytearray(backed_up.path(key).read_bytes())
    data[len(data) * 2 // 3] ^= 0xFF
    backed_up.rewrite(key, bytes(data), update_checksums=damage == "corrupted before the checksum")
    proc = backed_up.drill()
    report, pushed = drill_report(backed_up), backed_up.metrics("postgres-restore-drill")
    assert proc.returncode == 1 and report["status"] == "failed" and message in report["reason"], (proc.stderr, report)
    assert pushed["restore_drill_last_run_success"] == 0 and "restore_drill_rto_seconds" not in pushed, pushed
    assert env.leftover_servers(backed_up.drill_dir) == [], "a failed drill left its server running"


@pytest.mark.parametrize("change, message", [
    (lambda t: {**t, "rows": t["rows"] + 1} if t["rows"] else t, "row counts differ from the dump"),
    (lambda t: {**t, "qualified": "sales.missing"} if t["table"] == "orders" else t, "missing after the restore"),
])
def test_restore_that_does_not_match_the_dump_fails_the_drill(backed_up, change, message: str) -> None:
    edit_manifest(backed_up, lambda m: {**m, "tables": [change(t) for t in m["tables"]]})
    proc = backed_up.drill()
    assert proc.returncode == 1 and message in drill_report(backed_up)["reason"], (proc.stderr, drill_report(backed_up))


def test_no_backup_fails_the_drill(bucket) -> None:
    proc = bucket.drill()
    assert proc.returncode == 1 and "no verified backup" in drill_report(bucket)["reason"], proc.stderr
    assert bucket.metrics("postgres-restore-drill")["restore_drill_last_run_success"] == 0
