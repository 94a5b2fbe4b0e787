"""Redis (Valkey): ElastiCache settings per environment, the in-cluster pod for PR stacks, redis-auth."""

from __future__ import annotations

import re

import pytest
from helpers import environment_of, inputs

from config import PROFILES
from tools import wire
from tools.offline import mockrun

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
managed = pytest.mark.parametrize("stack", ["staging", "production"])
in_cluster = pytest.mark.parametrize("stack", ["pr-7"])


def _group(plan: mockrun.Plan) -> tuple[mockrun.Recorded, dict]:
    group = plan.get(GROUP, "redis-group")
    return group, inputs(group)


@managed
def test_engine_is_pinned_valkey_in_cluster_mode(plan: mockrun.Plan) -> None:
    group, i = _group(plan)
    assert (i["engine"], i["engineVersion"], i["clusterMode"]) == ("valkey", "8.1", "enabled"), group.urn
    assert i["parameterGroupName"].endswith(".cluster.on"), group.urn


@managed
def test_shards_replicas_and_snapshots_follow_the_profile(plan: mockrun.Plan) -> None:
    group, i = _group(plan)
    p = PROFILES[environment_of(plan.stack)].redis
    assert (i["nodeType"], i["numNodeGroups"], i["replicasPerNodeGroup"]) == (
        p.node_type, p.shards, p.replicas_per_shard), group.urn
    assert i["snapshotRetentionLimit"] == p.snapshot_retention_days, group.urn


@managed
def test_failover_and_multi_az_when_replicas_exist(plan: mockrun.Plan) -> None:
    group, i = _group(plan)
    multi_az = PROFILES[environment_of(plan.stack)].redis.multi_az
    assert i["automaticFailoverEnabled"] is True and i["multiAzEnabled"] is multi_az is True, group.urn


@managed
def test_encrypted_at_rest_with_the_customer_key_and_in_transit(plan: mockrun.Plan) -> None:
    group, i = _group(plan)
    key_arn = plan.get("aws:kms/key:Key", "kms-key").outputs["arn"]
    assert i["atRestEncryptionEnabled"] is True and i["kmsKeyId"] == key_arn, group.urn
    assert i["transitEncryptionEnabled"] is True and i["transitEncryptionMode"] == "required", group.urn


@managed
def test_auth_token_is_generated_and_secret(plan: mockrun.Plan) -> None:
    group = plan.get(GROUP, "redis-group")
    assert wire.is_secret(group.inputs["authToken"]), group.urn
    plan.get("random:index/randomPassword:RandomPassword", "redis-auth-token")


@managed
def test_slow_log_goes_to_an_encrypted_log_group(plan: mockrun.Plan) -> None:
    group, i = _group(plan)
    logs = inputs(plan.get("aws:cloudwatch/logGroup:LogGroup", "redis-slow-log"))
    (delivery,) = i["logDeliveryConfigurations"]
    assert delivery["logType"] == "slow-log" and delivery["destination"] == logs["name"], group.urn
    assert logs["kmsKeyId"].startswith("arn:aws:kms:") and logs["retentionInDays"] > 0, logs


@managed
def test_security_group_admits_6379_from_nodes_only(plan: mockrun.Plan) -> None:
    rule = plan.get("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "redis-from-nodes")
    i = inputs(rule)
    assert (i["fromPort"], i["toPort"]) == (6379, 6379) and "cidrIpv4" not in i, rule.urn
    assert i["referencedSecurityGroupId"].startswith("sg-"), rule.urn


@pytest.mark.parametrize(("stack", "protected"), [("staging", False), ("production", True)])
def test_production_cache_is_protected_with_a_final_snapshot(plan: mockrun.Plan, protected: bool) -> None:
    group, i = _group(plan)
    assert group.protect is protected and ("finalSnapshotIdentifier" in i) is protected, group.urn


def _pod(plan: mockrun.Plan) -> tuple[mockrun.Recorded, dict]:
    deployment = plan.get("kubernetes:apps/v1:Deployment", "redis-deployment")
    return deployment, inputs(deployment)["spec"]["template"]


@in_cluster
def test_in_cluster_pod_is_restricted_and_labelled(plan: mockrun.Plan) -> None:
    deployment, pod = _pod(plan)
    c = pod["spec"]["containers"][0]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "redis", deployment.urn
    assert c["securityContext"]["readOnlyRootFilesystem"] and c["securityContext"]["runAsNonRoot"], deployment.urn
    assert c["securityContext"]["runAsUser"] >= 10000 and pod["spec"]["securityContext"]["runAsUser"] >= 10000
    assert c["resources"]["limits"] and c["readinessProbe"] and c["livenessProbe"], deployment.urn


@in_cluster
def test_in_cluster_image_pinned_through_the_ecr_cache(plan: mockrun.Plan) -> None:
    deployment, pod = _pod(plan)
    c = pod["spec"]["containers"][0]
    cache = r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/ecr-public/"
    assert re.fullmatch(cache + r"docker/library/valkey:8\.[0-9.]+-alpine[0-9.]*", c["image"]), deployment.urn
    assert c["imagePullPolicy"] == "Always", deployment.urn


@in_cluster
def test_in_cluster_requirepass_comes_from_a_file(plan: mockrun.Plan) -> None:
    deployment, pod = _pod(plan)
    c = pod["spec"]["containers"][0]
    assert "/etc/valkey/auth/auth.conf" in c["command"] and "--requirepass" not in c["command"], deployment.urn
    assert not any("PASS" in e["name"] for e in c.get("env", [])), deployment.urn


@in_cluster
def test_in_cluster_service_is_cluster_ip(plan: mockrun.Plan) -> None:
    svc = inputs(plan.get("kubernetes:core/v1:Service", "redis-service"))
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["ports"][0]["port"] == 6379, svc


def test_redis_auth_secret_in_the_app_namespace(plan: mockrun.Plan) -> None:
    secret = plan.get("kubernetes:core/v1:Secret", "redis-auth")
    meta = inputs(secret)["metadata"]
    assert meta["name"] == "redis-auth" and meta["namespace"] == ("pr-7" if plan.stack == "pr-7" else "app")
    assert wire.is_secret(secret.inputs["stringData"]), secret.urn
    assert wire.plain(plan.stack_outputs)["redis"]["authSecret"] == "redis-auth"
