"""The backup, restore-drill and replica-lag alerts, judged by promtool: they parse, and they fire when they should.

Each case feeds promtool's rule unit tests the series the jobs push (images/backup) or the
exporter exposes, and states which alert must fire, with which labels, at which time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components import dashboards, monitoring

IMAGE = Path(__file__).resolve().parents[2] / "images/backup"
BACKUP = {"namespace": "app", "job": "postgres-backup"}
DRILL = {"namespace": "app", "job": "postgres-restore-drill"}
REPLICA = {"namespace": "app", "instance": "replica:9187", "job": "postgres-exporter"}


def promtool(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool not found: `bash .ci/run` installs it (apt-get install prometheus)")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": monitoring.alert_rules("app")}))
    return subprocess.run(["promtool", *args], cwd=tmp_path, capture_output=True, text=True, timeout=30)


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    return {"series": name + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "values": values}


def test_alert_rules_parse(tmp_path: Path) -> None:
    proc = promtool(tmp_path, "check", "rules", "rules.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


CASES = {
    # alert: [(input series, interval, eval time, labels of the firing alert or None)]
    "BackupNotVerified": [
        ([series("backup_last_success_timestamp_seconds", BACKUP, "0x30")], "1h", "27h", {"namespace": "app"}),
        ([series("backup_last_success_timestamp_seconds", BACKUP, "0x30")], "1h", "25h", None),
    ],
    "BackupMetricsAbsent": [
        ([series("backup_last_size_bytes", BACKUP, "1x30")], "1h", "27h", BACKUP),
        ([series("backup_last_success_timestamp_seconds", BACKUP, "0x30")], "1h", "27h", None),
    ],
    "BackupSizeDropped": [
        ([series("backup_last_size_bytes", BACKUP, "400x5"), series("backup_previous_size_bytes", BACKUP, "1000x5")],
         "1m", "2m", BACKUP),
        ([series("backup_last_size_bytes", BACKUP, "600x5"), series("backup_previous_size_bytes", BACKUP, "1000x5")],
         "1m", "2m", None),
        ([series("backup_last_size_bytes", BACKUP, "600x5"), series("backup_previous_size_bytes", BACKUP, "0x5")],
         "1m", "2m", None),
    ],
    "RestoreDrillFailed": [
        ([series("restore_drill_last_run_success", DRILL, "0x5")], "1m", "2m", DRILL),
        ([series("restore_drill_last_run_success", DRILL, "1x5")], "1m", "2m", None),
    ],
    "RestoreDrillStale": [
        ([series("restore_drill_last_success_timestamp_seconds", DRILL, "0x240")], "1h", "9d", {"namespace": "app"}),
        ([series("restore_drill_last_success_timestamp_seconds", DRILL, "0x240")], "1h", "7d", None),
    ],
    "PostgresReplicaLagging": [
        ([series("pg_replication_lag_seconds", REPLICA, "90x10"), series("pg_replication_is_replica", REPLICA, "1x10")],
         "1m", "5m", REPLICA),
        ([series("pg_replication_lag_seconds", REPLICA, "90x10"), series("pg_replication_is_replica", REPLICA, "0x10")],
         "1m", "5m", None),
        ([series("pg_replication_lag_seconds", REPLICA, "30x10"), series("pg_replication_is_replica", REPLICA, "1x10")],
         "1m", "5m", None),
    ],
    "PostgresReplicaLagCritical": [
        ([series("pg_replication_lag_seconds", REPLICA, "400x10"), series("pg_replication_is_replica", REPLICA, "1x10")],
         "1m", "8m", REPLICA),
        ([series("pg_replication_lag_seconds", REPLICA, "200x10"), series("pg_replication_is_replica", REPLICA, "1x10")],
         "1m", "8m", None),
    ],
}


@pytest.mark.parametrize("alert, case", [(a, c) for a, cases in CASES.items() for c in cases],
                         ids=[f"{a}-{'fires' if c[3] else 'quiet'}-{i}" for a, cases in CASES.items()
                              for i, c in enumerate(cases)])
def test_alert_fires_exactly_when_it_should(tmp_path: Path, alert: str, case) -> None:
    inputs, interval, at, labels = case
    rule = {r["alert"]: r for g in monitoring.alert_rules("app") for r in g["rules"]}[alert]
    expected = [] if labels is None else [{"exp_labels": {**labels, **rule["labels"]},
                                           "exp_annotations": rule["annotations"]}]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": interval,
        "tests": [{"interval": interval, "input_series": inputs,
                   "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}]}]}))
    proc = promtool(tmp_path, "test", "rules", "test.yaml")
    assert proc.returncode == 0, f"{alert} at {at}: {proc.stdout}{proc.stderr}"


def test_alerts_and_dashboard_read_only_metrics_the_jobs_push() -> None:
    pushed = {m for script in ("backup.sh", "drill.sh") for m in
              re.findall(r"gauge (\w+)", (IMAGE / script).read_text())}
    groups = {g["name"]: g for g in monitoring.alert_rules("app")}
    exprs = " ".join(r["expr"] for r in groups["platform.backups"]["rules"])
    exprs += " " + dashboards.dashboards("app")["dashboard-backups"]
    used = set(re.findall(r"\b((?:backup|restore_drill)_[a-z_]+)\b", exprs)) - {"backup_job"}
    assert used and used <= pushed, f"read but never pushed: {sorted(used - pushed)}"
