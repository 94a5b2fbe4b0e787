"""Grafana dashboards as data: one panel builder, four dashboards, JSON rendered from dicts.

The Grafana sidecar of kube-prometheus-stack loads every ConfigMap labelled
``grafana_dashboard: "1"``; ``monitoring.py`` creates those ConfigMaps from ``DASHBOARDS``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

APP_JOB = 'namespace="{ns}", job="app"'
BACKUP_SIZE_METRIC = "backup_last_size_bytes"
DRILL_RTO_METRIC, DRILL_RPO_METRIC = "restore_drill_rto_seconds", "restore_drill_rpo_seconds"
"""Pushed by the restore drill (images/backup/drill.sh) after each passed drill."""


def panel(title: str, queries: Mapping[str, str], *, unit: str = "short", kind: str = "timeseries",
          width: int = 12, height: int = 8) -> dict[str, Any]:
    """One panel: ``queries`` maps a legend to a PromQL expression."""
    return {
        "type": kind,
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "gridPos": {"w": width, "h": height},
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
                    for i, (legend, expr) in enumerate(queries.items())],
    }


def dashboard(uid: str, title: str, panels: Sequence[dict[str, Any]], tags: Sequence[str] = ()) -> dict[str, Any]:
    """A dashboard with a Prometheus datasource picker; panels flow left to right, top to bottom."""
    laid_out, x, y, row_height = [], 0, 0, 0
    for i, p in enumerate(panels, 1):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        laid_out.append({**p, "id": i, "gridPos": {"x": x, "y": y, "w": w, "h": h}})
        x, row_height = x + w, max(row_height, h)
    return {
        "uid": uid, "title": title, "tags": ["platform", *tags], "editable": False, "schemaVersion": 39,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Data source"}]},
        "panels": laid_out,
    }


def _quantile(q: float, selector: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{{selector}}}[5m])))"


def service_overview(namespace: str) -> dict[str, Any]:
    sel = APP_JOB.format(ns=namespace)
    return dashboard("platform-service", "Service overview", [
        panel("Request rate", {"requests/s": f"sum(rate(http_requests_total{{{sel}}}[5m]))"}, unit="reqps"),
        panel("Latency", {f"p{int(q * 100)}": _quantile(q, sel) for q in (0.5, 0.95, 0.99)}, unit="s"),
        panel("Error rate (5xx)", {"5xx ratio": f'sum(rate(http_requests_total{{{sel}, status=~"5.."}}[5m])) '
                                                f"/ sum(rate(http_requests_total{{{sel}}}[5m]))"},
              unit="percentunit"),
        panel("Pods up", {"up": f"sum(up{{{sel}}})"}, kind="stat"),
    ], tags=["service"])


def data_stores(namespace: str) -> dict[str, Any]:
    ns = f'namespace="{namespace}"'
    return dashboard("platform-data-stores", "Data stores", [
        panel("Postgres up", {"pg_up": f"max(pg_up{{{ns}}})"}, kind="stat", width=6),
        panel("Redis up", {"redis_up": f"max(redis_up{{{ns}}})"}, kind="stat", width=6),
        panel("Postgres connections", {
            "used": f"sum(pg_stat_database_numbackends{{{ns}}})",
            "max": f"max(pg_settings_max_connections{{{ns}}})"}, width=12),
        panel("Postgres transactions/s", {
            "commits": f"sum(rate(pg_stat_database_xact_commit{{{ns}}}[5m]))",
            "rollbacks": f"sum(rate(pg_stat_database_xact_rollback{{{ns}}}[5m]))"}, unit="ops"),
        panel("Redis memory", {"used": f"sum(redis_memory_used_bytes{{{ns}}})"}, unit="bytes"),
        panel("Redis commands/s", {"commands": f"sum(rate(redis_commands_processed_total{{{ns}}}[5m]))"},
              unit="ops"),
        panel("Redis clients", {"connected": f"sum(redis_connected_clients{{{ns}}})"}),
    ], tags=["data"])


def backups(namespace: str) -> dict[str, Any]:
    ns = f'namespace="{namespace}"'
    job = f'{ns}, cronjob=~".*backup.*"'
    runs = f'{ns}, job_name=~".*backup.*"'
    return dashboard("platform-backups", "Backups", [
        panel("Since last successful backup", {
            "age": f"time() - max(kube_cronjob_status_last_successful_time{{{job}}})"}, unit="s", kind="stat",
              width=8),
        panel("Last run duration", {
            "duration": f"max(kube_job_status_completion_time{{{runs}}} - kube_job_status_start_time{{{runs}}})"},
              unit="s", kind="stat", width=8),
        # Pushed by the backup job when it finishes (BACKUP_SIZE_METRIC); empty until the first run.
        panel("Last backup size", {"bytes": f"max({BACKUP_SIZE_METRIC}{{{ns}}})"},
              unit="bytes", kind="stat", width=8),
        panel("Failed runs", {"failed": f"sum(kube_job_status_failed{{{runs}}})"}, width=24),
        # The drill runs weekly and its gauges hold the last pass: 90 days show the trend of a dozen drills.
        {**panel("Restore drill: RTO and RPO", {
            "RTO (fetch + verify + restore)": f"max({DRILL_RTO_METRIC}{{{ns}}})",
            "RPO (age of the restored backup)": f"max({DRILL_RPO_METRIC}{{{ns}}})"}, unit="s", width=16),
         "timeFrom": "90d", "interval": "1h"},
        panel("Since last passed drill", {
            "age": f"time() - max(restore_drill_last_success_timestamp_seconds{{{ns}}})"}, unit="s", kind="stat",
              width=8),
    ], tags=["backups"])


NODE = 'job="node-exporter"'
FLUENT_BIT = 'job="fluent-bit"'
_FS = f'{NODE}, fstype!="", mountpoint!=""'


def nodes_and_logs() -> dict[str, Any]:
    """Node pressure (node-exporter) and the log pipeline (Fluent Bit), next to the alerts on them
    (monitoring.node_alerts, monitoring.log_pipeline_alerts)."""
    return dashboard("platform-nodes-logs", "Nodes and log shipping", [
        panel("CPU used", {"{{instance}}": f'1 - avg by (instance) (rate(node_cpu_seconds_total{{{NODE}, mode="idle"}}[5m]))'},
              unit="percentunit", width=8),
        panel("Memory used", {"{{instance}}": f"1 - node_memory_MemAvailable_bytes{{{NODE}}} / node_memory_MemTotal_bytes{{{NODE}}}"},
              unit="percentunit", width=8),
        panel("Filesystem used", {"{{instance}} {{mountpoint}}":
                                  f"1 - node_filesystem_avail_bytes{{{_FS}}} / node_filesystem_size_bytes{{{_FS}}}"},
              unit="percentunit", width=8),
        panel("Read-only filesystems", {"read-only": f"sum(node_filesystem_readonly{{{_FS}}})"}, kind="stat", width=6),
        panel("Log records shipped/s", {"{{name}}": f"sum by (name) (rate(fluentbit_output_proc_records_total{{{FLUENT_BIT}}}[5m]))"},
              unit="ops", width=6),
        panel("Output errors and retries/s", {
            "errors {{name}}": f"sum by (name) (rate(fluentbit_output_errors_total{{{FLUENT_BIT}}}[5m]))",
            "retries {{name}}": f"sum by (name) (rate(fluentbit_output_retries_total{{{FLUENT_BIT}}}[5m]))",
            "retries failed {{name}}": f"sum by (name) (rate(fluentbit_output_retries_failed_total{{{FLUENT_BIT}}}[5m]))"},
              unit="ops", width=12),
    ], tags=["nodes", "logs"])


def node_dashboards() -> dict[str, str]:
    """``{configmap name: dashboard JSON}`` for the cluster's nodes (stacks that install the platform)."""
    return {"dashboard-nodes-logs": json.dumps(nodes_and_logs(), indent=1, sort_keys=True)}


def dashboards(namespace: str) -> dict[str, str]:
    """``{configmap name: dashboard JSON}`` for the application namespace."""
    return {name: json.dumps(build(namespace), indent=1, sort_keys=True)
            for name, build in (("dashboard-service-overview", service_overview),
                                ("dashboard-data-stores", data_stores),
                                ("dashboard-backups", backups))}
