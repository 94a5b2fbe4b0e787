"""Node agents and logs (components/nodeagents.py): one KMS-encrypted log group per stack with the
profile's retention, a Fluent Bit role scoped to that group, and the Fluent Bit release shipping
to it; none of it in a PR stack."""

from __future__ import annotations

import json

import pytest

from config import PROFILES, NodeLogsProfile
from policies.constraints import LOG_RETENTION_DAYS
from tests.helpers import environment_of, inputs

PLATFORM_STACKS = ["staging", "production"]
ACCOUNT = {"staging": "123456789012", "production": "210987654321"}
LOG_GROUP = {s: f"/platform-{s}/cluster/logs" for s in PLATFORM_STACKS}


def _one(plan, type_: str, name: str) -> dict:
    found = [inputs(r) for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{plan.stack}: expected one {type_} {name}, found {len(found)}"
    return found[0]


def _group_arn(stack: str) -> str:
    return f"arn:aws:logs:eu-west-1:{ACCOUNT[stack]}:log-group:{LOG_GROUP[stack]}"


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_fluent_bit_may_only_write_streams_of_the_stacks_log_group(plan_of, stack):
    policy = json.loads(_one(plan_of(stack), "aws:iam/rolePolicy:RolePolicy", "node-agents-fluent-bit-policy")["policy"])
    [statement] = policy["Statement"]
    assert statement["Resource"] == [_group_arn(stack), f"{_group_arn(stack)}:log-stream:*"], \
        f"{stack}: node-agents-fluent-bit-policy reaches beyond {LOG_GROUP[stack]}: {statement['Resource']}"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_fluent_bit_role_is_assumable_only_by_its_service_account(plan_of, stack):
    trust = json.loads(_one(plan_of(stack), "aws:iam/role:Role", "node-agents-fluent-bit-role")["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert sorted(condition.values()) == ["sts.amazonaws.com", "system:serviceaccount:node-agents:fluent-bit"], condition


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_log_group_is_kms_encrypted_with_the_profiles_allowed_retention(plan_of, stack):
    group = _one(plan_of(stack), "aws:cloudwatch/logGroup:LogGroup", "node-agents-log-group")
    retention = PROFILES[environment_of(stack)].node_logs.retention_days  # type: ignore[union-attr]
    assert group["name"] == LOG_GROUP[stack]
    assert group["kmsKeyId"], f"{stack}: node-agents-log-group is not encrypted with the stack's key"
    assert group["retentionInDays"] == retention and retention in LOG_RETENTION_DAYS, group


def test_a_retention_cloudwatch_refuses_is_rejected_in_the_profile():
    with pytest.raises(ValueError, match="retention_days=10"):
        NodeLogsProfile(retention_days=10)


def test_the_stack_key_admits_cloudwatch_logs_for_the_accounts_log_groups():
    from components.kms import key_policy

    [logs] = [s for s in key_policy("123456789012", "eu-west-1", "aws", "amazonaws.com")["Statement"]
              if s["Principal"].get("Service") == "logs.eu-west-1.amazonaws.com"]
    arn = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert arn == "arn:aws:logs:eu-west-1:123456789012:log-group:*" and "kms:GenerateDataKey*" in logs["Action"]


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_fluent_bit_ships_to_the_group_it_does_not_create(plan_of, stack):
    release = _one(plan_of(stack), "kubernetes:helm.sh/v3:Release", "node-agents-fluent-bit")
    outputs = release["values"]["config"]["outputs"]
    assert (release["version"], release["namespace"]) == ("0.58.1", "node-agents")
    assert outputs.count("Name cloudwatch_logs") == 2, outputs
    for line in ("region eu-west-1", f"log_group_name {LOG_GROUP[stack]}", "auto_create_group Off"):
        assert outputs.count(line) == 2, f"{stack}: both outputs need {line!r}: {outputs}"


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_fluent_bit_reads_container_and_node_logs_and_pulls_through_the_cache(plan_of, stack):
    values = _one(plan_of(stack), "kubernetes:helm.sh/v3:Release", "node-agents-fluent-bit")["values"]
    assert "Path /var/log/containers/*.log" in values["config"]["inputs"]
    assert "Systemd_Filter _SYSTEMD_UNIT=kubelet.service" in values["config"]["inputs"]
    image = values["image"]
    assert image["repository"] == f"{ACCOUNT[stack]}.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/fluent/fluent-bit"
    assert image["tag"] == "5.1.1", image


def test_a_pr_stack_ships_no_logs_of_its_own(plan_of):
    plan = plan_of("pr-7")
    assert not [r.name for r in plan.resources if r.name.startswith("node-agents")], "staging's Fluent Bit ships them"
