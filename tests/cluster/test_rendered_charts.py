"""The network-policy and alert checks over the pinned charts as Helm's engine renders them
(tools/offline/cluster.py), with the chart folder given as PLATFORM_CHARTS (a missing one fails)."""

from __future__ import annotations

import pytest

from tools.offline import cluster
from tools.offline.checks.base import PROGRAM


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_no_blocked_flow_and_no_forever_firing_alert_in_the_rendered_cluster(plan_of, platform_charts, stack):
    report = cluster.judge_stack(plan_of(stack), stack, stack)
    assert report.findings["helm-render"] == [], report.text()
    assert any(o.kind == "Prometheus" and o.origin != PROGRAM for o in report.objects), \
        f"{stack}: kube-prometheus-stack rendered no Prometheus"
    findings = report.findings["network-reachability"] + report.findings["alert-rules"]
    assert findings == [], "\n".join(f.line() for f in findings)
