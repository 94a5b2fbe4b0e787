"""The real pinned charts (from PLATFORM_CHARTS), rendered with each stack's values: 0 errors."""

from __future__ import annotations

import pytest

from tools.offline import cluster, helm

STACKS = ("staging", "production", "pr-7")


@pytest.fixture(scope="module")
def reports(plan_of, platform_charts, tmp_path_factory) -> dict[str, cluster.ClusterReport]:
    cache = tmp_path_factory.mktemp("render")
    platform = helm.releases((r.urn, r.type, r.inputs) for r in plan_of("staging").resources)
    environment = {"pr-7": "ephemeral"}
    return {s: cluster.judge(plan_of(s), stack=s, environment=environment.get(s, s), charts=platform_charts,
                             cache=cache, platform=platform if s.startswith("pr-") else None) for s in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_every_release_renders_and_the_cluster_has_no_errors(reports, stack):
    report = reports[stack]
    assert report.missing_charts == [], report.missing_charts
    assert report.releases and all(r.objects for r in report.releases), report.per_release()
    assert report.errors == [], "\n".join(f.line() for f in report.errors)


@pytest.mark.parametrize("stack", STACKS)
def test_only_transition_rules_go_unjudged(reports, stack):
    reasons = [s.line() for s in reports[stack].skipped if "pack-rules" not in s.check]
    # Allowed: CEL transition rules (they apply to updates only), and pods in kube-system, which EKS
    # owns (metrics-server): the stack does not declare that namespace, so its enforced level is not ours.
    assert all("transition rule (oldSelf)" in r or "namespace 'kube-system' is not declared" in r
               for r in reasons), reasons
