"""Redis-compatible cache: ElastiCache (Valkey) when the profile says ``managed``, one pod otherwise.

Engine: Valkey 8.1, not Redis OSS 7.1. Valkey is the Linux Foundation continuation of Redis OSS
(wire- and command-compatible with Redis 7.2), ElastiCache's actively developed engine with the
newer 8.x releases, and cheaper per node; Redis OSS 7.1 only receives maintenance on ElastiCache.

managed: subnet group, security group admitting 6379 from the cluster nodes only, a generated
AUTH token, a KMS-encrypted slow-log group, and a cluster-mode replication group with encryption
at rest (customer key) and in transit (required), automatic failover, Multi-AZ when there are
replicas, and snapshots per profile.

in-cluster: one Valkey pod on the restricted floor (the floor's high uid/gid; the image is the
official one through the account's ECR pull-through cache, re-checked on every pull);
``requirepass`` comes from a config file in a Secret (never in args or env), plus a ClusterIP Service.

Both: the Secret ``redis-auth`` (key ``password``) and a ConfigMap ``redis-connection`` in the
application namespace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.connections import InKubernetesSecret, RedisConnection
from components.datastore import DataStoreArgs, data_store_args, private_network
from components.kubernetes import (
    ecr_public_image,
    metadata,
    restricted_container,
    restricted_pod_spec,
    skip_annotations,
)
from components.naming import final_snapshot_identifier
from config import RedisProfile

if TYPE_CHECKING:
    from components.kms import KmsKey
    from config import Settings

ENGINE, ENGINE_VERSION = "valkey", "8.1"
PARAMETER_GROUP = "default.valkey8.cluster.on"
IN_CLUSTER_IMAGE = "docker/library/valkey:8.1.3-alpine"
"""Docker's official Valkey image as mirrored on ECR Public, pulled through the account's cache.
Runs as the floor's uid: valkey-server needs no passwd entry, only a writable ``/data``."""
SCANNER_SKIPS = {"CKV_K8S_43": "official image pinned by version tag through the ECR pull-through cache; its digest "
                               "is not resolvable offline (throw-away PR cache)"}
PORT = 6379
AUTH_SECRET = "redis-auth"
CONNECTION_CONFIGMAP = "redis-connection"
SNAPSHOT_WINDOW = "01:30-02:30"
MAINTENANCE_WINDOW = "sun:04:00-sun:05:00"


@dataclass(frozen=True, kw_only=True)
class RedisClusterArgs(DataStoreArgs):
    profile: RedisProfile

    @classmethod
    def from_settings(cls, settings: Settings, *, kms: KmsKey, namespace: pulumi.Input[str]) -> RedisClusterArgs:
        return cls(profile=settings.profile.redis, **data_store_args(settings, kms_key_arn=kms.arn, namespace=namespace))


