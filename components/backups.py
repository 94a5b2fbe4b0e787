"""Logical Postgres backups: a hardened S3 bucket, an IRSA role, and a nightly pg_dump CronJob.

``BackupStorage`` creates: the bucket (``<prefix>-backups-<account>-<region>``) with versioning, SSE-KMS
with the customer key and a bucket key, all four public-access blocks, BucketOwnerEnforced, a
policy denying non-TLS access and non-KMS uploads, and a lifecycle that expires current and
noncurrent objects after the retention and aborts stale multipart uploads, Object Lock when asked
(production); and the backup job's IAM role, assumable only by the ``backup`` ServiceAccount
through the cluster's OIDC provider, allowed only what the job does (objects under ``postgres/``,
the one key, the one DB secret).

Names, not outputs: the bucket and the role have explicit names, and every ARN in the policies is
built from them, the account (an invoke), the region, the key's alias and the DB instance
identifier. In a new stack's first preview the outputs of resources to create (the key ARN, the
secret ARN, an autonamed bucket) are unknown, and the policy pack refuses a document it cannot read.

``BackupReplica`` creates, where the profile copies backups to a second region (production): that
region's bucket and key, the S3 replication of ``postgres/*`` from the backup bucket, and the RDS
automated-backups replication.

``BackupSchedule`` creates: the ``backup`` ServiceAccount (IRSA), a ``backup-config`` ConfigMap
(everything non-secret the job needs) and the CronJob. ``backup_pod_spec`` is a plain function so
``python -m tools restore`` renders its one-off restore Job from the same pod spec.

Credentials follow the ``PostgresConnection``'s password: in Secrets Manager, the job reads it
(the role may ``GetSecretValue`` that one secret) and writes a PGPASSFILE into a memory-backed
emptyDir; in a Kubernetes Secret, it reads the mounted Secret file. No password is ever in an env
var, an argument or a ConfigMap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import partition
from components.buckets import private_bucket_settings
from components.connections import InKubernetesSecret, InSecretsManager, PasswordSource, PostgresConnection
from components.irsa import rds_secret_statement, role_arn, trust_policy
from components.kms import KmsKey, KmsKeyArgs, key_statement
from components.kubernetes import metadata, restricted_container, restricted_pod_spec, skip_annotations
from config import BackupProfile

if TYPE_CHECKING:
    from config import Settings

SERVICE_ACCOUNT = "backup"
CONFIGMAP = "backup-config"
OBJECT_PREFIX = "postgres/"
REPORT_PREFIX = "drills/postgres/"
"""The restore drill's reports (images/backup/drill.sh DRILL_REPORT_PREFIX; components/drills.py)."""
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12
CREDENTIALS_MOUNT = "/run/secrets/postgres"
SPOOL_DIR = "/var/spool/backup"
POD_LABELS = {"app.kubernetes.io/name": "backup", "app.kubernetes.io/component": "backup"}
SCANNER_SKIPS = {
    "CKV_K8S_43": "image is this stack's ECR backup repository at the configured tag (the git SHA in CI); tags are "
                  "immutable in every environment, so the tag pins the image (a digest is unknown until the push)",
}


# ----------------------------------------------------------------------------------------------
# IAM documents (plain data, so tests and the policy pack read them as written)
# ----------------------------------------------------------------------------------------------


def job_policy(bucket_arn: pulumi.Input[str], *, account_id: pulumi.Input[str], region: str,
               kms_alias: pulumi.Input[str], db_password: PasswordSource) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "ObjectsUnderPrefix", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": pulumi.Output.concat(bucket_arn, "/", OBJECT_PREFIX, "*")},
        {"Sid": "ListPrefix", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [OBJECT_PREFIX, f"{OBJECT_PREFIX}*"]}}},
        key_statement("TheDataKey", ["kms:GenerateDataKey", "kms:Decrypt"], account_id=account_id, region=region,
                      alias=kms_alias),
    ]
    match db_password:
        case InSecretsManager(grant=grant):
            statements.append(rds_secret_statement(account_id, region, grant.db_instance_identifier,
                                                   sid="DatabaseCredentials"))
        case InKubernetesSecret():
            pass  # mounted from the Secret: nothing to grant in IAM
    return {"Version": "2012-10-17", "Statement": statements}


