"""Monitoring: kube-prometheus-stack, alert rules, dashboards, data-store exporters, scraping.

When this stack owns the shared platform (staging, production) it creates:

* a generated Grafana admin password (``random.RandomPassword``) in the Secret ``grafana-admin``
  (the chart reads it through ``grafana.admin.existingSecret``; nothing secret in the values);
* the Alertmanager configuration as the Secret ``alertmanager-config`` built from the secret
  Slack webhook / PagerDuty key Outputs (critical -> PagerDuty, the rest -> Slack, a ``null``
  receiver when neither is configured);
* the kube-prometheus-stack release (pinned) with retention, volume and replicas per profile, and
  its node-exporter DaemonSet in the ``node-agents`` namespace (host access: the "privileged" level);
* PrometheusRules (label ``release`` matches the chart's ruleSelector), dashboards as
  ConfigMaps for the Grafana sidecar, a ServiceMonitor for cert-manager and the Grafana HTTPRoute.

Every stack creates, in its application namespace, the Postgres and Redis exporters (pinned
charts, ServiceMonitors on; a second Postgres exporter for the read replica where there is one) and a ServiceMonitor for the application's metrics port. A PR
environment's targets are scraped by the shared Prometheus; it gets no alert rules (PR
environments never page).

Exporter credentials. Redis: the ``redis-auth`` Secret. Postgres in-cluster: the Kubernetes
Secret with the generated password, read as a file. Managed Postgres: the RDS master password
lives only in Secrets Manager (``manage_master_user_password``). The exporter's ServiceAccount
gets an IRSA role that may read that one secret (and decrypt with its key); an init container
fetches it into a memory-backed emptyDir and the exporter reads ``DATA_SOURCE_PASS_FILE``. The
password never reaches Pulumi state, a Kubernetes Secret or an environment variable. Known
limit: RDS rotates the master password (7 days by default); the exporter reads the file at
start, so after a rotation ``PostgresExporterDown`` fires until the pod restarts. The durable fix
is a dedicated ``pg_monitor`` login created by the database bootstrap (tracked as a follow-up).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

import config
from components import dashboards
from components.connections import (
    InKubernetesSecret,
    InSecretsManager,
    PostgresConnection,
    RedisConnection,
)
from components.gateway import GatewayRef, https_route
from components.irsa import Irsa, secret_reader_role
from components.kubernetes import (
    ENCRYPTED_STORAGE_CLASS,
    KUBE_PROMETHEUS_STACK,
    POSTGRES_EXPORTER,
    PULL_POLICY,
    REDIS_EXPORTER,
    cache_registry,
    cached_image,
    container_security_context,
    helm_release,
    metadata,
    pod_security_context,
)
from components.pushgateway import Pushgateway, PushgatewayArgs

if TYPE_CHECKING:
    from components.namespaces import Namespaces

AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.50"
"""Pulled through the account's cache (``cached_image``), like every chart image below."""
REDIS_EXPORTER_REPOSITORY = "quay.io/oliver006/redis_exporter"
"""The chart defaults to Docker Hub; the same image is published on Quay (no credential needed)."""
RELEASE = "kube-prometheus-stack"
"""Release name; the chart's rule/ServiceMonitor selectors match ``release: <this>``."""
GRAFANA_CLUSTER_ROLE = f"{RELEASE}-grafana-configmaps"
"""Grafana's sidecars read labelled ConfigMaps in every namespace with this ClusterRole, nothing more."""
SELECTED = {"release": RELEASE}
EXPORTER_SA = "postgres-exporter"
REDIS_EXPORTER_SA = "redis-exporter"


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    stack_name: str
    labels: Mapping[str, str]
    install_platform: bool
    namespace: pulumi.Input[str]
    app_namespace: pulumi.Input[str]
    app_namespace_name: str
    """Plain name, used inside PromQL and dashboards."""
    prometheus: config.PrometheusProfile
    alerting: config.AlertingSettings
    postgres: PostgresConnection
    redis: RedisConnection
    irsa: Irsa
    """Where the Postgres exporter's role comes from, when the password is in Secrets Manager."""
    gateway: GatewayRef
    grafana_host: str | None = None
    """Grafana's HTTPS host on the Gateway (a listener ``https-grafana``); None = not exposed."""
    cert_manager_namespace: pulumi.Input[str] | None = None
    node_agents_namespace: pulumi.Input[str] | None = None
    """Where node-exporter runs (the privileged node-agents namespace; stacks that install the platform)."""
    app_metrics_port_name: str = "metrics"

    @classmethod
    def from_settings(cls, settings: config.Settings, *, namespaces: Namespaces, gateway: GatewayRef,
                      postgres: PostgresConnection, redis: RedisConnection, irsa: Irsa) -> MonitoringArgs:
        return cls(stack_name=settings.name, labels=settings.labels, install_platform=settings.profile.installs_platform,
                   namespace=namespaces.monitoring, app_namespace=namespaces.app,
                   app_namespace_name=settings.app_namespace, prometheus=settings.profile.prometheus,
                   alerting=settings.alerting, postgres=postgres, redis=redis, irsa=irsa, gateway=gateway,
                   grafana_host=settings.grafana_host, cert_manager_namespace=namespaces.cert_manager,
                   node_agents_namespace=namespaces.node_agents)


