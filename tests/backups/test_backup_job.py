"""backup.sh against a real PostgreSQL server: a verified custom-format dump, its metadata and metrics."""

from __future__ import annotations

import hashlib
import time

import pytest


def test_dump_is_uploaded_with_its_checksum_size_and_duration_as_metadata(one_backup) -> None:
    key = one_backup.newest(".dump")
    meta, data = one_backup.metadata(key), one_backup.path(key).read_bytes()
    user = meta["Metadata"]
    assert user["sha256"] == hashlib.sha256(data).hexdigest() and int(user["size-bytes"]) == len(data), (key, user)
    assert float(user["dump-seconds"]) > 0 and user["verified"] == "true" and user["format"] == "custom", user
    assert meta["ServerSideEncryption"] == "aws:kms" and meta["SSEKMSKeyId"].startswith("arn:aws:kms:"), meta
    assert data.startswith(b"PGDMP"), f"{key} is not a pg_dump custom-format archive"


def test_manifest_holds_the_row_count_of_every_table_read_back_from_the_dump(one_backup, source) -> None:
    manifest = one_backup.json(one_backup.newest(".manifest.json"))
    rows = {t["qualified"]: t["rows"] for t in manifest["tables"]}
    assert rows == source.expected == source.counts(), manifest["tables"]
    assert {"sales", "Inventory", "public"} <= set(manifest["schemas"]), manifest["schemas"]
    assert manifest["sha256"] == one_backup.metadata(manifest["key"])["Metadata"]["sha256"], manifest


def test_success_pushes_size_duration_and_timestamp(one_backup) -> None:
    pushed = one_backup.metrics("postgres-backup")
    size = one_backup.path(one_backup.newest(".dump")).stat().st_size
    assert pushed["backup_last_run_success"] == 1 and pushed["backup_last_size_bytes"] == size, pushed
    assert abs(pushed["backup_last_success_timestamp_seconds"] - time.time()) < 60, pushed
    assert 0 < pushed["backup_last_duration_seconds"] < 30 and pushed["backup_previous_size_bytes"] == 0, pushed


def test_next_backup_reports_the_previous_size(backed_up, one_backup) -> None:
    first = one_backup.path(one_backup.newest(".dump")).stat().st_size
    time.sleep(max(0.0, 1.05 - time.time() % 1))  # keys are per second: never reuse the seed's
    backed_up.backup()
    assert backed_up.metrics("postgres-backup")["backup_previous_size_bytes"] == first, backed_up.gateway.pushes


def test_failed_dump_uploads_nothing_and_pushes_a_failure(bucket) -> None:
    proc = bucket.script("backup.sh", check=False, **{**bucket.source.settings(), "PGDATABASE": "no_such_db"})
    pushed = bucket.metrics("postgres-backup")
    assert proc.returncode != 0 and bucket.keys() == [], (proc.stderr, bucket.keys())
    assert pushed["backup_last_run_success"] == 0 and "backup_last_success_timestamp_seconds" not in pushed, pushed


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_verify_rejects_a_damaged_dump_that_pg_restore_list_accepts(backed_up, env, damage: str) -> None:
    data = bytearray(backed_up.path(backed_up.newest(".dump")).read_bytes())
    if damage == "truncate":
        data = data[: len(data) * 2 // 3]
    else:
        data[len(data) * 2 // 3] ^= 0xFF
    bad = env.mkdir(backed_up.root.parent / "spool") / "damaged.dump"
    bad.write_bytes(bytes(data))
    env.own(bad)
    assert env.run(["pg_restore", "--list", str(bad)], {}, check=False).returncode == 0, "the TOC alone cannot tell"
    proc = backed_up.script("verify.sh", str(bad), check=False)
    assert proc.returncode == 1 and "truncated or corrupted" in proc.stderr, proc.stderr


def test_missing_setting_exits_2_naming_it(bucket) -> None:
    proc = bucket.script("backup.sh", check=False, BACKUP_KMS_KEY_ARN="")
    assert proc.returncode == 2 and "BACKUP_KMS_KEY_ARN is not set" in proc.stderr, proc.stderr
