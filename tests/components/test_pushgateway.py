"""The Pushgateway the backup job and the restore drill push to: where it exists, its pod floor,
its scrape (honorLabels), and the backup job's side of the path (METRICS_URL, POD_NAMESPACE, spool)."""

from __future__ import annotations

import re

from helpers import ROOT, environment_of, inputs

from components import pushgateway
from config import PROFILES
from tools import wire
from tools.offline import mockrun
from tools.offline.checks import alerts

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"


def _gateways(plan: mockrun.Plan) -> list:
    return [r for r in plan.resources if r.type == DEPLOYMENT and r.name.endswith("-pushgateway-deployment")]


def test_only_stacks_that_install_the_platform_run_a_pushgateway(plan: mockrun.Plan) -> None:
    installs = PROFILES[environment_of(plan.stack)].installs_platform
    assert len(_gateways(plan)) == (1 if installs else 0), f"{plan.stack}: {[r.urn for r in _gateways(plan)]}"


def test_the_pushgateway_is_pinned_cached_and_restricted(plan_of) -> None:
    [gw] = _gateways(plan_of("production"))
    pod = wire.plain(inputs(gw))["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert re.fullmatch(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/quay/prometheus/pushgateway:v\d+\.\d+\.\d+",
                        c["image"]), f"{gw.urn}: {c['image']}"
    sc = c["securityContext"]
    assert (sc["readOnlyRootFilesystem"], sc["capabilities"], sc["runAsNonRoot"]) == (True, {"drop": ["ALL"]}, True)
    assert pod["automountServiceAccountToken"] is False and "--persistence.file=/data/metrics" in c["args"], gw.urn


def test_the_quay_cache_rule_is_one_bootstrap_owns() -> None:
    from bootstrap.components.registry import PULL_THROUGH_CACHES
    assert PULL_THROUGH_CACHES["quay.io"] == "quay"


def test_the_monitor_honours_pushed_labels_and_declares_the_pushed_jobs(plan_of) -> None:
    [mon] = [r for r in plan_of("staging").resources if r.type == MONITOR and r.name.endswith("-pushgateway-monitor")]
    body = wire.plain(inputs(mon))
    assert [ep.get("honorLabels") for ep in body["spec"]["endpoints"]] == [True], mon.urn
    assert body["metadata"]["annotations"][alerts.PUSHED_JOBS_ANNOTATION] == ",".join(pushgateway.PUSHED_JOBS)


def test_the_declared_jobs_are_the_groups_the_backup_image_pushes() -> None:
    pushed = {m for f in (ROOT / "images/backup").glob("*.sh")
              for m in re.findall(r"^\s*push_metrics ([a-z0-9-]+) ", f.read_text(), re.M)}
    assert pushed == set(pushgateway.PUSHED_JOBS), pushed


def test_the_backup_job_gets_the_gateway_the_namespace_and_a_spool(plan: mockrun.Plan) -> None:
    profile = PROFILES[environment_of(plan.stack)]
    data = wire.plain(inputs(plan.get("kubernetes:core/v1:ConfigMap", "backup-config")))["data"]
    cron = wire.plain(inputs(plan.get("kubernetes:batch/v1:CronJob", "backup-cronjob")))
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    expected = pushgateway.url("monitoring") if profile.installs_platform else None
    assert data.get("METRICS_URL") == expected, f"{plan.stack}: {data.get('METRICS_URL')}"
    assert pod["containers"][0]["env"] == [
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}]
    spool = next(v for v in pod["volumes"] if v["name"] == "spool")
    assert spool["emptyDir"]["sizeLimit"] == f"{profile.backups.spool_gib}Gi" and data["BACKUP_SPOOL_DIR"], spool
