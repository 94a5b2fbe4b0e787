"""PostgreSQL for the application: RDS when the profile says ``managed``, a StatefulSet otherwise.

managed (RDS): subnet group (private subnets), security group admitting 5432 from the cluster
nodes only, parameter group (TLS forced, connection and slow-query logging), KMS-encrypted log
groups for the exported logs, and a KMS-encrypted gp3 instance with IAM auth and an RDS-managed
master password (kept in Secrets Manager, never in Pulumi state). Where the profile asks
(production), a read replica with the same key, parameter group, security group and floor, and its
own encrypted log groups. ``restore`` (``platform:postgres.restoreFrom``) creates the instance from a
DB snapshot or by point-in-time restore of another instance; the floor is the same.

in-cluster: a generated password in a Kubernetes Secret, a StatefulSet on the restricted floor
(the floor's high uid/gid, read-only root filesystem, PGDATA on its own volume) with ``pg_isready``
probes, and a ClusterIP Service. The image is the official one through the account's ECR
pull-through cache, re-checked on every pull.

Both: a ConfigMap ``postgres-connection`` in the application namespace with the non-secret
connection details and where the credentials live. Never a password. ``PGHOST_READER`` is the
replica's endpoint, or the primary's when there is no replica: read-only clients have one setting
whatever the environment. Clients get one
``PostgresConnection`` (components/connections.py) and match on where the password lives.

The floor no profile can lower: storage encrypted with the customer key, TLS forced, not publicly
accessible, reachable from the cluster nodes only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.connections import (
    InKubernetesSecret,
    InSecretsManager,
    PostgresConnection,
    RdsMasterSecretGrant,
    password_location,
)
from components.datastore import DataStoreArgs, data_store_args, private_network
from components.kubernetes import (
    ENCRYPTED_STORAGE_CLASS,
    ecr_public_image,
    metadata,
    restricted_container,
    restricted_pod_spec,
    skip_annotations,
)
from components.naming import final_snapshot_identifier
from config import PostgresProfile, RestoreFromSnapshot, RestoreSource, RestoreToPointInTime

if TYPE_CHECKING:
    from components.kms import KmsKey
    from config import Settings

MAJOR_VERSION = "18"
"""RDS supports PostgreSQL 18 (18.1+); auto minor upgrades keep the minor current."""
IN_CLUSTER_IMAGE = "docker/library/postgres:18.1-alpine3.22"
"""Docker's official image as mirrored on ECR Public, pulled through the account's cache; same
major as RDS so dumps restore either way. It runs as the floor's uid, not alpine's postgres (70):
the entrypoint supports an arbitrary uid (initdb gets a passwd entry from nss_wrapper) as long as
PGDATA is writable, which fsGroup makes the volume."""
SCANNER_SKIPS = {"CKV_K8S_43": "official image pinned by version tag through the ECR pull-through cache; its digest "
                               "is not resolvable offline (throw-away PR database)"}
PORT = 5432
USERNAME = "platform"
CONNECTION_CONFIGMAP = "postgres-connection"
CREDENTIALS_SECRET = "postgres-credentials"
# Same in every environment; the logical backup CronJob runs at 02:00 UTC, after the snapshot.
BACKUP_WINDOW = "00:30-01:30"
MAINTENANCE_WINDOW = "sun:03:00-sun:04:00"
SLOW_QUERY_MS = 500
LOG_EXPORTS = ("postgresql", "upgrade")


@dataclass(frozen=True, kw_only=True)
class PostgresArgs(DataStoreArgs):
    profile: PostgresProfile
    kms_alias: pulumi.Input[str]
    """Names the key in the grant a reader of the RDS master secret needs."""
    database: str = "app"
    restore: RestoreSource | None = None
    """``platform:postgres.restoreFrom``: create the managed instance from a snapshot or a point in time."""

    @classmethod
    def from_settings(cls, settings: Settings, *, kms: KmsKey, namespace: pulumi.Input[str]) -> PostgresArgs:
        return cls(profile=settings.profile.postgres, kms_alias=kms.alias, restore=settings.postgres_restore,
                   **data_store_args(settings, kms_key_arn=kms.arn, namespace=namespace))


def restore_inputs(restore: RestoreSource | None) -> dict[str, Any]:
    """The ``aws.rds.Instance`` inputs that create it from ``restore`` (none: an empty database).

    RDS's restore APIs take no KMS key: the instance keeps the source's, so the key this stack asks
    for must be the one the snapshot was copied into (docs/restore.md)."""
    match restore:
        case RestoreFromSnapshot(snapshot=snapshot):
            return {"snapshot_identifier": snapshot}
        case RestoreToPointInTime(source=source, time=None):
            return {"restore_to_point_in_time": {"source_db_instance_identifier": source,
                                                 "use_latest_restorable_time": True}}
        case RestoreToPointInTime(source=source, time=time):
            return {"restore_to_point_in_time": {"source_db_instance_identifier": source, "restore_time": time}}
    return {}


class Postgres(pulumi.ComponentResource):
    """Creates: RDS PostgreSQL (managed) or a StatefulSet (in-cluster), plus the connection ConfigMap."""

    connection: PostgresConnection
    """How clients connect, and where the password lives (the only public output)."""
    instance_identifier: str | None
    """The RDS instance's identifier (its automated backups are replicated by name); None in-cluster."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:Postgres", name, None, opts)
        self._name, self._args = name, args
        self.instance_identifier = None
        self.connection = self._managed() if args.profile.mode == "managed" else self._in_cluster()
        c = self.connection
        source, ref = password_location(c.password)
        port = pulumi.Output.from_input(c.port)
        k8s.core.v1.ConfigMap(
            f"{name}-connection",
            metadata=metadata(CONNECTION_CONFIGMAP, args.namespace, args.labels),
            data={
                "PGHOST": c.host,
                "PGHOST_READER": c.read_host,
                "PGPORT": port.apply(lambda p: str(int(p))),
                "PGDATABASE": c.database,
                "PGUSER": c.username,
                "PGSSLMODE": c.sslmode,
                "POSTGRES_CREDENTIALS_SOURCE": source,
                "POSTGRES_CREDENTIALS_REF": ref,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "host": c.host, "readerHost": c.read_host, "port": c.port, "database": c.database,
            "credentialsSource": source, "credentialsRef": ref,
        })

    def _managed(self) -> PostgresConnection:
        name, args, p = self._name, self._args, self._args.profile
        child = pulumi.ResourceOptions(parent=self)
        identifier = self.instance_identifier = f"{args.prefix}-postgres"
        tags = dict(args.tags)

        subnets, sg = private_network(name, identifier, engine="Postgres", port=PORT,
                                      subnet_group=aws.rds.SubnetGroup, args=args, parent=self)
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            name=f"{identifier}-pg{MAJOR_VERSION}",
            family=f"postgres{MAJOR_VERSION}",
            description=f"{identifier}: TLS forced, connection and slow-query logging",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                # PostgreSQL 18 made log_connections a list of aspects (postgres18 refuses 1); these
                # three are what the old boolean on logged.
                {"name": "log_connections", "value": "receipt,authentication,authorization"},
                {"name": "log_disconnections", "value": "1"},
                {"name": "log_min_duration_statement", "value": str(SLOW_QUERY_MS)},
            ],
            tags=tags, opts=child,
        )
        # Created before the instance so RDS writes into encrypted groups with a retention
        # instead of auto-creating unencrypted, never-expiring ones.
        log_groups = self._log_groups(name, identifier)
        db = aws.rds.Instance(
            f"{name}-db",
            identifier=identifier,
            engine="postgres",
            engine_version=MAJOR_VERSION,
            allow_major_version_upgrade=False,
            db_name=args.database,
            username=USERNAME,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            allocated_storage=p.allocated_storage_gib,
            multi_az=p.multi_az,
            db_subnet_group_name=subnets.name,
            backup_retention_period=p.backup_retention_days,
            backup_window=BACKUP_WINDOW,
            skip_final_snapshot=not p.final_snapshot,
            **self._floor(params, sg),
            final_snapshot_identifier=final_snapshot_identifier(name, identifier, parent=self) if p.final_snapshot
            else None,
            delete_automated_backups=not args.protect,
            tags=tags,
            **restore_inputs(args.restore),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=log_groups),
        )
        reader = self._replica(identifier, db, params, sg).address if p.read_replica else None
        secret_arn = db.master_user_secrets.apply(lambda s: s[0].secret_arn if s else "")
        return PostgresConnection(
            host=db.address, port=db.port, database=args.database, username=USERNAME, sslmode="verify-full",
            password=InSecretsManager(secret_arn=secret_arn, grant=RdsMasterSecretGrant(
                db_instance_identifier=identifier, kms_alias=args.kms_alias)), reader_host=reader)

    def _log_groups(self, name: str, identifier: str) -> list[aws.cloudwatch.LogGroup]:
        args = self._args
        return [aws.cloudwatch.LogGroup(f"{name}-log-{kind}", name=f"/aws/rds/instance/{identifier}/{kind}",
                                        retention_in_days=args.log_retention_days, kms_key_id=args.kms_key_arn,
                                        tags=dict(args.tags), opts=pulumi.ResourceOptions(parent=self))
                for kind in LOG_EXPORTS]

    def _floor(self, params: aws.rds.ParameterGroup, sg: aws.ec2.SecurityGroup) -> dict[str, Any]:
        """What the primary and its read replica share: class, storage and its key, network,
        parameters, maintenance, logs, Performance Insights and deletion protection."""
        args, p = self._args, self._args.profile
        return dict(
            instance_class=p.instance_class,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            storage_type="gp3",
            max_allocated_storage=p.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            vpc_security_group_ids=[sg.id],
            publicly_accessible=False,
            port=PORT,
            parameter_group_name=params.name,
            maintenance_window=MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=p.performance_insights,
            performance_insights_kms_key_id=args.kms_key_arn if p.performance_insights else None,
            performance_insights_retention_period=7 if p.performance_insights else None,
            deletion_protection=p.deletion_protection,
        )

    def _replica(self, source: str, db: aws.rds.Instance, params: aws.rds.ParameterGroup,
                 sg: aws.ec2.SecurityGroup) -> aws.rds.Instance:
        """The read replica: the primary's class, key, parameter group, security group and floor.

        Its AZ is RDS's choice: the Multi-AZ primary and its standby swap AZs on failover, so no AZ is
        "the primary's" for long (and a Multi-AZ instance cannot be given one). Single-AZ, no backups
        and no final snapshot: its data is the primary's, which has all three (RDS refuses a final
        snapshot of a read replica; ``aws-rds-*`` rules accept a replica for these reasons only).
        """
        name, args = self._name, self._args
        identifier = f"{source}-replica"
        return aws.rds.Instance(
            f"{name}-replica",
            identifier=identifier,
            # The source by its identifier, known in every preview (db.identifier is not, in a new stack's).
            replicate_source_db=source,
            multi_az=False,
            backup_retention_period=0,
            skip_final_snapshot=True,
            **self._floor(params, sg),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect,
                                        depends_on=[db, *self._log_groups(f"{name}-replica", identifier)]),
        )

    def _in_cluster(self) -> PostgresConnection:
        name, args, p = self._name, self._args, self._args.profile
        child = pulumi.ResourceOptions(parent=self)
        labels = {**args.labels, "app.kubernetes.io/name": "postgres", "app.kubernetes.io/component": "database"}
        selector = {"app.kubernetes.io/name": "postgres"}

        password = random.RandomPassword(f"{name}-password", length=32, special=False, opts=child)
        k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=metadata(CREDENTIALS_SECRET, args.namespace, labels),
            type="Opaque",
            string_data={"username": USERNAME, "password": password.result},
            opts=child,
        )
        # A dedicated identity with no API token: the database never talks to the Kubernetes API.
        k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata("postgres", args.namespace, labels),
                                   automount_service_account_token=False, opts=child)
        pg_isready = ["pg_isready", "-h", "127.0.0.1", "-p", str(PORT), "-U", USERNAME, "-d", args.database]
        # Always: the node re-checks the registry, so a cached image is never used without pull rights.
        container = restricted_container(
            name="postgres",
            image=ecr_public_image(IN_CLUSTER_IMAGE, parent=self),
            cpu="250m",
            memory="512Mi",
            imagePullPolicy="Always",
            ports=[{"name": "postgres", "containerPort": PORT}],
            env=[
                {"name": "POSTGRES_USER", "value": USERNAME},
                {"name": "POSTGRES_DB", "value": args.database},
                {"name": "POSTGRES_PASSWORD_FILE", "value": "/run/secrets/postgres/password"},
                {"name": "PGDATA", "value": f"/var/lib/postgresql/{MAJOR_VERSION}/docker"},
            ],
            volumeMounts=[
                {"name": "data", "mountPath": "/var/lib/postgresql"},
                {"name": "run", "mountPath": "/var/run/postgresql"},
                {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a private emptyDir
                {"name": "credentials", "mountPath": "/run/secrets/postgres", "readOnly": True},
            ],
            readinessProbe={"exec": {"command": pg_isready}, "periodSeconds": 5, "timeoutSeconds": 3},
            livenessProbe={"exec": {"command": pg_isready}, "initialDelaySeconds": 30, "periodSeconds": 10,
                           "timeoutSeconds": 5, "failureThreshold": 6},
        )
        pod = restricted_pod_spec(
            containers=[container],
            service_account="postgres",
            # PGDATA must stay 0700: re-applying fsGroup on every mount would add group rwx and
            # postgres would refuse to start.
            fs_group_change_policy="OnRootMismatch",
            volumes=[
                {"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                {"name": "credentials", "secret": {"secretName": CREDENTIALS_SECRET, "defaultMode": 0o440}},
            ],
        )
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=metadata("postgres", args.namespace, labels, annotations=skip_annotations(SCANNER_SKIPS)),
            spec={
                "serviceName": "postgres",
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": labels}, "spec": pod},
                "volumeClaimTemplates": [{
                    "metadata": {"name": "data", "labels": labels},
                    "spec": {"storageClassName": ENCRYPTED_STORAGE_CLASS, "accessModes": ["ReadWriteOnce"],
                             "resources": {"requests": {"storage": f"{p.allocated_storage_gib}Gi"}}},
                }],
                "persistentVolumeClaimRetentionPolicy": {
                    "whenDeleted": "Retain" if args.protect else "Delete", "whenScaled": "Retain"},
            },
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=metadata("postgres", args.namespace, labels),
            spec={"type": "ClusterIP", "selector": selector,
                  "ports": [{"name": "postgres", "port": PORT, "targetPort": "postgres"}]},
            opts=child,
        )
        # In-cluster traffic stays on the pod network, fenced by NetworkPolicy; the throw-away
        # database has no certificate to verify.
        return PostgresConnection(
            host=pulumi.Output.concat("postgres.", args.namespace, ".svc.cluster.local"), port=PORT,
            database=args.database, username=USERNAME, sslmode="prefer",
            password=InKubernetesSecret(name=CREDENTIALS_SECRET))
