"""platform: a complete, secure environment on AWS and Kubernetes, per environment class.

``config.load()`` decides (profile + outside inputs, validated once); components build;
this file only composes them and exports a few outputs.
"""

import pulumi
import pulumi_aws as aws

import config
from components.app import App, AppArgs, DatabaseSecretAccess, SecretFile
from components.backups import BackupSchedule, BackupScheduleArgs, BackupStorage, BackupStorageArgs
from components.ingress import Host, Ingress, IngressArgs
from components.irsa import Irsa, RdsMasterSecret
from components.kms import KmsKey, KmsKeyArgs
from components.kubernetes import cluster_provider
from components.monitoring import Monitoring, MonitoringArgs, PostgresTarget, RedisTarget
from components.namespaces import Namespaces, NamespacesArgs
from components.postgres import Postgres, PostgresArgs
from components.redis import RedisCluster, RedisClusterArgs
from components.registry import ContainerRegistry, ContainerRegistryArgs, ImageBuild

settings = config.load()
profile = settings.profile
k8s_provider = cluster_provider(settings)
k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

# --- namespaces (components/namespaces.py) ------------------------------------------------
owns_platform = profile.installs_platform
namespaces = Namespaces("namespaces", NamespacesArgs(
    app_namespace=settings.app_namespace, labels=settings.labels, app_cpu=profile.quota.cpu,
    app_memory_gib=profile.quota.memory_gib, app_port=settings.app.port, metrics_port=settings.app.metrics_port,
    postgres_in_cluster=profile.postgres.mode == "in-cluster", redis_in_cluster=profile.redis.mode == "in-cluster",
    vpc_id=settings.vpc_id, manage_platform=owns_platform), opts=k8s_opts)
# --- AWS data plane (components/kms.py, registry.py, postgres.py, redis.py, backups.py) ---
app_namespace = namespaces.app
# Physical names and ARNs are built from this (an invoke: known even in a new stack's first preview).
account_id = aws.get_caller_identity_output().account_id
kms = KmsKey("kms", KmsKeyArgs(alias=f"alias/{settings.name}", tags=settings.tags,
                               deletion_window_days=30 if profile.protect_data else 7))
data_args = dict(prefix=settings.name, protect=profile.protect_data, kms_key_arn=kms.arn, vpc_id=settings.vpc_id,
                 subnet_ids=settings.private_subnet_ids, client_security_group_id=settings.cluster.node_security_group_id,
                 namespace=app_namespace, log_retention_days=profile.backups.log_retention_days,
                 labels=settings.labels, tags=settings.tags)
postgres = Postgres("postgres", PostgresArgs(profile=profile.postgres, **data_args), opts=k8s_opts)
redis = RedisCluster("redis", RedisClusterArgs(profile=profile.redis, final_snapshot=profile.protect_data, **data_args),
                     opts=k8s_opts)
db_secret = (RdsMasterSecret(db_instance_identifier=postgres.identifier, kms_alias=kms.alias)
             if postgres.identifier is not None else None)
backup_storage = BackupStorage("backups", BackupStorageArgs(
    prefix=settings.name, account_id=account_id, region=settings.region, profile=profile.backups,
    protect=profile.protect_data, kms_key_arn=kms.arn, kms_alias=kms.alias,
    oidc_provider_arn=settings.cluster.oidc_provider_arn, oidc_provider_url=settings.cluster.oidc_provider_url,
    namespace=app_namespace, db_instance_identifier=postgres.identifier, tags=settings.tags,
    object_lock_days=profile.backups.retention_days if profile.protect_data else 0))
builds = {"backup": ImageBuild(context="images/backup")}
if settings.app.build_context:
    builds["app"] = ImageBuild(context=settings.app.build_context)
registry = ContainerRegistry("registry", ContainerRegistryArgs(
    prefix=settings.name, account_id=account_id, region=settings.region, services=settings.services,
    profile=profile.registry, kms_key_arn=kms.arn,
    pull_role_arns=[settings.cluster.node_role_arn, backup_storage.role_arn], image_tag=settings.image_tag,
    builds=builds, tags=settings.tags))
