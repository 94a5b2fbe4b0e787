"""Environment profiles and the one place stack configuration is read and validated.

Three environment classes exist: ``ephemeral`` (one per pull request), ``staging`` and
``production``. Each is a frozen, typed profile of defaults (``PROFILES``). A stack file picks a
class with ``platform:environment``, supplies the outside inputs (network, cluster, domain,
owner) and may override a few sizes. ``load()`` checks everything at once and raises
``ConfigError`` listing every problem, one line each, with the fix.

Components never ask which environment they are in: ``__main__.py`` hands them the slice of the
profile they need.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pulumi

import release_model
from release_model import TRACKS

PROJECT = "platform"
PROJECT_DIR = Path(__file__).resolve().parent
"""Where Pulumi runs the program: relative paths in the config (build contexts) start here."""
Environment = Literal["ephemeral", "staging", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("ephemeral", "staging", "production")


class ConfigError(pulumi.RunError):
    """Bad stack configuration. ``str()`` is the full, multi-line report; no traceback is shown."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            f"{len(problems)} configuration problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
        )


# --------------------------------------------------------------------------------------------
# Profiles: the environment table. Sizes are overridable per stack; security floors are not
# (they live in the components).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PostgresProfile:
    mode: Literal["managed", "in-cluster"]
    instance_class: str = ""
    """RDS instance class (managed mode only)."""
    multi_az: bool = False
    allocated_storage_gib: int
    """Initial gp3 size for RDS; the PersistentVolume size in-cluster."""
    max_allocated_storage_gib: int = 0
    """RDS storage-autoscaling ceiling (managed mode only)."""
    backup_retention_days: int = 0
    deletion_protection: bool = False
    final_snapshot: bool = False
    performance_insights: bool = False
    read_replica: bool = False
    """Managed mode: one RDS read replica of the primary (same key, parameter group and floor); its
    endpoint is the connection's ``reader_host``."""

    @property
    def in_cluster(self) -> bool:
        return self.mode == "in-cluster"


@dataclass(frozen=True, kw_only=True)
class RestoreFromSnapshot:
    """``platform:postgres.restoreFrom`` = a DB snapshot: the database is created from it."""

    snapshot: str
    """Identifier (``rds:<db>-<date>`` for an automated one) or ARN (a shared snapshot)."""


@dataclass(frozen=True, kw_only=True)
class RestoreToPointInTime:
    """``platform:postgres.restoreFrom`` = ``<source instance>@<RFC 3339 UTC time | latest>``."""

    source: str
    """DB instance identifier whose automated backups are restored (``platform-production-postgres``)."""
    time: str | None
    """UTC restore time; None: the latest restorable time."""


RestoreSource = RestoreFromSnapshot | RestoreToPointInTime


@dataclass(frozen=True, kw_only=True)
class RedisProfile:
    mode: Literal["managed", "in-cluster"]
    node_type: str = ""
    shards: int = 1
    replicas_per_shard: int = 0
    snapshot_retention_days: int = 0
    final_snapshot: bool = False
    """Managed mode: snapshot the cache when the replication group is deleted."""

    @property
    def in_cluster(self) -> bool:
        return self.mode == "in-cluster"

    @property
    def multi_az(self) -> bool:
        """Automatic failover and Multi-AZ whenever there is a replica to fail over to."""
        return self.mode == "managed" and self.replicas_per_shard > 0


@dataclass(frozen=True, kw_only=True)
class RegistryProfile:
    immutable_tags: bool
    force_delete: bool
    """Ephemeral repositories are deleted with their images so teardown never fails."""
    untagged_expiry_days: int = 3
    keep_tagged_images: int = 30


@dataclass(frozen=True, kw_only=True)
class BackupProfile:
    retention_days: int
    force_destroy: bool
    retain_on_delete: bool
    schedule: str = "0 2 * * *"
    """Daily at 02:00 UTC (CronJob timeZone is set to Etc/UTC)."""
    object_lock: bool = False
    """Object Lock (GOVERNANCE) for the whole retention: nobody deletes or overwrites a backup early."""
    cross_region_copy: bool = False
    """Backup objects replicated to a bucket in ``platform:backups.replicaRegion`` (own key, same
    Object Lock retention), and the RDS automated backups replicated there too."""
    spool_gib: int = 1
    """The backup pod's spool volume (BACKUP_SPOOL_DIR): the dump is written, verified and hashed
    there before the upload, so it must hold one compressed dump of the database."""
    drill_schedule: str | None = "0 6 * * 0"
    """The restore drill's CronJob schedule (UTC; components/drills.py); None: no drills (a visible
    opt-out). Weekly, Sunday 06:00: after the nightly backup's latest end (02:00 + its 3 h deadline),
    so the drill restores that night's dump and never runs beside the backup job."""

    @property
    def drills(self) -> bool:
        return self.drill_schedule is not None

    @property
    def drill_gib(self) -> int:
        """The drill pod's scratch volume (DRILL_DIR): the dump (at most ``spool_gib``) plus the
        database restored from it, taken as twice the spool (a custom-format dump is compressed)."""
        return 3 * self.spool_gib

    @property
    def object_lock_days(self) -> int:
        """Default Object Lock retention; 0 = none."""
        return self.retention_days if self.object_lock else 0

    @property
    def log_retention_days(self) -> int:
        """The data stores' CloudWatch log retention: at least the backup retention, rounded up to
        a value CloudWatch Logs accepts (it refuses e.g. 10 or 45; policies/constraints.py)."""
        from policies.constraints import log_retention_at_least

        return log_retention_at_least(self.retention_days)


@dataclass(frozen=True, kw_only=True)
class GatewayProfile:
    replicas: int
    disruption_budget: bool
    rate_limit_per_minute: int = 100


@dataclass(frozen=True, kw_only=True)
class AppProfile:
    replicas: int
    """Spread over nodes; a PodDisruptionBudget keeps one up during drains when replicas > 1. Also the
    HorizontalPodAutoscaler's floor, so the budget always has the replicas it counts on."""
    max_replicas: int
    """The autoscaler's ceiling (CPU and memory); equal to ``replicas``: no autoscaler."""

    @property
    def autoscales(self) -> bool:
        return self.max_replicas > self.replicas


@dataclass(frozen=True, kw_only=True)
class ReleaseProfile:
    """Blue/green releases (docs/blue-green.md): how many app tracks run and how traffic moves."""

    tracks: Literal[1, 2]
    """1: one Deployment, no weights (PR stacks); 2: ``blue`` and ``green`` behind weighted routes."""
    steps: tuple[int, ...] = (100,)
    """The candidate's traffic share per ``release promote`` (``platform:release.steps`` overrides)."""
    rollback_window_minutes: int = 0
    """How long the workflow watches the error-rate alert after a step before it is done."""
    idle_replicas: int | None = 0
    """Replicas of the track carrying no traffic; None: as many as the active track (fully warm)."""


@dataclass(frozen=True, kw_only=True)
class CertificateProfile:
    issuer: Literal["preview-wildcard", "letsencrypt-staging", "letsencrypt-production"]
    """The ACME directory of the stack's own hosts (HTTP-01), or ``preview-wildcard``: a PR stack has
    no certificate of its own; its host is served under the shared ``*.preview.<domain>`` wildcard."""
    previews: Literal["letsencrypt-production"] | None = None
    """Where the stack that hosts PR environments gets the preview wildcard (DNS-01 through Route53):
    always Let's Encrypt production, so reviewers get a trusted certificate; one certificate renewed
    every ~60 days stays far below the 50-certificates-per-domain-per-week limit."""

    @property
    def acme_server(self) -> str | None:
        return ACME_SERVERS.get(self.issuer)

    @property
    def preview_acme_server(self) -> str | None:
        return None if self.previews is None else ACME_SERVERS[self.previews]


ACME_SERVERS = {
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
}


@dataclass(frozen=True, kw_only=True)
class PrometheusProfile:
    retention_days: int
    storage_gib: int
    """0 means no PersistentVolume (emptyDir): metrics are lost with the pod."""
    replicas: int = 1


@dataclass(frozen=True, kw_only=True)
class NodeLogsProfile:
    """Container and node logs Fluent Bit ships to the stack's CloudWatch Logs group (components/nodeagents.py)."""

    retention_days: int
    """A value CloudWatch Logs accepts (policies/constraints.py LOG_RETENTION_DAYS); checked here."""

    def __post_init__(self) -> None:
        from policies.constraints import LOG_RETENTION_DAYS

        if self.retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"NodeLogsProfile.retention_days={self.retention_days}: CloudWatch Logs accepts only "
                             f"{', '.join(map(str, LOG_RETENTION_DAYS))}")


@dataclass(frozen=True, kw_only=True)
class QuotaProfile:
    cpu: int
    memory_gib: int