# ---------------------------------------------------------------------------------------------
# Alerting configuration and rules: plain data.
# ---------------------------------------------------------------------------------------------


def alertmanager_config(slack_url: str | None, slack_channel: str, pagerduty_key: str | None) -> dict[str, Any]:
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    routes: list[dict[str, Any]] = [{"matchers": ['alertname="Watchdog"'], "receiver": "null"}]
    if pagerduty_key:
        receivers.append({"name": "pagerduty", "pagerduty_configs": [
            {"routing_key": pagerduty_key, "send_resolved": True}]})
        routes.append({"matchers": ['severity="critical"'], "receiver": "pagerduty", "continue": bool(slack_url)})
    if slack_url:
        receivers.append({"name": "slack", "slack_configs": [
            {"api_url": slack_url, "channel": slack_channel, "send_resolved": True,
             "title": '{{ .CommonLabels.alertname }} ({{ .Status }})',
             "text": '{{ range .Alerts }}{{ .Annotations.summary }}\n{{ end }}'}]})
    return {
        "route": {"receiver": "slack" if slack_url else "null", "group_by": ["alertname", "namespace"],
                  "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h", "routes": routes},
        "receivers": receivers,
    }


def _alert(name: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": duration, "labels": {"severity": severity},
            "annotations": {"summary": summary}}


BACKUP_GROUP = "postgres-backup"
DRILL_GROUP = "postgres-restore-drill"
"""Pushgateway ``job`` of the backup job's and the restore drill's metrics (images/backup/*.sh push_metrics)."""
REPLICA_LAG_WARNING_S, REPLICA_LAG_CRITICAL_S = 60, 300


def backup_alerts(app_ns: str) -> list[dict[str, Any]]:
    """Alerts on what the backup job and the restore drill push (images/backup: backup.sh, drill.sh).

    The Pushgateway keeps the last push of each group; the ServiceMonitor honours the pushed
    ``job`` and ``namespace`` labels. ``absent`` covers a group that never pushed (or a
    Pushgateway that lost its state): it waits as long as the staleness rule it stands in for.
    """
    backup = f'namespace="{app_ns}", job="{BACKUP_GROUP}"'
    drill = f'namespace="{app_ns}", job="{DRILL_GROUP}"'
    return [
        _alert("BackupNotVerified", f"time() - max by (namespace) (backup_last_success_timestamp_seconds{{{backup}}}) "
               "> 26 * 3600", "0m", "critical", "no verified backup in the last 26 hours"),
        _alert("BackupMetricsAbsent", f"absent(backup_last_success_timestamp_seconds{{{backup}}})", "26h", "critical",
               "the backup job has not reported a verified backup for 26 hours"),
        _alert("BackupSizeDropped", f"backup_last_size_bytes{{{backup}}} < 0.5 * backup_previous_size_bytes{{{backup}}}",
               "0m", "warning", "the last verified dump is less than half the size of the one before"),
        _alert("RestoreDrillFailed", f"restore_drill_last_run_success{{{drill}}} == 0", "0m", "critical",
               "the last restore drill failed: the newest backup may not be restorable"),
        _alert("RestoreDrillStale", f"time() - max by (namespace) (restore_drill_last_success_timestamp_seconds"
               f"{{{drill}}}) > 8 * 24 * 3600", "0m", "warning", "no restore drill has passed in the last 8 days"),
        _alert("RestoreDrillMetricsAbsent", f"absent(restore_drill_last_success_timestamp_seconds{{{drill}}})", "8d",
               "warning", "no restore drill has reported a pass for 8 days"),
    ]