backups = BackupSchedule("backup", BackupScheduleArgs(
    namespace=app_namespace, image=registry.images["backup"], schedule=profile.backups.schedule,
    role_arn=backup_storage.role_arn, bucket=backup_storage.bucket, kms_key_arn=kms.arn,
    pg_host=postgres.host, pg_port=postgres.port, pg_database=postgres.database, pg_user=postgres.username,
    pg_sslmode=postgres.sslmode, pg_secret_arn=postgres.secret_arn, pg_credentials_secret=postgres.credentials_secret,
    labels=settings.labels), opts=k8s_opts)
pulumi.export("postgres", {"host": postgres.host, "port": postgres.port, "credentials": postgres.credentials_ref})
pulumi.export("redis", {"host": redis.host, "port": redis.port, "authSecret": redis.auth_secret_name})
pulumi.export("backupBucket", backup_storage.bucket)
pulumi.export("images", registry.images)
# --- Kubernetes platform (components/ingress.py, monitoring.py, app.py) --------------------
irsa = Irsa(account_id=account_id, region=settings.region, oidc_provider_arn=settings.cluster.oidc_provider_arn,
            oidc_provider_url=settings.cluster.oidc_provider_url, tags=settings.tags)
app = App("app", AppArgs(
    namespace=namespaces.app, labels=settings.labels, image=registry.images["app"], port=settings.app.port,
    metrics_port=settings.app.metrics_port, health_path=settings.app.health_path,
    replicas=profile.app.replicas,
    config_maps=["postgres-connection", "redis-connection"],
    secret_files=[SecretFile(secret=redis.auth_secret_name, key="password", mount="redis", env="REDIS_PASSWORD_FILE")]
    + ([SecretFile(secret=postgres.credentials_secret, key="password", mount="postgres", env="POSTGRES_PASSWORD_FILE")]
       if postgres.credentials_secret else []),
    database_secret=DatabaseSecretAccess(secret=db_secret, irsa=irsa, role_name=f"{settings.name}-app")
    if db_secret is not None else None,
), opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[postgres, redis])))
grafana_host = settings.grafana_host
ingress = Ingress("ingress", IngressArgs(
    stack_name=settings.name, labels=settings.labels, gateway=profile.gateway, certificates=profile.certificates,
    acme_email=settings.acme_email, install_platform=owns_platform, region=settings.region,
    platform_namespace=namespaces.gateway,
    cert_manager_namespace=namespaces.cert_manager, app_namespace=namespaces.app,
    gateway_namespace=namespaces.gateway if owns_platform else namespaces.app, app_host=settings.app_host,
    app_service=app.service_name, app_port=settings.app.port,
    extra_hosts=[Host(name="grafana", hostname=grafana_host)] if grafana_host else []), opts=k8s_opts)
monitoring = Monitoring("monitoring", MonitoringArgs(
    stack_name=settings.name, labels=settings.labels, install_platform=owns_platform, namespace=namespaces.monitoring,
    app_namespace=namespaces.app,
    app_namespace_name=settings.app_namespace, app_metrics_port_name=app.metrics_port_name,
    prometheus=profile.prometheus, alerting=settings.alerting, irsa=irsa,
    postgres=PostgresTarget(host=postgres.host, port=postgres.port, database=postgres.database,
                            username=postgres.username, sslmode=postgres.sslmode,
                            credentials_secret=postgres.credentials_secret, secret_arn=postgres.secret_arn,
                            secret=db_secret),
    redis=RedisTarget(host=redis.host, port=redis.port, tls=redis.tls, cluster_mode=redis.cluster_mode,
                      auth_secret=redis.auth_secret_name),
    ingress=ingress if owns_platform else None, grafana_host=grafana_host,
    cert_manager_namespace=namespaces.cert_manager if owns_platform else None),
    opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[ingress])))
if monitoring.grafana_url is not None:
    pulumi.export("grafanaUrl", monitoring.grafana_url)

pulumi.export("environment", settings.environment)
pulumi.export("appUrl", f"https://{settings.app_host}")