def bucket_policy(bucket_arn: pulumi.Input[str], *, account_id: pulumi.Input[str], region: str,
                  writer_role_arn: pulumi.Input[str], report_writer_role_arn: pulumi.Input[str] | None = None,
                  ) -> dict[str, Any]:
    """``writer_role_arn`` (the backup job) is the only writer of ``postgres/*``; ``report_writer_role_arn``
    (the restore drill, where the profile has drills) the only writer of ``drills/postgres/*``; nobody
    writes anywhere else. Each role's own IAM grant is the same split, so either side alone holds."""
    objects = pulumi.Output.concat(bucket_arn, "/*")
    writers: list[pulumi.Input[str]] = [writer_role_arn]
    only_drills: list[dict[str, Any]] = []
    if report_writer_role_arn is not None:
        writers.append(report_writer_role_arn)
        only_drills.append(
            {"Sid": "OnlyTheDrillRoleWritesReports", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": pulumi.Output.concat(bucket_arn, "/", REPORT_PREFIX, "*"),
             "Condition": {"ArnNotEquals": {"aws:PrincipalArn": report_writer_role_arn}}})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [bucket_arn, objects],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects, "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}},
            {"Sid": "DenyNonKmsUploads", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects,
             "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
            # This account's keys in this region: the S3 condition key takes a key ARN only (no
            # alias), and the key's ARN is unknown until it exists (first preview). The one key is
            # enforced by the statements below: only the backup role and the drill role write, and
            # their IAM grants cover no KMS key but this one (by alias).
            {"Sid": "DenyOtherKmsKeys", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects,
             "Condition": {"StringNotLikeIfExists": {
                 "s3:x-amz-server-side-encryption-aws-kms-key-id":
                     partition.arn("kms", region, account_id, "key/*")}}},
            {"Sid": "OnlyTheBackupRoleWritesBackups", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": pulumi.Output.concat(bucket_arn, "/", OBJECT_PREFIX, "*"),
             "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writer_role_arn}}},
            *only_drills,
            # ArnNotEquals with a list: denied unless the caller is one of them.
            {"Sid": "OnlyTheJobRolesWrite", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
             "Resource": objects,
             "Condition": {"ArnNotEquals": {"aws:PrincipalArn": writers[0] if len(writers) == 1 else writers}}},
        ],
    }