def replica_lag_alerts(app_ns: str) -> list[dict[str, Any]]:
    """Read-replica lag from postgres_exporter's ``replication`` collector (on by default in chart
    8.2.0, exporter v0.20.1): ``pg_replication_lag_seconds`` is now() - pg_last_xact_replay_timestamp()
    on a replica and 0 on a primary, ``pg_replication_is_replica`` says which. It is the age of the
    last replayed transaction, so an idle primary makes it grow: the ``for`` durations absorb a quiet
    minute, not a quiet night (CloudWatch ``ReplicaLag`` is the cross-check). The replica's series come
    from its own exporter release (``postgres-exporter-reader``)."""
    replica = f'namespace="{app_ns}"'

    def lagging(seconds: int) -> str:
        return f"pg_replication_lag_seconds{{{replica}}} > {seconds} and pg_replication_is_replica{{{replica}}} == 1"

    return [
        _alert("PostgresReplicaLagging", lagging(REPLICA_LAG_WARNING_S), "2m", "warning",
               f"a Postgres read replica is more than {REPLICA_LAG_WARNING_S} s behind the primary"),
        _alert("PostgresReplicaLagCritical", lagging(REPLICA_LAG_CRITICAL_S), "5m", "critical",
               f"a Postgres read replica is more than {REPLICA_LAG_CRITICAL_S} s behind the primary"),
    ]


NODE_PRESSURE = 0.85
NODE_EXPORTER_JOB = 'job="node-exporter"'
FLUENT_BIT_JOB = 'job="fluent-bit"'
"""The Fluent Bit ServiceMonitor's job: its jobLabel is app.kubernetes.io/instance, the release name (nodeagents.RELEASE)."""
_NODE_FS = f'{NODE_EXPORTER_JOB}, fstype!="", mountpoint!=""'


def node_alerts() -> list[dict[str, Any]]:
    """Node pressure at 85 %, from node-exporter. The chart's own node-exporter rules (enabled with
    it) cover the later stages and the rest, and are not repeated: NodeCPUHighUsage (> 90 %, info),
    NodeMemoryHighUtilization (> 90 %), NodeFilesystemAlmostOutOfSpace (< 5 % / < 3 % free),
    NodeFilesystemSpaceFillingUp (predicted full in 24 h / 4 h), inodes, NodeDiskIOSaturation,
    NodeSystemSaturation, network errors, clock, systemd; TargetDown covers a node-exporter that
    stops answering. None of them watches a filesystem that turns read-only (ext4's
    errors=remount-ro after an I/O error): NodeFilesystemReadOnly does, and only for one that was
    writable within the last day, so a filesystem read-only by design (Bottlerocket's root) stays quiet."""
    pct = int(NODE_PRESSURE * 100)
    fs = _NODE_FS
    return [
        _alert("NodeCPUPressure", "1 - avg by (instance) (rate(node_cpu_seconds_total"
               f'{{{NODE_EXPORTER_JOB}, mode="idle"}}[5m])) > {NODE_PRESSURE}', "15m", "warning",
               f"{{{{ $labels.instance }}}} uses more than {pct}% of its CPU"),
        _alert("NodeMemoryPressure", f"1 - node_memory_MemAvailable_bytes{{{NODE_EXPORTER_JOB}}} "
               f"/ node_memory_MemTotal_bytes{{{NODE_EXPORTER_JOB}}} > {NODE_PRESSURE}", "15m", "warning",
               f"{{{{ $labels.instance }}}} uses more than {pct}% of its memory"),
        _alert("NodeDiskPressure", f"1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} "
               f"> {NODE_PRESSURE} and node_filesystem_readonly{{{fs}}} == 0", "15m", "warning",
               f"{{{{ $labels.mountpoint }}}} on {{{{ $labels.instance }}}} is more than {pct}% full"),
        _alert("NodeFilesystemReadOnly", f"node_filesystem_readonly{{{fs}}} == 1 and on (instance, device, mountpoint) "
               f"min_over_time(node_filesystem_readonly{{{fs}}}[1d]) == 0", "1m", "critical",
               "{{ $labels.mountpoint }} on {{ $labels.instance }} turned read-only (I/O errors?)"),
    ]


