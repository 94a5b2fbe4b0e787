"""Monitoring: kube-prometheus-stack per profile, secrets by reference, rules, dashboards, exporters."""

from __future__ import annotations

import json

import pytest
from helpers import environment_of, inputs, run

from components.monitoring import alertmanager_config
from config import PROFILES
from tools import wire

RELEASE = "kubernetes:helm.sh/v3:Release"
APP_NS = {"pr-7": "pr-7", "staging": "app", "production": "app"}


def releases(plan) -> dict[str, dict]:
    return {inputs(r)["name"]: inputs(r) for r in plan.by_type(RELEASE)}


def owner(stack: str) -> bool:
    return environment_of(stack) != "ephemeral"


def test_kube_prometheus_stack_follows_the_profile(plan, stack):
    rel = releases(plan).get("kube-prometheus-stack")
    if not owner(stack):
        assert rel is None, "PR stacks are scraped by staging's Prometheus"
        return
    p = PROFILES[environment_of(stack)].prometheus
    assert (rel["version"], rel["repositoryOpts"]["repo"]) == ("88.5.3", "https://prometheus-community.github.io/helm-charts")
    spec = rel["values"]["prometheus"]["prometheusSpec"]
    assert (spec["retention"], spec["replicas"]) == (f"{p.retention_days}d", p.replicas)
    size = spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
    assert size == f"{p.storage_gib}Gi"
    assert rel["values"]["nodeExporter"]["enabled"] is True, stack
    assert rel["values"]["prometheus-node-exporter"]["namespaceOverride"] == "node-agents", \
        "host access: only the privileged node-agents namespace admits node-exporter"


def test_helm_values_hold_no_secret(plan, stack):
    for r in plan.by_type(RELEASE):
        assert wire.secret_paths(r.inputs.get("values", {})) == [], f"{r.urn}: reference a Secret instead"
        text = json.dumps(inputs(r)["values"])
        assert "adminPassword" not in text and "api_url" not in text and "routing_key" not in text, r.urn