@dataclass(frozen=True, kw_only=True)
class Profile:
    environment: Environment
    postgres: PostgresProfile
    redis: RedisProfile
    registry: RegistryProfile
    backups: BackupProfile
    gateway: GatewayProfile
    app: AppProfile
    release: ReleaseProfile
    certificates: CertificateProfile
    prometheus: PrometheusProfile
    quota: QuotaProfile
    node_logs: NodeLogsProfile | None
    """None: the stack runs on a cluster whose platform stack ships its logs (PR stacks: staging's group)."""
    protect_data: bool
    """Pulumi ``protect`` on data stores and the backup bucket: a destroy must be deliberate."""
    installs_platform: bool
    """Installs the cluster-wide platform (Envoy Gateway, cert-manager, monitoring) and the account's
    ECR pull-through cache rule. PR stacks run on staging's cluster and account and use what staging
    installed: two copies of an operator (or of the rule) cannot coexist."""
    hosts_pr_environments: bool = False
    """Its cluster and account host the pull-request stacks (``ephemeral config --base`` inherits from it)."""
    kms_deletion_window_days: int = 7
    """Days a scheduled key deletion can still be cancelled (30 in production: time to notice)."""
    ttl_hours: int | None = None
    """Ephemeral stacks expire; the reaper destroys them after this many hours."""

    @property
    def log_retention_days(self) -> int:
        """Data-store logs (RDS exports, slow log) are kept at least as long as the backups, in a
        value CloudWatch Logs accepts (``BackupProfile.log_retention_days``)."""
        return self.backups.log_retention_days


PROFILES: Mapping[Environment, Profile] = {
    "ephemeral": Profile(
        environment="ephemeral",
        # In-cluster data stores: a PR environment is up in minutes and gone without a trace.
        postgres=PostgresProfile(mode="in-cluster", allocated_storage_gib=5),
        redis=RedisProfile(mode="in-cluster"),
        # Immutable here too: CI tags every PR image with its commit SHA, so a tag is never reused
        # and a pushed image can never be swapped under a running pod.
        registry=RegistryProfile(immutable_tags=True, force_delete=True, untagged_expiry_days=1),
        # No restore drills: a PR stack's data is disposable and it has no Pushgateway or alerts.
        backups=BackupProfile(retention_days=1, force_destroy=True, retain_on_delete=False, drill_schedule=None),
        gateway=GatewayProfile(replicas=1, disruption_budget=False),
        app=AppProfile(replicas=1, max_replicas=1),
        release=ReleaseProfile(tracks=1),
        certificates=CertificateProfile(issuer="preview-wildcard"),
        prometheus=PrometheusProfile(retention_days=1, storage_gib=0),
        quota=QuotaProfile(cpu=2, memory_gib=4),
        node_logs=None,
        protect_data=False,
        installs_platform=False,
        ttl_hours=72,
    ),
    "staging": Profile(
        environment="staging",
        postgres=PostgresProfile(
            mode="managed",
            instance_class="db.t4g.medium",
            multi_az=False,
            allocated_storage_gib=50,
            max_allocated_storage_gib=200,
            backup_retention_days=7,
            deletion_protection=True,
            # Explicit opt-out: staging data is reproducible from production-like fixtures, and
            # deletion protection already makes a delete deliberate.
            final_snapshot=False,
            performance_insights=False,
        ),
        redis=RedisProfile(
            mode="managed",
            node_type="cache.t4g.small",
            shards=1,
            replicas_per_shard=1,
            snapshot_retention_days=1,
        ),
        registry=RegistryProfile(immutable_tags=True, force_delete=False),
        backups=BackupProfile(retention_days=7, force_destroy=False, retain_on_delete=False, spool_gib=8),
        gateway=GatewayProfile(replicas=2, disruption_budget=False),
        app=AppProfile(replicas=2, max_replicas=4),
        release=ReleaseProfile(tracks=2, steps=(50, 100), rollback_window_minutes=10, idle_replicas=1),
        certificates=CertificateProfile(issuer="letsencrypt-staging", previews="letsencrypt-production"),
        prometheus=PrometheusProfile(retention_days=7, storage_gib=20),
        quota=QuotaProfile(cpu=8, memory_gib=16),
        node_logs=NodeLogsProfile(retention_days=14),
        protect_data=False,
        installs_platform=True,
        hosts_pr_environments=True,
    ),
    "production": Profile(
        environment="production",
        postgres=PostgresProfile(
            mode="managed",
            instance_class="db.r6g.large",
            multi_az=True,
            allocated_storage_gib=100,
            max_allocated_storage_gib=1000,
            backup_retention_days=30,
            deletion_protection=True,
            final_snapshot=True,
            performance_insights=True,
            read_replica=True,
        ),
        redis=RedisProfile(
            mode="managed",
            node_type="cache.r6g.large",
            shards=3,
            replicas_per_shard=2,
            snapshot_retention_days=7,
            final_snapshot=True,
        ),
        registry=RegistryProfile(immutable_tags=True, force_delete=False),
        backups=BackupProfile(retention_days=30, force_destroy=False, retain_on_delete=True, object_lock=True,
                              cross_region_copy=True, spool_gib=32),
        gateway=GatewayProfile(replicas=3, disruption_budget=True),
        app=AppProfile(replicas=3, max_replicas=10),
        # The old track stays fully warm: a rollback moves traffic back without waiting for pods.
        release=ReleaseProfile(tracks=2, steps=(10, 50, 100), rollback_window_minutes=15, idle_replicas=None),
        certificates=CertificateProfile(issuer="letsencrypt-production"),
        prometheus=PrometheusProfile(retention_days=30, storage_gib=100, replicas=2),
        quota=QuotaProfile(cpu=32, memory_gib=64),
        node_logs=NodeLogsProfile(retention_days=90),
        protect_data=True,
        installs_platform=True,
        kms_deletion_window_days=30,
    ),
}


# --------------------------------------------------------------------------------------------
# Loaded settings: the profile (with stack overrides applied) plus the outside inputs.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    name: str
    oidc_provider_arn: str
    oidc_provider_url: str
    """Issuer URL without scheme, e.g. ``oidc.eks.eu-west-1.amazonaws.com/id/ABC``."""
    node_security_group_id: str
    node_role_arn: str


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    build_context: str | None
    port: int
    metrics_port: int
    health_path: str


@dataclass(frozen=True, kw_only=True)
class TrackSettings:
    """One app track as the program runs it."""

    name: str
    image: str | None
    """``platform:release.<track>Image``; None: bootstrap's shared ``platform/app`` image at
    ``platform:imageTag`` in ``platform:registryAccount``, looked up at plan time and run by digest."""
    replicas: int
    weight: int | None
    """Share of the app route's traffic; None with a single track (no weights, no header route)."""


@dataclass(frozen=True, kw_only=True)
class ReleaseSettings:
    """The release state (``tools release`` writes it) resolved against the profile."""

    active: str
    candidate_weight: int
    steps: tuple[int, ...]
    rollback_window_minutes: int
    tracks: tuple[TrackSettings, ...]
    """Two tracks (blue, green), or only the active one in a single-track profile."""

    @property
    def weights(self) -> dict[str, int]:
        return {t.name: 100 if t.weight is None else t.weight for t in self.tracks}


def release_settings(profile: Profile, values: Mapping[str, Any]) -> ReleaseSettings:
    """Replicas per track: the profile's for the active track and a track carrying traffic, the
    profile's idle replicas for the other one."""
    name = release_model.config_name
    state = release_model.ReleaseState(active=values.get(name(release_model.KEY_ACTIVE), "blue"),
                                       candidate_weight=values.get(name(release_model.KEY_WEIGHT), 0),
                                       images={t: values[name(k)] for t, k in release_model.IMAGE_KEYS.items()
                                               if name(k) in values})
    rp, full = profile.release, profile.app.replicas
    idle = full if rp.idle_replicas is None else rp.idle_replicas
    names = TRACKS if rp.tracks == 2 else (state.active,)
    tracks = tuple(TrackSettings(
        name=t, image=state.images.get(t),
        replicas=full if t == state.active or state.weights[t] else idle,
        weight=state.weights[t] if rp.tracks == 2 else None) for t in names)
    steps = tuple(values.get(name(release_model.KEY_STEPS), rp.steps))
    return ReleaseSettings(active=state.active, candidate_weight=state.candidate_weight, steps=steps,
                           rollback_window_minutes=rp.rollback_window_minutes, tracks=tracks)


@dataclass(frozen=True, kw_only=True)
class AlertingSettings:
    slack_webhook_url: pulumi.Output[str] | None
    slack_channel: str
    pagerduty_routing_key: pulumi.Output[str] | None