def replication_trust(account_id: pulumi.Input[str], *, parent: pulumi.Resource | None = None) -> dict[str, Any]:
    """S3 replication assumes the role, for this account's buckets only (the confused-deputy guard)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "S3ReplicationForThisAccount", "Effect": "Allow",
        "Principal": {"Service": partition.service_principal("s3")}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}]}


def replication_policy(source_arn: pulumi.Input[str], destination_arn: pulumi.Input[str], *,
                       account_id: pulumi.Input[str], source_region: str, destination_region: str,
                       source_alias: pulumi.Input[str], destination_alias: pulumi.Input[str],
                       parent: pulumi.Resource | None = None) -> dict[str, Any]:
    """What S3 needs to copy ``postgres/*`` with its Object Lock retention, and nothing else: read the
    source's versions (retention and legal hold included), write replicas into the destination, decrypt
    with the source key and encrypt with the destination key, each only through S3 in its region and
    for its bucket.

    The KMS grants follow AWS's policy for replicating SSE-KMS objects
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html):
    ``kms:Decrypt`` on the source key and ``kms:Encrypt`` on the destination key (S3 re-encrypts the
    replica's data key; the page grants no ``kms:GenerateDataKey``), through ``s3.<region>.amazonaws.com``
    and for that bucket's ``kms:EncryptionContext:aws:s3:arn``: both buckets use S3 Bucket Keys, which
    make the encryption context the bucket's ARN, not the object's. Each key is named as
    ``key_statement`` does (``key/*`` narrowed to the one key by its alias): both keys are created with
    the stack, so their ARNs are unknown in its first preview and a policy naming them could not be
    judged by the pack then (tests/program/test_first_preview.py)."""
    def via_s3(region: str, bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
        return {"StringEquals": {"kms:ViaService": partition.service_host("s3", region, parent=parent)},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": bucket_arn}}

    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "SourceReplicationConfiguration", "Effect": "Allow",
         "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": source_arn},
        {"Sid": "SourceVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
         "Resource": pulumi.Output.concat(source_arn, "/", OBJECT_PREFIX, "*")},
        {"Sid": "DestinationReplicas", "Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateTags"],
         "Resource": pulumi.Output.concat(destination_arn, "/", OBJECT_PREFIX, "*")},
        key_statement("DecryptWithTheSourceKey", "kms:Decrypt", account_id=account_id, region=source_region,
                      alias=source_alias, condition=via_s3(source_region, source_arn)),
        key_statement("EncryptWithTheDestinationKey", "kms:Encrypt", account_id=account_id,
                      region=destination_region, alias=destination_alias,
                      condition=via_s3(destination_region, destination_arn)),
    ]}


# ----------------------------------------------------------------------------------------------
# Storage: bucket + IRSA role
# ----------------------------------------------------------------------------------------------


def retention_settings(name: str, bucket: aws.s3.Bucket, profile: BackupProfile, opts: pulumi.ResourceOptions) -> None:
    """Creates ``<name>-lifecycle`` (current and old versions expire after the retention, stale
    multipart uploads after a day) and, when the profile locks objects, ``<name>-object-lock``."""
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=[{
            "id": "expire-backups",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "expiration": {"days": profile.retention_days},
            "noncurrent_version_expiration": {"noncurrent_days": profile.retention_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
        }],
        opts=opts,
    )
    if profile.object_lock_days:
        # GOVERNANCE, not COMPLIANCE: a break-glass role with s3:BypassGovernanceRetention can
        # still remove a poisoned backup; nobody else can delete or overwrite one early.
        aws.s3.BucketObjectLockConfiguration(
            f"{name}-object-lock", bucket=bucket.id, object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": "GOVERNANCE", "days": profile.object_lock_days}},
            opts=opts)


@dataclass(frozen=True, kw_only=True)
class BackupStorageArgs:
    prefix: str
    """Physical-name prefix: ``platform-<stack>``; the bucket is ``<prefix>-backups-<account>-<region>``."""
    account_id: pulumi.Input[str]
    """From ``aws.get_caller_identity_output()``: an invoke, so known in every preview."""
    region: str
    profile: BackupProfile
    protect: bool
    kms_key_arn: pulumi.Input[str]
    kms_alias: pulumi.Input[str]
    """The key's alias: IAM grants name the key by it (its ARN is unknown in a first preview)."""
    oidc_provider_arn: str
    oidc_provider_url: str
    namespace: pulumi.Input[str]
    """Namespace of the ``backup`` ServiceAccount (the only subject the role trusts)."""
    db_password: PasswordSource
    """Where the database password lives (``PostgresConnection.password``): a Secrets Manager
    secret the role may read, or a mounted Kubernetes Secret (nothing to grant)."""
    tags: Mapping[str, str]
    drill_role_name: str | None = None
    """The restore drill's IAM role (components/drills.py), the one writer of ``drills/postgres/*``;
    None where the profile has no drills."""

    @classmethod
    def from_settings(cls, settings: Settings, *, account_id: pulumi.Input[str], kms: KmsKey,
                      namespace: pulumi.Input[str], postgres: PostgresConnection) -> BackupStorageArgs:
        from components import drills

        return cls(prefix=settings.name, account_id=account_id, region=settings.region,
                   profile=settings.profile.backups, protect=settings.profile.protect_data, kms_key_arn=kms.arn,
                   kms_alias=kms.alias, oidc_provider_arn=settings.cluster.oidc_provider_arn,
                   oidc_provider_url=settings.cluster.oidc_provider_url, namespace=namespace,
                   db_password=postgres.password, tags=settings.tags,
                   drill_role_name=drills.role_name(settings.name) if settings.profile.backups.drills else None)


class BackupStorage(pulumi.ComponentResource):
    """Creates: the backup bucket and its settings, and the backup job's IRSA role and policy."""

    bucket: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    versioning: aws.s3.BucketVersioning
    """A replication configuration on the bucket must wait for it."""
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: BackupStorageArgs, opts: pulumi.ResourceOptions | None = None):
        # Globally unique by account and region; the account is 12 digits, so the length is known now.
        length = len(f"{args.prefix}-backups--{args.region}") + ACCOUNT_ID_LENGTH
        if length > BUCKET_NAME_MAX or args.prefix != args.prefix.lower():
            raise ValueError(f"bucket name {args.prefix}-backups-<account>-{args.region} must be lower-case and at most "
                             f"{BUCKET_NAME_MAX} characters (it would be {length}); shorten the stack name")
        super().__init__("platform:data:BackupStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        p, tags = args.profile, dict(args.tags)

        lock_days = p.object_lock_days
        bucket = aws.s3.Bucket(
            resource_name=f"{name}-bucket",
            bucket=pulumi.Output.concat(args.prefix, "-backups-", args.account_id, "-", args.region),
            force_destroy=p.force_destroy,
            object_lock_enabled=lock_days > 0 or None,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=p.retain_on_delete),
        )
        # From the name (known in preview), not bucket.arn (unknown until the bucket exists).
        bucket_arn = partition.arn("s3", "", "", bucket.bucket, parent=self)
        # The settings share the bucket's protect/retain: a destroy that keeps the bucket must not
        # delete its policy, public-access block, encryption or lifecycle (a kept bucket left open,
        # unencrypted for new objects, or never expiring).
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[bucket], protect=args.protect,
                                           retain_on_delete=p.retain_on_delete)
        settings = private_bucket_settings(name, bucket, args.kms_key_arn, on_bucket)
        public = settings.public_access
        retention_settings(name, bucket, p, on_bucket)
        role_name = f"{args.prefix}-backup"
        # After the public-access block: a policy with Principal "*" (denies only) must not race it.
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(bucket_policy(
                bucket_arn, account_id=args.account_id, region=args.region,
                writer_role_arn=partition.arn("iam", "", args.account_id, f"role/{role_name}", parent=self),
                report_writer_role_arn=None if args.drill_role_name is None else partition.arn(
                    "iam", "", args.account_id, f"role/{args.drill_role_name}", parent=self))),
            opts=pulumi.ResourceOptions.merge(on_bucket, pulumi.ResourceOptions(depends_on=[public])),
        )

        role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description="Postgres backup CronJob (IRSA): writes and reads postgres/* in the backup bucket",
            assume_role_policy=pulumi.Output.json_dumps(
                trust_policy(args.oidc_provider_arn, args.oidc_provider_url, args.namespace, SERVICE_ACCOUNT)),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.json_dumps(job_policy(
                bucket_arn, account_id=args.account_id, region=args.region, kms_alias=args.kms_alias,
                db_password=args.db_password)),
            opts=child,
        )

        self.bucket = bucket.bucket
        self.bucket_arn = bucket_arn
        self.versioning = settings.versioning
        self.role_arn = role_arn(args.account_id, role)
        self.register_outputs({"bucket": self.bucket, "roleArn": self.role_arn})


# ----------------------------------------------------------------------------------------------
# Cross-region copy: a second region's bucket and key, S3 replication, RDS backup replication
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BackupReplicaArgs:
    prefix: str
    account_id: pulumi.Input[str]
    source_region: str
    region: str
    """``platform:backups.replicaRegion`` (config.py checks it is another region of the same partition)."""
    profile: BackupProfile
    """The source's: the copy has the same retention and Object Lock."""
    protect: bool
    source: BackupStorage
    source_kms_alias: pulumi.Input[str]
    kms: KmsKeyArgs
    """The destination key's arguments (the source key's deletion window, protection and tags)."""
    db_instance_identifier: str | None
    """The RDS instance whose automated backups are replicated too; None: Postgres runs in-cluster."""
    db_backup_retention_days: int
    tags: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, *, account_id: pulumi.Input[str], storage: BackupStorage,
                      kms: KmsKey, db_instance_identifier: str | None) -> BackupReplicaArgs:
        if settings.backup_replica_region is None:
            raise ValueError("BackupReplica needs platform:backups.replicaRegion (config.py requires it where "
                             "the profile copies backups)")
        return cls(prefix=settings.name, account_id=account_id, source_region=settings.region,
                   region=settings.backup_replica_region, profile=settings.profile.backups,
                   protect=settings.profile.protect_data, source=storage, source_kms_alias=kms.alias,
                   kms=KmsKeyArgs.from_settings(settings), db_instance_identifier=db_instance_identifier,
                   db_backup_retention_days=settings.profile.postgres.backup_retention_days, tags=settings.tags)


class BackupReplica(pulumi.ComponentResource):
    """Creates: an ``aws`` provider for the second region; there a KMS key (``alias/<prefix>``, the alias
    names are per region) and the replica bucket (``<prefix>-backups-<account>-<region>``) with the
    source's settings, retention and Object Lock; the replication role and its policy; the source
    bucket's replication configuration (``postgres/*``, KMS-encrypted objects, retention replicated,
    delete markers not: a delete in the source never deletes a copy); and the RDS automated-backups
    replication into the second region with its key.

    Kept like the source: where the source bucket is protected and retained, so are the copy, its
    settings, its key, the replication configuration and the RDS backup replication.
    """

    bucket: pulumi.Output[str]

    def __init__(self, name: str, args: BackupReplicaArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:BackupReplica", name, None, opts)
        p, tags = args.profile, dict(args.tags)
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=p.retain_on_delete, protect=args.protect)
        provider = aws.Provider(f"{name}-provider", region=args.region, opts=pulumi.ResourceOptions(parent=self))
        there = pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(provider=provider))
        key = KmsKey(f"{name}-kms", args.kms, opts=pulumi.ResourceOptions(parent=self, providers={"aws": provider}))

        bucket = aws.s3.Bucket(
            bucket=pulumi.Output.concat(args.prefix, "-backups-", args.account_id, "-", args.region),
            force_destroy=p.force_destroy, object_lock_enabled=p.object_lock_days > 0 or None, tags=tags, opts=there,
            resource_name=f"{name}-bucket")
        bucket_arn = partition.arn("s3", "", "", bucket.bucket, parent=self)
        on_bucket = pulumi.ResourceOptions.merge(there, pulumi.ResourceOptions(depends_on=[bucket]))
        settings = private_bucket_settings(name, bucket, key.arn, on_bucket)
        retention_settings(name, bucket, p, on_bucket)

        role_name = f"{args.prefix}-backup-replication"
        role = aws.iam.Role(
            f"{name}-role", name=role_name,
            description=f"S3 replication of {OBJECT_PREFIX}* from the backup bucket to its copy in {args.region}",
            assume_role_policy=pulumi.Output.json_dumps(replication_trust(args.account_id, parent=self)),
            max_session_duration=3600, tags=tags, opts=pulumi.ResourceOptions(parent=self))
        aws.s3.BucketPolicy(
            f"{name}-policy", bucket=bucket.id,
            policy=pulumi.Output.json_dumps(bucket_policy(
                bucket_arn, account_id=args.account_id, region=args.region,
                writer_role_arn=partition.arn("iam", "", args.account_id, f"role/{role_name}", parent=self))),
            opts=pulumi.ResourceOptions.merge(on_bucket, pulumi.ResourceOptions(depends_on=[settings.public_access])))
        policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=role.id,
            policy=pulumi.Output.json_dumps(replication_policy(
                args.source.bucket_arn, bucket_arn, account_id=args.account_id, source_region=args.source_region,
                destination_region=args.region, source_alias=args.source_kms_alias, destination_alias=key.alias,
                parent=self)),
            opts=pulumi.ResourceOptions(parent=self))
        # In the source's region (the default provider), on the source bucket: kept with it.
        aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=args.source.bucket,
            role=role_arn(args.account_id, role),
            rules=[{
                "id": "copy-backups", "status": "Enabled", "priority": 1,
                "filter": {"prefix": OBJECT_PREFIX},
                "delete_marker_replication": {"status": "Disabled"},
                "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                "destination": {"bucket": bucket_arn, "storage_class": "STANDARD",
                                "encryption_configuration": {"replica_kms_key_id": key.arn}},
            }],
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(
                depends_on=[args.source.versioning, settings.versioning, policy])),
        )
        if args.db_instance_identifier is not None:
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-rds-backups",
                # By name (an invoke-built ARN): known in every preview, unlike the instance's output.
                source_db_instance_arn=partition.arn("rds", args.source_region, args.account_id,
                                                     f"db:{args.db_instance_identifier}", parent=self),
                kms_key_id=key.arn,
                retention_period=args.db_backup_retention_days,
                opts=there)

        self.bucket = bucket.bucket
        self.register_outputs({"bucket": self.bucket, "region": args.region})


# ----------------------------------------------------------------------------------------------
# Schedule: ServiceAccount + ConfigMap + CronJob
# ----------------------------------------------------------------------------------------------


def backup_pod_spec(*, image: pulumi.Input[str], command: Sequence[str], credentials: InKubernetesSecret | None,
                    spool_gib: int, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The backup/restore pod: restricted floor, IRSA identity, config from ``backup-config``.

    ``credentials``: the Kubernetes Secret with the password, mounted as ``<CREDENTIALS_MOUNT>/password``;
    None when the job fetches the RDS master secret from Secrets Manager instead.
    ``spool_gib``: the spool emptyDir (``SPOOL_DIR``, BACKUP_SPOOL_DIR) that holds one dump while it
    is verified and uploaded (or downloaded and restored); /tmp stays small (HOME, the AWS CLI's cache).
    """
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"},  # noqa: S108 - a private emptyDir
              {"name": "spool", "mountPath": SPOOL_DIR},
              {"name": "pgpass", "mountPath": "/run/pgpass"}]
    volumes: list[dict[str, Any]] = [
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "spool", "emptyDir": {"sizeLimit": f"{spool_gib}Gi"}},
        # Memory-backed: the PGPASSFILE written at start never touches a disk.
        {"name": "pgpass", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ]
    if credentials is not None:
        mounts.append({"name": "credentials", "mountPath": CREDENTIALS_MOUNT, "readOnly": True})
        volumes.append({"name": "credentials", "secret": {
            "secretName": credentials.name, "defaultMode": 0o440, "items": [{"key": credentials.key, "path": "password"}]}})
    container = restricted_container(
        name="backup",
        image=image,
        # By tag: a node re-checks the registry, so a cached image is never used without pull rights.
        imagePullPolicy="Always",
        cpu="250m",
        memory="512Mi",
        command=list(command),
        envFrom=[{"configMapRef": {"name": CONFIGMAP}}],
        # The Pushgateway grouping key's namespace label (images/backup/common.sh push_metrics).
        env=[{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
        volumeMounts=mounts,
    )
    # No Kubernetes API token: the job never calls the API server. IRSA's webhook injects its own
    # projected token (audience sts.amazonaws.com) whatever automountServiceAccountToken says.
    # The floor's high uid, not the image's USER 70: pg_dump, psql and the AWS CLI need no passwd
    # entry (PGUSER, PGPASSFILE and HOME=/tmp are set), and fsGroup lets it read the Secret file.
    spec = restricted_pod_spec(containers=[container], service_account=SERVICE_ACCOUNT, mount_token=False,
                               restartPolicy="Never", volumes=volumes)
    return {"metadata": {"labels": {**(labels or {}), **POD_LABELS}}, "spec": spec}


@dataclass(frozen=True, kw_only=True)
class BackupScheduleArgs:
    namespace: pulumi.Input[str]
    image: pulumi.Input[str]
    """The backup image: this stack's ECR repository at an immutable tag."""
    schedule: str
    role_arn: pulumi.Input[str]
    bucket: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    postgres: PostgresConnection
    labels: Mapping[str, str]
    spool_gib: int = 1
    metrics_url: str | None = None
    """The Pushgateway (components/pushgateway.py) in a stack that installs the platform; None in a
    PR stack: it has no alerts to feed, and the manifest in the bucket is the record either way."""

    @classmethod
    def from_settings(cls, settings: Settings, *, storage: BackupStorage, image: pulumi.Input[str], kms: KmsKey,
                      namespace: pulumi.Input[str], postgres: PostgresConnection) -> BackupScheduleArgs:
        from components import pushgateway
        from components.namespaces import PlatformNamespaceNames

        metrics = pushgateway.url(PlatformNamespaceNames().monitoring) if settings.profile.installs_platform else None
        return cls(namespace=namespace, image=image, schedule=settings.profile.backups.schedule,
                   role_arn=storage.role_arn, bucket=storage.bucket, kms_key_arn=kms.arn, postgres=postgres,
                   labels=settings.labels, spool_gib=settings.profile.backups.spool_gib, metrics_url=metrics)


class BackupSchedule(pulumi.ComponentResource):
    """Creates: the ``backup`` ServiceAccount (IRSA), the ``backup-config`` ConfigMap and the CronJob."""

    def __init__(self, name: str, args: BackupScheduleArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:data:BackupSchedule", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pg = args.postgres
        labels = {**args.labels, **POD_LABELS}
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=metadata(SERVICE_ACCOUNT, args.namespace, labels,
                              annotations={"eks.amazonaws.com/role-arn": args.role_arn}),
            automount_service_account_token=False,
            opts=child,
        )
        mounted: InKubernetesSecret | None = None
        credentials: dict[str, pulumi.Input[str]]
        match pg.password:
            case InSecretsManager(secret_arn=arn):
                credentials = {"PG_SECRET_ARN": arn}
            case InKubernetesSecret() as mounted:
                credentials = {"PGPASSWORD_FILE": f"{CREDENTIALS_MOUNT}/password"}
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=metadata(CONFIGMAP, args.namespace, labels),
            data={
                "BACKUP_BUCKET": args.bucket,
                "BACKUP_PREFIX": OBJECT_PREFIX,
                "BACKUP_KMS_KEY_ARN": args.kms_key_arn,
                "AWS_REGION": region,
                "PGHOST": pg.host,
                "PGPORT": pulumi.Output.from_input(pg.port).apply(lambda p: str(int(p))),
                "PGDATABASE": pg.database,
                "PGUSER": pg.username,
                "PGSSLMODE": pg.sslmode,
                "PGPASSFILE": "/run/pgpass/pgpass",
                "BACKUP_SPOOL_DIR": SPOOL_DIR,
                **({"METRICS_URL": args.metrics_url} if args.metrics_url else {}),
                **credentials,
            },
            opts=child,
        )
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=metadata("postgres-backup", args.namespace, labels, annotations=skip_annotations(SCANNER_SKIPS)),
            spec={
                "schedule": args.schedule,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 900,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "backoffLimit": 2,
                        "activeDeadlineSeconds": 3 * 3600,
                        "ttlSecondsAfterFinished": 3 * 24 * 3600,
                        "template": backup_pod_spec(image=args.image, command=["/usr/local/bin/backup.sh"],
                                                    credentials=mounted, spool_gib=args.spool_gib,
                                                    labels=labels),
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sa, config]),
        )
        self.service_account = SERVICE_ACCOUNT
        self.register_outputs({"serviceAccount": self.service_account})
