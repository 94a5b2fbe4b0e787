"""Profiles: each environment class builds, and the README and Pulumi.yaml agree with the code."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import config
from tools.dev import docs
from tools.offline import facts, stackfile

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_committed_stack_files_parse_into_their_profile(stack: str) -> None:
    cfg = stackfile.load(stack)
    settings = config.parse(cfg.config, stack=stack, secret_keys=cfg.secret_keys)
    assert settings.environment == stack
    assert settings.profile == config.PROFILES[stack], f"Pulumi.{stack}.yaml overrides a profile value"


def test_ephemeral_stack_derived_from_staging_parses() -> None:
    settings = facts.settings("pr-42", reproducible=True)
    assert (settings.environment, settings.app_namespace, settings.app_host) == (
        "ephemeral", "pr-42", "pr-42.preview.example.com")
    assert settings.tags["pr"] == "42" and settings.tags["expires-at"] == "2026-11-25T12:00:00Z"


def test_production_is_strictly_safer_than_staging() -> None:
    prod, stg = config.PROFILES["production"], config.PROFILES["staging"]
    assert prod.postgres.multi_az and prod.redis.multi_az and prod.protect_data
    assert prod.postgres.final_snapshot and prod.backups.retain_on_delete
    assert prod.postgres.backup_retention_days > stg.postgres.backup_retention_days


def test_ephemeral_profile_is_disposable() -> None:
    eph = config.PROFILES["ephemeral"]
    assert not eph.protect_data and eph.backups.force_destroy and eph.registry.force_delete
    assert not eph.postgres.deletion_protection and eph.ttl_hours == 72


def test_readme_table_and_project_file_are_current() -> None:
    stale = docs.stale()
    assert not stale, f"{[p.name for p in stale]} out of date with config.py: run `make docs`"


def test_readme_shows_the_environment_table() -> None:
    assert config.environment_table() in (ROOT / "README.md").read_text()


def test_pulumi_yaml_declares_every_key_with_type_and_description() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(declared) == {k.name for k in config.KEYS}
    for key in config.KEYS:
        decl = declared[key.name]
        assert (decl["type"], decl["description"]) == (key.type, key.description), key.name
        assert bool(decl.get("secret")) == key.secret, key.name


def test_project_name_and_runtime() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "platform"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


@pytest.mark.parametrize(("env", "kms_days", "lock_days", "redis_snapshot"),
                         [("ephemeral", 7, 0, False), ("staging", 7, 0, False), ("production", 30, 30, True)])
def test_profile_decides_what_the_root_used_to(env, kms_days: int, lock_days: int, redis_snapshot: bool) -> None:
    p = config.PROFILES[env]
    assert (p.kms_deletion_window_days, p.backups.object_lock_days, p.redis.final_snapshot) == (
        kms_days, lock_days, redis_snapshot), env
    assert p.backups.object_lock_days <= p.backups.retention_days, "Object Lock cannot outlive the lifecycle"
