"""`python -m tools ephemeral config`: the generated Pulumi.pr-N.yaml."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

import config
from tools import cli
from tools.delivery import ephemeral

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(ephemeral, "_now", lambda: NOW)
    return tmp_path


def generate(root: Path, *args: str) -> int:
    return cli.run(ephemeral.main, ["--root", str(root), "config", *args])


def stack_config(root: Path, pr: int) -> dict:
    return yaml.safe_load((root / f"Pulumi.pr-{pr}.yaml").read_text())["config"]


def settings(root: Path, pr: int) -> config.Settings:
    return config.parse(stack_config(root, pr), stack=f"pr-{pr}")


def test_two_prs_never_collide(root: Path) -> None:
    assert generate(root, "--pr", "41") == 0 and generate(root, "--pr", "42") == 0
    a, b = settings(root, 41), settings(root, 42)
    for attr in ("name", "app_host", "app_namespace", "stack"):
        assert getattr(a, attr) != getattr(b, attr), f"{attr} shared by pr-41 and pr-42: {getattr(a, attr)}"
    assert (a.app_host, a.app_namespace, a.name) == ("pr-41.preview.example.com", "pr-41", "platform-pr-41")
    assert a.tags["pr"] == "41" and b.tags["pr"] == "42"


def test_ephemeral_class_with_pr_tag_expiry_and_image_tag(root: Path) -> None:
    assert generate(root, "--pr", "7") == 0
    s = settings(root, 7)
    assert s.environment == "ephemeral" and s.pr == 7
    assert s.tags["expires-at"] == "2026-11-25T12:00:00Z", "default TTL is the profile's 72 h"
    assert s.image_tag == "pr-7"


def test_default_ttl_comes_from_the_profile(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = config.PROFILES["ephemeral"]
    monkeypatch.setitem(config.PROFILES, "ephemeral", type(profile)(**{**vars(profile), "ttl_hours": 5}))
    assert generate(root, "--pr", "7") == 0
    assert stack_config(root, 7)["platform:expiresAt"] == "2026-11-22T17:00:00Z"


def test_ttl_flag(root: Path) -> None:
    assert generate(root, "--pr", "7", "--ttl", "2") == 0
    assert stack_config(root, 7)["platform:expiresAt"] == "2026-11-22T14:00:00Z"


@pytest.mark.parametrize("ttl", ["0", "721", "-3"])
def test_ttl_out_of_range_is_a_usage_error(root: Path, ttl: str) -> None:
    assert generate(root, "--pr", "7", "--ttl", ttl) == 2
    assert not (root / "Pulumi.pr-7.yaml").exists()


def test_rerun_is_idempotent_and_keeps_the_expiry(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert generate(root, "--pr", "7", "--image-tag", "abc1234") == 0
    first = (root / "Pulumi.pr-7.yaml").read_bytes()
    monkeypatch.setattr(ephemeral, "_now", lambda: NOW + timedelta(hours=30))
    assert generate(root, "--pr", "7", "--image-tag", "abc1234") == 0
    assert (root / "Pulumi.pr-7.yaml").read_bytes() == first


def test_renew_moves_the_expiry(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert generate(root, "--pr", "7") == 0
    monkeypatch.setattr(ephemeral, "_now", lambda: NOW + timedelta(hours=30))
    assert generate(root, "--pr", "7", "--renew") == 0
    assert stack_config(root, 7)["platform:expiresAt"] == "2026-11-26T18:00:00Z"


def test_outside_inputs_inherited_profile_overrides_not(root: Path) -> None:
    base = yaml.safe_load((root / "Pulumi.staging.yaml").read_text())
    base["config"]["platform:gateway.replicas"] = 4
    base["config"]["platform:cluster"] = {"name": "nested-cluster"}  # nested spelling is valid too
    del base["config"]["platform:cluster.name"]
    (root / "Pulumi.staging.yaml").write_text(yaml.safe_dump(base))
    assert generate(root, "--pr", "7") == 0
    cfg = stack_config(root, 7)
    assert "platform:gateway.replicas" not in cfg and "platform:acmeEmail" not in cfg
    assert cfg["platform:cluster.name"] == "nested-cluster"
    for key in ("aws:region", "platform:vpcId", "platform:privateSubnetIds", "platform:kubeContext",
                "platform:domain", "platform:owner", "platform:costCenter", "platform:cluster.oidcProviderArn"):
        assert cfg[key] == base["config"][key], key


def test_other_base_stack_only_when_allowed_explicitly(root: Path) -> None:
    assert generate(root, "--pr", "7", "--base", "production", "--allow-base") == 0
    assert settings(root, 7).cluster.name == "platform-production"


def test_a_base_whose_cluster_hosts_no_pr_stacks_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate(root, "--pr", "7", "--base", "production") == 2
    err = capsys.readouterr().err
    assert "--base production" in err and "--allow-base" in err and "staging" in err, err
    assert not (root / "Pulumi.pr-7.yaml").exists()


def test_invalid_result_exits_2_with_the_messages_and_writes_nothing(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate(root, "--pr", "7", "--image-tag", "latest") == 2
    err = capsys.readouterr().err
    assert "platform:imageTag" in err and "latest" in err and "Traceback" not in err
    assert not (root / "Pulumi.pr-7.yaml").exists()


def test_missing_base_exits_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate(root, "--pr", "7", "--base", "nope") == 2
    assert "Pulumi.nope.yaml not found" in capsys.readouterr().err


def test_generated_header_and_gitignore(root: Path) -> None:
    assert generate(root, "--pr", "7") == 0
    assert (root / "Pulumi.pr-7.yaml").read_text().startswith("# GENERATED by `python -m tools ephemeral config")
    assert "Pulumi.pr-*.yaml" in (ROOT / ".gitignore").read_text().splitlines()


def test_cli_written_secrets_settings_survive_a_rerun(root: Path) -> None:
    assert generate(root, "--pr", "7") == 0
    path = root / "Pulumi.pr-7.yaml"
    path.write_text("secretsprovider: awskms://alias/pulumi\nencryptedkey: AQID\n" + path.read_text())
    assert generate(root, "--pr", "7") == 0
    doc = yaml.safe_load(path.read_text())
    assert doc["secretsprovider"] == "awskms://alias/pulumi" and doc["encryptedkey"] == "AQID"
