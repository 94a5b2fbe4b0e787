"""The network-policy and alert checks over the pinned charts as Helm's engine renders them.

Runs when the chart folder is given (``PLATFORM_CHARTS=<dir>``, as .ci/run does) and a Helm engine
for Python (``helm-python-sdk``) is installed; the renderer in tools/offline will replace the small
rendering below. Everything else in tests/cluster judges hand-written, chart-shaped objects.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from tools import wire
from tools.offline.checks import alerts, netpol
from tools.offline.checks.base import Obj
from tools.offline.plan import HELM_RELEASE, manifests

CHARTS = os.environ.get("PLATFORM_CHARTS")
pytestmark = pytest.mark.skipif(not CHARTS, reason="PLATFORM_CHARTS is not set (the pinned chart archives)")
KNOWN_RENDER_FAILURES = {"postgres-exporter"}
"""issue 15: the chart passes config.datasource.port through tpl, which needs a string."""


def _integral(value):
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def rendered(plan) -> tuple[list[Obj], set[str]]:
    helm = pytest.importorskip("helm_python", reason="helm-python-sdk is not installed")
    objects, failed = [], set()
    for r in plan.resources:
        if r.type != HELM_RELEASE:
            continue
        release = _integral(wire.plain(r.inputs, secret="REDACTED"))
        archive = Path(CHARTS) / f"{release['chart'].rsplit('/', 1)[-1]}-{release['version']}.tgz"
        try:
            out = helm.Chart.load(str(archive)).render(release.get("values") or {}, name=release["name"],
                                                       namespace=release["namespace"], is_install=True)
        except helm.HelmError:
            failed.add(release["name"])
            continue
        for path, text in out.items():
            if path.endswith((".yaml", ".yml")):
                for doc in filter(None, map(yaml.safe_load, re.split(r"(?:^|\s*\n)---\s*", text))):
                    meta = doc.setdefault("metadata", {})
                    if doc.get("kind") in ("Deployment", "Service", "ServiceMonitor", "Prometheus", "Alertmanager",
                                           "PrometheusRule", "Job", "Pod", "DaemonSet", "StatefulSet",
                                           "Role", "RoleBinding", "ServiceAccount", "ConfigMap"):
                        meta.setdefault("namespace", release["namespace"])
                    objects.append(Obj(doc, origin=f"Release {release['name']}",
                                       hook=(meta.get("annotations") or {}).get("helm.sh/hook")))
    return objects, failed


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_no_blocked_flow_and_no_forever_firing_alert_in_the_rendered_cluster(plan_of, stack):
    plan = plan_of(stack)
    charts, failed = rendered(plan)
    assert failed <= KNOWN_RENDER_FAILURES, f"{stack}: Releases that do not render: {sorted(failed)}"
    objects = [Obj(body) for body in manifests(plan).values()] + charts
    assert any(o.kind == "Prometheus" for o in charts), f"{stack}: kube-prometheus-stack rendered no Prometheus"
    findings = netpol.check(objects) + alerts.check(objects)
    assert findings == [], "\n".join(f.line() for f in findings)
