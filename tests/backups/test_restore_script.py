"""restore.sh against a real PostgreSQL server: the documented restore path for a custom-format backup."""

from __future__ import annotations

import json


def test_restore_replaces_the_database_contents_with_the_backup(backed_up, source) -> None:
    source.sql("DROP DATABASE IF EXISTS target", "postgres")
    source.sql("CREATE DATABASE target", "postgres")
    key = backed_up.newest(".dump")
    for _ in range(2):  # --clean --if-exists: a second restore over the first replaces it
        backed_up.script("restore.sh", key, **backed_up.source.settings("target"))
    assert source.counts("target") == source.expected, f"{key} restored into target"


def test_restore_refuses_a_dump_whose_checksum_does_not_match(backed_up, source) -> None:
    key = backed_up.newest(".dump")
    meta = backed_up.root / ".meta" / backed_up.name / f"{key}.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "Metadata": {"sha256": "0" * 64}}))
    proc = backed_up.script("restore.sh", key, check=False, **backed_up.source.settings())
    assert proc.returncode == 1 and "SHA-256" in proc.stderr, proc.stderr


def test_restore_refuses_a_key_outside_the_prefix(bucket) -> None:
    proc = bucket.script("restore.sh", "elsewhere/20260301T020000Z.dump", check=False, **bucket.source.settings())
    assert proc.returncode == 2 and "not a backup object under postgres/" in proc.stderr, proc.stderr
