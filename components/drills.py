"""The restore drill: every week, prove the newest verified backup restorable and measure RTO and RPO.

``RestoreDrill`` creates: the drill's IRSA role (``components/irsa.py`` ``drill_policy``: read
``postgres/*``, write ``drills/postgres/*``, the one key through S3 only), the ``restore-drill``
ServiceAccount, the ``restore-drill-config`` ConfigMap (bucket, prefixes, key, region, Pushgateway)
and the CronJob running ``images/backup/drill.sh``. Only where the profile schedules drills
(``BackupProfile.drill_schedule``: staging and production; PR stacks have none).

``drill_job_spec`` is a plain function: the CronJob's ``jobTemplate`` and the on-demand Job of
``python -m tools restore --drill`` are rendered from it, so the two cannot drift apart.

The throw-away server is not a sidecar: drill.sh starts it inside the drill's own container
(initdb + pg_ctl in ``DRILL_DIR``, Unix socket only, mode 0700, no TCP listener), so nothing else
can connect, it needs no Service, port or ingress rule, and it stops with the script; the scratch
volume (one dump plus the restored database) is an emptyDir that goes with the pod, and the Job
(with its pod) is deleted a day after it finishes. The pod is not labelled like the backup job
(``app.kubernetes.io/name: restore-drill``), so it gets none of the backup job's network rules:
no route to the stack's database, only DNS, HTTPS (S3, STS) and the Pushgateway
(``components/namespaces.py`` ``allow-restore-drill``). No database secret and no ConfigMap with
``PGHOST``: the drill never talks to the real database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import backups
from components.irsa import Irsa, drill_policy, scoped_role
from components.kubernetes import metadata, restricted_container, restricted_pod_spec, skip_annotations
from components.namespaces import DRILL_POD

if TYPE_CHECKING:
    from components.backups import BackupStorage
    from components.kms import KmsKey
    from config import Settings

SERVICE_ACCOUNT = "restore-drill"
CONFIGMAP = "restore-drill-config"
CRONJOB = "postgres-restore-drill"
DRILL_DIR = "/var/lib/drill"
POD_LABELS = {**DRILL_POD, "app.kubernetes.io/component": "backup"}
CPU, MEMORY = "1", "1Gi"
"""The server, pg_restore and the AWS CLI in one container; the 256 MiB /dev/shm counts in the memory."""
SHM = "256Mi"
"""Postgres' dynamic shared memory (parallel index builds during pg_restore) lives in /dev/shm; the
runtime's default 64 MiB tmpfs is too small for them, so a memory-backed emptyDir replaces it."""
ACTIVE_DEADLINE_S = 6 * 3600
"""Started at 06:00 UTC, done by noon at the latest: never beside the next 02:00 backup."""
TTL_AFTER_FINISHED_S = 24 * 3600
"""The finished Job, its pod and the pod's volumes are deleted after a day (time to read a failure's log)."""


def role_name(prefix: str) -> str:
    """``platform-<stack>-restore-drill``: known before anything exists (the bucket policy names it)."""
    return f"{prefix}-restore-drill"


