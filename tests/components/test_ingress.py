"""Ingress: Envoy Gateway + cert-manager releases, issuers, Gateway, TLS policy, routes, rate limit
(the preview listener and its wildcard: test_previews.py)."""

from __future__ import annotations

import pytest
from helpers import environment_of, inputs

from config import PROFILES

RELEASE = "kubernetes:helm.sh/v3:Release"
HOSTS = {"pr-7": "pr-7.preview.example.com", "staging": "staging.example.com", "production": "app.example.com"}


def one(plan, type_: str, name: str | None = None) -> dict:
    found = [r for r in plan.by_type(type_) if name is None or inputs(r)["metadata"]["name"] == name]
    assert len(found) == 1, f"{plan.stack}: expected one {type_} {name or ''}, got {[r.name for r in found]}"
    return inputs(found[0])


def test_releases_are_pinned_and_installed_by_the_cluster_owner_only(plan, stack):
    releases = {inputs(r)["name"]: inputs(r) for r in plan.by_type(RELEASE)}
    if environment_of(stack) == "ephemeral":
        assert not {"envoy-gateway", "cert-manager"} & set(releases), "PR stacks reuse staging's platform"
        return
    eg, cm = releases["envoy-gateway"], releases["cert-manager"]
    assert (eg["chart"], eg["version"]) == ("oci://docker.io/envoyproxy/gateway-helm", "v1.9.0")
    assert (cm["repositoryOpts"]["repo"], cm["version"]) == ("https://charts.jetstack.io", "v1.21.1")
    assert cm["values"]["crds"]["enabled"] is True
    assert cm["values"]["config"]["gatewayAPI"]["enabled"] is True


def test_custom_resources_wait_for_the_release_with_their_crds(plan_of):
    plan = plan_of("staging")
    releases = {r.name: r.urn for r in plan.by_type(RELEASE)}
    for type_ in ("kubernetes:cert-manager.io/v1:ClusterIssuer", "kubernetes:cert-manager.io/v1:Certificate",
                  "kubernetes:gateway.networking.k8s.io/v1:Gateway",
                  "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"):
        for r in plan.by_type(type_):
            assert {releases["ingress-cert-manager"], releases["ingress-envoy-gateway"]} <= set(r.dependencies), r.urn


def test_every_kubernetes_resource_uses_the_explicit_ssa_provider(plan, stack):
    (provider,) = plan.by_type("pulumi:providers:kubernetes")
    assert inputs(provider)["enableServerSideApply"] == "true" or inputs(provider)["enableServerSideApply"] is True
    for r in plan.resources:
        if r.custom and r.type.startswith("kubernetes:"):
            assert r.provider.startswith(provider.urn), f"{r.urn} uses {r.provider or 'the default provider'}"


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_cluster_issuer_of_the_platform_stacks_is_http01_on_the_shared_gateway(plan_of, stack):
    env = environment_of(stack)
    issuers = {inputs(r)["metadata"]["name"]: inputs(r)["spec"]
               for r in plan_of(stack).by_type("kubernetes:cert-manager.io/v1:ClusterIssuer")}
    spec = issuers[PROFILES[env].certificates.issuer]
    assert spec["acme"]["server"] == PROFILES[env].certificates.acme_server
    assert spec["acme"]["email"] == "platform@example.com"
    (ref,) = spec["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"]
    assert (ref["kind"], ref["name"], ref["sectionName"]) == ("Gateway", "platform", "http")


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_gateway_terminates_tls_for_the_app_host(plan_of, stack):
    gw = one(plan_of(stack), "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert (gw["metadata"]["namespace"], gw["metadata"]["name"]) == ("gateway", "platform")
    assert gw["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    listeners = {listener["name"]: listener for listener in gw["spec"]["listeners"]}
    assert (listeners["http"]["port"], listeners["http"]["protocol"]) == (80, "HTTP")
    https = listeners["https-app"]
    assert (https["port"], https["hostname"], https["tls"]["mode"]) == (443, HOSTS[stack], "Terminate")
    assert https["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "app-tls"}]
    assert gw["spec"]["infrastructure"]["parametersRef"]["kind"] == "EnvoyProxy"


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_tls_12_minimum(plan_of, stack):
    assert one(plan_of(stack), "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")["spec"]["tls"] == {
        "minVersion": "1.2"}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_http_only_redirects_to_https(plan_of, stack):
    route = one(plan_of(stack), "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "https-redirect")["spec"]
    assert route["parentRefs"][0]["sectionName"] == "http"
    assert route["rules"] == [{"filters": [{"type": "RequestRedirect",
                                            "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]


def test_app_route_sets_hsts_and_targets_the_app_service(plan, stack):
    route = one(plan, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "app")["spec"]
    assert route["hostnames"] == [HOSTS[stack]]
    for rule in route["rules"]:
        (header,) = rule["filters"][0]["responseHeaderModifier"]["set"]
        assert header["name"] == "Strict-Transport-Security" and "max-age=31536000" in header["value"], rule
    expected = ([{"name": "app-blue", "port": 8080}] if environment_of(stack) == "ephemeral" else
                [{"name": "app-blue", "port": 8080, "weight": 100}, {"name": "app-green", "port": 8080, "weight": 0}])
    assert route["rules"][-1]["backendRefs"] == expected, route["rules"]


def test_rate_limit_per_client_ip(plan, stack):
    spec = one(plan, "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy")["spec"]
    (rule,) = spec["rateLimit"]["global"]["rules"]
    assert rule["clientSelectors"] == [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}]
    assert rule["limit"] == {"requests": PROFILES[environment_of(stack)].gateway.rate_limit_per_minute, "unit": "Minute"}


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_envoy_replicas_and_disruption_budget_follow_the_profile(plan_of, stack):
    profile = PROFILES[environment_of(stack)].gateway
    kube = one(plan_of(stack), "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy")["spec"]["provider"]["kubernetes"]
    assert kube["envoyDeployment"]["replicas"] == profile.replicas
    assert ("envoyPDB" in kube) == profile.disruption_budget, stack
