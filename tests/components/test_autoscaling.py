"""The app's HorizontalPodAutoscaler (components/autoscaling.py): it targets the App's Deployment
on CPU and memory between the profile's bounds, never below what the PodDisruptionBudget needs."""

from __future__ import annotations

import pytest

import config
from tests.helpers import inputs


def _of(plan, type_: str) -> list[dict]:
    return [inputs(r) for r in plan.resources if r.type == type_]


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_hpa_targets_the_app_deployment_with_the_profiles_bounds(plan_of, stack):
    plan, profile = plan_of(stack), config.PROFILES[stack].app
    [hpa] = _of(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    apps = [d["metadata"]["name"] for d in _of(plan, "kubernetes:apps/v1:Deployment")
            if d["metadata"]["namespace"] == hpa["metadata"]["namespace"]]
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and hpa["spec"]["scaleTargetRef"]["name"] in apps, hpa
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (profile.replicas, profile.max_replicas), hpa
    assert sorted(m["resource"]["name"] for m in hpa["spec"]["metrics"]) == ["cpu", "memory"], hpa


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_hpa_floor_keeps_the_disruption_budget_satisfiable(plan_of, stack):
    plan = plan_of(stack)
    [hpa] = _of(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]["name"]
    [pdb] = [p for p in _of(plan, "kubernetes:policy/v1:PodDisruptionBudget") if p["metadata"]["name"] == target]
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["minAvailable"], (hpa["spec"], pdb["spec"])


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_only_the_scaled_deployment_leaves_its_replicas_to_the_hpa(plan_of, stack):
    plan = plan_of(stack)
    [hpa] = _of(plan, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    ignoring = {inputs(d)["metadata"]["name"]: d.ignore_changes for d in plan.resources
                if d.type == "kubernetes:apps/v1:Deployment" and inputs(d)["metadata"]["name"].startswith("app-")}
    target = hpa["spec"]["scaleTargetRef"]["name"]
    assert ignoring.pop(target) == ["spec.replicas"], f"{stack}: Deployment {target} resets the HPA's scale"
    assert ignoring and all(v == [] for v in ignoring.values()), f"{stack}: idle track ignores its replicas: {ignoring}"


def test_without_an_hpa_the_deployment_keeps_its_replicas(plan_of):
    apps = [d for d in plan_of("pr-7").resources if d.type == "kubernetes:apps/v1:Deployment"]
    assert apps and all(d.ignore_changes == [] for d in apps), [(d.name, d.ignore_changes) for d in apps]


def test_production_autoscales_and_a_pr_stack_does_not(plan_of):
    assert config.PROFILES["production"].app.autoscales
    assert _of(plan_of("pr-7"), "kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []


def test_metrics_server_runs_where_the_platform_is_installed(plan_of):
    for stack in ("staging", "production"):
        releases = [r["name"] for r in _of(plan_of(stack), "kubernetes:helm.sh/v3:Release")]
        assert "metrics-server" in releases, f"{stack}: no metrics-server release ({releases})"
