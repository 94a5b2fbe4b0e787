"""Connection contracts: each data store hands out one connection; each client renders what its variant needs.

Every test builds one component alone (tests/harness.py); clients get a connection written here,
so a client test never depends on a store's mode.
"""

from __future__ import annotations

import json

import pytest
from harness import build

import config
from components.connections import (
    InKubernetesSecret,
    InSecretsManager,
    PostgresConnection,
    RdsMasterSecretGrant,
    RedisConnection,
)
from components.kms import KmsKey, KmsKeyArgs
from components.postgres import Postgres, PostgresArgs
from components.redis import RedisCluster, RedisClusterArgs
from tools import wire

MANAGED, IN_CLUSTER = ["staging", "production"], ["pr-7"]
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000-AbCdEf"
GRANT = RdsMasterSecretGrant(db_instance_identifier="platform-staging-postgres", kms_alias="alias/platform-staging")
IN_SM = InSecretsManager(secret_arn=SECRET_ARN, grant=GRANT)
IN_K8S = InKubernetesSecret(name="pg-secret", key="pw")
REDIS = RedisConnection(host="redis.app.svc.cluster.local", port=6379, tls=False, cluster_mode=False,
                        auth=InKubernetesSecret(name="redis-auth"))


def pg_connection(password: InSecretsManager | InKubernetesSecret) -> PostgresConnection:
    return PostgresConnection(host="db.internal", port=5432, database="app", username="platform",
                              sslmode="verify-full", password=password)


def postgres(stack: str) -> PostgresConnection:
    settings = config.load()
    kms = KmsKey("kms", KmsKeyArgs.from_settings(settings))
    return Postgres("postgres", PostgresArgs.from_settings(settings, kms=kms, namespace=settings.app_namespace)).connection


def redis(stack: str) -> RedisConnection:
    settings = config.load()
    kms = KmsKey("kms", KmsKeyArgs.from_settings(settings))
    return RedisCluster("redis", RedisClusterArgs.from_settings(settings, kms=kms,
                                                                namespace=settings.app_namespace)).connection


# -- the stores ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", MANAGED)
def test_managed_postgres_password_in_secrets_manager_with_a_preview_known_grant(stack: str) -> None:
    built = build(lambda: postgres(stack), stack=stack)
    c, db = built.value, built.plan.get("aws:rds/instance:Instance", "postgres-db")
    assert (c.host, c.port, c.sslmode) == (db.outputs["address"], 5432, "verify-full"), db.urn
    assert c.password == InSecretsManager(secret_arn=db.outputs["masterUserSecrets"][0]["secretArn"],
                                          grant=RdsMasterSecretGrant(db_instance_identifier=f"platform-{stack}-postgres",
                                                                     kms_alias=f"alias/platform-{stack}")), c


@pytest.mark.parametrize("stack", IN_CLUSTER)
def test_in_cluster_postgres_password_in_the_generated_secret(stack: str) -> None:
    built = build(lambda: postgres(stack), stack=stack)
    secret = built.plan.get("kubernetes:core/v1:Secret", "postgres-credentials")
    assert built.value.password == InKubernetesSecret(name=secret.inputs["metadata"]["name"], key="password")
    assert (built.value.host, built.value.sslmode) == (f"postgres.{stack}.svc.cluster.local", "prefer"), built.value


@pytest.mark.parametrize("stack", MANAGED + IN_CLUSTER)
def test_connection_configmap_says_what_the_connection_says(stack: str) -> None:
    built = build(lambda: postgres(stack), stack=stack)
    data, c = wire.plain(built.plan.get("kubernetes:core/v1:ConfigMap", "postgres-connection").inputs)["data"], built.value
    ref = c.password.secret_arn if isinstance(c.password, InSecretsManager) else c.password.name
    assert (data["PGHOST"], data["PGPORT"], data["PGUSER"], data["PGSSLMODE"]) == (c.host, "5432", c.username, c.sslmode)
    assert data["POSTGRES_CREDENTIALS_REF"] == ref, data


@pytest.mark.parametrize(("stack", "managed"), [("staging", True), ("production", True), ("pr-7", False)])
def test_redis_connection_per_mode(stack: str, managed: bool) -> None:
    built = build(lambda: redis(stack), stack=stack)
    c = built.value
    assert (c.tls, c.cluster_mode, c.port) == (managed, managed, 6379), c
    assert c.auth == InKubernetesSecret(name="redis-auth", key="password"), c
    assert c.host.endswith(".cache.amazonaws.com" if managed else f"redis.{stack}.svc.cluster.local"), c.host


# -- the clients, per variant ----------------------------------------------------------------------


def _app(password: InSecretsManager | InKubernetesSecret) -> None:
    from components.app import App, AppArgs
    from components.irsa import Irsa
    settings = config.load()
    irsa = Irsa.from_settings(settings, account_id="123456789012")
    App("app", AppArgs.from_settings(settings, namespace="app", image="registry/app:abc", postgres=pg_connection(password),
                                     redis=REDIS, irsa=irsa))


