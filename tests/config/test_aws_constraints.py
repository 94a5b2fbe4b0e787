"""Config validation refuses, before anything is registered, the values AWS itself would refuse."""

from __future__ import annotations

import pytest

import config
from policies import constraints
from tools.offline import facts, stackfile

CN = {"aws:region": "cn-north-1",
      "platform:cluster.oidcProviderArn": "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/A",
      "platform:cluster.oidcProviderUrl": "oidc.eks.cn-north-1.amazonaws.com.cn/id/A",
      "platform:cluster.nodeRoleArn": "arn:aws-cn:iam::123456789012:role/platform-staging-nodes"}


def _staging(**changes: str) -> dict[str, str]:
    return dict(stackfile.load("staging").config) | changes


def _problems(raw: dict[str, str], stack: str = "staging") -> list[str]:
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw, stack=stack)
    return err.value.problems


@pytest.mark.parametrize("stack", ["staging_2", "staging.2", "Staging", "-staging", "staging-", "stag--ing",
                                   "staging-with-a-long-name", "pr-7 "])
def test_stack_name_aws_would_refuse_is_one_line_with_the_fix(stack: str) -> None:
    [problem] = _problems(_staging(), stack=stack)
    assert f'stack name = "{stack}"' in problem and "Fix: pulumi stack rename" in problem, problem
    assert "at most 23 characters in eu-west-1" in problem, problem


def test_stack_name_budget_follows_the_region() -> None:
    longest = "s" * config.stack_name_budget("platform", "ap-southeast-2", ["app", "backup"])
    assert len(longest) == 18
    config.parse(_staging(**{"aws:region": "ap-southeast-2"}), stack=longest)
    assert _problems(_staging(**{"aws:region": "ap-southeast-2"}), stack=longest + "s")


@pytest.mark.parametrize("key,value,expected", [
    ("postgres.allocatedStorageGib", "10", "an integer from 20 to 65536 (RDS for PostgreSQL on gp3)"),
    ("postgres.maxAllocatedStorageGib", "54", "at least 55 (storage autoscaling needs a ceiling 10 % above"),
    ("redis.shards", "46", "default quota 'Nodes per cluster (cluster mode enabled)' of 90 (this is 92"),
    ("services", '["app","backup","web-"]', "ECR repository name"),
    ("cluster.nodeRoleArn", "arn:aws-us-gov:iam::123456789012:role/nodes", "an ARN of partition aws"),
])
def test_value_aws_would_refuse_names_key_and_allowed(key: str, value: str, expected: str) -> None:
    overrides = {"platform:postgres.allocatedStorageGib": "50"} if key == "postgres.maxAllocatedStorageGib" else {}
    problems = _problems(_staging(**{f"platform:{key}": value}, **overrides))
    assert any(f"platform:{key}" in p and expected in p for p in problems), problems
    assert all(p.count("Fix: ") == 1 and "\n" not in p for p in problems), problems


def test_storage_autoscaling_ceiling_of_exactly_ten_percent_is_accepted() -> None:
    config.parse(_staging(**{"platform:postgres.allocatedStorageGib": "50",
                             "platform:postgres.maxAllocatedStorageGib": "55"}), stack="staging")


def test_in_cluster_storage_below_the_gp3_minimum_is_fine() -> None:
    settings = config.parse(dict(facts.engine_config("pr-7", reproducible=True).config), stack="pr-7")
    assert settings.profile.postgres.allocated_storage_gib < constraints.GP3_STORAGE_GIB[0]


def test_a_consistent_china_stack_is_accepted_and_a_mixed_one_refused() -> None:
    assert config.parse(_staging(**CN), stack="staging").region == "cn-north-1"
    problems = _problems(_staging(**{"aws:region": "cn-north-1"}))
    assert {p.split(" = ")[0].split(": ")[1] for p in problems} == {
        "platform:cluster.oidcProviderArn", "platform:cluster.nodeRoleArn", "platform:cluster.oidcProviderUrl"}


def test_region_of_no_partition_is_refused() -> None:
    assert any("aws:region" in p and "partition" in p for p in _problems(_staging(**{"aws:region": "xx-moon-1"})))


@pytest.mark.parametrize("environment", config.ENVIRONMENTS)
def test_log_retention_is_always_a_value_cloudwatch_accepts(environment: config.Environment) -> None:
    backups = config.PROFILES[environment].backups
    assert backups.log_retention_days in constraints.LOG_RETENTION_DAYS
    assert backups.log_retention_days >= backups.retention_days


@pytest.mark.parametrize("days", [2, 10, 45, 400, 3650])
def test_any_admitted_backup_retention_gives_an_allowed_log_retention(days: int) -> None:
    settings = config.parse(_staging(**{"platform:backups.retentionDays": str(days)}), stack="staging")
    assert settings.profile.backups.log_retention_days in constraints.LOG_RETENTION_DAYS
