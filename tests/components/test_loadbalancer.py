"""The AWS Load Balancer Controller (components/loadbalancer.py): the published policy on a role
only its ServiceAccount assumes, values from the stack, the gateway's proxy after the controller
(the chart as Helm renders it: tests/cluster/test_lb_controller_chart.py)."""

from __future__ import annotations

import json

import pytest

import config
from components.loadbalancer import POLICY_FILE
from tests.helpers import inputs
from tools.offline import stackfile

PLATFORM_STACKS = ["staging", "production"]
RELEASE = "lb-controller"


def _one(plan, type_: str, name: str):
    found = [r for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{plan.stack}: expected one {type_} {name}, found {len(found)}"
    return found[0]


def _values(plan) -> dict:
    return inputs(_one(plan, "kubernetes:helm.sh/v3:Release", RELEASE))["values"]


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_the_role_carries_the_published_policy_unedited(plan_of, stack):
    policy = inputs(_one(plan_of(stack), "aws:iam/rolePolicy:RolePolicy", "lb-controller-policy"))["policy"]
    assert json.loads(policy) == json.loads(POLICY_FILE.read_text()), f"{stack}: lb-controller-policy differs from {POLICY_FILE.name}"


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_the_role_is_assumable_only_by_the_controllers_service_account(plan_of, stack):
    trust = json.loads(inputs(_one(plan_of(stack), "aws:iam/role:Role", "lb-controller-role"))["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert sorted(condition.values()) == ["sts.amazonaws.com",
                                          "system:serviceaccount:gateway:aws-load-balancer-controller"], condition


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_values_name_this_cluster_region_vpc_and_role(plan_of, stack):
    cfg, values = stackfile.load(stack).config, _values(plan_of(stack))
    assert (values["clusterName"], values["region"], values["vpcId"]) == (
        cfg["platform:cluster.name"], cfg["aws:region"], cfg["platform:vpcId"]), values
    role = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert role.endswith(f":role/platform-{stack}-lb-controller"), role


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_image_comes_through_the_ecr_public_cache_at_the_pinned_version(plan_of, stack):
    image = _values(plan_of(stack))["image"]
    assert image["repository"].endswith(".amazonaws.com/ecr-public/eks/aws-load-balancer-controller"), image
    assert image["tag"] == "v3.5.0", image


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_replicas_and_disruption_budget_follow_the_profile(plan_of, stack):
    values, ha = _values(plan_of(stack)), config.PROFILES[stack].gateway.disruption_budget
    assert values["replicaCount"] == (2 if ha else 1), values["replicaCount"]
    assert bool(values["podDisruptionBudget"]) is ha, values["podDisruptionBudget"]


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_the_gateways_proxy_waits_for_the_controller(plan_of, stack):
    plan = plan_of(stack)
    proxy = _one(plan, "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "ingress-envoy-proxy")
    release = _one(plan, "kubernetes:helm.sh/v3:Release", RELEASE)
    assert release.urn in proxy.dependencies, f"{proxy.urn} does not depend on {release.urn}"


def test_the_gateway_service_asks_the_controller_for_an_internet_facing_ip_target_nlb(plan_of):
    proxy = inputs(_one(plan_of("production"), "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy",
                        "ingress-envoy-proxy"))
    notes = proxy["spec"]["provider"]["kubernetes"]["envoyService"]["annotations"]
    prefix = "service.beta.kubernetes.io/aws-load-balancer-"
    assert {k.removeprefix(prefix): notes[k] for k in notes if k.removeprefix(prefix) in (
        "type", "scheme", "nlb-target-type")} == {"type": "external", "scheme": "internet-facing",
                                                  "nlb-target-type": "ip"}, notes


def test_a_pr_stack_installs_no_controller(plan_of):
    found = [r.name for r in plan_of("pr-7").resources if r.name.startswith(RELEASE)]
    assert found == [], f"pr-7 installs the load balancer controller: {found}"


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_envoy_pods_get_nlb_readiness_gates(plan_of, stack):
    [ns] = [inputs(r) for r in plan_of(stack).resources
            if r.type == "kubernetes:core/v1:Namespace" and inputs(r)["metadata"]["name"] == "gateway"]
    assert ns["metadata"]["labels"].get("elbv2.k8s.aws/pod-readiness-gate-inject") == "enabled", ns["metadata"]