@pytest.mark.parametrize(("password", "mounted", "role"), [(IN_K8S, True, False), (IN_SM, False, True)])
def test_app_mounts_a_kubernetes_secret_or_reads_secrets_manager_through_irsa(password, mounted: bool, role: bool) -> None:
    plan = build(lambda: _app(password)).plan
    pod = wire.plain(plan.get("kubernetes:apps/v1:Deployment", "app-blue-deployment").inputs)["spec"]["template"]["spec"]
    secrets = {v["secret"]["secretName"]: v["secret"]["items"] for v in pod["volumes"] if "secret" in v}
    assert (secrets.get("pg-secret") == [{"key": "pw", "path": "pw"}]) is mounted, secrets
    sa = wire.plain(plan.get("kubernetes:core/v1:ServiceAccount", "app-sa").inputs)["metadata"]
    assert ("eks.amazonaws.com/role-arn" in (sa.get("annotations") or {})) is role, sa
    assert bool([r for r in plan.resources if r.name == "app-db-secret-policy"]) is role


def _backup_storage(password: InSecretsManager | InKubernetesSecret) -> None:
    from components.backups import BackupStorage, BackupStorageArgs
    settings = config.load()
    kms = KmsKey("kms", KmsKeyArgs.from_settings(settings))
    BackupStorage("backups", BackupStorageArgs.from_settings(settings, account_id="123456789012", kms=kms,
                                                             namespace="app", postgres=pg_connection(password)))


@pytest.mark.parametrize(("password", "granted"), [(IN_K8S, False), (IN_SM, True)])
def test_backup_role_may_read_the_db_secret_only_when_it_is_in_secrets_manager(password, granted: bool) -> None:
    plan = build(lambda: _backup_storage(password)).plan
    policy = plan.get("aws:iam/rolePolicy:RolePolicy", "backups-role-policy")
    statements = {s["Sid"]: s for s in json.loads(wire.plain(policy.inputs)["policy"])["Statement"]}
    assert ("DatabaseCredentials" in statements) is granted, (policy.urn, sorted(statements))
    if granted:
        tag = statements["DatabaseCredentials"]["Condition"]["StringEquals"]
        assert list(tag.values()) == [f"arn:aws:rds:eu-west-1:123456789012:db:{GRANT.db_instance_identifier}"], tag


def _backup_schedule(password: InSecretsManager | InKubernetesSecret) -> None:
    from components.backups import BackupSchedule, BackupScheduleArgs
    BackupSchedule("backup", BackupScheduleArgs(namespace="app", image="registry/backup:abc", schedule="0 2 * * *",
                                                role_arn="arn:aws:iam::123456789012:role/b", bucket="b", kms_key_arn="k",
                                                postgres=pg_connection(password), labels={}))


@pytest.mark.parametrize("password", [IN_K8S, IN_SM])
def test_backup_job_gets_a_secret_file_or_the_secret_arn(password) -> None:
    plan = build(lambda: _backup_schedule(password)).plan
    data = wire.plain(plan.get("kubernetes:core/v1:ConfigMap", "backup-config").inputs)["data"]
    job = wire.plain(plan.get("kubernetes:batch/v1:CronJob", "backup-cronjob").inputs)
    volumes = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    mounted = [v["secret"] for v in volumes if "secret" in v]
    if isinstance(password, InSecretsManager):
        assert data["PG_SECRET_ARN"] == SECRET_ARN and mounted == [] and "PGPASSWORD_FILE" not in data, data
    else:
        assert mounted[0]["secretName"] == "pg-secret" and mounted[0]["items"] == [{"key": "pw", "path": "password"}]
        assert data["PGPASSWORD_FILE"].endswith("/password") and "PG_SECRET_ARN" not in data, data


def _exporters(password: InSecretsManager | InKubernetesSecret) -> None:
    from components.gateway import GatewayRef
    from components.irsa import Irsa
    from components.monitoring import Monitoring, MonitoringArgs
    settings = config.load()
    Monitoring("monitoring", MonitoringArgs(
        stack_name=settings.name, labels={}, install_platform=False, namespace="monitoring", app_namespace="app",
        app_namespace_name="app", prometheus=settings.profile.prometheus, alerting=settings.alerting,
        postgres=pg_connection(password), redis=REDIS, irsa=Irsa.from_settings(settings, account_id="123456789012"),
        gateway=GatewayRef(name="platform", namespace="gateway")))


@pytest.mark.parametrize("password", [IN_K8S, IN_SM])
def test_postgres_exporter_reads_the_secret_or_fetches_it_through_irsa(password) -> None:
    plan = build(lambda: _exporters(password)).plan
    values = wire.plain(plan.get("kubernetes:helm.sh/v3:Release", "monitoring-postgres-exporter").inputs)["values"]
    datasource = values["config"]["datasource"]
    if isinstance(password, InKubernetesSecret):
        (volume,) = values["extraVolumes"]
        assert volume["secret"]["secretName"] == "pg-secret" and volume["secret"]["items"] == [
            {"key": "pw", "path": "password"}] and "initContainers" not in values, values
        assert datasource["passwordFile"] == "/run/postgres/password" and "passwordSecret" not in datasource
    else:
        (init,) = values["initContainers"]
        assert {"name": "SECRET_ARN", "value": SECRET_ARN} in init["env"], init
        assert datasource["passwordFile"] == "/run/postgres/password" and "passwordSecret" not in datasource