def drill_job_spec(*, image: pulumi.Input[str], drill_gib: int, labels: Mapping[str, str]) -> dict[str, Any]:
    """The drill Job's spec: one try, a deadline, a TTL, and the restricted pod running drill.sh.

    ``drill_gib``: the scratch emptyDir (``DRILL_DIR``) holding the downloaded dump and the restored
    database; the container requests that much ephemeral storage so it lands on a node that has it.
    """
    storage = f"{drill_gib + 1}Gi"  # the scratch volume plus /tmp, logs and the writable layer
    container = restricted_container(
        name="drill",
        image=image,
        # By tag: a node re-checks the registry, so a cached image is never used without pull rights.
        imagePullPolicy="Always",
        cpu=CPU,
        memory=MEMORY,
        command=["/usr/local/bin/drill.sh"],
        envFrom=[{"configMapRef": {"name": CONFIGMAP}}],
        # The Pushgateway grouping key's namespace label (images/backup/common.sh push_metrics).
        env=[{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        volumeMounts=[{"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a private emptyDir
                      {"name": "drill", "mountPath": DRILL_DIR},
                      {"name": "shm", "mountPath": "/dev/shm"}],  # noqa: S108 - a private emptyDir
    )
    for kind in ("requests", "limits"):
        container["resources"][kind]["ephemeral-storage"] = storage
    volumes = [
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "drill", "emptyDir": {"sizeLimit": f"{drill_gib}Gi"}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": SHM}},
    ]
    # No Kubernetes API token (the drill never calls the API server); IRSA injects its own.
    pod = restricted_pod_spec(containers=[container], service_account=SERVICE_ACCOUNT, mount_token=False,
                              restartPolicy="Never", volumes=volumes)
    return {
        # A failed drill is the finding: retrying would hide a flaky restore behind a later pass.
        "backoffLimit": 0,
        "activeDeadlineSeconds": ACTIVE_DEADLINE_S,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
        "template": {"metadata": {"labels": {**labels, **POD_LABELS}}, "spec": pod},
    }


@dataclass(frozen=True, kw_only=True)
class RestoreDrillArgs:
    prefix: str
    """Physical-name prefix ``platform-<stack>``: the role is ``<prefix>-restore-drill``."""
    namespace: pulumi.Input[str]
    image: pulumi.Input[str]
    """The backup image (it carries drill.sh and the Postgres server): this stack's ECR repository."""
    schedule: str
    drill_gib: int
    bucket: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    kms_alias: pulumi.Input[str]
    irsa: Irsa
    labels: Mapping[str, str]
    metrics_url: str | None = None
    """The Pushgateway; None: the report in the bucket is the only record."""

    @classmethod
    def from_settings(cls, settings: Settings, *, storage: BackupStorage, image: pulumi.Input[str], kms: KmsKey,
                      namespace: pulumi.Input[str], irsa: Irsa) -> RestoreDrillArgs:
        from components import pushgateway
        from components.namespaces import PlatformNamespaceNames

        b = settings.profile.backups
        if b.drill_schedule is None:
            raise ValueError(f"the {settings.environment} profile schedules no restore drills (drill_schedule)")
        metrics = pushgateway.url(PlatformNamespaceNames().monitoring) if settings.profile.installs_platform else None
        return cls(prefix=settings.name, namespace=namespace, image=image, schedule=b.drill_schedule,
                   drill_gib=b.drill_gib, bucket=storage.bucket, bucket_arn=storage.bucket_arn, kms_key_arn=kms.arn,
                   kms_alias=kms.alias, irsa=irsa, labels=settings.labels, metrics_url=metrics)


class RestoreDrill(pulumi.ComponentResource):
    """Creates: the drill's IRSA role and policy, the ``restore-drill`` ServiceAccount, the
    ``restore-drill-config`` ConfigMap and the ``postgres-restore-drill`` CronJob."""

    def __init__(self, name: str, args: RestoreDrillArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:RestoreDrill", name, None, opts)
        labels = {**args.labels, **POD_LABELS}
        irsa = args.irsa
        # The role is an AWS resource: the default AWS provider, not the Kubernetes one of ``opts``.
        role_arn = scoped_role(
            name, role_name=role_name(args.prefix), irsa=irsa, namespace=args.namespace,
            service_account=SERVICE_ACCOUNT, parent=self,
            description="Postgres restore drill (IRSA): reads postgres/*, writes drills/postgres/* in the backup bucket",
            policy=drill_policy(args.bucket_arn, account_id=irsa.account_id, region=irsa.region,
                                kms_alias=args.kms_alias, backup_prefix=backups.OBJECT_PREFIX,
                                report_prefix=backups.REPORT_PREFIX))
        child = pulumi.ResourceOptions(parent=self)
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(SERVICE_ACCOUNT, args.namespace, labels,
                              annotations={"eks.amazonaws.com/role-arn": role_arn}),
            automount_service_account_token=False,
            opts=child,
        )
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(CONFIGMAP, args.namespace, labels),
            data={
                "BACKUP_BUCKET": args.bucket,
                "BACKUP_PREFIX": backups.OBJECT_PREFIX,
                "BACKUP_KMS_KEY_ARN": args.kms_key_arn,
                "AWS_REGION": region,
                "DRILL_DIR": DRILL_DIR,
                "DRILL_REPORT_PREFIX": backups.REPORT_PREFIX,
                **({"METRICS_URL": args.metrics_url} if args.metrics_url else {}),
            },
            opts=child,
        )
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=metadata(CRONJOB, args.namespace, labels,
                              annotations=skip_annotations(backups.SCANNER_SKIPS)),
            spec={
                "schedule": args.schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                # Missed by more than an hour (control plane down): skip it; RestoreDrillStale notices.
                "startingDeadlineSeconds": 3600,
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {"metadata": {"labels": labels},
                                "spec": drill_job_spec(image=args.image, drill_gib=args.drill_gib, labels=args.labels)},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, config]),
        )
        self.service_account = SERVICE_ACCOUNT
        self.role_arn = role_arn
        self.register_outputs({"serviceAccount": self.service_account, "roleArn": self.role_arn})
