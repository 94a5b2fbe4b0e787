"""The pinned aws-load-balancer-controller chart as Helm renders it with production's values
(components/loadbalancer.py): no IngressClass, no Service mutating webhook, no Gateway API
controllers, the VPC given explicitly."""

from __future__ import annotations

import pytest

from tools.offline import cluster
from tools.offline.checks.base import PROGRAM

RELEASE = "lb-controller"


@pytest.fixture(scope="module")
def rendered(plan_of, platform_charts) -> list:
    report = cluster.judge_stack(plan_of("production"), "production", "production")
    return [o for o in report.objects if o.origin == f"Release {RELEASE}"]


def test_the_rendered_chart_opens_no_second_way_in(rendered):
    kinds = {o.kind for o in rendered}
    assert "IngressClass" not in kinds and "IngressClassParams" not in kinds, kinds
    [hook] = [o for o in rendered if o.kind == "MutatingWebhookConfiguration"]
    paths = [w["clientConfig"]["service"]["path"] for w in hook.body["webhooks"]]
    assert "/mutate-v1-service" not in paths, paths


def test_the_rendered_controller_has_the_gateway_api_controllers_off(rendered):
    [deployment] = [o for o in rendered if o.kind == "Deployment" and o.origin != PROGRAM]
    args = deployment.body["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--feature-gates=ALBGatewayAPI=false,NLBGatewayAPI=false" in args, args
    assert any(a.startswith("--aws-vpc-id=vpc-") for a in args), args
