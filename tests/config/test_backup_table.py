"""docs/restore.md's per-environment backup table is derived from the profiles (``tools docs``)."""

from __future__ import annotations

from dataclasses import replace

import pytest

import config
from tools.dev import docs


def _column(table: str, env: str) -> dict[str, str]:
    index = 1 + list(config.ENVIRONMENTS).index(env)
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {row[0].strip(): row[index].strip() for row in rows}


@pytest.mark.parametrize("env", config.ENVIRONMENTS)
def test_table_states_each_profiles_retention_and_drills(env: str) -> None:
    p, column = config.PROFILES[env], _column(docs.backup_table(), env)
    assert column["How long"].startswith(f"dumps {p.backups.retention_days} d"), column
    assert ("weekly, Sunday 06:00 UTC" in column["Proven restorable"]) is p.backups.drills, column


@pytest.mark.parametrize("env", config.ENVIRONMENTS)
def test_table_states_the_cross_region_copy_and_the_replica(env: str) -> None:
    p, column = config.PROFILES[env], _column(docs.backup_table(), env)
    assert ("<replicaRegion>" in column["Where"]) is p.backups.cross_region_copy, column
    assert ("RDS automated backups replicated" in column["Where"]) is (p.backups.cross_region_copy
                                                                      and not p.postgres.in_cluster), column
    assert ("read replica" in column["Live copies"]) is p.postgres.read_replica, column


@pytest.mark.parametrize("flip", ["cross_region_copy", "read_replica"])
def test_table_follows_a_profile_that_gains_a_copy(monkeypatch, flip: str) -> None:
    staging = config.PROFILES["staging"]
    changed = (replace(staging, backups=replace(staging.backups, cross_region_copy=True)) if flip == "cross_region_copy"
               else replace(staging, postgres=replace(staging.postgres, read_replica=True)))
    monkeypatch.setattr(config, "PROFILES", {**config.PROFILES, "staging": changed})
    column = _column(docs.backup_table(), "staging")
    assert ("<replicaRegion>" in column["Where"]) is (flip == "cross_region_copy"), column
    assert ("read replica" in column["Live copies"]) is (flip == "read_replica"), column


def test_table_follows_a_changed_profile(monkeypatch) -> None:
    staging = config.PROFILES["staging"]
    changed = replace(staging, backups=replace(staging.backups, retention_days=9, drill_schedule="30 5 * * 3"))
    monkeypatch.setattr(config, "PROFILES", {**config.PROFILES, "staging": changed})
    column = _column(docs.backup_table(), "staging")
    assert column["How long"].startswith("dumps 9 d") and "weekly, Wednesday 05:30 UTC" in column["Proven restorable"]


@pytest.mark.parametrize("schedule", ["*/5 * * * *", "0 6 1 * *", "0 6 * * MON"])
def test_a_schedule_the_table_cannot_describe_is_an_error(schedule: str) -> None:
    with pytest.raises(ValueError, match="daily .* or weekly"):
        docs.when(schedule)
