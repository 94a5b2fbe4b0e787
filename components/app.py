"""The application workload: the target of the HTTPRoute, the ServiceMonitor and smoke checks.

Creates, in the application namespace: a ServiceAccount (no API token; an IRSA role that may
read the RDS master secret when Postgres is managed), a Deployment on the restricted floor
(probes on the health path, requests/limits, zone and node spread when replicated), a Service
named ``app`` (ports ``http`` and ``metrics``) and, when replicated, a PodDisruptionBudget.

Configuration: ``envFrom`` the non-secret connection ConfigMaps; secrets are mounted as files
under ``/run/secrets/<name>/`` (never environment variables), and the environment names the
files (``REDIS_PASSWORD_FILE``, ``POSTGRES_PASSWORD_FILE``). Where the Postgres password lives
comes from the ``PostgresConnection``: a Kubernetes Secret is mounted; a Secrets Manager secret
stays there, and the pod's IRSA role may read that one secret (its ARN is
``POSTGRES_CREDENTIALS_REF`` in the ConfigMap the data plane writes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components import postgres as postgres_store
from components import redis as redis_store
from components.connections import InKubernetesSecret, InSecretsManager, PostgresConnection, RedisConnection
from components.irsa import Irsa, secret_reader_role
from components.kubernetes import http_probe, metadata, restricted_container, restricted_pod_spec, skip_annotations
from components.namespaces import APP_POD

if TYPE_CHECKING:
    from config import Settings

SERVICE_ACCOUNT = "app"
SCANNER_SKIPS = {
    "CKV_K8S_43": "image is this stack's ECR repository at the configured tag (the git SHA in CI); tags are immutable in every "
                  "environment, so the tag pins the image (a digest is unknown until the push, after the preview)",
}


@dataclass(frozen=True, kw_only=True)
class _SecretFile:
    """A Kubernetes Secret key mounted as ``/run/secrets/<mount>/<key>``; ``env`` names the path."""

    secret: InKubernetesSecret
    mount: str
    env: str


@dataclass(frozen=True, kw_only=True)
class AppArgs:
    namespace: pulumi.Input[str]
    labels: Mapping[str, str]
    image: pulumi.Input[str]
    """An image reference pinned by digest or immutable tag (never ``latest``)."""
    port: int
    metrics_port: int
    health_path: str
    replicas: int
    postgres: PostgresConnection
    redis: RedisConnection
    irsa: Irsa
    """Where the pod's role comes from, when the Postgres password is in Secrets Manager."""
    role_name: str
    """That role's name (``platform-<stack>-app``)."""
    cpu: str = "250m"
    memory: str = "256Mi"
    config_maps: Sequence[pulumi.Input[str]] = (postgres_store.CONNECTION_CONFIGMAP, redis_store.CONNECTION_CONFIGMAP)

    @classmethod
    def from_settings(cls, settings: Settings, *, namespace: pulumi.Input[str], image: pulumi.Input[str],
                      postgres: PostgresConnection, redis: RedisConnection, irsa: Irsa) -> AppArgs:
        return cls(namespace=namespace, labels=settings.labels, image=image, port=settings.app.port,
                   metrics_port=settings.app.metrics_port, health_path=settings.app.health_path,
                   replicas=settings.profile.app.replicas, postgres=postgres, redis=redis, irsa=irsa,
                   role_name=f"{settings.name}-app")


class App(pulumi.ComponentResource):
    """Creates: ServiceAccount (+ IRSA role when needed), Deployment, Service, PodDisruptionBudget."""

    service_name: pulumi.Output[str]
    port: int
    metrics_port_name: str = "metrics"

    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:App", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {**args.labels, **APP_POD}

        annotations: dict[str, pulumi.Input[str]] = {}
        files = [_SecretFile(secret=args.redis.auth, mount="redis", env="REDIS_PASSWORD_FILE")]
        match args.postgres.password:
            case InKubernetesSecret() as secret:
                files.append(_SecretFile(secret=secret, mount="postgres", env="POSTGRES_PASSWORD_FILE"))
            case InSecretsManager(grant=grant):
                annotations["eks.amazonaws.com/role-arn"] = secret_reader_role(
                    f"{name}-db-secret", role_name=args.role_name, irsa=args.irsa, namespace=args.namespace,
                    service_account=SERVICE_ACCOUNT, grant=grant, parent=self)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa", metadata=metadata(SERVICE_ACCOUNT, args.namespace, labels, annotations=annotations),
            automount_service_account_token=False, opts=child)

        mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]  # noqa: S108 - private emptyDir
        volumes: list[dict] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
        env = [{"name": "PORT", "value": str(args.port)}, {"name": "METRICS_PORT", "value": str(args.metrics_port)}]
        for f in files:
            key = f.secret.key
            volumes.append({"name": f"secret-{f.mount}", "secret": {
                "secretName": f.secret.name, "defaultMode": 0o440, "items": [{"key": key, "path": key}]}})
            mounts.append({"name": f"secret-{f.mount}", "mountPath": f"/run/secrets/{f.mount}", "readOnly": True})
            env.append({"name": f.env, "value": f"/run/secrets/{f.mount}/{key}"})

        container = restricted_container(
            name="app", image=args.image, cpu=args.cpu, memory=args.memory, imagePullPolicy="Always",
            ports=[{"name": "http", "containerPort": args.port}, {"name": "metrics", "containerPort": args.metrics_port}],
            readinessProbe=http_probe(args.health_path, "http", period=5),
            livenessProbe=http_probe(args.health_path, "http", period=10, failures=6, initial_delay=10),
            envFrom=[{"configMapRef": {"name": cm}} for cm in args.config_maps],
            env=env, volumeMounts=mounts)
        spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": how,
                   "labelSelector": {"matchLabels": dict(APP_POD)}}
                  for key, how in (("topology.kubernetes.io/zone", "ScheduleAnyway"),
                                   ("kubernetes.io/hostname", "DoNotSchedule"))] if args.replicas > 1 else []
        extra: dict[str, Any] = {"topologySpreadConstraints": spread} if spread else {}
        pod_spec = restricted_pod_spec(containers=[container], service_account=account.metadata["name"],
                                       volumes=volumes, **extra)
        deployment = k8s.apps.v1.Deployment(f"{name}-deployment", metadata=metadata(
            "app", args.namespace, labels, annotations=skip_annotations(SCANNER_SKIPS)), spec={
            "replicas": args.replicas,
            "selector": {"matchLabels": dict(APP_POD)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        }, opts=child)
        service = k8s.core.v1.Service(f"{name}-service", metadata=metadata("app", args.namespace, labels), spec={
            "selector": dict(APP_POD),
            "ports": [{"name": "http", "port": args.port, "targetPort": "http"},
                      {"name": "metrics", "port": args.metrics_port, "targetPort": "metrics"}]}, opts=child)
        if args.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=metadata("app", args.namespace, labels), spec={
                "minAvailable": args.replicas - 1,
                "selector": {"matchLabels": dict(APP_POD)}}, opts=child)

        self.service_name = service.metadata["name"]
        self.deployment_name = deployment.metadata["name"]
        """What an autoscaler targets (components/autoscaling.py)."""
        self.port = args.port
        self.register_outputs({"service_name": self.service_name})
