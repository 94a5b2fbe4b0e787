"""platform:postgres.restoreFrom, postgres.readReplica and backups.replicaRegion: accepted forms,
and every bad value refused with the key named and a fix."""

from __future__ import annotations

import datetime

import pytest

import config
from tools.offline import facts, stackfile

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def _problems(stack: str, change: dict[str, str]) -> list[str]:
    raw = dict(facts.engine_config(stack, reproducible=True).config) if stack.startswith("pr-") else \
        dict(stackfile.load(stack).config)
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw | change, stack=stack)
    return err.value.problems


@pytest.mark.parametrize(("value", "parsed"), [
    ("rds:platform-production-postgres-2026-11-30-01-05",
     config.RestoreFromSnapshot(snapshot="rds:platform-production-postgres-2026-11-30-01-05")),
    ("arn:aws:rds:eu-west-1:210987654321:snapshot:before-migration",
     config.RestoreFromSnapshot(snapshot="arn:aws:rds:eu-west-1:210987654321:snapshot:before-migration")),
    ("platform-production-postgres@2026-11-30T23:45:00Z",
     config.RestoreToPointInTime(source="platform-production-postgres", time="2026-11-30T23:45:00Z")),
    ("platform-production-postgres@latest", config.RestoreToPointInTime(source="platform-production-postgres", time=None)),
])
def test_restore_forms_are_accepted_and_parsed(value: str, parsed: config.RestoreSource) -> None:
    assert config._restore_from(value, now=NOW) is None
    assert config.restore_source(value) == parsed


@pytest.mark.parametrize(("value", "why"), [
    ("Before_Migration", "does not match"),
    ("rds:platform--postgres", "two consecutive hyphens"),
    ("platform-production-postgres-@latest", "ends with a hyphen"),
    ("platform-production-postgres@2026-11-30 23:45", "not a UTC time"),
    ("platform-production-postgres@2026-11-30T23:45:00+01:00", "not a UTC time"),
    ("platform-production-postgres@2026-02-30T23:45:00Z", "not a valid time"),
    ("platform-production-postgres@2026-12-02T00:00:00Z", "in the past"),
    ("platform-production-postgres@2026-10-01T00:00:00Z", "at most 35 days"),
])
def test_bad_restore_values_say_why(value: str, why: str) -> None:
    assert why in (config._restore_from(value, now=NOW) or ""), value


def test_bad_restore_value_names_the_key_and_the_fix() -> None:
    (problem,) = _problems("staging", {"platform:postgres.restoreFrom": "platform-production-postgres@yesterday"})
    assert problem.startswith("Pulumi.staging.yaml: platform:postgres.restoreFrom = ") and "Fix: pulumi config set" in problem


def test_restore_from_the_stacks_own_instance_is_refused() -> None:
    (problem,) = _problems("staging", {"platform:postgres.restoreFrom": "platform-staging-postgres@latest"})
    assert "platform:postgres.restoreFrom" in problem and "other than this stack's own" in problem


@pytest.mark.parametrize("key", ["platform:postgres.restoreFrom", "platform:postgres.readReplica"])
def test_ephemeral_stacks_refuse_managed_only_keys(key: str) -> None:
    value = "true" if key.endswith("readReplica") else "rds:snap-1"
    assert any(key in p and "pulumi config rm" in p for p in _problems("pr-3", {key: value}))


@pytest.mark.parametrize(("region", "why"), [
    ("eu-west-1", "a region other than aws:region"),
    ("cn-north-1", "a region of partition aws"),
    ("eu-nowhere-9", "a region botocore knows"),
])
def test_bad_replica_region_is_refused_with_the_key(region: str, why: str) -> None:
    (problem,) = _problems("production", {"platform:backups.replicaRegion": region})
    assert "platform:backups.replicaRegion" in problem and why in problem, problem


def test_production_needs_a_replica_region_and_staging_refuses_one() -> None:
    raw = dict(stackfile.load("production").config)
    del raw["platform:backups.replicaRegion"]
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw, stack="production")
    assert any("platform:backups.replicaRegion = (missing)" in p for p in err.value.problems)
    (problem,) = _problems("staging", {"platform:backups.replicaRegion": "eu-central-1"})
    assert "platform:backups.replicaRegion" in problem and "config rm" in problem


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_settings_carry_the_region_per_profile(stack: str) -> None:
    settings = config.parse(dict(stackfile.load(stack).config), stack=stack)
    assert (settings.backup_replica_region is not None) == settings.profile.backups.cross_region_copy, stack
