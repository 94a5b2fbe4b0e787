"""Both paths judge what a chart creates alike: the policy pack rendering each Release it receives
(spoken to over the engine's Analyzer protocol, as ``pulumi preview --policy-pack policies`` does)
and the offline plan's pack-rules check over the objects it rendered with the same kernel."""

from __future__ import annotations

import pytest

from cluster.export_objects import namespace, release
from tools.offline import check, cluster
from tools.offline.plan import export
from tools.report import CheckResult


def pack_findings(result: CheckResult) -> set[tuple[str, str, str, str]]:
    """(rule, rendered object, what, enforcement) of the pack's violations on rendered objects."""
    return {(v.rule, *v.what.split(": ", 1), v.enforcement) for v in result.violations if " → " in v.what}


def offline_findings(report: cluster.ClusterReport) -> set[tuple[str, str, str, str]]:
    return {(f.what.split(": ", 1)[0], f.subject, f.what.split(": ", 1)[1], f.details["enforcement"])
            for f in report.findings["pack-rules"]}


@pytest.mark.parametrize("environment", ["production", "ephemeral"])
def test_a_small_chart_gets_the_same_findings_on_both_paths(small_pack, small_charts, tmp_path, environment):
    document = {"deployment": {"resources": [namespace("team"), release("privileged", {"hostNetwork": True})]}}
    offline = offline_findings(cluster.judge(document, environment=environment, charts=small_charts,
                                             cache=tmp_path))
    pack = pack_findings(small_pack.check(document, environment))
    assert {"k8s-no-host-namespaces", "k8s-image-registry-allowed"} <= {rule for rule, *_ in pack}, pack
    assert pack == offline, f"pack only: {pack - offline}\noffline only: {offline - pack}"


def test_the_pack_names_a_chart_it_cannot_read_and_how_to_get_it(small_pack):
    document = {"deployment": {"resources": [release("not-in-the-folder", {})]}}
    [v] = [v for v in small_pack.check(document, "production").violations if v.rule == "helm-chart-renders"]
    assert v.mandatory and "not-in-the-folder-0.1.0.tgz" in v.what and "make charts" in v.what, v


def test_the_pack_reports_helms_message_when_a_chart_does_not_render(small_pack):
    document = {"deployment": {"resources": [release("tpl-port", {"port": 5432})]}}
    [v] = [v for v in small_pack.check(document, "production").violations if v.rule == "helm-chart-renders"]
    assert v.mandatory and "expected string; got float64" in v.what, v


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_pinned_charts_get_the_same_findings_and_suppressions_on_both_paths(plan_of, platform_charts, stack):
    plan = plan_of(stack)
    pack_result = check.check_deployment(export(plan), stack, stack=stack)
    report = cluster.judge(plan, stack=stack, environment=stack, charts=platform_charts)
    assert pack_findings(pack_result) == offline_findings(report)
    waived = {s.reason for s in pack_result.suppressed if s.name == s.urn.rsplit("::", 1)[-1] and " → " in s.reason}
    assert waived == {f"{s.subject}: {s.reason.split(' suppressed: ', 1)[1]}" for s in report.skipped
                      if s.check == "pack-rules" and " suppressed: " in s.reason}
    assert len(waived) >= 5, waived
