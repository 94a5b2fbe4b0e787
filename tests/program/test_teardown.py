"""Teardown per environment class, from the plan: what `pulumi destroy` deletes, what it keeps, and
that what it keeps stays readable (tools/dev/teardown.py; docs/teardown.md is its output)."""

from __future__ import annotations

import dataclasses

import pytest

from tools.dev import teardown
from tools.offline import mockrun

DATA = {"aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:s3/bucket:Bucket"}


def _rows(plan: mockrun.Plan) -> dict[str, teardown.Row]:
    return {r.name: r for r in teardown.matrix(plan)}


@pytest.mark.parametrize("stack", ["pr-7"])
def test_ephemeral_destroy_deletes_everything_and_leaves_nothing(plan: mockrun.Plan) -> None:
    left = [(r.name, r.fate) for r in teardown.matrix(plan) if r.kept or r.snapshot]
    assert left == [], left


@pytest.mark.parametrize("stack", ["staging"])
def test_staging_destroy_stops_at_the_database_and_leaves_no_orphan(plan: mockrun.Plan) -> None:
    rows = _rows(plan)
    assert rows["postgres-db"].fate.startswith("kept (deletionProtection"), rows["postgres-db"]
    assert [n for n, r in rows.items() if r.kept] == ["postgres-db"], rows
    assert all(r.readable for r in rows.values()), [r for r in rows.values() if not r.readable]


@pytest.mark.parametrize("stack", ["production"])
def test_production_destroy_keeps_the_data_and_everything_it_needs_to_stay_readable(plan: mockrun.Plan) -> None:
    rows = _rows(plan)
    kept = {n for n, r in rows.items() if r.kept}
    assert {"postgres-db", "redis-group", "backups-bucket", "kms-key", "kms-alias"} <= kept, kept
    assert rows["postgres-db"].snapshot and rows["redis-group"].snapshot, "final snapshots"
    assert {n for n, r in rows.items() if r.type.startswith("aws:s3/bucket") and not r.kept} == set(), rows
    assert all(r.readable for r in rows.values()), [r for r in rows.values() if not r.readable]


@pytest.mark.parametrize("stack", ["production"])
def test_a_kept_store_whose_key_is_deleted_is_unreadable(plan: mockrun.Plan) -> None:
    key = plan.get("aws:kms/key:Key", "kms-key")
    broken = dataclasses.replace(plan, resources=[dataclasses.replace(r, protect=False, retain_on_delete=False)
                                                  if r is key else r for r in plan.resources])
    unreadable = {r.name for r in teardown.matrix(broken) if not r.readable}
    assert {"postgres-db", "redis-group", "backups-bucket"} <= unreadable, unreadable


def test_every_data_store_of_every_class_is_in_the_matrix(plan: mockrun.Plan) -> None:
    names = set(_rows(plan))
    missing = [r.urn for r in plan.resources if r.type in DATA and r.name not in names]
    assert missing == [], missing


def test_the_teardown_doc_is_current(plan_of) -> None:
    text = teardown.render([plan_of(s) for s in teardown.STACKS])
    assert teardown.DOC.read_text() == text, "docs/teardown.md is stale: run `python -m tools teardown --write`"
