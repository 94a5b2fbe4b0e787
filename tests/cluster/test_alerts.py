"""The alert check: promtool parses every rule; no rule fires forever on EKS or guards a job
nothing scrapes. Small object sets, then the program's own rules next to the chart's monitors."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from cluster.cluster_objects import (
    control_plane_monitors,
    deployment,
    kube_prometheus_stack,
    node_agents,
    prometheus_rule,
    service,
    service_monitor,
)
from components.monitoring import alert_rules
from tools.offline.checks import alerts
from tools.offline.checks.base import Obj
from tools.offline.plan import manifests


def alert(name: str, expr: str) -> dict:
    return {"alert": name, "expr": expr, "for": "5m", "labels": {"severity": "critical"}}


def findings(*rules: dict, extra: list[Obj] | None = None) -> list[tuple[str, str]]:
    objects = kube_prometheus_stack() + (extra or []) + [prometheus_rule("monitoring", "test-rules", *rules)]
    return [(f.check, f.subject.rsplit(" alert ", 1)[-1]) for f in alerts.check(objects)]


def test_rules_over_scraped_jobs_pass():
    assert findings(alert("KubeletDown", 'absent(up{job="kubelet"} == 1)'),
                    alert("CoreDNSDown", 'up{job="coredns"} == 0')) == []


def test_absent_over_a_control_plane_job_fires_forever_and_cites_why():
    [finding] = alerts.check(kube_prometheus_stack() + [
        prometheus_rule("monitoring", "cp", alert("KubeSchedulerDown", 'absent(up{job="kube-scheduler"} == 1)'))])
    assert finding.check == "alert-always-firing", finding.line()
    assert "aws/containers-roadmap#1298" in finding.what, finding.line()


def test_a_monitor_without_targets_does_not_make_its_job_exist():
    """The chart's control-plane ServiceMonitors exist by default, but on EKS nothing answers them."""
    rules = [alert("KubeControllerManagerDown", 'absent(up{job="kube-controller-manager"} == 1)'),
             alert("KubeProxyDown", 'absent(up{job="kube-proxy"} == 1)')]
    assert findings(*rules, extra=control_plane_monitors()) == [
        ("alert-always-firing", "KubeControllerManagerDown"), ("alert-always-firing", "KubeProxyDown")]


def test_a_rule_on_a_job_nothing_scrapes_can_never_fire():
    assert findings(alert("NodeDown", 'up{job="node-exporter"} == 0')) == [("alert-unknown-job", "NodeDown")]


def test_a_regex_job_matcher_matches_the_scraped_jobs():
    assert findings(alert("ApiDown", 'absent(up{job=~"api.*"} == 1)')) == []
    assert findings(alert("EtcdDown", 'absent(up{job=~".*etcd.*"} == 1)')) == [("alert-always-firing", "EtcdDown")]


needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool missing: apt-get install prometheus (.ci/run does)")


@needs_promtool
def test_promtool_rejects_a_malformed_rule_and_names_the_object():
    [finding] = alerts.promtool_findings([prometheus_rule("monitoring", "broken", alert("Broken", "rate(up[5m]"))])
    assert finding.check == "alert-rules" and "PrometheusRule monitoring/broken" in finding.subject, finding.line()
    assert "parse error" in finding.what, finding.line()


@needs_promtool
def test_promtool_accepts_the_programs_rules():
    assert alerts.promtool_findings([prometheus_rule("monitoring", "platform-alerts", *[
        r for g in alert_rules("app") for r in g["rules"]])]) == []


def test_a_missing_promtool_is_a_finding_not_a_silent_pass():
    [finding] = alerts.promtool_findings([prometheus_rule("monitoring", "r", alert("A", "up == 0"))],
                                         promtool="promtool-that-does-not-exist")
    assert finding.check == "alert-rules" and "not installed" in finding.what


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_programs_rules_with_the_charts_monitors_never_fire_forever(plan_of, stack):
    program = [Obj(body) for body in manifests(plan_of(stack)).values()]
    assert any(o.kind == "PrometheusRule" for o in program), f"{stack}: no PrometheusRule in the plan"
    found = alerts.check(program + kube_prometheus_stack() + node_agents())
    assert found == [], "\n".join(f.line() for f in found)


