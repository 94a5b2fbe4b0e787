"""The application workload: the target of the HTTPRoute, the ServiceMonitor and smoke checks.

Creates, in the application namespace: a ServiceAccount (no API token; an IRSA role that may
read the RDS master secret when Postgres is managed) shared by the tracks, and per release track
``<t>`` (``blue`` and ``green``, or one track in PR stacks; docs/blue-green.md) a Deployment
``app-<t>`` on the restricted floor (probes on the health path, requests/limits, zone and node
spread when replicated), a Service ``app-<t>`` (ports ``http`` and ``metrics``) selecting only that
track's pods and, when the track is replicated, a PodDisruptionBudget ``app-<t>``. Every pod keeps
the label ``app.kubernetes.io/name: app`` (network policies and the ServiceMonitor select on it).

The ``blue`` track's resources were this component's only Deployment/Service/PDB before tracks
existed (logical names ``app-deployment``, ``app-service``, ``app-pdb``); they carry those names as
aliases, so Pulumi updates them in place of deleting and re-creating them. Their Kubernetes names
and selectors change (``app`` -> ``app-blue``; both immutable), which the provider replaces
create-before-delete: the new Service exists before the route moves to it.

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
from release_model import TRACK_LABEL

if TYPE_CHECKING:
    from config import Settings

SERVICE_ACCOUNT = "app"
SCANNER_SKIPS = {
    "CKV_K8S_43": "every track runs its image by digest (a release image, or the shared platform/app image looked up by "
                  "digest) except an app image this program builds (app.buildContext), tagged from its content in an "
                  "immutable repository",
}


@dataclass(frozen=True, kw_only=True)
class _SecretFile:
    """A Kubernetes Secret key mounted as ``/run/secrets/<mount>/<key>``; ``env`` names the path."""

    secret: InKubernetesSecret
    mount: str
    env: str


@dataclass(frozen=True, kw_only=True)
class TrackSpec:
    """One release track: what it runs and how many pods."""

    image: pulumi.Input[str]
    """An image reference pinned by digest or immutable tag (never ``latest``)."""
    replicas: int


@dataclass(frozen=True, kw_only=True)
class AppArgs:
    namespace: pulumi.Input[str]
    labels: Mapping[str, str]
    tracks: Mapping[str, TrackSpec]
    """Per track name (``blue``, ``green``): one Deployment, Service and PDB each."""
    active: str
    """The track carrying the traffic (the autoscaler's target)."""
    autoscaled: bool = False
    """A HorizontalPodAutoscaler (components/autoscaling.py) scales the active track: Pulumi sets its
    replicas when it creates it (the autoscaler's floor) and then leaves ``spec.replicas`` alone."""
    port: int
    metrics_port: int
    health_path: str
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
    def from_settings(cls, settings: Settings, *, namespace: pulumi.Input[str], image: pulumi.Input[str] | None,
                      postgres: PostgresConnection, redis: RedisConnection, irsa: Irsa) -> AppArgs:
        """``image``: what a track without its own release image runs (the image built here, or
        bootstrap's shared ``platform/app`` by digest: ``ContainerRegistry.images``); None when every
        track has a release image."""
        def image_of(track: str, release: str | None) -> pulumi.Input[str]:
            if release is not None:
                return release
            if image is None:
                raise ValueError(f"app track {track} has no release image and no image was given")
            return image

        tracks = {t.name: TrackSpec(image=image_of(t.name, t.image), replicas=t.replicas)
                  for t in settings.release.tracks}
        return cls(namespace=namespace, labels=settings.labels, tracks=tracks, active=settings.release.active,
                   autoscaled=settings.profile.app.autoscales, port=settings.app.port,
                   metrics_port=settings.app.metrics_port, health_path=settings.app.health_path,
                   postgres=postgres, redis=redis, irsa=irsa, role_name=f"{settings.name}-app")


class App(pulumi.ComponentResource):
    """Creates: ServiceAccount (+ IRSA role when needed); per track a Deployment, Service, PodDisruptionBudget."""

    service_names: dict[str, pulumi.Output[str]]
    """Per track: the Service the HTTPRoute sends that track's share to."""
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

        self.service_names = {}
        self.deployment_names: dict[str, pulumi.Output[str]] = {}
        for track, spec in args.tracks.items():
            self.service_names[track] = self._track(name, track, spec, args, labels, account, volumes, mounts, env)
        self.deployment_name = self.deployment_names[args.active]
        """What the autoscaler targets (components/autoscaling.py): the track carrying the traffic."""
        self.port = args.port
        self.register_outputs({"service_names": self.service_names})

    def _track(self, name: str, track: str, spec: TrackSpec, args: AppArgs, labels: Mapping[str, str],
               account: k8s.core.v1.ServiceAccount, volumes: list[dict], mounts: list[dict[str, Any]],
               env: list[dict[str, str]]) -> pulumi.Output[str]:
        """One track's Deployment, Service and PDB, named ``app-<track>``; blue keeps the pre-track URNs."""
        pods = {**APP_POD, TRACK_LABEL: track}
        labels = {**labels, TRACK_LABEL: track}
        k8s_name = f"app-{track}"

        def opts(suffix: str, ignore_changes: list[str] | None = None) -> pulumi.ResourceOptions:
            aliases = [pulumi.Alias(name=f"{name}-{suffix}")] if track == "blue" else None
            return pulumi.ResourceOptions(parent=self, aliases=aliases, ignore_changes=ignore_changes)

        # The autoscaler owns the active track's scale. Declared replicas would undo it at every
        # `pulumi up` (server-side apply with force); left out, they would default to 1 on create and
        # drop a track to 1 pod when it becomes the active one. With ignore_changes, pulumi-kubernetes
        # (handleSSAIgnoreFields, since v4.3) leaves the field out of the patch once the autoscaler's
        # field manager owns it and otherwise re-sends the live value, so the scale is never reset,
        # and the declared value (the autoscaler's floor, what the PodDisruptionBudget counts on)
        # stays visible to the policy pack. The idle track keeps its declared replicas.
        scaled = ["spec.replicas"] if args.autoscaled and track == args.active else None

        container = restricted_container(
            name="app", image=spec.image, cpu=args.cpu, memory=args.memory, imagePullPolicy="Always",
            ports=[{"name": "http", "containerPort": args.port}, {"name": "metrics", "containerPort": args.metrics_port}],
            readinessProbe=http_probe(args.health_path, "http", period=5),
            livenessProbe=http_probe(args.health_path, "http", period=10, failures=6, initial_delay=10),
            envFrom=[{"configMapRef": {"name": cm}} for cm in args.config_maps],
            env=env, volumeMounts=mounts)
        spread = [{"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": how,
                   "labelSelector": {"matchLabels": dict(pods)}}
                  for key, how in (("topology.kubernetes.io/zone", "ScheduleAnyway"),
                                   ("kubernetes.io/hostname", "DoNotSchedule"))] if spec.replicas > 1 else []
        extra: dict[str, Any] = {"topologySpreadConstraints": spread} if spread else {}
        pod_spec = restricted_pod_spec(containers=[container], service_account=account.metadata["name"],
                                       volumes=volumes, **extra)
        deployment = k8s.apps.v1.Deployment(f"{name}-{track}-deployment", metadata=metadata(
            k8s_name, args.namespace, labels, annotations=skip_annotations(SCANNER_SKIPS)), spec={
            "replicas": spec.replicas,
            "selector": {"matchLabels": dict(pods)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        }, opts=opts("deployment", scaled))
        service = k8s.core.v1.Service(f"{name}-{track}-service", metadata=metadata(k8s_name, args.namespace, labels),
                                      spec={"selector": dict(pods), "ports": [
                                          {"name": "http", "port": args.port, "targetPort": "http"},
                                          {"name": "metrics", "port": args.metrics_port, "targetPort": "metrics"}]},
                                      opts=opts("service"))
        if spec.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(f"{name}-{track}-pdb", metadata=metadata(k8s_name, args.namespace, labels),
                                              spec={"minAvailable": spec.replicas - 1,
                                                    "selector": {"matchLabels": dict(pods)}}, opts=opts("pdb"))
        self.deployment_names[track] = deployment.metadata["name"]
        return service.metadata["name"]