def log_pipeline_alerts() -> list[dict[str, Any]]:
    """Fluent Bit's own metrics (``/api/v2/metrics/prometheus``, per output instance ``name``; Fluent
    Bit docs, "Monitoring"): errors and retries mean CloudWatch is refusing or throttling; a failed
    retry means records were dropped after ``Retry_Limit`` (nodeagents.fluent_bit_config)."""
    by = "sum by (pod, name)"
    return [
        _alert("FluentBitOutputErrors", f"{by} (rate(fluentbit_output_errors_total{{{FLUENT_BIT_JOB}}}[5m])) > 0",
               "10m", "warning", "Fluent Bit {{ $labels.pod }} fails to ship logs ({{ $labels.name }})"),
        _alert("FluentBitOutputRetrying", f"{by} (rate(fluentbit_output_retries_total{{{FLUENT_BIT_JOB}}}[5m])) > 0",
               "15m", "warning", "Fluent Bit {{ $labels.pod }} has been retrying for 15 minutes ({{ $labels.name }})"),
        _alert("FluentBitRecordsDropped",
               f"{by} (increase(fluentbit_output_retries_failed_total{{{FLUENT_BIT_JOB}}}[10m])) > 0", "0m",
               "critical", "Fluent Bit {{ $labels.pod }} dropped logs after its retries ({{ $labels.name }})"),
    ]


def alert_rules(app_ns: str) -> list[dict[str, Any]]:
    ns = f'namespace="{app_ns}"'
    app = f'{ns}, job="app"'
    backup_job = f'{ns}, job_name=~".*backup.*"'
    backup_cron = f'{ns}, cronjob=~".*backup.*"'
    return [
        {"name": "platform.service", "rules": [
            _alert("ServiceDown", f"up{{{ns}}} == 0", "1m", "critical",
                   "{{ $labels.job }} in {{ $labels.namespace }} is down"),
            _alert("HighLatencyP95", "histogram_quantile(0.95, sum by (le) "
                   f"(rate(http_request_duration_seconds_bucket{{{app}}}[5m]))) > 0.5", "5m", "warning",
                   "p95 latency above 500 ms"),
            _alert("HighErrorRate", f'sum(rate(http_requests_total{{{app}, status=~"5.."}}[5m])) '
                   f"/ sum(rate(http_requests_total{{{app}}}[5m])) > 0.05", "3m", "critical",
                   "more than 5% of requests fail with 5xx"),
            _alert("ContainerMemoryHigh", "max by (namespace, pod, container) "
                   f'(container_memory_working_set_bytes{{{ns}, container!=""}}) / max by (namespace, pod, container) '
                   f'(kube_pod_container_resource_limits{{{ns}, resource="memory"}}) > 0.8', "5m", "warning",
                   "{{ $labels.pod }}/{{ $labels.container }} uses more than 80% of its memory limit"),
        ]},
        {"name": "platform.data", "rules": [
            _alert("PostgresConnectionsHigh", f"sum(pg_stat_database_numbackends{{{ns}}}) "
                   f"/ max(pg_settings_max_connections{{{ns}}}) > 0.8", "5m", "warning",
                   "Postgres uses more than 80% of max_connections"),
            _alert("PostgresExporterDown", f"pg_up{{{ns}}} == 0", "1m", "critical",
                   "the Postgres exporter cannot reach the database"),
            _alert("RedisExporterDown", f"redis_up{{{ns}}} == 0", "1m", "critical",
                   "the Redis exporter cannot reach Redis"),
            _alert("PersistentVolumeFillingUp", "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes"
                   " > 0.85", "5m", "warning", "{{ $labels.persistentvolumeclaim }} is more than 85% full"),
        ]},
        {"name": "platform.backups", "rules": [
            _alert("BackupJobFailed", f"kube_job_status_failed{{{backup_job}}} > 0", "0m", "critical",
                   "backup job {{ $labels.job_name }} failed"),
            _alert("BackupMissing", f"time() - kube_cronjob_status_last_successful_time{{{backup_cron}}} > 26 * 3600",
                   "0m", "critical", "no successful backup in the last 26 hours"),
            *backup_alerts(app_ns),
        ]},
        {"name": "platform.replication", "rules": replica_lag_alerts(app_ns)},
        {"name": "platform.nodes", "rules": node_alerts()},
        {"name": "platform.logs", "rules": log_pipeline_alerts()},
        {"name": "platform.certificates", "rules": [
            _alert("CertificateExpiringSoon", "certmanager_certificate_expiration_timestamp_seconds - time() "
                   "< 14 * 24 * 3600", "1h", "warning", "certificate {{ $labels.name }} expires within 14 days"),
        ]},
    ]


