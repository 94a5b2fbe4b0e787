"""PR environments on staging's shared Gateway (components/ingress.py): one preview listener for
``*.preview.<domain>`` admitting only PR namespaces, one DNS-01 wildcard certificate, a Route53 role
that may write only its challenge record, and nothing of the sort in a PR stack's own plan."""

from __future__ import annotations

import json

import pytest
from helpers import inputs

from components.namespaces import PR_ENVIRONMENT_LABELS
from config import ACME_SERVERS
from tools.offline import stackfile
from tools.offline.checks.netpol import matches

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
NAMESPACE = "kubernetes:core/v1:Namespace"
SHARED_ONLY = (GATEWAY, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", CERTIFICATE, ISSUER,
               "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy")


def _one(plan, type_: str, name: str) -> dict:
    found = [inputs(r) for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{plan.stack}: expected one {type_} {name}, found {len(found)}"
    return found[0]


def _listeners(plan) -> dict[str, dict]:
    return {li["name"]: li for li in _one(plan, GATEWAY, "ingress-gateway")["spec"]["listeners"]}


def test_a_pr_stack_creates_no_gateway_proxy_certificate_issuer_or_load_balancer(plan_of):
    plan = plan_of("pr-7")
    found = [r.name for r in plan.resources if r.type in SHARED_ONLY]
    found += [r.name for r in plan.by_type("kubernetes:core/v1:Service") if inputs(r)["spec"].get("type") == "LoadBalancer"]
    assert found == [], f"pr-7 creates what staging's shared Gateway provides: {found}"
    assert [r.name for r in plan.by_type(ROUTE)] == ["ingress-app"], [r.name for r in plan.by_type(ROUTE)]


def test_a_pr_route_attaches_to_the_preview_listener_of_staging_gateway(plan_of):
    route = _one(plan_of("pr-7"), ROUTE, "ingress-app")
    assert route["metadata"]["namespace"] == "pr-7" and route["spec"]["hostnames"] == ["pr-7.preview.example.com"]
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "platform",
                                            "namespace": "gateway", "sectionName": "https-preview"}], route["spec"]
    listener = _listeners(plan_of("staging"))["https-preview"]
    assert listener["hostname"] == "*.preview.example.com", listener


def test_the_preview_listener_admits_pr_namespaces_only(plan_of):
    listener = _listeners(plan_of("staging"))["https-preview"]
    assert listener["allowedRoutes"]["namespaces"]["from"] == "Selector", listener
    selector = listener["allowedRoutes"]["namespaces"]["selector"]
    admitted = {stack: [inputs(r)["metadata"]["name"] for r in plan_of(stack).by_type(NAMESPACE)
                        if matches(selector, inputs(r)["metadata"]["labels"])] for stack in ("pr-7", "staging")}
    assert admitted == {"pr-7": ["pr-7"], "staging": []}, admitted


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_a_pr_namespace_cannot_attach_to_a_platform_host(plan_of, stack):
    pr_labels = inputs(plan_of("pr-7").get(NAMESPACE, "namespaces-pr-7"))["metadata"]["labels"]
    assert PR_ENVIRONMENT_LABELS.items() <= pr_labels.items(), pr_labels
    for name, listener in _listeners(plan_of(stack)).items():
        if name not in ("http", "https-preview"):
            selector = listener["allowedRoutes"]["namespaces"]["selector"]
            assert not matches(selector, pr_labels), f"{stack}: listener {name} admits PR namespaces: {selector}"


def test_production_has_no_preview_listener_issuer_or_route53_role(plan_of):
    plan = plan_of("production")
    assert "https-preview" not in _listeners(plan)
    assert [inputs(r)["metadata"]["name"] for r in plan.by_type(ISSUER)] == ["letsencrypt-production"]
    assert not [r.name for r in plan.resources if "dns01" in r.name], "production has a DNS-01 role"


def test_one_trusted_wildcard_certificate_by_dns01_in_the_configured_zone(plan_of):
    plan = plan_of("staging")
    certificate = _one(plan, CERTIFICATE, "ingress-preview-certificate")["spec"]
    assert certificate["dnsNames"] == ["*.preview.example.com"], certificate
    assert _listeners(plan)["https-preview"]["tls"]["certificateRefs"] == [
        {"kind": "Secret", "name": certificate["secretName"]}]
    issuer = _one(plan, ISSUER, "ingress-preview-issuer")
    assert certificate["issuerRef"]["name"] == issuer["metadata"]["name"]
    assert issuer["spec"]["acme"]["server"] == ACME_SERVERS["letsencrypt-production"], "reviewers need a trusted CA"
    (solver,) = issuer["spec"]["acme"]["solvers"]
    assert solver["dns01"]["route53"]["hostedZoneID"] == stackfile.load("staging").config["platform:dns.hostedZoneId"]
    assert solver["selector"] == {"dnsZones": ["preview.example.com"]}, solver


def test_the_gateway_shim_leaves_the_wildcard_listener_alone(plan_of):
    """Otherwise it would request an HTTP-01 certificate (which cannot be a wildcard) for the same Secret."""
    annotations = _one(plan_of("staging"), GATEWAY, "ingress-gateway")["metadata"]["annotations"]
    assert annotations["cert-manager.io/ignore-tls-listeners"] == "https-preview", annotations


def test_the_dns01_role_may_write_only_the_challenge_txt_record_in_the_zone(plan_of):
    policy = json.loads(_one(plan_of("staging"), "aws:iam/rolePolicy:RolePolicy", "ingress-cert-manager-dns01-policy")["policy"])
    zone = f"arn:aws:route53:::hostedzone/{stackfile.load('staging').config['platform:dns.hostedZoneId']}"
    by_action = {a: st for st in policy["Statement"] for a in st["Action"]}
    assert set(by_action) == {"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange"}
    change = by_action["route53:ChangeResourceRecordSets"]
    assert change["Resource"] == [zone], change
    assert change["Condition"] == {"ForAllValues:StringEquals": {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.preview.example.com"],
        "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}, change
    assert by_action["route53:ListResourceRecordSets"]["Resource"] == [zone]
    assert by_action["route53:GetChange"]["Resource"] == ["arn:aws:route53:::change/*"]


def test_the_dns01_role_is_assumable_only_by_cert_manager_and_its_chart_carries_it(plan_of):
    plan = plan_of("staging")
    role = _one(plan, "aws:iam/role:Role", "ingress-cert-manager-dns01-role")
    condition = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert sorted(condition.values()) == ["sts.amazonaws.com", "system:serviceaccount:cert-manager:cert-manager"]
    values = _one(plan, "kubernetes:helm.sh/v3:Release", "ingress-cert-manager")["values"]
    assert values["serviceAccount"] == {"name": "cert-manager", "annotations": {
        "eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{role['name']}"}}, values["serviceAccount"]
