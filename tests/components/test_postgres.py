"""Postgres: RDS settings per environment (staging, production), the in-cluster StatefulSet (PR stacks)."""

from __future__ import annotations

import re

import pytest
from helpers import environment_of, inputs

from config import PROFILES
from tools import wire
from tools.offline import mockrun

DB, STS = "aws:rds/instance:Instance", "kubernetes:apps/v1:StatefulSet"
managed = pytest.mark.parametrize("stack", ["staging", "production"])
in_cluster = pytest.mark.parametrize("stack", ["pr-7"])
ECR_CACHE = r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/ecr-public/"


def _db(plan: mockrun.Plan) -> tuple[mockrun.Recorded, dict]:
    db = plan.get(DB, "postgres-db")
    return db, inputs(db)


@managed
def test_engine_pinned_to_major_18_with_minor_upgrades(plan: mockrun.Plan) -> None:
    db, i = _db(plan)
    assert (i["engine"], i["engineVersion"], i["autoMinorVersionUpgrade"]) == ("postgres", "18", True), db.urn


@managed
def test_storage_gp3_encrypted_with_the_customer_key(plan: mockrun.Plan) -> None:
    db, i = _db(plan)
    key_arn = plan.get("aws:kms/key:Key", "kms-key").outputs["arn"]
    assert i["storageType"] == "gp3" and i["storageEncrypted"] is True and i["kmsKeyId"] == key_arn, db.urn


@managed
def test_sizes_and_availability_follow_the_profile(plan: mockrun.Plan) -> None:
    db, i = _db(plan)
    p = PROFILES[environment_of(plan.stack)].postgres
    assert (i["instanceClass"], i["multiAz"], i["allocatedStorage"], i["maxAllocatedStorage"]) == (
        p.instance_class, p.multi_az, p.allocated_storage_gib, p.max_allocated_storage_gib), db.urn
    assert i["backupRetentionPeriod"] == p.backup_retention_days and i["copyTagsToSnapshot"] is True, db.urn


@managed
def test_never_public_and_only_private_subnets(plan: mockrun.Plan) -> None:
    db, i = _db(plan)
    subnets = inputs(plan.get("aws:rds/subnetGroup:SubnetGroup", "postgres-subnets"))["subnetIds"]
    assert i["publiclyAccessible"] is False and len(subnets) >= 2, db.urn


@managed
def test_rds_manages_the_password_and_iam_auth_is_on(plan: mockrun.Plan) -> None:
    db, i = _db(plan)
    assert i["manageMasterUserPassword"] is True and "password" not in i, db.urn
    assert i["masterUserSecretKmsKeyId"] == i["kmsKeyId"] and i["iamDatabaseAuthenticationEnabled"] is True


@managed
def test_logs_exported_and_performance_insights_per_profile(plan: mockrun.Plan) -> None:
    db, i = _db(plan)
    pi = PROFILES[environment_of(plan.stack)].postgres.performance_insights
    assert i["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"], db.urn
    assert i["performanceInsightsEnabled"] is pi and (i.get("performanceInsightsKmsKeyId") == i["kmsKeyId"]) is pi


@managed
def test_parameter_group_forces_tls_and_logs(plan: mockrun.Plan) -> None:
    group = plan.get("aws:rds/parameterGroup:ParameterGroup", "postgres-params")
    params = {p["name"]: p["value"] for p in inputs(group)["parameters"]}
    assert inputs(group)["family"] == "postgres18" and params["rds.force_ssl"] == "1", group.urn
    assert {"log_connections", "log_disconnections", "log_min_duration_statement"} <= set(params), params


@managed
def test_security_group_admits_5432_from_nodes_only(plan: mockrun.Plan) -> None:
    rules = [r for r in plan.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.name == "postgres-from-nodes"]
    assert len(rules) == 1, [r.name for r in rules]
    i = inputs(rules[0])
    assert (i["fromPort"], i["toPort"], i["ipProtocol"]) == (5432, 5432, "tcp") and "cidrIpv4" not in i, rules[0].urn
    assert i["referencedSecurityGroupId"].startswith("sg-"), rules[0].urn


@managed
def test_security_group_has_no_inline_rules(plan: mockrun.Plan) -> None:
    sg = inputs(plan.get("aws:ec2/securityGroup:SecurityGroup", "postgres-sg"))
    assert not sg.get("ingress") and not sg.get("egress"), sg