class RedisCluster(pulumi.ComponentResource):
    """Creates: an ElastiCache Valkey replication group (managed) or one pod (in-cluster), plus redis-auth."""

    connection: RedisConnection
    """How clients connect; the AUTH token is the Secret ``redis-auth`` (the only public output)."""

    def __init__(self, name: str, args: RedisClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:RedisCluster", name, None, opts)
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        # Letters and digits only: valid as an ElastiCache AUTH token and safe in a config file.
        self._password = random.RandomPassword(f"{name}-auth-token", length=64, special=False, opts=child)
        self._extra_secret_data: dict[str, pulumi.Input[str]] = {}
        host, port, tls, cluster_mode = self._managed() if args.profile.mode == "managed" else self._in_cluster()

        labels = {**args.labels, "app.kubernetes.io/name": "redis"}
        auth = k8s.core.v1.Secret(
            f"{name}-auth",
            metadata=metadata(AUTH_SECRET, args.namespace, labels),
            type="Opaque",
            string_data={"password": self._password.result, **self._extra_secret_data},
            opts=child,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-connection",
            metadata=metadata(CONNECTION_CONFIGMAP, args.namespace, labels),
            data={"REDIS_HOST": host, "REDIS_PORT": port.apply(lambda p: str(int(p))),
                  "REDIS_TLS": str(tls).lower(), "REDIS_CLUSTER_MODE": str(cluster_mode).lower(),
                  "REDIS_AUTH_SECRET": AUTH_SECRET},
            opts=child,
        )
        self.connection = RedisConnection(host=host, port=port, tls=tls, cluster_mode=cluster_mode,
                                          auth=InKubernetesSecret(name=auth.metadata.name))
        self.register_outputs({"host": host, "port": port, "authSecretName": auth.metadata.name})

    def _managed(self) -> tuple[pulumi.Output[str], pulumi.Output[int], bool, bool]:
        name, args, p = self._name, self._args, self._args.profile
        child = pulumi.ResourceOptions(parent=self)
        ident = f"{args.prefix}-redis"
        tags = dict(args.tags)

        subnets, sg = private_network(name, ident, engine="Valkey", port=PORT,
                                      subnet_group=aws.elasticache.SubnetGroup, args=args, parent=self)
        slow_log = aws.cloudwatch.LogGroup(f"{name}-slow-log", name=f"/{args.prefix}/redis/slow-log",
                                           retention_in_days=args.log_retention_days, kms_key_id=args.kms_key_arn,
                                           tags=tags, opts=child)
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=ident,
            description=f"{ident}: Valkey, cluster mode",
            engine=ENGINE,
            engine_version=ENGINE_VERSION,
            parameter_group_name=PARAMETER_GROUP,
            node_type=p.node_type,
            port=PORT,
            cluster_mode="enabled",
            num_node_groups=p.shards,
            replicas_per_node_group=p.replicas_per_shard,
            # Cluster mode requires automatic failover; Multi-AZ needs a replica to fail over to.
            automatic_failover_enabled=True,
            multi_az_enabled=p.multi_az,
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self._password.result,
            subnet_group_name=subnets.name,
            security_group_ids=[sg.id],
            snapshot_retention_limit=p.snapshot_retention_days,
            snapshot_window=SNAPSHOT_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            auto_minor_version_upgrade=True,
            final_snapshot_identifier=final_snapshot_identifier(name, ident, parent=self) if p.final_snapshot else None,
            log_delivery_configurations=[{
                "destination": slow_log.name, "destination_type": "cloudwatch-logs",
                "log_format": "json", "log_type": "slow-log",
            }],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        return group.configuration_endpoint_address, group.port.apply(lambda v: v or PORT), True, True

    def _in_cluster(self) -> tuple[pulumi.Output[str], pulumi.Output[int], bool, bool]:
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        labels = {**args.labels, "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "cache"}
        selector = {"app.kubernetes.io/name": "redis"}
        # The pod reads requirepass from this file: the password never appears in args or env.
        self._extra_secret_data = {"auth.conf": pulumi.Output.concat("requirepass ", self._password.result, "\n")}
        # A dedicated identity with no API token: the cache never talks to the Kubernetes API.
        k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata("redis", args.namespace, labels),
                                   automount_service_account_token=False, opts=child)
        ping = ["sh", "-c", 'VALKEYCLI_AUTH="$(cat /etc/valkey/auth/password)" valkey-cli -p 6379 ping | grep -q PONG']
        # Always: the node re-checks the registry, so a cached image is never used without pull rights.
        container = restricted_container(
            name="redis",
            image=ecr_public_image(IN_CLUSTER_IMAGE, parent=self),
            cpu="100m",
            memory="256Mi",
            imagePullPolicy="Always",
            command=["valkey-server", "/etc/valkey/auth/auth.conf", "--port", str(PORT), "--dir", "/data",
                     "--save", "", "--appendonly", "no", "--maxmemory", "200mb", "--maxmemory-policy", "allkeys-lru"],
            ports=[{"name": "redis", "containerPort": PORT}],
            volumeMounts=[
                {"name": "data", "mountPath": "/data"},
                {"name": "auth", "mountPath": "/etc/valkey/auth", "readOnly": True},
            ],
            readinessProbe={"exec": {"command": ping}, "periodSeconds": 5, "timeoutSeconds": 3},
            livenessProbe={"tcpSocket": {"port": "redis"}, "initialDelaySeconds": 10, "periodSeconds": 10},
        )
        pod = restricted_pod_spec(
            containers=[container],
            service_account="redis",
            volumes=[
                {"name": "data", "emptyDir": {"sizeLimit": "256Mi"}},
                {"name": "auth", "secret": {"secretName": AUTH_SECRET, "defaultMode": 0o440}},
            ],
        )
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata("redis", args.namespace, labels, annotations=skip_annotations(SCANNER_SKIPS)),
            spec={"replicas": 1, "selector": {"matchLabels": selector}, "strategy": {"type": "Recreate"},
                  "template": {"metadata": {"labels": labels}, "spec": pod}},
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata("redis", args.namespace, labels),
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "redis", "port": PORT, "targetPort": "redis"}]},
            opts=child,
        )
        return pulumi.Output.concat("redis.", args.namespace, ".svc.cluster.local"), pulumi.Output.from_input(PORT), False, False