# ---------------------------------------------------------------------------------------------
# The component.
# ---------------------------------------------------------------------------------------------


class Monitoring(pulumi.ComponentResource):
    """Creates: kube-prometheus-stack (+ secrets, rules, dashboards, Grafana route) when owned;
    Postgres/Redis exporters and the application ServiceMonitor always."""

    grafana_url: pulumi.Output[str] | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:Monitoring", name, None, opts)
        self._name, self._args = name, args
        labels = dict(args.labels)
        stack: list[pulumi.Resource] = []
        self.grafana_url = None
        if args.install_platform:
            stack = [self._kube_prometheus_stack(labels)]
        # Without install_platform the ServiceMonitor CRD and Prometheus come from the staging stack.
        after = pulumi.ResourceOptions(parent=self, depends_on=stack)

        self._postgres_exporter(after)
        self._redis_exporter(after)
        k8s.apiextensions.CustomResource(
            f"{name}-app-monitor", api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
            metadata=metadata("app", args.app_namespace, {**labels, **SELECTED}),
            # One Service per release track (app-blue, app-green): `job` comes from their common name label,
            # not the Service name, so the alert rules' job="app" covers both tracks.
            spec={"selector": {"matchLabels": {"app.kubernetes.io/name": "app"}}, "jobLabel": "app.kubernetes.io/name",
                  "endpoints": [{"port": args.app_metrics_port_name, "path": "/metrics", "interval": "30s"}]},
            opts=after)

        if args.install_platform:
            self._rules_and_dashboards(labels, after)
            # The backup job and the restore drill push here (components/pushgateway.py).
            Pushgateway(f"{name}-pushgateway", PushgatewayArgs(namespace=args.namespace, labels=labels,
                                                               monitor_labels=SELECTED), opts=after)
        self.register_outputs({"grafana_url": self.grafana_url})

    # -- the stack ---------------------------------------------------------------------------------

    def _kube_prometheus_stack(self, labels: Mapping[str, str]) -> k8s.helm.v3.Release:
        args, name = self._args, self._name
        child = pulumi.ResourceOptions(parent=self)
        password = random.RandomPassword(f"{name}-grafana-admin-password", length=32, special=False, opts=child)
        admin = k8s.core.v1.Secret(f"{name}-grafana-admin", metadata=metadata("grafana-admin", args.namespace, labels),
                                   type="Opaque", string_data={"admin-user": "admin", "admin-password": password.result},
                                   opts=child)
        alerting = args.alerting
        am_yaml = pulumi.Output.all(alerting.slack_webhook_url, alerting.pagerduty_routing_key).apply(
            lambda v: json.dumps(alertmanager_config(v[0], alerting.slack_channel, v[1]), indent=1))
        am_secret = k8s.core.v1.Secret(f"{name}-alertmanager-config",
                                       metadata=metadata("alertmanager-config", args.namespace, labels),
                                       type="Opaque", string_data={"alertmanager.yaml": am_yaml}, opts=child)

        p = args.prometheus
        prometheus_spec: dict[str, Any] = {
            "retention": f"{p.retention_days}d", "replicas": p.replicas,
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
            "securityContext": pod_security_context(1000),
            "podMetadata": {"labels": dict(labels)},
        }
        if p.storage_gib > 0:
            prometheus_spec["storageSpec"] = {"volumeClaimTemplate": {"spec": {
                "storageClassName": ENCRYPTED_STORAGE_CLASS, "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{p.storage_gib}Gi"}}}}}
        small = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}}
        quay, docker_hub = cache_registry("quay.io", parent=self), cache_registry("docker.io", parent=self)
        prometheus_spec["image"] = {"registry": quay}
        values: dict[str, Any] = {
            "crds": {"enabled": True},
            "prometheus": {"prometheusSpec": prometheus_spec},
            "alertmanager": {"alertmanagerSpec": {
                "useExistingSecret": True, "configSecret": am_secret.metadata["name"],
                # Alertmanager and its config reloader never call the API server (trivy KSV-0036).
                "automountServiceAccountToken": False,
                "replicas": min(p.replicas, 2) if p.replicas > 1 else 1,
                "securityContext": pod_security_context(1000), "image": {"registry": quay},
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                              "limits": {"cpu": "200m", "memory": "256Mi"}}}},
            "grafana": {
                "admin": {"existingSecret": admin.metadata["name"], "userKey": "admin-user",
                          "passwordKey": "admin-password"},
                "image": {"registry": docker_hub, "pullPolicy": PULL_POLICY},
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
                # The floor's uid rather than the image's 472 (checkov CKV_K8S_40): the image makes its
                # data, log, plugin and provisioning paths writable for any uid (as on OpenShift), and
                # /var/lib/grafana is the chart's volume, owned through fsGroup.
                "securityContext": pod_security_context(),
                "containerSecurityContext": container_security_context(),
                # The sidecars load labelled ConfigMaps only (every dashboard and datasource is one), so
                # Grafana's ServiceAccount is bound to a ClusterRole that reads ConfigMaps and no
                # Secrets (the chart's own grants both: checkov CKV2_K8S_5, trivy KSV-0041). It is
                # rendered by the chart's extraObjects, so the Release stays one unit.
                "rbac": {"useExistingClusterRole": GRAFANA_CLUSTER_ROLE},
                "extraObjects": [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": GRAFANA_CLUSTER_ROLE, "labels": dict(labels)},
                                  "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                             "verbs": ["get", "watch", "list"]}]}],
                "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard", "labelValue": "1",
                                           "searchNamespace": "ALL", "resource": "configmap"},
                            "datasources": {"resource": "configmap"},
                            "image": {"registry": quay}, "imagePullPolicy": PULL_POLICY,
                            "resources": small, "securityContext": container_security_context()},
                "grafana.ini": {"server": {"root_url": f"https://{args.grafana_host}"}} if args.grafana_host else {},
                # The `helm test` pod runs as root without a securityContext: "restricted" rejects it,
                # and Pulumi's Release never runs tests.
                "testFramework": {"enabled": False},
            },
            "prometheusOperator": {"resources": small, "securityContext": pod_security_context(65534),
                                   "containerSecurityContext": container_security_context(65534),
                                   "image": {"registry": quay, "pullPolicy": PULL_POLICY},
                                   "prometheusConfigReloader": {"image": {"registry": quay}},
                                   # The certgen hook Jobs that create/patch the webhook's certificate.
                                   "admissionWebhooks": {"patch": {
                                       "image": {"registry": cache_registry("ghcr.io", parent=self),
                                                 "pullPolicy": PULL_POLICY},
                                       # The chart's default uid 2000 is low (checkov CKV_K8S_40); the
                                       # certgen binary is static and writes nothing to disk.
                                       "securityContext": pod_security_context(),
                                       "resources": small}}},
            "kube-state-metrics": {"image": {"registry": cache_registry("registry.k8s.io", parent=self),
                                             "pullPolicy": PULL_POLICY},
                                   # No rule or dashboard reads kube_secret_*: without the collector its
                                   # ClusterRole may not read Secrets (trivy KSV-0041).
                                   "collectorsExclude": ["secrets"],
                                   "resources": small, "securityContext": pod_security_context(65534),
                                   "containerSecurityContext": container_security_context(65534)},
            # node-exporter (node CPU, memory, filesystems) needs hostNetwork, hostPID and the host's
            # root filesystem: only the "privileged" level admits it, so it runs in the node-agents
            # namespace (namespaces.py), the one exception to "restricted". Its ServiceMonitor follows
            # it there and carries the release label (releaseLabel) Prometheus selects by.
            "nodeExporter": {"enabled": True, "operatingSystems": {"linux": {"enabled": True},
                                                                   "aix": {"enabled": False},
                                                                   "darwin": {"enabled": False}}},
            "prometheus-node-exporter": {
                "namespaceOverride": args.node_agents_namespace,
                "image": {"registry": quay, "pullPolicy": PULL_POLICY},
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
                "containerSecurityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                                             "privileged": False, "capabilities": {"drop": ["ALL"]},
                                             "seccompProfile": {"type": "RuntimeDefault"}},
            },
            # EKS runs the control plane in an AWS account: no kube-controller-manager,
            # kube-scheduler or etcd endpoint exists in the cluster, so their ServiceMonitors find
            # no target and the chart's absent(up{job=...}) alerts (KubeSchedulerDown,
            # KubeControllerManagerDown, critical) would page forever. kube-proxy is the EKS
            # add-on, whose metrics listen on 127.0.0.1 only. Sources:
            # tools/offline/checks/eks.MANAGED_CONTROL_PLANE_JOBS; checked by checks/alerts.py.
            "kubeControllerManager": {"enabled": False},
            "kubeScheduler": {"enabled": False},
            "kubeEtcd": {"enabled": False},
            "kubeProxy": {"enabled": False},
            # The chart's node-exporter rules (node-exporter, node-exporter.rules, node.rules,
            # node-network) come with node-exporter; node_alerts() adds only what they lack.
            "defaultRules": {"rules": {"etcd": False, "kubeControllerManager": False, "kubeProxy": False,
                                       "kubeSchedulerAlerting": False, "kubeSchedulerRecording": False}},
        }
        release = helm_release(f"{name}-kube-prometheus-stack", release=RELEASE, chart=KUBE_PROMETHEUS_STACK,
                               namespace=args.namespace, values=values, timeout=900,
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[admin, am_secret]))

        if args.grafana_host:
            https_route(f"{name}-grafana-route", gateway=args.gateway, listener="grafana", route_name="grafana",
                        namespace=args.namespace, hostname=args.grafana_host, backend=(f"{RELEASE}-grafana", 80),
                        labels=labels, opts=pulumi.ResourceOptions(parent=self, depends_on=[release]))
            self.grafana_url = pulumi.Output.from_input(f"https://{args.grafana_host}")
        return release

    def _rules_and_dashboards(self, labels: Mapping[str, str], after: pulumi.ResourceOptions) -> None:
        args, name = self._args, self._name
        k8s.apiextensions.CustomResource(
            f"{name}-rules", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
            metadata=metadata("platform-alerts", args.namespace, {**labels, **SELECTED}),
            spec={"groups": alert_rules(args.app_namespace_name)}, opts=after)
        for cm_name, body in {**dashboards.dashboards(args.app_namespace_name), **dashboards.node_dashboards()}.items():
            k8s.core.v1.ConfigMap(f"{name}-{cm_name}", metadata=metadata(
                cm_name, args.namespace, {**labels, "grafana_dashboard": "1"}), data={f"{cm_name}.json": body},
                opts=pulumi.ResourceOptions(parent=self))
        if args.cert_manager_namespace is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-cert-manager-monitor", api_version="monitoring.coreos.com/v1", kind="ServiceMonitor",
                metadata=metadata("cert-manager", args.cert_manager_namespace, {**labels, **SELECTED}),
                spec={"selector": {"matchLabels": {"app.kubernetes.io/name": "cert-manager",
                                                   "app.kubernetes.io/component": "controller"}},
                      "endpoints": [{"targetPort": 9402, "path": "/metrics", "interval": "60s"}]},
                opts=after)

    # -- exporters -----------------------------------------------------------------------------------

    def _exporter_common(self) -> dict[str, Any]:
        return {
            "serviceMonitor": {"enabled": True, "labels": dict(SELECTED), "interval": "30s"},
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
            "podSecurityContext": pod_security_context(65534),
            "securityContext": container_security_context(65534),
        }

    def _exporter_image(self) -> dict[str, Any]:
        return {"image": {"registry": cache_registry("quay.io", parent=self), "pullPolicy": PULL_POLICY}}

    def _postgres_exporter(self, opts: pulumi.ResourceOptions) -> None:
        """One exporter release per endpoint: the primary, and the read replica when there is one (its
        ``pg_replication_*`` series feed the lag alerts). The chart's multipleTarget mode would need the
        password in its config file (auth_modules take no password file), so each release reads it the
        same way; the replica's reuses the primary's ServiceAccount and IRSA role."""
        args, name, pg = self._args, self._name, self._args.postgres
        role = self._exporter_role(pg.password)
        primary = helm_release(f"{name}-postgres-exporter", release="postgres-exporter", chart=POSTGRES_EXPORTER,
                               namespace=args.app_namespace, values=self._postgres_values(pg.host, role, True),
                               timeout=300, opts=opts)
        if pg.reader_host is not None:
            helm_release(f"{name}-postgres-exporter-reader", release="postgres-exporter-reader",
                         chart=POSTGRES_EXPORTER, namespace=args.app_namespace,
                         values=self._postgres_values(pg.reader_host, role, False), timeout=300,
                         opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[primary])))

    def _exporter_role(self, password: InSecretsManager | InKubernetesSecret) -> pulumi.Output[str] | None:
        match password:
            case InSecretsManager(grant=grant):
                args = self._args
                return secret_reader_role(f"{self._name}-postgres-exporter",
                                          role_name=f"{args.stack_name}-postgres-exporter", irsa=args.irsa,
                                          namespace=args.app_namespace, service_account=EXPORTER_SA, grant=grant,
                                          parent=self)
        return None

    def _postgres_values(self, host: pulumi.Input[str], role: pulumi.Output[str] | None,
                         creates_account: bool) -> dict[str, Any]:
        pg = self._args.postgres
        values: dict[str, Any] = {
            **self._exporter_common(), **self._exporter_image(),
            # The chart passes the port through `tpl`, which takes only a string (a number fails the render).
            "config": {"datasource": {"host": host, "port": pulumi.Output.from_input(pg.port).apply(str),
                                      "database": pg.database,
                                      "user": pg.username, "sslmode": pg.sslmode}},
        }
        match pg.password:
            case InKubernetesSecret(name=secret, key=key):
                # As a file, not an env var (checkov CKV_K8S_35): the Secret's one key as a volume,
                # group-readable by the exporter's fsGroup only.
                values["config"]["datasource"]["passwordFile"] = "/run/postgres/password"
                values["extraVolumes"] = [{"name": "password", "secret": {
                    "secretName": secret, "items": [{"key": key, "path": "password"}], "defaultMode": 0o440}}]
                values["extraVolumeMounts"] = [{"name": "password", "mountPath": "/run/postgres", "readOnly": True}]
            case InSecretsManager(secret_arn=secret_arn) if role is not None:
                self._password_from_secrets_manager(values, secret_arn, role, creates_account)
        return values

    def _password_from_secrets_manager(self, values: dict[str, Any], secret_arn: pulumi.Input[str],
                                       role: pulumi.Output[str], creates_account: bool) -> None:
        """The IRSA ServiceAccount (created by the primary's release), and an init container writing the
        password to a memory-backed file."""
        values["serviceAccount"] = ({"create": True, "name": EXPORTER_SA,
                                     "annotations": {"eks.amazonaws.com/role-arn": role}} if creates_account
                                    else {"create": False, "name": EXPORTER_SA})
        values["config"]["datasource"]["passwordFile"] = "/run/postgres/password"
        values["extraVolumes"] = [{"name": "password", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                                  {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}]
        values["extraVolumeMounts"] = [{"name": "password", "mountPath": "/run/postgres", "readOnly": True}]
        values["initContainers"] = [{
            "name": "fetch-password", "image": cached_image(AWS_CLI_IMAGE, parent=self), "imagePullPolicy": PULL_POLICY,
            "command": ["/bin/sh", "-ec"],
            # The secret is JSON {"username", "password"}; only the password is written, 0400.
            "args": ['umask 277; aws secretsmanager get-secret-value --secret-id "$SECRET_ARN" '
                     '--query SecretString --output text | '
                     '"$(command -v python3 || command -v python)" -c '
                     '"import json,sys; sys.stdout.write(json.load(sys.stdin)[\'password\'])" '
                     '> /run/postgres/password'],
            "env": [{"name": "SECRET_ARN", "value": secret_arn}, {"name": "HOME", "value": "/tmp"}],  # noqa: S108
            "securityContext": container_security_context(65534),
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
            "volumeMounts": [{"name": "password", "mountPath": "/run/postgres"},
                             {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - private emptyDir
        }]

    def _redis_exporter(self, opts: pulumi.ResourceOptions) -> None:
        args, name, r = self._args, self._name, self._args.redis
        scheme = "rediss" if r.tls else "redis"
        values: dict[str, Any] = {
            **self._exporter_common(),
            "image": {"repository": cached_image(REDIS_EXPORTER_REPOSITORY, parent=self), "pullPolicy": PULL_POLICY},
            # The exporter never calls the API server, and the chart's pod template has no token
            # switch: its ServiceAccount opts out instead (the pod inherits it), rendered by the
            # chart's own extraManifests so the Release stays one unit.
            "serviceAccount": {"create": False, "name": REDIS_EXPORTER_SA},
            "extraManifests": [{"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
                                "metadata": {"name": REDIS_EXPORTER_SA, "labels": dict(args.labels)}}],
            "redisAddress": pulumi.Output.format("{0}://{1}:{2}", scheme, r.host, r.port),
            "auth": {"enabled": True, "secret": {"name": r.auth.name, "key": r.auth.key}},
        }
        if r.cluster_mode:
            values["env"] = [{"name": "REDIS_EXPORTER_IS_CLUSTER", "value": "true"}]
        helm_release(f"{name}-redis-exporter", release="redis-exporter", chart=REDIS_EXPORTER,
                     namespace=args.app_namespace, values=values, timeout=300, opts=opts)

