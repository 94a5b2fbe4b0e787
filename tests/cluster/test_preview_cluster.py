"""A PR stack judged among the cluster it joins (staging's platform), and cert-manager's chart
carrying the DNS-01 role, both as Helm's engine renders the pinned charts."""

from __future__ import annotations

import pytest

from tools.offline import cluster, helm
from tools.offline.checks import netpol

SHARED_PROXY_TO_PR_APP = "gateway/envoy-gateway-platform → pr-7/app-blue:8080/TCP"


@pytest.fixture(scope="module")
def shared(plan_of, platform_charts) -> list:
    """Staging's program objects and every object its Releases render."""
    staging = plan_of("staging")
    specs = helm.releases((r.urn, r.type, r.inputs) for r in staging.resources)
    rendered = helm.render_all(specs, platform_charts, cache=helm.cache_dir())
    return cluster.program_objects(staging) + [o for r in rendered for o in r.objects]


def test_the_shared_proxy_reaching_the_pr_app_is_judged_and_allowed(plan_of, shared):
    own = cluster.program_objects(plan_of("pr-7"))
    judged = {f.describe() for f in netpol.flows(own, shared=shared)}
    assert SHARED_PROXY_TO_PR_APP in judged, sorted(judged)
    assert netpol.check(own, shared=shared) == []


def test_without_the_pr_namespace_gateway_rule_the_flow_is_blocked(plan_of, shared):
    own = [o for o in cluster.program_objects(plan_of("pr-7"))
           if not (o.kind == "NetworkPolicy" and o.name == "allow-gateway-to-app")]
    blocked = {f.subject: f.details["side"] for f in netpol.check(own, shared=shared)}
    assert blocked.get(SHARED_PROXY_TO_PR_APP) == "ingress", blocked


def test_only_flows_with_a_pr_end_are_judged(plan_of, shared):
    own = cluster.program_objects(plan_of("pr-7"))
    foreign = [f.describe() for f in netpol.flows(own, shared=shared)
               if "pr-7/" not in f.src.ref and "pr-7/" not in f.dst.ref]
    assert foreign == [], foreign


def test_the_rendered_cert_manager_service_account_carries_the_dns01_role(plan_of, shared):
    (account,) = [o for o in shared if o.kind == "ServiceAccount" and o.namespace == "cert-manager"
                  and o.name == "cert-manager"]
    annotations = account.body["metadata"].get("annotations") or {}
    assert annotations.get("eks.amazonaws.com/role-arn", "").endswith(":role/platform-staging-acme-dns01"), \
        annotations
    (controller,) = [o for o in shared if o.kind == "Deployment" and o.name == "cert-manager"]
    assert controller.body["spec"]["template"]["spec"]["serviceAccountName"] == "cert-manager"
