"""platform: a complete, secure environment on AWS and Kubernetes, per environment class.

``config.load()`` decides (profile + outside inputs, validated once); components build;
this file only composes them and exports a few outputs.
"""

import pulumi

import config
from components.backups import BackupSchedule, BackupScheduleArgs, BackupStorage, BackupStorageArgs
from components.kms import KmsKey, KmsKeyArgs
from components.kubernetes import cluster_provider
from components.postgres import Postgres, PostgresArgs
from components.redis import RedisCluster, RedisClusterArgs
from components.registry import ContainerRegistry, ContainerRegistryArgs, ImageBuild

settings = config.load()
profile = settings.profile
k8s_provider = cluster_provider(settings)
k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

# --- namespaces (components/namespaces.py) ------------------------------------------------
# --- AWS data plane (components/kms.py, registry.py, postgres.py, redis.py, backups.py) ---
app_namespace = settings.app_namespace
kms = KmsKey("kms", KmsKeyArgs(alias=f"alias/{settings.name}", tags=settings.tags,
                               deletion_window_days=30 if profile.protect_data else 7))
data_args = dict(prefix=settings.name, protect=profile.protect_data, kms_key_arn=kms.arn, vpc_id=settings.vpc_id,
                 subnet_ids=settings.private_subnet_ids, client_security_group_id=settings.cluster.node_security_group_id,
                 namespace=app_namespace, log_retention_days=profile.backups.retention_days,
                 labels=settings.labels, tags=settings.tags)
postgres = Postgres("postgres", PostgresArgs(profile=profile.postgres, **data_args), opts=k8s_opts)
redis = RedisCluster("redis", RedisClusterArgs(profile=profile.redis, **data_args), opts=k8s_opts)
backup_storage = BackupStorage("backups", BackupStorageArgs(
    prefix=settings.name, profile=profile.backups, protect=profile.protect_data, kms_key_arn=kms.arn,
    oidc_provider_arn=settings.cluster.oidc_provider_arn, oidc_provider_url=settings.cluster.oidc_provider_url,
    namespace=app_namespace, db_secret_arn=postgres.secret_arn, tags=settings.tags))
builds = {"backup": ImageBuild(context="images/backup")}
if settings.app.build_context:
    builds["app"] = ImageBuild(context=settings.app.build_context)
registry = ContainerRegistry("registry", ContainerRegistryArgs(
    prefix=settings.name, services=settings.services, profile=profile.registry, kms_key_arn=kms.arn,
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

pulumi.export("environment", settings.environment)
pulumi.export("appUrl", f"https://{settings.app_host}")