@dataclass(frozen=True, kw_only=True)
class Settings:
    project: str
    stack: str
    environment: Environment
    profile: Profile
    region: str
    account_id_hint: str | None
    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    cluster: ClusterSettings
    kubeconfig: pulumi.Output[str] | None
    kube_context: str | None
    domain: str
    hosted_zone_id: str | None
    """Route53 zone of ``domain`` (the stacks that install the platform; PR stacks use staging's)."""
    acme_email: str
    owner: str
    cost_center: str
    image_tag: str
    registry_account: str | None
    """``platform:registryAccount``: the account whose ECR holds bootstrap's shared ``platform/<service>``
    repositories (production pulls the build account's images); None: this stack's own account."""
    services: tuple[str, ...]
    app: AppSettings
    release: ReleaseSettings
    alerting: AlertingSettings
    pr: int | None = None
    expires_at: str | None = None
    postgres_restore: RestoreSource | None = None
    """``platform:postgres.restoreFrom``: the managed database is created from this (docs/restore.md)."""
    backup_replica_region: str | None = None
    """``platform:backups.replicaRegion``: where the profile's cross-region copy goes (None: no copy)."""

    @property
    def name(self) -> str:
        """Prefix for physical names: ``platform-staging``, ``platform-pr-42``."""
        return f"{self.project}-{self.stack}"

    @property
    def app_namespace(self) -> str:
        return f"pr-{self.pr}" if self.environment == "ephemeral" else "app"

    @property
    def app_host(self) -> str:
        if self.environment == "production":
            return f"app.{self.domain}"
        if self.environment == "staging":
            return f"staging.{self.domain}"
        return f"pr-{self.pr}.{self.preview_domain}"

    @property
    def preview_domain(self) -> str:
        """PR environments' hosts live under it, served by one wildcard listener on staging's Gateway."""
        return f"preview.{self.domain}"

    @property
    def grafana_host(self) -> str | None:
        """Grafana is served by the stacks that install the platform."""
        if not self.profile.installs_platform:
            return None
        return f"grafana.{self.domain}" if self.environment == "production" else f"grafana-{self.stack}.{self.domain}"

    @property
    def extra_hosts(self) -> dict[str, str]:
        """HTTPS listeners besides the app's, by listener name: Grafana where it is served."""
        return {"grafana": self.grafana_host} if self.grafana_host else {}

    @property
    def gateway_namespace(self) -> str:
        """Where the Gateway this stack's routes attach to lives: the shared ``gateway`` namespace,
        created by the stack that installs the platform (a PR stack only attaches to it)."""
        return "gateway"

    @property
    def tags(self) -> dict[str, str]:
        """Tags for every taggable AWS resource (one model, merged into every child)."""
        tags = {
            "environment": self.environment,
            "project": self.project,
            "stack": self.stack,
            "owner": self.owner,
            "cost-center": self.cost_center,
            "managed-by": "pulumi",
        }
        if self.pr is not None:
            tags["pr"] = str(self.pr)
        if self.expires_at is not None:
            tags["expires-at"] = self.expires_at
        return tags

    @property
    def labels(self) -> dict[str, str]:
        """Kubernetes labels from the same model (label values cannot hold ':' or '+')."""
        labels = {
            "app.kubernetes.io/part-of": self.project,
            "app.kubernetes.io/managed-by": "pulumi",
            "platform.example.com/environment": self.environment,
            "platform.example.com/stack": self.stack,
            "platform.example.com/owner": _label_value(self.owner),
            "platform.example.com/cost-center": _label_value(self.cost_center),
        }
        if self.pr is not None:
            labels["platform.example.com/pr"] = str(self.pr)
        if self.expires_at is not None:
            labels["platform.example.com/expires-at"] = _label_value(self.expires_at)
        return labels


def _label_value(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63].strip("-_.")


# --------------------------------------------------------------------------------------------
# The config schema: every key the program reads. Pulumi.yaml is checked against it by a test.
# --------------------------------------------------------------------------------------------

Check = Callable[[Any], str | None]
"""Returns None when the value is fine, else what is allowed (e.g. 'an integer from 1 to 5')."""


@dataclass(frozen=True, kw_only=True)
class Key:
    name: str
    type: Literal["string", "integer", "boolean", "array"]
    description: str
    example: str
    secret: bool = False
    required: tuple[Environment, ...] = ()
    check: Check | None = None
    profile_field: str | None = None
    """Dotted path of the profile field this key overrides, e.g. ``postgres.instance_class``."""
    items: Literal["string", "integer"] = "string"
    """``array`` keys: the type every item must have (names are strings; traffic steps integers)."""


def _pattern(regex: str, allowed: str) -> Check:
    compiled = re.compile(regex)
    return lambda v: None if isinstance(v, str) and compiled.fullmatch(v) else allowed


def _int_range(low: int, high: int) -> Check:
    return lambda v: None if low <= v <= high else f"an integer from {low} to {high}"


_DNS_NAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_SUBNET_IDS = _pattern(r"subnet-[0-9a-f]{8,17}", "")


def _subnets(value: list[Any]) -> str | None:
    if len(value) < 2 or len(set(value)) != len(value):
        return "at least two distinct private subnet ids (in different AZs)"
    bad = [v for v in value if _SUBNET_IDS(v) is not None]
    return f"subnet ids like subnet-0abc1234 (bad: {bad})" if bad else None


def _services(value: list[Any]) -> str | None:
    if not all(isinstance(v, str) and re.fullmatch(r"[a-z][a-z0-9-]{0,30}", v) for v in value):
        return "a list of lower-case service names"
    if not {"app", "backup"} <= set(value) or len(set(value)) != len(value):
        return "distinct service names including 'app' and 'backup'"
    return None


def _steps(value: list[Any]) -> str | None:
    allowed = "strictly increasing whole percentages ending at 100, e.g. [10, 50, 100]"
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return allowed
    try:
        release_model.validate_steps(value)
    except release_model.ReleaseError:
        return allowed
    return None


def _image(value: str) -> str | None:
    return release_model.image_problem(value, digest_only=False)


_RESTORE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SNAPSHOT_ARN = re.compile(r"arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:snapshot:(?P<id>.+)")
RESTORE_FROM_FORMS = ("a DB snapshot identifier (rds:<instance>-<date> for an automated snapshot) or a shared "
                      "snapshot's ARN, or <source instance>@<UTC time like 2026-11-30T23:45:00Z> or "
                      "<source instance>@latest for a point-in-time restore")


def restore_source(value: str) -> RestoreSource:
    """The parsed form of a ``postgres.restoreFrom`` value ``_restore_from`` accepted."""
    source, at, time = value.partition("@")
    if at:
        return RestoreToPointInTime(source=source, time=None if time == "latest" else time)
    return RestoreFromSnapshot(snapshot=value)


def _restore_from(value: str, *, now: datetime.datetime | None = None) -> str | None:
    """RDS's own rules (policies/constraints.py, botocore): snapshot and instance identifiers; the
    restore time in UTC, in the past and within the longest automated-backup retention RDS allows."""
    from policies.constraints import BACKUP_RETENTION_DAYS, name_problems

    match restore_source(value):
        case RestoreFromSnapshot(snapshot=snapshot):
            arn = _SNAPSHOT_ARN.fullmatch(snapshot)
            name = arn.group("id") if arn else snapshot.removeprefix("rds:")
            bad = name_problems("rds-snapshot", name)
            return f"{RESTORE_FROM_FORMS}; the snapshot identifier {bad[0]}" if bad else None
        case RestoreToPointInTime(source=source, time=time):
            bad = name_problems("rds-instance", source)
            if bad:
                return f"{RESTORE_FROM_FORMS}; the source instance {source!r} {bad[0]}"
            if time is None:
                return None
            if not _RESTORE_TIME.fullmatch(time):
                return f"{RESTORE_FROM_FORMS}; {time!r} is not a UTC time like 2026-11-30T23:45:00Z"
            try:
                when = datetime.datetime.fromisoformat(time.replace("Z", "+00:00"))
            except ValueError:
                return f"{RESTORE_FROM_FORMS}; {time!r} is not a valid time"
            now = now or datetime.datetime.now(datetime.UTC)
            oldest = now - datetime.timedelta(days=BACKUP_RETENTION_DAYS[1])
            if when > now:
                return f"a restore time in the past (now is {now:%Y-%m-%dT%H:%M:%SZ}), or <source>@latest"
            if when < oldest:
                return (f"a restore time after {oldest:%Y-%m-%dT%H:%M:%SZ}: RDS keeps automated backups for at most "
                        f"{BACKUP_RETENTION_DAYS[1]} days; restore an older state from a snapshot instead")
    return None


def _replica_region(value: str) -> str | None:
    from policies.constraints import KNOWN_REGIONS

    return None if value in KNOWN_REGIONS else "a region botocore knows (policies/aws_shapes.json), e.g. eu-central-1"


