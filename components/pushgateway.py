"""The Prometheus Pushgateway the backup job and the restore drill push their results to.

Creates (in the monitoring namespace of a stack that installs the platform): a PersistentVolumeClaim,
a Deployment (one replica, ``Recreate``: the volume is ReadWriteOnce), a Service on 9091 and a
ServiceMonitor with ``honorLabels: true``, so the ``job`` and ``namespace`` labels of each push
group survive the scrape (the alerts in components/monitoring.py select on them).

Why a Pushgateway: the jobs live minutes, once a day or a week; nothing could scrape them.
Why a volume: the gateway keeps only the last push of each group. Without ``--persistence.file``
on a volume a restart would forget the last drill's failure (``RestoreDrillFailed``) for up to a
week, until the next drill. A 1 GiB claim is the smallest the gp3 class provisions usefully.

Image: the Prometheus project publishes the Pushgateway on Docker Hub (``prom/pushgateway``) and
quay.io (``quay.io/prometheus/pushgateway``), the same build, and not on ECR Public. Docker Hub
as a pull-through upstream needs credentials; quay.io does not, so the image comes through the
account's quay.io cache rule (components/registry.py), pinned by version.

``PUSHED_JOBS`` names the push groups the ServiceMonitor carries (annotation ``PUSHED_JOBS_ANNOTATION``):
with honorLabels the scraped ``job`` is the pushed one, which no object names otherwise; the alerts
check (tools/offline/checks/alerts.py) reads the annotation, and a test keeps it equal to the groups
images/backup/*.sh push.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import (
    ENCRYPTED_STORAGE_CLASS,
    http_probe,
    metadata,
    quay_image,
    restricted_container,
    restricted_pod_spec,
    skip_annotations,
)

IMAGE = "prometheus/pushgateway:v1.11.1"
NAME = "pushgateway"
PORT = 9091
POD_LABELS = {"app.kubernetes.io/name": "pushgateway", "app.kubernetes.io/component": "metrics"}
PUSHED_JOBS_ANNOTATION = "platform.example.com/pushed-jobs"
PUSHED_JOBS = ("postgres-backup", "postgres-restore-drill")
"""images/backup/common.sh push_metrics groups: backup.sh and drill.sh."""
STORAGE = "1Gi"
SCANNER_SKIPS = {"CKV_K8S_43": "the Prometheus project's image through the account's quay.io pull-through cache, "
                               "pinned by version tag; its digest cannot be resolved offline"}


def url(namespace: str) -> str:
    """What the pushing jobs get as METRICS_URL."""
    return f"http://{NAME}.{namespace}.svc:{PORT}"


@dataclass(frozen=True, kw_only=True)
class PushgatewayArgs:
    namespace: pulumi.Input[str]
    labels: Mapping[str, str]
    monitor_labels: Mapping[str, str]
    """Labels the Prometheus serviceMonitorSelector matches (``release: kube-prometheus-stack``)."""


class Pushgateway(pulumi.ComponentResource):
    """Creates: PVC, Deployment, Service and ServiceMonitor (honorLabels) of the Pushgateway."""

    def __init__(self, name: str, args: PushgatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:Pushgateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {**args.labels, **POD_LABELS}
        claim = k8s.core.v1.PersistentVolumeClaim(
            f"{name}-data", metadata=metadata(f"{NAME}-data", args.namespace, labels),
            spec={"storageClassName": ENCRYPTED_STORAGE_CLASS, "accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": STORAGE}}},
            opts=child)
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata(NAME, args.namespace, labels),
                                             automount_service_account_token=False, opts=child)
        container = restricted_container(
            name=NAME, image=quay_image(IMAGE, parent=self), cpu="100m", memory="64Mi", imagePullPolicy="Always",
            args=["--web.listen-address=:9091", "--persistence.file=/data/metrics", "--persistence.interval=1m"],
            ports=[{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
            readinessProbe=http_probe("/-/ready", "http"), livenessProbe=http_probe("/-/healthy", "http", failures=6),
            volumeMounts=[{"name": "data", "mountPath": "/data"}])
        # One replica on purpose: each replica would hold a different subset of the pushes (a push
        # reaches one pod), and Prometheus would see both. A lost pod delays a push's visibility;
        # the jobs retry, the volume keeps the last state, and the absent() alerts wait 26 h / 8 d.
        annotations = {**skip_annotations(SCANNER_SKIPS), "policy.platform.example.com/suppress.k8s-min-replicas":
                       "push cache: replicas would split the pushed groups between pods"}
        k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata=metadata(NAME, args.namespace, labels, annotations=annotations),
            spec={"replicas": 1, "strategy": {"type": "Recreate"},
                  "selector": {"matchLabels": dict(POD_LABELS)},
                  "template": {"metadata": {"labels": labels}, "spec": restricted_pod_spec(
                      containers=[container], service_account=account.metadata["name"],
                      volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim.metadata["name"]}}])}},
            opts=child)
        k8s.core.v1.Service(
            f"{name}-service", metadata=metadata(NAME, args.namespace, labels),
            spec={"selector": dict(POD_LABELS),
                  "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}]},
            opts=child)
        k8s.apiextensions.CustomResource(
            f"{name}-monitor", api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
            metadata=metadata(NAME, args.namespace, {**labels, **args.monitor_labels},
                              annotations={PUSHED_JOBS_ANNOTATION: ",".join(PUSHED_JOBS)}),
            spec={"selector": {"matchLabels": dict(POD_LABELS)},
                  "endpoints": [{"port": "http", "honorLabels": True, "interval": "60s"}]},
            opts=child)
        self.register_outputs({})
