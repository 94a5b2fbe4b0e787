"""platform: a complete, secure environment on AWS and Kubernetes, per environment class.

``config.load()`` decides (profile + outside inputs, validated once); components build, each from
its ``<Component>Args.from_settings(...)``; this file only composes them and exports a few outputs.
Data stores hand their clients one typed connection (components/connections.py).
"""

import pulumi
import pulumi_aws as aws

import config
from components.addons import ClusterAddons, ClusterAddonsArgs
from components.app import App, AppArgs
from components.autoscaling import AppAutoscaler, AppAutoscalerArgs
from components.backups import (
    BackupReplica,
    BackupReplicaArgs,
    BackupSchedule,
    BackupScheduleArgs,
    BackupStorage,
    BackupStorageArgs,
)
from components.connections import password_location
from components.drills import RestoreDrill, RestoreDrillArgs
from components.ingress import Ingress, IngressArgs
from components.irsa import Irsa
from components.kms import KmsKey, KmsKeyArgs
from components.kubernetes import cluster_provider
from components.loadbalancer import LoadBalancerController, LoadBalancerControllerArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.namespaces import Namespaces, NamespacesArgs
from components.nodeagents import NodeAgents, NodeAgentsArgs
from components.postgres import Postgres, PostgresArgs
from components.redis import RedisCluster, RedisClusterArgs
from components.registry import ContainerRegistry, ContainerRegistryArgs

settings = config.load()
k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster_provider(settings)})


def after(*resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=list(resources)))


# --- namespaces (components/namespaces.py) ------------------------------------------------
namespaces = Namespaces("namespaces", NamespacesArgs.from_settings(settings), opts=k8s_opts)

# --- AWS data plane (components/kms.py, postgres.py, redis.py, backups.py, registry.py) ---
# Physical names and ARNs are built from this (an invoke: known even in a new stack's first preview).
account_id = aws.get_caller_identity_output().account_id
kms = KmsKey("kms", KmsKeyArgs.from_settings(settings))
postgres = Postgres("postgres", PostgresArgs.from_settings(settings, kms=kms, namespace=namespaces.app),
                    opts=k8s_opts)
redis = RedisCluster("redis", RedisClusterArgs.from_settings(settings, kms=kms, namespace=namespaces.app),
                     opts=k8s_opts)
backup_storage = BackupStorage("backups", BackupStorageArgs.from_settings(
    settings, account_id=account_id, kms=kms, namespace=namespaces.app, postgres=postgres.connection))
if settings.backup_replica_region is not None:  # the profile's cross-region copy (config.py requires the region)
    BackupReplica("backups-replica", BackupReplicaArgs.from_settings(
        settings, account_id=account_id, storage=backup_storage, kms=kms,
        db_instance_identifier=postgres.instance_identifier), opts=pulumi.ResourceOptions(depends_on=[postgres]))
registry = ContainerRegistry("registry", ContainerRegistryArgs.from_settings(
    settings, account_id=account_id, kms=kms,
    pull_role_arns=[settings.cluster.node_role_arn, backup_storage.role_arn]))
backups = BackupSchedule("backup", BackupScheduleArgs.from_settings(
    settings, storage=backup_storage, image=registry.images["backup"], kms=kms, namespace=namespaces.app,
    postgres=postgres.connection), opts=k8s_opts)

# --- Kubernetes platform (components/app.py, ingress.py, monitoring.py) --------------------
irsa = Irsa.from_settings(settings, account_id=account_id)
if settings.profile.backups.drills:  # weekly restore drills (components/drills.py); none in PR stacks
    RestoreDrill("backup-drill", RestoreDrillArgs.from_settings(
        settings, storage=backup_storage, image=registry.images["backup"], kms=kms, namespace=namespaces.app,
        irsa=irsa), opts=k8s_opts)
app = App("app", AppArgs.from_settings(
    settings, namespace=namespaces.app, image=registry.images.get("app"), postgres=postgres.connection,
    redis=redis.connection, irsa=irsa), opts=after(postgres, redis))
if settings.profile.app.autoscales:
    AppAutoscaler("app-autoscaler", AppAutoscalerArgs.from_settings(
        settings, namespace=namespaces.app, deployment=app.deployment_name), opts=after(app))
# The gateway's NLB (components/loadbalancer.py): where this stack installs the platform; PR stacks use staging's.
load_balancer = None
if settings.profile.installs_platform:
    load_balancer = LoadBalancerController("lb-controller", LoadBalancerControllerArgs.from_settings(
        settings, namespace=namespaces.gateway, irsa=irsa), opts=k8s_opts).release
ingress = Ingress("ingress", IngressArgs.from_settings(
    settings, namespaces=namespaces, app_services=app.service_names, image_cache=registry.public_cache, irsa=irsa,
    load_balancer=load_balancer), opts=k8s_opts)
monitoring = Monitoring("monitoring", MonitoringArgs.from_settings(
    settings, namespaces=namespaces, gateway=ingress.gateway, postgres=postgres.connection,
    redis=redis.connection, irsa=irsa), opts=after(ingress))

# --- cluster add-ons, node agents (components/addons.py, nodeagents.py): where the platform is installed ---
if settings.profile.installs_platform:
    ClusterAddons("addons", ClusterAddonsArgs.from_settings(
        settings, gateway_namespace=namespaces.gateway, irsa=irsa, kms_key_arn=kms.arn, kms_alias=kms.alias),
                  opts=after(ingress))
    NodeAgents("node-agents", NodeAgentsArgs.from_settings(
        settings, namespace=namespaces.node_agents, irsa=irsa, kms_key_arn=kms.arn), opts=after(monitoring))

# --- outputs ----------------------------------------------------------------------------------
pulumi.export("environment", settings.environment)
pulumi.export("appUrl", f"https://{settings.app_host}")
pulumi.export("postgres", {"host": postgres.connection.host, "port": postgres.connection.port,
                           "credentials": password_location(postgres.connection.password)[1]})
pulumi.export("redis", {"host": redis.connection.host, "port": redis.connection.port,
                        "authSecret": redis.connection.auth.name})
pulumi.export("backupBucket", backup_storage.bucket)
pulumi.export("images", registry.images)
pulumi.export("release", {"active": settings.release.active, "weights": settings.release.weights})
if monitoring.grafana_url is not None:
    pulumi.export("grafanaUrl", monitoring.grafana_url)