@pytest.mark.parametrize(("stack", "protected"), [("staging", False), ("production", True)])
def test_production_is_protected_with_a_final_snapshot(plan: mockrun.Plan, protected: bool) -> None:
    db, i = _db(plan)
    assert db.protect is protected and i["deletionProtection"] is True, db.urn
    assert i["skipFinalSnapshot"] is (not protected), db.urn
    assert str(i.get("finalSnapshotIdentifier")).startswith("platform-production-postgres-final-") is protected, db.urn


def _pod(plan: mockrun.Plan) -> tuple[mockrun.Recorded, dict]:
    sts = plan.get(STS, "postgres-statefulset")
    return sts, inputs(sts)["spec"]["template"]


@in_cluster
def test_in_cluster_image_pinned_through_the_ecr_cache_and_pod_labelled(plan: mockrun.Plan) -> None:
    sts, pod = _pod(plan)
    (container,) = pod["spec"]["containers"]
    assert re.fullmatch(ECR_CACHE + r"docker/library/postgres:18\.[0-9.]+-alpine[0-9.]*", container["image"]), sts.urn
    assert container["imagePullPolicy"] == "Always", sts.urn
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "postgres", sts.urn


def test_cache_prefix_is_a_pull_through_rule_bootstrap_owns() -> None:
    from bootstrap.components.registry import PULL_THROUGH_CACHES
    from components import kubernetes
    assert kubernetes.ECR_PUBLIC_CACHE_PREFIX == PULL_THROUGH_CACHES["public.ecr.aws"]


@in_cluster
def test_in_cluster_restricted_security_context(plan: mockrun.Plan) -> None:
    sts, pod = _pod(plan)
    sc, psc = pod["spec"]["containers"][0]["securityContext"], pod["spec"]["securityContext"]
    assert sc["runAsUser"] >= 10000 and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"], sts.urn
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert psc["runAsNonRoot"] and psc["runAsUser"] == psc["runAsGroup"] == psc["fsGroup"] == sc["runAsUser"], psc
    # PGDATA must stay 0700: fsGroup is re-applied only when the volume root does not match.
    assert psc["fsGroupChangePolicy"] == "OnRootMismatch", psc
    assert pod["spec"]["automountServiceAccountToken"] is False and pod["spec"]["serviceAccountName"] == "postgres"


@in_cluster
def test_in_cluster_writable_paths_and_pgdata_on_the_volume(plan: mockrun.Plan) -> None:
    sts, pod = _pod(plan)
    c = pod["spec"]["containers"][0]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert mounts["/var/run/postgresql"] == "run" and mounts["/tmp"] == "tmp", sts.urn  # noqa: S108
    assert env["PGDATA"].startswith("/var/lib/postgresql/") and mounts["/var/lib/postgresql"] == "data", env


@in_cluster
def test_in_cluster_volume_probes_and_resources(plan: mockrun.Plan) -> None:
    sts, pod = _pod(plan)
    spec, c = inputs(sts)["spec"], pod["spec"]["containers"][0]
    size = f"{PROFILES['ephemeral'].postgres.allocated_storage_gib}Gi"
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == size, sts.urn
    assert "pg_isready" in c["livenessProbe"]["exec"]["command"] and "pg_isready" in c["readinessProbe"]["exec"]["command"]
    assert c["resources"]["requests"] and c["resources"]["limits"], sts.urn


@in_cluster
def test_in_cluster_password_is_a_file_from_a_generated_secret(plan: mockrun.Plan) -> None:
    sts, pod = _pod(plan)
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    secret = plan.get("kubernetes:core/v1:Secret", "postgres-credentials")
    assert "POSTGRES_PASSWORD" not in env and env["POSTGRES_PASSWORD_FILE"]["value"].startswith("/run/secrets/"), sts.urn
    assert wire.is_secret(secret.inputs["stringData"]), secret.urn
    plan.get("random:index/randomPassword:RandomPassword", "postgres-password")


@in_cluster
def test_in_cluster_service_is_cluster_ip(plan: mockrun.Plan) -> None:
    svc = inputs(plan.get("kubernetes:core/v1:Service", "postgres-service"))
    assert svc["spec"]["type"] == "ClusterIP" and svc["spec"]["ports"][0]["port"] == 5432, svc


def test_connection_configmap_and_outputs(plan: mockrun.Plan) -> None:
    cm = inputs(plan.get("kubernetes:core/v1:ConfigMap", "postgres-connection"))
    out = wire.plain(plan.stack_outputs)["postgres"]
    assert cm["data"]["PGHOST"] == out["host"] and cm["data"]["PGPORT"] == "5432", cm
    expected = "postgres-credentials" if plan.stack == "pr-7" else "arn:aws:secretsmanager:"
    assert out["credentials"].startswith(expected) and cm["data"]["POSTGRES_CREDENTIALS_REF"] == out["credentials"]