def test_the_node_and_log_alerts_guard_the_node_agents_jobs(plan_of):
    """Without node-exporter's and Fluent Bit's monitors, every node and log-pipeline alert guards nothing."""
    program = [Obj(body) for body in manifests(plan_of("staging")).values()]
    found = {f.subject.rsplit(" ", 1)[-1] for f in alerts.check(program + kube_prometheus_stack())}
    assert {"NodeCPUPressure", "NodeFilesystemReadOnly", "FluentBitOutputErrors", "FluentBitRecordsDropped"} <= found


def test_the_chart_values_disable_what_eks_never_exposes(plan_of):
    """The values the program passes turn off the control-plane monitors and their rule groups."""
    release = next(r for r in plan_of("production").resources
                   if r.type == "kubernetes:helm.sh/v3:Release" and r.name.endswith("kube-prometheus-stack"))
    values = release.inputs["values"]
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}, f"{release.urn}: {component} is scraped on EKS"


@needs_promtool
@pytest.mark.parametrize("name,series,fires,summary", [
    ("PostgresExporterDown", 'pg_up{namespace="app"}', "0", "the Postgres exporter cannot reach the database"),
    ("RedisExporterDown", 'redis_up{namespace="app"}', "0", "the Redis exporter cannot reach Redis"),
    ("BackupJobFailed", 'kube_job_status_failed{namespace="app", job_name="postgres-backup-1"}', "1",
     "backup job postgres-backup-1 failed"),
])
def test_our_critical_alerts_fire_under_promtool_test_rules(tmp_path, name, series, fires, summary):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": alert_rules("app")}))
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [{"series": series, "values": f"{fires}x10"}],
                   "alert_rule_test": [{"eval_time": "5m", "alertname": name, "exp_alerts": [
                       {"exp_labels": {"severity": "critical", **labels(series)}, "exp_annotations": {"summary": summary}}]}]}]}))
    result = subprocess.run(["promtool", "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"


def labels(series: str) -> dict[str, str]:
    inner = series.split("{", 1)[1].rstrip("}")
    return {k.strip(): v.strip().strip('"') for k, v in (p.split("=", 1) for p in inner.split(","))}


def pushgateway_objects(*, honor: bool, annotated: bool = True) -> list[Obj]:
    gw = {"app.kubernetes.io/name": "pushgateway"}
    monitor = service_monitor("monitoring", "pushgateway", gw, "http", origin="program")
    monitor.body["spec"]["endpoints"][0]["honorLabels"] = honor
    if annotated:
        monitor.body["metadata"]["annotations"] = {alerts.PUSHED_JOBS_ANNOTATION: "postgres-backup"}
    return [deployment("monitoring", "pushgateway", gw, ("http", 9091, "TCP")),
            service("monitoring", "pushgateway", gw, ("http", 9091, "http", "TCP"), labels=gw), monitor]


@pytest.mark.parametrize("honor,annotated,found", [
    (True, True, []),
    (False, True, [("alert-always-firing", "BackupMetricsAbsent")]),  # the pushed job becomes exported_job
    (True, False, [("alert-always-firing", "BackupMetricsAbsent")]),  # nothing says which groups are pushed
])
def test_a_pushed_job_exists_only_through_an_honour_labels_monitor_that_declares_it(honor, annotated, found):
    rule = alert("BackupMetricsAbsent", 'absent(backup_last_success_timestamp_seconds{job="postgres-backup"})')
    assert findings(rule, extra=pushgateway_objects(honor=honor, annotated=annotated)) == found