def test_grafana_admin_comes_from_a_generated_secret(plan_of):
    plan = plan_of("production")
    admin = releases(plan)["kube-prometheus-stack"]["values"]["grafana"]["admin"]
    assert admin == {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"}
    (secret,) = [r for r in plan.by_type("kubernetes:core/v1:Secret") if r.name == "monitoring-grafana-admin"]
    assert wire.is_secret(secret.inputs["stringData"]), "the password must stay a secret Output"
    assert plan.by_type("random:index/randomPassword:RandomPassword")


def test_alertmanager_reads_its_config_from_a_secret(plan_of):
    am = releases(plan_of("staging"))["kube-prometheus-stack"]["values"]["alertmanager"]["alertmanagerSpec"]
    assert am["useExistingSecret"] is True and am["configSecret"] == "alertmanager-config"


def test_alertmanager_routes_critical_to_pagerduty():
    cfg = alertmanager_config("https://hooks.slack.com/x", "#alerts", "pd-key")
    assert cfg["route"]["receiver"] == "slack"
    critical = next(r for r in cfg["route"]["routes"] if r["matchers"] == ['severity="critical"'])
    assert critical["receiver"] == "pagerduty"
    assert {r["name"] for r in cfg["receivers"]} == {"null", "slack", "pagerduty"}


def test_alertmanager_without_receivers_uses_null():
    cfg = alertmanager_config(None, "#alerts", None)
    assert cfg["route"]["receiver"] == "null" and cfg["receivers"] == [{"name": "null"}]


def test_alerting_secrets_stay_secret_in_the_plan():
    plan = run("staging", {"platform:alerting.slackWebhookUrl": "https://hooks.slack.com/services/T/B/X",
                           "platform:alerting.pagerdutyRoutingKey": "pd-routing-key"},
               secret_keys=frozenset({"platform:alerting.slackWebhookUrl", "platform:alerting.pagerdutyRoutingKey"}))
    (secret,) = [r for r in plan.by_type("kubernetes:core/v1:Secret") if r.name == "monitoring-alertmanager-config"]
    assert wire.is_secret(secret.inputs["stringData"])
    assert "pd-routing-key" not in wire.to_json(wire.redact(secret.inputs))


ALERTS = {"ServiceDown", "HighLatencyP95", "HighErrorRate", "PostgresConnectionsHigh", "ContainerMemoryHigh",
          "BackupJobFailed", "BackupMissing", "CertificateExpiringSoon", "PostgresExporterDown",
          "RedisExporterDown", "PersistentVolumeFillingUp", "BackupNotVerified", "BackupMetricsAbsent",
          "BackupSizeDropped", "RestoreDrillFailed", "RestoreDrillStale", "RestoreDrillMetricsAbsent",
          "PostgresReplicaLagging", "PostgresReplicaLagCritical",
          "NodeCPUPressure", "NodeMemoryPressure", "NodeDiskPressure", "NodeFilesystemReadOnly",
          "FluentBitOutputErrors", "FluentBitOutputRetrying", "FluentBitRecordsDropped"}


def test_prometheus_rules_are_selected_and_complete(plan, stack):
    rules = [inputs(r) for r in plan.by_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule")]
    if not owner(stack):
        assert rules == [], "PR environments never page"
        return
    (rule,) = rules
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    alerts = {a["alert"]: a for g in rule["spec"]["groups"] for a in g["rules"]}
    assert set(alerts) == ALERTS
    assert (alerts["ServiceDown"]["for"], alerts["ServiceDown"]["labels"]["severity"]) == ("1m", "critical")
    assert "26 * 3600" in alerts["BackupMissing"]["expr"]


def test_dashboards_are_configmaps_for_the_sidecar(plan, stack):
    maps = [inputs(r) for r in plan.by_type("kubernetes:core/v1:ConfigMap")
            if inputs(r)["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert len(maps) == (4 if owner(stack) else 0)
    for cm in maps:
        (body,) = cm["data"].values()
        assert json.loads(body)["panels"], cm["metadata"]["name"]


def test_node_pressure_alerts_fire_above_85_percent_and_on_read_only_filesystems():
    from components.monitoring import node_alerts

    alerts = {a["alert"]: a["expr"] for a in node_alerts()}
    for name in ("NodeCPUPressure", "NodeMemoryPressure", "NodeDiskPressure"):
        assert "> 0.85" in alerts[name] and 'job="node-exporter"' in alerts[name], (name, alerts[name])
    assert "node_filesystem_readonly" in alerts["NodeFilesystemReadOnly"]
    assert "== 1" in alerts["NodeFilesystemReadOnly"]


def test_log_pipeline_alerts_watch_fluent_bits_output_errors_and_retries():
    from components.monitoring import log_pipeline_alerts

    exprs = " ".join(a["expr"] for a in log_pipeline_alerts())
    for metric in ("fluentbit_output_errors_total", "fluentbit_output_retries_total",
                   "fluentbit_output_retries_failed_total"):
        assert f'{metric}{{job="fluent-bit"}}' in exprs, metric


@pytest.mark.parametrize("chart, version", [("prometheus-postgres-exporter", "8.2.0"),
                                            ("prometheus-redis-exporter", "6.29.0")])
def test_exporters_run_next_to_the_data_with_service_monitors(plan, stack, chart, version):
    found = [v for v in releases(plan).values() if v["chart"] == chart]
    assert found, chart
    for rel in found:  # the Postgres exporter: one release per endpoint (primary, read replica)
        assert (rel["version"], rel["namespace"]) == (version, APP_NS[stack]), rel["name"]
        assert rel["values"]["serviceMonitor"]["enabled"] is True
        assert rel["values"]["serviceMonitor"]["labels"] == {"release": "kube-prometheus-stack"}


def test_read_replica_has_its_own_exporter_on_the_primarys_account(plan, stack):
    found = releases(plan)
    replica = PROFILES[environment_of(stack)].postgres.read_replica
    assert ("postgres-exporter-reader" in found) == replica, sorted(found)
    if replica:
        values = found["postgres-exporter-reader"]["values"]
        assert values["config"]["datasource"]["host"].startswith("platform-production-postgres-replica.")
        assert values["serviceAccount"] == {"create": False, "name": "postgres-exporter"}
        assert values["config"]["datasource"]["passwordFile"] == "/run/postgres/password"


def test_postgres_exporter_credentials_by_mode(plan, stack):
    values = releases(plan)["postgres-exporter"]["values"]
    datasource = values["config"]["datasource"]
    if PROFILES[environment_of(stack)].postgres.mode == "in-cluster":
        # A file from the Secret, never an env var (checkov CKV_K8S_35).
        assert datasource["passwordFile"] == "/run/postgres/password" and "passwordSecret" not in datasource
        assert values["extraVolumes"][0]["secret"]["secretName"] == "postgres-credentials", values["extraVolumes"]
    else:
        assert datasource["passwordFile"] == "/run/postgres/password"
        assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("-postgres-exporter")
        assert values["initContainers"][0]["volumeMounts"][0]["mountPath"] == "/run/postgres"
        assert {"name": "password", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}} in values["extraVolumes"]


def test_redis_exporter_reads_redis_auth(plan, stack):
    auth = releases(plan)["redis-exporter"]["values"]["auth"]
    assert auth == {"enabled": True, "secret": {"name": "redis-auth", "key": "password"}}


def test_app_service_monitor(plan, stack):
    (sm,) = [inputs(r) for r in plan.by_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")
             if inputs(r)["metadata"]["name"] == "app"]
    assert sm["metadata"]["namespace"] == APP_NS[stack]
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"


def test_grafana_is_served_over_tls_by_the_cluster_owner(plan, stack):
    routes = [inputs(r) for r in plan.by_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
              if inputs(r)["metadata"]["name"] == "grafana"]
    host = {"staging": "grafana-staging.example.com", "production": "grafana.example.com"}.get(stack)
    assert [r["spec"]["hostnames"] for r in routes] == ([[host]] if host else [])


def test_no_volume_when_the_profile_says_zero():
    plan = run("staging", {"platform:prometheus.storageGib": "0"})
    spec = releases(plan)["kube-prometheus-stack"]["values"]["prometheus"]["prometheusSpec"]
    assert "storageSpec" not in spec, "storage_gib 0 means emptyDir"
