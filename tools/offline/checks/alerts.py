"""Alert rules: they parse, and none fires forever (checks ``alert-rules``, ``alert-always-firing``,
``alert-unknown-job``).

* Every PrometheusRule, the program's and the charts', goes through the real ``promtool check
  rules`` (Debian package ``prometheus``; ``.ci/run`` installs it), in one run for all of them.
* ``absent(...{job="X"})`` fires for as long as no target of job X exists. The jobs that exist are
  derived from the objects: every endpoint of a ServiceMonitor / PodMonitor that a Prometheus
  selects and that resolves to a target (the same resolution as the network-policy check). A rule
  that uses ``absent`` on a job no target produces fires from the first evaluation on; on EKS that
  is the fate of the control-plane jobs (``eks.MANAGED_CONTROL_PLANE_JOBS``, with sources).
* Any other rule naming a job that nothing produces can never fire: it guards nothing.
* A Pushgateway is scraped with ``honorLabels: true``: the series it serves keep the ``job`` of
  the push group, not the target's. Such an endpoint produces the jobs its monitor declares in the
  annotation ``PUSHED_JOBS_ANNOTATION`` (comma-separated; the program keeps it equal to what its
  jobs push), besides its own job. Without honorLabels the pushed ``job`` is overwritten (it
  becomes ``exported_job``), so the annotation counts only with honorLabels.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from tools.offline.checks import eks, netpol
from tools.offline.checks.base import Finding, Obj

PROMTOOL = "promtool"
PUSHED_JOBS_ANNOTATION = "platform.example.com/pushed-jobs"
JOB_MATCHER = re.compile(r'\bjob\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"')


def rule_objects(objects: Sequence[Obj]) -> list[Obj]:
    return [o for o in objects if o.kind == "PrometheusRule"]


def promtool_findings(rules: Sequence[Obj], promtool: str = PROMTOOL) -> list[Finding]:
    """One ``alert-rules`` finding per PrometheusRule that ``promtool check rules`` rejects."""
    if not rules:
        return []
    binary = shutil.which(promtool)
    if binary is None:
        return [Finding(check="alert-rules", subject="promtool",
                        what="promtool is not installed, so the alert rules were not parsed",
                        fix="apt-get install prometheus (Debian ships promtool in it); .ci/run does")]
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        files = {}
        for i, obj in enumerate(rules):
            path = Path(tmp) / f"{i:03d}-{obj.namespace}-{obj.name}.yaml"
            path.write_text(yaml.safe_dump({"groups": (obj.body.get("spec") or {}).get("groups") or []}))
            files[path.name] = obj
        result = subprocess.run([binary, "check", "rules", *sorted(str(Path(tmp) / n) for n in files)],
                                capture_output=True, text=True, timeout=120, check=False)
    if result.returncode == 0:
        return []
    return [Finding(check="alert-rules", subject=obj.describe(), what=f"promtool check rules: {message}",
                    fix="correct the rule expression (promtool check rules FILE shows the same message)")
            for name, obj in files.items() if (message := _failure(result.stdout + result.stderr, name))]


def _failure(output: str, filename: str) -> str:
    """promtool's error lines for one file (``Checking F`` ... ``FAILED:`` then the errors)."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Checking ") and line.endswith(filename):
            block = []
            for nxt in lines[i + 1:]:
                if nxt.startswith("Checking "):
                    break
                block.append(nxt.strip())
            if any(b.startswith("FAILED") for b in block):
                return "; ".join(b for b in block if b and not b.startswith("FAILED"))[:500]
    return ""


def produced_jobs(objects: Sequence[Obj], vpc_cidr: str = eks.OFFLINE_VPC_CIDR) -> set[str]:
    """Jobs with at least one target, from the monitors some Prometheus selects."""
    inv = netpol.inventory(objects, vpc_cidr)
    proms = [o for o in objects if o.kind == "Prometheus"]
    jobs = set()
    for monitor in (o for o in objects if o.kind in ("ServiceMonitor", "PodMonitor")):
        if any(netpol.monitor_selected(p, monitor, inv) for p in proms):
            targets = netpol.monitor_targets(monitor, inv)
            jobs |= {job for _, _, job in targets}
            if targets and _honours_labels(monitor):
                declared = ((monitor.body.get("metadata") or {}).get("annotations") or {}).get(PUSHED_JOBS_ANNOTATION, "")
                jobs |= {j.strip() for j in str(declared).split(",") if j.strip()}
    return jobs


def _honours_labels(monitor: Obj) -> bool:
    spec = monitor.body.get("spec") or {}
    endpoints = spec.get("endpoints") or spec.get("podMetricsEndpoints") or []
    return any(ep.get("honorLabels") is True for ep in endpoints)


def _unproduced(expr: str, jobs: set[str]) -> list[str]:
    missing = []
    for op, value in JOB_MATCHER.findall(expr):
        hit = value in jobs if op == "=" else any(re.fullmatch(value, j) for j in jobs)
        if not hit:
            missing.append(value)
    return missing


def job_findings(objects: Sequence[Obj], vpc_cidr: str = eks.OFFLINE_VPC_CIDR) -> list[Finding]:
    """Rules that fire forever (``absent`` on a job without targets) or guard a job nothing produces."""
    if not any(o.kind == "Prometheus" for o in objects):
        return []  # no Prometheus here (a PR stack): the shared one's jobs are judged in its stack
    jobs = produced_jobs(objects, vpc_cidr)
    findings = []
    for obj in rule_objects(objects):
        for group in (obj.body.get("spec") or {}).get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" not in rule:
                    continue
                expr = str(rule.get("expr", ""))
                missing = _unproduced(expr, jobs)
                if not missing:
                    continue
                sources = "; ".join(f"{j}: {eks.MANAGED_CONTROL_PLANE_JOBS[j]}" for j in missing
                                    if j in eks.MANAGED_CONTROL_PLANE_JOBS)
                managed = f" (never exposed by a managed control plane — {sources})" if sources else ""
                firing = "absent(" in expr.replace(" ", "")
                findings.append(Finding(
                    check="alert-always-firing" if firing else "alert-unknown-job",
                    subject=f"{obj.describe()} alert {rule['alert']}",
                    what=(f"fires permanently: absent() over job {', '.join(missing)}, which no scraped target "
                          f"produces{managed}" if firing else
                          f"can never fire: job {', '.join(missing)} has no scraped target{managed}"),
                    fix="disable the rule (chart: defaultRules.rules.<group> or defaultRules.disabled.<alert>; ours: "
                        "components/monitoring.py) or scrape the job",
                    details={"jobs": missing, "expr": expr, "severity": (rule.get("labels") or {}).get("severity")}))
    return findings


def check(objects: Sequence[Obj], vpc_cidr: str = eks.OFFLINE_VPC_CIDR) -> list[Finding]:
    return promtool_findings(rule_objects(objects)) + job_findings(objects, vpc_cidr)