_R = release_model.config_name

KEYS: tuple[Key, ...] = (
    Key(name="environment", type="string", required=ENVIRONMENTS, example="staging",
        description="Environment class: ephemeral, staging or production. Selects the profile.",
        check=lambda v: None if v in ENVIRONMENTS else "one of ephemeral, staging, production"),
    Key(name="owner", type="string", required=ENVIRONMENTS, example="team-platform",
        description="Owning team; tagged on every resource.",
        check=_pattern(r"[A-Za-z0-9][A-Za-z0-9 ._@-]{0,127}", "a team name (letters, digits, . _ @ -)")),
    Key(name="costCenter", type="string", required=ENVIRONMENTS, example="cc-1234",
        description="Cost centre; tagged on every resource.",
        check=_pattern(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", "a cost-centre code like cc-1234")),
    Key(name="vpcId", type="string", required=ENVIRONMENTS, example="vpc-0a1b2c3d4e5f60718",
        description="VPC that holds the cluster and the data stores.",
        check=_pattern(r"vpc-[0-9a-f]{8,17}", "a VPC id like vpc-0a1b2c3d")),
    Key(name="privateSubnetIds", type="array", required=ENVIRONMENTS,
        example='["subnet-0a1b2c3d","subnet-0e4f5a6b"]',
        description="Private subnets (two or more AZs) for RDS and ElastiCache subnet groups.",
        check=_subnets),
    Key(name="cluster.name", type="string", required=ENVIRONMENTS, example="platform-staging",
        description="EKS cluster name.",
        check=_pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}", "an EKS cluster name")),
    Key(name="cluster.oidcProviderArn", type="string", required=ENVIRONMENTS,
        example="arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        description="ARN of the cluster's IAM OIDC provider (IRSA).",
        check=_pattern(r"arn:aws[a-z-]*:iam::\d{12}:oidc-provider/.+", "an IAM OIDC provider ARN")),
    Key(name="cluster.oidcProviderUrl", type="string", required=ENVIRONMENTS,
        example="oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        description="Cluster OIDC issuer without https://, used in IRSA trust conditions.",
        check=_pattern(r"[a-z0-9.-]+\.amazonaws\.com(\.cn)?/id/[A-Za-z0-9]+",
                       "the issuer host/path without https://, e.g. oidc.eks.<region>.amazonaws.com/id/<ID>")),
    Key(name="cluster.nodeSecurityGroupId", type="string", required=ENVIRONMENTS,
        example="sg-0a1b2c3d4e5f60718",
        description="Security group of the cluster nodes; the only source admitted to the data stores.",
        check=_pattern(r"sg-[0-9a-f]{8,17}", "a security group id like sg-0a1b2c3d")),
    Key(name="cluster.nodeRoleArn", type="string", required=ENVIRONMENTS,
        example="arn:aws:iam::123456789012:role/platform-staging-nodes",
        description="IAM role of the cluster nodes; allowed to pull from ECR.",
        check=_pattern(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", "an IAM role ARN")),
    Key(name="kubeconfig", type="string", secret=True, example="<kubeconfig YAML>",
        description="Kubeconfig for the cluster (secret). Set this or kubeContext, not both."),
    Key(name="kubeContext", type="string", example="arn:aws:eks:eu-west-1:123456789012:cluster/platform-staging",
        description="Context name in the ambient kubeconfig. Set this or kubeconfig, not both.",
        check=_pattern(r"\S{1,253}", "a kubeconfig context name")),
    Key(name="domain", type="string", required=ENVIRONMENTS, example="example.com",
        description="Base DNS domain; hosts are app.<domain>, staging.<domain>, pr-<n>.preview.<domain>.",
        check=_pattern(_DNS_NAME, "a lower-case DNS name like example.com")),
    Key(name="dns.hostedZoneId", type="string", required=("staging", "production"), example="Z0123456789ABCDEFGHIJ",
        description="Route53 public hosted zone of the domain; external-dns may change records only in this zone.",
        check=_pattern(r"Z[A-Z0-9]{1,31}", "a Route53 hosted zone id like Z0123456789ABCDEFGHIJ")),
    Key(name="acmeEmail", type="string", required=("staging", "production"), example="platform@example.com",
        description="Contact e-mail for the Let's Encrypt account (staging and production).",
        check=_pattern(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", "an e-mail address")),
    Key(name="imageTag", type="string", required=ENVIRONMENTS, example="3f2c1a9",
        description="Tag of the images built and deployed (the git SHA in CI). Never 'latest'.",
        check=lambda v: "an immutable tag such as a git SHA or 1.2.3, not 'latest'"
        if v == "latest" or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", v) else None),
    Key(name="registryAccount", type="string", example="123456789012",
        description="AWS account whose ECR holds bootstrap's shared platform/<service> repositories (a track "
                    "without a release image runs platform/app:<imageTag> from there, by digest); default: this "
                    "stack's account. Production names the build (staging) account.",
        check=_pattern(r"\d{12}", "a 12-digit AWS account id like 123456789012")),
    Key(name="services", type="array", example='["app","backup"]',
        description="ECR repositories to create; must include app and backup.",
        check=_services),
    Key(name="app.buildContext", type="string", example="../app",
        description="Docker build context of the application image (relative to the project directory); unset "
                    "when the app's own CI pushes it.",
        check=lambda v: None if re.fullmatch(r"\S+", v) and (PROJECT_DIR / v / "Dockerfile").is_file()
        else "a directory with a Dockerfile, relative to the project directory"),
    Key(name="app.port", type="integer", example="8080", description="Application HTTP port.",
        check=_int_range(1024, 65535)),
    Key(name="app.metricsPort", type="integer", example="9090",
        description="Application Prometheus metrics port.", check=_int_range(1024, 65535)),
    Key(name="app.healthPath", type="string", example="/healthz",
        description="HTTP path of the application's health endpoint.",
        check=_pattern(r"/[A-Za-z0-9/_.-]*", "an absolute URL path like /healthz")),
    Key(name="alerting.slackWebhookUrl", type="string", secret=True, example="https://hooks.slack.com/services/...",
        description="Slack incoming-webhook URL for Alertmanager (secret)."),
    Key(name="alerting.slackChannel", type="string", example="#alerts",
        description="Slack channel for warnings.", check=_pattern(r"#[a-z0-9_-]{1,80}", "a channel like #alerts")),
    Key(name="alerting.pagerdutyRoutingKey", type="string", secret=True, example="<routing key>",
        description="PagerDuty Events v2 routing key; critical alerts page (secret)."),
    Key(name="pr", type="integer", required=("ephemeral",), example="42",
        description="Pull-request number of an ephemeral stack.", check=_int_range(1, 10_000_000)),
    Key(name="expiresAt", type="string", required=("ephemeral",), example="2026-11-25T12:00:00Z",
        description="UTC expiry of an ephemeral stack (RFC 3339); the reaper destroys it afterwards.",
        check=_pattern(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "a UTC timestamp like 2026-11-25T12:00:00Z")),
    # Blue/green release state (docs/blue-green.md): written by `python -m tools release`, never by hand.
    Key(name=_R(release_model.KEY_ACTIVE), type="string", example="blue",
        description="Release: the track serving users when stable (blue or green; default blue).",
        check=lambda v: None if v in TRACKS else "blue or green"),
    Key(name=_R(release_model.KEY_WEIGHT), type="integer", example="10",
        description="Release: the idle track's share of traffic, 0..99 (default 0).", check=_int_range(0, 99)),
    *(Key(name=_R(key), type="string", example=f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:{'0' * 64}",
          description=f"Release: the {track} track's image, by digest (a tag only in ephemeral stacks).", check=_image)
      for track, key in release_model.IMAGE_KEYS.items()),
    Key(name=_R(release_model.KEY_STEPS), type="array", items="integer", example="[10, 50, 100]",
        description="Release: the candidate's traffic share per promote step (default: the profile's).", check=_steps),
    # Profile overrides: sizes only. Security floors are not configurable.
    Key(name="postgres.instanceClass", type="string", example="db.r6g.large", profile_field="postgres.instance_class",
        description="RDS instance class (managed Postgres).",
        check=_pattern(r"db\.[a-z0-9]+\.[a-z0-9]+", "an RDS instance class like db.r6g.large")),
    Key(name="postgres.multiAz", type="boolean", example="true", profile_field="postgres.multi_az",
        description="Run RDS Multi-AZ (always on in production)."),
    Key(name="postgres.allocatedStorageGib", type="integer", example="100", profile_field="postgres.allocated_storage_gib",
        description="Initial Postgres storage in GiB.", check=_int_range(5, 65536)),
    Key(name="postgres.maxAllocatedStorageGib", type="integer", example="1000",
        profile_field="postgres.max_allocated_storage_gib",
        description="RDS storage-autoscaling ceiling in GiB.", check=_int_range(20, 65536)),
    Key(name="postgres.backupRetentionDays", type="integer", example="30", profile_field="postgres.backup_retention_days",
        description="RDS automated backup retention in days.", check=_int_range(1, 35)),
    Key(name="redis.nodeType", type="string", example="cache.r6g.large", profile_field="redis.node_type",
        description="ElastiCache node type.",
        check=_pattern(r"cache\.[a-z0-9]+\.[a-z0-9]+", "an ElastiCache node type like cache.r6g.large")),
    Key(name="redis.shards", type="integer", example="3", profile_field="redis.shards",
        description="ElastiCache shards (node groups).", check=_int_range(1, 500)),
    Key(name="redis.replicasPerShard", type="integer", example="2", profile_field="redis.replicas_per_shard",
        description="Replicas per shard.", check=_int_range(0, 5)),
    Key(name="redis.snapshotRetentionDays", type="integer", example="7", profile_field="redis.snapshot_retention_days",
        description="ElastiCache snapshot retention in days.", check=_int_range(0, 35)),
    Key(name="postgres.readReplica", type="boolean", example="true", profile_field="postgres.read_replica",
        description="One RDS read replica of the primary (managed Postgres; on in production). Its endpoint is "
                    "PGHOST_READER in the postgres-connection ConfigMap."),
    Key(name="postgres.restoreFrom", type="string", example="platform-production-postgres@2026-11-30T23:45:00Z",
        description="Create the RDS database from a backup (docs/restore.md): a DB snapshot identifier or shared "
                    "snapshot ARN, or <source instance>@<UTC time> / <source instance>@latest for a point-in-time "
                    "restore. The restored instance keeps the source's KMS key: restore from a snapshot copied into "
                    "this stack's key (aws rds copy-db-snapshot --kms-key-id alias/platform-<stack>).",
        check=_restore_from),
    Key(name="backups.replicaRegion", type="string", example="eu-central-1",
        description="Second region for the cross-region backup copy (production): the backup bucket is replicated "
                    "there and the RDS automated backups too. Same partition as aws:region, not aws:region itself.",
        check=_replica_region),
    Key(name="backups.retentionDays", type="integer", example="30", profile_field="backups.retention_days",
        description="Days a backup object (current and noncurrent) is kept.", check=_int_range(1, 3650)),
    Key(name="gateway.replicas", type="integer", example="3", profile_field="gateway.replicas",
        description="Gateway (Envoy) replicas.", check=_int_range(1, 20)),
    Key(name="gateway.rateLimitPerMinute", type="integer", example="100", profile_field="gateway.rate_limit_per_minute",
        description="Requests per minute allowed per client IP.", check=_int_range(1, 1_000_000)),
    Key(name="app.replicas", type="integer", example="3", profile_field="app.replicas",
        description="Application replicas (the autoscaler's minimum).", check=_int_range(1, 50)),
    Key(name="app.maxReplicas", type="integer", example="10", profile_field="app.max_replicas",
        description="Autoscaler ceiling for the application (CPU and memory); at least app.replicas.",
        check=_int_range(1, 100)),
    Key(name="prometheus.retentionDays", type="integer", example="30", profile_field="prometheus.retention_days",
        description="Prometheus retention in days.", check=_int_range(1, 365)),
    Key(name="prometheus.storageGib", type="integer", example="100", profile_field="prometheus.storage_gib",
        description="Prometheus volume in GiB (0 = no volume).", check=_int_range(0, 16384)),
    Key(name="prometheus.replicas", type="integer", example="2", profile_field="prometheus.replicas",
        description="Prometheus replicas.", check=_int_range(1, 5)),
    Key(name="quota.cpu", type="integer", example="8", profile_field="quota.cpu",
        description="CPU cores allowed in the application namespace.", check=_int_range(1, 1024)),
    Key(name="quota.memoryGib", type="integer", example="16", profile_field="quota.memory_gib",
        description="Memory (GiB) allowed in the application namespace.", check=_int_range(1, 4096)),
)
KEYS_BY_NAME: Mapping[str, Key] = {k.name: k for k in KEYS}
_GROUPS = {k.name.split(".")[0] for k in KEYS if "." in k.name}
PROVIDER_NAMESPACES = frozenset({"aws", "kubernetes", "docker", "random", "tls", "pulumi"})
"""Config namespaces that belong to the providers in requirements.txt (and ``pulumi:`` itself)."""

_DEFAULTS: Mapping[str, Any] = {
    "services": ["app", "backup"],
    "app.port": 8080,
    "app.metricsPort": 9090,
    "app.healthPath": "/healthz",
    "alerting.slackChannel": "#alerts",
}


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load() -> Settings:
    """Reads the running stack's configuration (real engine or mocks) and validates it."""
    raw = _raw_config()
    return parse(raw, stack=pulumi.get_stack(), project=pulumi.get_project(),
                 secret_keys={k for k in raw if pulumi.runtime.is_config_secret(k)})


def _raw_config() -> dict[str, Any]:
    raw = dict(pulumi.runtime.config.get_config_env())
    raw.update(pulumi.runtime.config.CONFIG.get())
    return raw


def parse(raw: Mapping[str, Any], *, stack: str, project: str = PROJECT,
          secret_keys: set[str] | frozenset[str] = frozenset()) -> Settings:
    """Validates engine-shaped config (``{"platform:key": "string value"}``) into ``Settings``."""
    ctx = _Context(stack=stack, project=project, secret_keys=set(secret_keys))
    values = ctx.collect(raw)

    env = values.get("environment")
    if env not in ENVIRONMENTS:
        if "environment" not in values and "environment" not in ctx.bad:
            ctx.problem("environment", None, "one of ephemeral, staging, production",
                        "required in every stack file")
        raise ConfigError(ctx.problems)

    for key in KEYS:
        if env in key.required and key.name not in values and key.name not in ctx.bad:
            ctx.problem(key.name, None, f"a value ({key.description})",
                        f"required for {env} stacks")
    profile = _apply_overrides(PROFILES[env], values)
    _cross_checks(ctx, env, values, profile)
    _aws_constraint_problems(ctx, values, profile)
    if ctx.problems:
        raise ConfigError(ctx.problems)

    def get(name: str) -> Any:
        return values.get(name, _DEFAULTS.get(name))

    def secret(name: str) -> pulumi.Output[str] | None:
        value = values.get(name)
        return None if value is None else pulumi.Output.secret(value)

    return Settings(
        project=project,
        stack=stack,
        environment=env,
        profile=profile,
        region=values["aws:region"],
        account_id_hint=values["cluster.oidcProviderArn"].split(":")[4],
        vpc_id=values["vpcId"],
        private_subnet_ids=tuple(values["privateSubnetIds"]),
        cluster=ClusterSettings(
            name=values["cluster.name"],
            oidc_provider_arn=values["cluster.oidcProviderArn"],
            oidc_provider_url=values["cluster.oidcProviderUrl"],
            node_security_group_id=values["cluster.nodeSecurityGroupId"],
            node_role_arn=values["cluster.nodeRoleArn"],
        ),
        kubeconfig=secret("kubeconfig"),
        kube_context=values.get("kubeContext"),
        domain=values["domain"],
        hosted_zone_id=values.get("dns.hostedZoneId"),
        acme_email=values.get("acmeEmail", ""),
        owner=values["owner"],
        cost_center=values["costCenter"],
        image_tag=values["imageTag"],
        registry_account=values.get("registryAccount"),
        services=tuple(get("services")),
        app=AppSettings(
            build_context=values.get("app.buildContext"),
            port=get("app.port"),
            metrics_port=get("app.metricsPort"),
            health_path=get("app.healthPath"),
        ),
        release=release_settings(profile, values),
        alerting=AlertingSettings(
            slack_webhook_url=secret("alerting.slackWebhookUrl"),
            slack_channel=get("alerting.slackChannel"),
            pagerduty_routing_key=secret("alerting.pagerdutyRoutingKey"),
        ),
        pr=values.get("pr"),
        expires_at=values.get("expiresAt"),
        postgres_restore=restore_source(values["postgres.restoreFrom"]) if "postgres.restoreFrom" in values else None,
        backup_replica_region=values.get("backups.replicaRegion"),
    )


@dataclass
class _Context:
    stack: str
    project: str
    secret_keys: set[str]
    problems: list[str] = field(default_factory=list)
    bad: set[str] = field(default_factory=set)

    def problem(self, key: str, value: Any, allowed: str, why: str | None = None,
                fix: str | None = None) -> None:
        """Records one line: stack file, key, bad value (secrets masked), what is allowed, the fix."""
        full = key if ":" in key else f"{self.project}:{key}"
        spec = KEYS_BY_NAME.get(key)
        if full in self.secret_keys or (spec is not None and spec.secret):
            shown = "[secret]"
        else:
            shown = "(missing)" if value is None else json.dumps(value)
        if fix is None:
            example = spec.example if spec else "<value>"
            flag = " --secret" if spec is not None and spec.secret else ""
            fix = f"pulumi config set {full} '{example}'{flag}"
        reason = f" ({why})" if why else ""
        fix = " && ".join(f"{part.strip()} --stack {self.stack}" for part in fix.split("&&"))
        self.problems.append(f"Pulumi.{self.stack}.yaml: {full} = {shown}{reason}: "
                             f"expected {allowed}. Fix: {fix}")
        self.bad.add(key)

    def rm(self, key: str) -> str:
        return f"pulumi config rm {self.project}:{key}"

    def collect(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Flattens nested objects, rejects unknown keys and converts types."""
        values: dict[str, Any] = {}
        prefix = f"{self.project}:"
        for full, value in sorted(raw.items()):
            if full == "aws:region":
                if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value):
                    self.problem("aws:region", value, "an AWS region like eu-west-1")
                else:
                    values["aws:region"] = value
                continue
            if not full.startswith(prefix):
                self._foreign(full, value)  # other namespaces (aws:*, kubernetes:*) belong to their providers
                continue
            name = full[len(prefix):]
            if name in _GROUPS and name not in KEYS_BY_NAME:
                nested = _as_object(value)
                if nested is None:
                    self.problem(name, value, f"an object of {name}.* settings", "wrong type",
                                 fix=f"pulumi config set --path {full}.<key> <value>")
                    continue
                for sub, sub_value in _flatten(nested, name):
                    self._take(sub, sub_value, values, f"{full}.{sub[len(name) + 1:]}")
                continue
            self._take(name, value, values, full)
        if "aws:region" not in values and "aws:region" not in self.bad:
            self.problem("aws:region", None, "an AWS region like eu-west-1", "required",
                         fix="pulumi config set aws:region eu-west-1")
        return values

    def _foreign(self, full: str, value: Any) -> None:
        """A key of another namespace: a provider's (left to it), or a typo of ours, which would
        otherwise be ignored while the key it meant is reported missing."""
        namespace, _, name = full.partition(":")
        if namespace in PROVIDER_NAMESPACES:
            return
        known = sorted({self.project, *PROVIDER_NAMESPACES})
        close = difflib.get_close_matches(namespace, known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}:{name}?" if close else f"one of the namespaces {', '.join(known)}"
        fix = f"pulumi config rm {full}" + (f" && pulumi config set {close[0]}:{name} <value>" if close else "")
        self.problem(full, value, f"a known namespace ({hint})", "unknown namespace", fix=fix)

    def _take(self, name: str, value: Any, values: dict[str, Any], full: str) -> None:
        spec = KEYS_BY_NAME.get(name)
        if spec is None:
            close = difflib.get_close_matches(name, KEYS_BY_NAME, n=1)
            hint = f"did you mean {self.project}:{close[0]}?" if close else "not a platform setting"
            fix = self.rm(name) + (f" && pulumi config set {self.project}:{close[0]} <value>" if close else "")
            self.problem(name, value, f"a known key ({hint})", "unknown key", fix=fix)
            return
        is_secret = full in self.secret_keys
        if spec.secret and not is_secret:
            self.secret_keys.add(full)  # never echo the plain text back
            self.problem(name, value, "a secret value, encrypted in the stack file", "written in plain text",
                         fix=f"pulumi config set --secret {full} '{spec.example}'")
            return
        if is_secret and not spec.secret:
            # A secret on a plain key would be decrypted into tags and labels of every resource.
            self.problem(name, value, "a plain value: this key is not secret (it is tagged on every resource)",
                         "a secure: value", fix=f"pulumi config set {full} '{spec.example}'")
            return
        converted, error = _convert(spec, value)
        if error is not None:
            self.problem(name, value, error, "wrong type" if converted is _BAD_TYPE else None)
            return
        if isinstance(converted, str) and not converted.strip():
            self.problem(name, value, f"a non-empty value ({spec.description})", "empty")
            return
        if spec.check is not None and not spec.secret:
            allowed = spec.check(converted)
            if allowed:
                self.problem(name, value, allowed)
                return
        values[name] = converted


_BAD_TYPE = object()


def _convert(spec: Key, value: Any) -> tuple[Any, str | None]:
    """The engine hands config over as strings; stack YAML read offline may hold native types."""
    if spec.type == "string":
        if isinstance(value, (dict, list)):
            return _BAD_TYPE, "a string"
        return (value if isinstance(value, str) else json.dumps(value)), None
    if spec.type == "integer":
        if isinstance(value, bool) or isinstance(value, (dict, list, float)):
            return _BAD_TYPE, "an integer"
        try:
            return int(str(value).strip()), None
        except ValueError:
            return _BAD_TYPE, "an integer"
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", None
        return _BAD_TYPE, "true or false"
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return _BAD_TYPE, "a list, e.g. " + spec.example
    if not isinstance(parsed, list):
        return _BAD_TYPE, "a list, e.g. " + spec.example
    if spec.items == "integer":
        if not all(isinstance(item, int) and not isinstance(item, bool) for item in parsed):
            return _BAD_TYPE, "a list of integers, e.g. " + spec.example
    elif not all(isinstance(item, str) for item in parsed):
        return _BAD_TYPE, "a list of strings, e.g. " + spec.example
    return parsed, None


def _as_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _flatten(obj: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for k, v in obj.items():
        name = f"{prefix}.{k}"
        if isinstance(v, dict) and name not in KEYS_BY_NAME:
            items.extend(_flatten(v, name))
        else:
            items.append((name, v))
    return items


def _apply_overrides(profile: Profile, values: Mapping[str, Any]) -> Profile:
    for key in KEYS:
        if key.profile_field and key.name in values:
            section, attr = key.profile_field.split(".")
            profile = replace(profile, **{section: replace(getattr(profile, section), **{attr: values[key.name]})})
    return profile


def _cross_checks(ctx: _Context, env: Environment, values: Mapping[str, Any], profile: Profile) -> None:
    has_kubeconfig, has_context = "kubeconfig" in values, "kubeContext" in values
    if has_kubeconfig == has_context and "kubeconfig" not in ctx.bad and "kubeContext" not in ctx.bad:
        ctx.problem("kubeContext", values.get("kubeContext"),
                    "exactly one of platform:kubeconfig (secret) or platform:kubeContext",
                    "both set" if has_kubeconfig else "neither set")
    pg, redis = profile.postgres, profile.redis
    if pg.mode == "managed" and pg.max_allocated_storage_gib < pg.allocated_storage_gib:
        ctx.problem("postgres.maxAllocatedStorageGib", pg.max_allocated_storage_gib,
                    f"at least postgres.allocatedStorageGib ({pg.allocated_storage_gib})",
                    fix=f"pulumi config set {ctx.project}:postgres.maxAllocatedStorageGib {pg.allocated_storage_gib * 2}")
    if profile.app.max_replicas < profile.app.replicas:
        ctx.problem("app.maxReplicas", profile.app.max_replicas, f"at least app.replicas ({profile.app.replicas})",
                    fix=f"pulumi config set {ctx.project}:app.maxReplicas {profile.app.replicas * 2}")
    if env == "production":
        if not pg.multi_az:
            ctx.problem("postgres.multiAz", pg.multi_az, "true", "production cannot be single-AZ",
                        fix=f"pulumi config set {ctx.project}:postgres.multiAz true")
        if redis.replicas_per_shard < 1:
            ctx.problem("redis.replicasPerShard", redis.replicas_per_shard,
                        "at least 1", "production cannot be single-AZ",
                        fix=f"pulumi config set {ctx.project}:redis.replicasPerShard 2")
        for key, replicas in (("gateway.replicas", profile.gateway.replicas), ("app.replicas", profile.app.replicas)):
            if replicas < 2:
                ctx.problem(key, replicas, "at least 2", "production needs a replica to survive a node drain",
                            fix=f"pulumi config set {ctx.project}:{key} 3")
        if profile.postgres.backup_retention_days < 7:
            ctx.problem("postgres.backupRetentionDays", pg.backup_retention_days,
                        "at least 7 in production",
                        fix=f"pulumi config set {ctx.project}:postgres.backupRetentionDays 30")
    _restore_and_copy_checks(ctx, values, profile)
    if profile.release.tracks == 1:
        for name in ("release.activeTrack", "release.candidateWeight", "release.greenImage", "release.steps"):
            if name in values and not (name == "release.activeTrack" and values[name] == "blue"):
                ctx.problem(name, values[name], "unset: this environment runs one app track (blue)",
                            "no blue/green releases here", fix=ctx.rm(name))
    else:
        for key in release_model.IMAGE_KEYS.values():
            image = values.get(_R(key))
            allowed = None if image is None else release_model.image_problem(image, digest_only=True)
            if allowed:
                ctx.problem(_R(key), image, allowed,
                            f"{env} promotes one build by digest", fix=f"python -m tools release prepare --stack "
                            f"{ctx.stack} --image <repository>@sha256:<digest>  # or: {ctx.rm(_R(key))}")
    if env == "ephemeral":
        for name in ("postgres.instanceClass", "postgres.multiAz", "postgres.maxAllocatedStorageGib",
                     "postgres.backupRetentionDays", "postgres.readReplica", "postgres.restoreFrom", "redis.nodeType", "redis.shards",
                     "redis.replicasPerShard", "redis.snapshotRetentionDays"):
            if name in values:
                ctx.problem(name, values[name], "unset: ephemeral stacks run data stores in-cluster",
                            "not used by ephemeral stacks", fix=ctx.rm(name))
        number = re.fullmatch(r"pr-(\d+)", ctx.stack)
        if "pr" in values and (number is None or int(number.group(1)) != values["pr"]):
            expected = f"{number.group(1)} (the stack's name is {ctx.stack})" if number else "the number in the stack name"
            ctx.problem("pr", values["pr"], expected, "the stack and its namespace would belong to another pull request",
                        fix=f"pulumi config set {ctx.project}:pr {number.group(1) if number else '<n>'}")
    elif "pr" in values or "expiresAt" in values:
        name = "pr" if "pr" in values else "expiresAt"
        ctx.problem(name, values[name], "unset outside ephemeral stacks", "only for ephemeral stacks",
                    fix=ctx.rm(name))


def _restore_and_copy_checks(ctx: _Context, values: Mapping[str, Any], profile: Profile) -> None:
    """postgres.restoreFrom: not this stack's own instance. backups.replicaRegion: exactly where the
    profile copies backups, in the stack's partition, not its own region, with a valid bucket name."""
    from components.naming import ACCOUNT_ID_LENGTH, replica_region_names
    from policies import constraints

    own = f"{ctx.project}-{ctx.stack}-postgres"
    restore = values.get("postgres.restoreFrom")
    if isinstance(restore, str) and isinstance(source := restore_source(restore), RestoreToPointInTime) \
            and source.source == own:
        ctx.problem("postgres.restoreFrom", restore, f"a source instance other than this stack's own ({own})",
                    "the restored instance takes that identifier", fix=f"pulumi config set {ctx.project}:postgres.restoreFrom '<snapshot id>'")
    key, region, home = "backups.replicaRegion", values.get("backups.replicaRegion"), values.get("aws:region")
    if not profile.backups.cross_region_copy:
        if region is not None:
            ctx.problem(key, region, "unset: this environment's profile makes no cross-region copy", fix=ctx.rm(key))
        return
    if region is None:
        if key not in ctx.bad:
            ctx.problem(key, None, f"a second region for the backup copy ({profile.environment} copies backups "
                        "to another region)")
        return
    if home is None:
        return
    partition = constraints.partition_of(home)
    replica_names = replica_region_names(prefix=f"{ctx.project}-{ctx.stack}", account="0" * ACCOUNT_ID_LENGTH,
                                         replica_region=region)
    if region == home:
        ctx.problem(key, region, f"a region other than aws:region ({home})", "a copy in the same region survives "
                    "no regional outage")
    elif constraints.partition_of(region) != partition:
        ctx.problem(key, region, f"a region of partition {partition} (that of aws:region {home})",
                    "S3 and RDS replicate within a partition only")
    else:
        for kind, name in replica_names:
            for what in constraints.name_problems(kind, name):
                ctx.problem(key, region, f"a region whose {constraints.NAMES[kind].title} is valid",
                            f"it makes {name!r}, which {what}")


# --------------------------------------------------------------------------------------------
# What AWS itself would refuse: physical names, storage, quotas, partitions. The facts live in
# policies/constraints.py (shared with the policy pack); the names in components/naming.py.
# --------------------------------------------------------------------------------------------

_STACK_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def stack_name_budget(project: str, region: str, services: tuple[str, ...] | list[str]) -> int:
    """The longest stack name for which every physical name fits its service's length limit."""
    return _budget(project, region, tuple(services))


@functools.lru_cache(maxsize=64)
def _budget(project: str, region: str, services: tuple[str, ...]) -> int:
    from components.naming import ACCOUNT_ID_LENGTH, physical_names
    from policies.constraints import NAMES

    marker = "\0"  # the stack's place in each name; names without it do not depend on the stack
    names = physical_names(prefix=f"{project}-{marker}", account="0" * ACCOUNT_ID_LENGTH, region=region,
                           services=services)
    return min(NAMES[kind].max - len(name) + 1 for kind, name in names if marker in name)


def _aws_constraint_problems(ctx: _Context, values: Mapping[str, Any], profile: Profile) -> None:
    from components.naming import physical_names
    from policies import constraints

    region = values.get("aws:region")
    if region is not None:
        partition = constraints.partition_of(region)
        if not any(re.match(p["regionRegex"], region) or region in p["regions"]
                   for p in constraints.PARTITIONS.values()):
            ctx.problem("aws:region", region, f"a region of an AWS partition ({', '.join(constraints.PARTITIONS)})",
                        "no partition has this region", fix="pulumi config set aws:region eu-west-1")
        for key in ("cluster.oidcProviderArn", "cluster.nodeRoleArn"):
            arn = values.get(key)
            if isinstance(arn, str) and arn.split(":")[1:2] != [partition]:
                ctx.problem(key, arn, f"an ARN of partition {partition} (arn:{partition}:...)",
                            f"{region} is in partition {partition}")
        url = values.get("cluster.oidcProviderUrl")
        suffix = constraints.dns_suffix(region)
        if isinstance(url, str) and f".{suffix}/" not in url:
            ctx.problem("cluster.oidcProviderUrl", url, f"an issuer under {suffix} (the DNS suffix of {region})")
        provider = values.get("cluster.oidcProviderArn")
        if isinstance(url, str) and isinstance(provider, str) and not provider.endswith(f":oidc-provider/{url}"):
            ctx.problem("cluster.oidcProviderUrl", url, f"the issuer platform:cluster.oidcProviderArn names "
                        f"({provider.partition('oidc-provider/')[2] or '?'})", "IRSA trust would name another provider")
        services = tuple(values.get("services", _DEFAULTS["services"]))
        provider_arn = str(values.get("cluster.oidcProviderArn", ""))
        account = provider_arn.split(":")[4] if provider_arn.count(":") >= 5 else "0" * 12
        problem = stack_name_problem(ctx.stack, project=ctx.project, region=region, services=services)
        if problem is not None:
            ctx.problems.append(f"Pulumi.{ctx.stack}.yaml: {problem}. Fix: pulumi stack rename <shorter-name> "
                                f"--stack {ctx.stack}")
        else:
            for kind, name in physical_names(prefix=f"{ctx.project}-{ctx.stack}", account=account, region=region,
                                             services=services):
                for what in constraints.name_problems(kind, name):
                    key = "services" if kind == "ecr-repository" else "aws:region"
                    ctx.problem(key, values.get(key), f"values whose {constraints.NAMES[kind].title} is valid",
                                f"it makes {name!r}, which {what}")
    pg, redis = profile.postgres, profile.redis
    if pg.mode == "managed":
        low, high = constraints.GP3_STORAGE_GIB
        if not low <= pg.allocated_storage_gib <= high:
            ctx.problem("postgres.allocatedStorageGib", pg.allocated_storage_gib,
                        f"an integer from {low} to {high} (RDS for PostgreSQL on gp3)",
                        fix=f"pulumi config set {ctx.project}:postgres.allocatedStorageGib {max(low, 50)}")
        floor = constraints.min_max_storage(pg.allocated_storage_gib)
        if pg.allocated_storage_gib <= pg.max_allocated_storage_gib < floor:
            ctx.problem("postgres.maxAllocatedStorageGib", pg.max_allocated_storage_gib,
                        f"at least {floor} (storage autoscaling needs a ceiling 10 % above the allocated "
                        f"{pg.allocated_storage_gib} GiB)",
                        fix=f"pulumi config set {ctx.project}:postgres.maxAllocatedStorageGib {floor}")
    if redis.mode == "managed":
        nodes = redis.shards * (1 + redis.replicas_per_shard)
        quota = constraints.ELASTICACHE_NODES_PER_CLUSTER
        if nodes > quota.default:
            ctx.problem("redis.shards", redis.shards,
                        f"shards x (1 + replicas) within the default quota '{quota.name}' of {quota.default} "
                        f"(this is {nodes} nodes; raise the quota in Service Quotas first: {quota.source})",
                        fix=f"pulumi config set {ctx.project}:redis.shards {quota.default // (1 + redis.replicas_per_shard)}")


def stack_name_problem(stack: str, *, project: str, region: str, services: tuple[str, ...] | list[str]) -> str | None:
    """Why AWS would refuse a physical name derived from ``stack`` in ``region`` (None when every one fits)."""
    budget = stack_name_budget(project, region, services)
    if not _STACK_NAME.fullmatch(stack):
        why = "only lower-case letters, digits and single hyphens between them make valid RDS, ElastiCache, S3 and ECR names"
    elif len(stack) > budget:
        why = f"{len(stack)} characters; the longest physical name would exceed its service's limit"
    else:
        return None
    return (f"stack name = {json.dumps(stack)} ({why}): expected lower-case letters, digits and single inner "
            f"hyphens, at most {budget} characters in {region}")


# --------------------------------------------------------------------------------------------
# Prerequisites: what must exist before the first `pulumi up`, in one place (`tools plan` prints it).
# --------------------------------------------------------------------------------------------

KUBERNETES_VERSION = "1.31"
"""The EKS version the program targets: every manifest is validated against it (kubernetes-validate
--strict) and the pinned charts and the EBS CSI add-on version were chosen for it. Another minor
version needs those pins re-checked first; the offline plan cannot see the cluster's version."""


@dataclass(frozen=True, kw_only=True)
class Prerequisite:
    what: str
    checked_by: str | None
    """The config keys validated for it, or None: not visible offline, the operator checks it."""
    environments: tuple[Environment, ...] = ENVIRONMENTS


PREREQUISITES: tuple[Prerequisite, ...] = (
    Prerequisite(what=f"an EKS cluster on Kubernetes {KUBERNETES_VERSION}", checked_by=None),
    Prerequisite(what="the cluster's IAM OIDC provider (IRSA: every add-on role trusts it)",
                 checked_by="platform:cluster.oidcProviderArn/.oidcProviderUrl (format, partition, same issuer)"),
    Prerequisite(what="the node IAM role and security group (ECR pulls; the only source the data stores admit)",
                 checked_by="platform:cluster.nodeRoleArn (format, partition), platform:cluster.nodeSecurityGroupId"),
    Prerequisite(what="a VPC with private subnets in two or more AZs", checked_by="platform:vpcId, platform:privateSubnetIds"),
    Prerequisite(what="public subnets tagged kubernetes.io/role/elb=1 (where the load balancer controller puts the "
                      "internet-facing NLB)", checked_by=None, environments=("staging", "production")),
    Prerequisite(what="the domain's public Route53 hosted zone", checked_by="platform:dns.hostedZoneId",
                 environments=("staging", "production")),
    Prerequisite(what="the bootstrap stack (ECR pull-through cache rules, deploy roles; bootstrap/)", checked_by=None),
    Prerequisite(what="the staging stack, up (PR stacks use its cluster platform and preview Gateway)",
                 checked_by=None, environments=("ephemeral",)),
)


def prerequisites(environment: Environment) -> list[str]:
    """The lines `tools plan` prints for a stack of ``environment``."""
    return [f"  - {p.what}; " + (f"checked: {p.checked_by}" if p.checked_by else "not visible offline: check it first")
            for p in PREREQUISITES if environment in p.environments]


# --------------------------------------------------------------------------------------------
# The environment table (README) is rendered from the profiles so the two cannot drift.
# --------------------------------------------------------------------------------------------


def _yes(flag: bool, text: str) -> str:
    return text if flag else ""


def environment_table() -> str:
    def cells(render: Callable[[Profile], str]) -> str:
        return " | ".join(render(PROFILES[e]) for e in ENVIRONMENTS)

    def postgres(p: Profile) -> str:
        pg = p.postgres
        if pg.mode == "in-cluster":
            return f"in-cluster, 1 pod, {pg.allocated_storage_gib} GiB"
        parts = [f"RDS {pg.instance_class}", "Multi-AZ" if pg.multi_az else "single-AZ",
                 f"{pg.allocated_storage_gib}→{pg.max_allocated_storage_gib} GiB gp3",
                 f"backups {pg.backup_retention_days} d",
                 _yes(pg.deletion_protection, "deletion protection"),
                 _yes(pg.final_snapshot, "final snapshot"),
                 _yes(pg.performance_insights, "Performance Insights"),
                 _yes(pg.read_replica, "read replica")]
        return ", ".join(x for x in parts if x)

    def redis(p: Profile) -> str:
        r = p.redis
        if r.mode == "in-cluster":
            return "in-cluster, 1 pod"
        parts = [f"ElastiCache cluster mode, {r.shards} shard(s) × {r.replicas_per_shard} replica(s)",
                 r.node_type, _yes(r.multi_az, "Multi-AZ"), f"snapshots {r.snapshot_retention_days} d"]
        return ", ".join(x for x in parts if x)

    def registry(p: Profile) -> str:
        r = p.registry
        return ", ".join(x for x in ["per-PR ECR repos" if r.force_delete else "ECR",
                                     _yes(r.force_delete, "force-delete"),
                                     "immutable tags" if r.immutable_tags else "mutable tags"] if x)

    def bucket(p: Profile) -> str:
        b = p.backups
        return ", ".join(x for x in [f"objects expire after {b.retention_days} d",
                                     _yes(b.force_destroy, "force-destroy"),
                                     _yes(b.retain_on_delete, "retained when the stack is deleted"),
                                     _yes(b.cross_region_copy, "replicated to a second region")] if x)

    def prometheus(p: Profile) -> str:
        pr = p.prometheus
        volume = f"{pr.storage_gib} GiB" if pr.storage_gib else "no volume"
        return f"{pr.retention_days} d, {volume}, {pr.replicas} replica(s)"

    def release(p: Profile) -> str:
        r = p.release
        if r.tracks == 1:
            return "one track, replaced in place"
        idle = "fully warm" if r.idle_replicas is None else f"{r.idle_replicas} replica(s)"
        return (f"blue/green, traffic {'→'.join(map(str, r.steps))} %, {r.rollback_window_minutes}-min rollback "
                f"window, idle track {idle}")

    def teardown(p: Profile) -> str:
        if p.protect_data:
            return "data stores and bucket `protect`ed"
        kept = [what for what, holds in (("RDS deletion-protected", p.postgres.deletion_protection),
                                         ("the backup bucket only once emptied", not p.backups.force_destroy),
                                         ("image repositories only once emptied", not p.registry.force_delete)) if holds]
        return "; ".join([*kept, "the rest destroyable"]) if kept else "everything destroyable"

    issuer = {"preview-wildcard": "staging's `*.preview.<domain>` wildcard (no certificate of its own)",
              "letsencrypt-staging": "Let's Encrypt staging",
              "letsencrypt-production": "Let's Encrypt production"}

    def certificates(p: Profile) -> str:
        own = issuer[p.certificates.issuer] + ("" if p.certificates.acme_server is None else " (HTTP-01)")
        if p.certificates.previews is None:
            return own
        return f"{own}; PR wildcard `*.preview.<domain>`: {issuer[p.certificates.previews]} (DNS-01, Route53)"
    rows = [
        ("Postgres", postgres),
        ("Redis", redis),
        ("Registry", registry),
        ("Backup bucket", bucket),
        ("Gateway replicas", lambda p: f"{p.gateway.replicas}" + (
            " + PodDisruptionBudget" if p.gateway.disruption_budget else "")),
        ("Rate limit", lambda p: f"{p.gateway.rate_limit_per_minute} req/min per client"),
        ("App replicas", lambda p: f"{p.app.replicas}" + (" + PodDisruptionBudget" if p.app.replicas > 1 else "")),
        ("App releases", release),
        ("Certificates", certificates),
        ("Prometheus", prometheus),
        ("Namespace quota", lambda p: f"{p.quota.cpu} CPU / {p.quota.memory_gib} GiB"),
        ("Node and container logs", lambda p: "shipped by staging's Fluent Bit to staging's log group"
         if p.node_logs is None else f"Fluent Bit → CloudWatch Logs, {p.node_logs.retention_days} d, KMS-encrypted"),
        ("Cluster platform", lambda p: "installs Envoy Gateway, cert-manager, monitoring" if p.installs_platform
         else "uses the one staging installs (own namespace)"),
        ("Teardown", teardown),
        ("TTL", lambda p: f"{p.ttl_hours} h (tag `expires-at`)" if p.ttl_hours else "—"),
    ]
    lines = ["| | ephemeral (`pr-<n>`) | staging | production |", "|---|---|---|---|"]
    lines += [f"| {title} | {cells(render)} |" for title, render in rows]
    return "\n".join(lines)


def profile_dict(env: Environment) -> dict[str, Any]:
    """The profile as plain data (for diffs between environments in PR comments)."""
    return dataclasses.asdict(PROFILES[env])
