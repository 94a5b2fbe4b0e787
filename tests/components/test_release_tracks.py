"""The plan of each blue/green state: route weights, per-track header rules, replicas, images."""

from __future__ import annotations

import functools

import pytest
from helpers import inputs, run

from config import PROFILES
from release_model import IMAGE_KEYS, KEY_ACTIVE, KEY_WEIGHT, TRACK_HEADER
from tools import wire

ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
IMAGES = {t: f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:{c * 64}"
          for t, c in (("blue", "b"), ("green", "a"))}
# (stack, active track, candidate weight): stable blue, a release at each step, stable green.
STATES = [("production", "blue", 0), ("production", "blue", 10), ("production", "blue", 50),
          ("production", "green", 0), ("staging", "blue", 50), ("staging", "green", 0)]


@functools.cache
def planned(stack: str, active: str, weight: int):
    overrides = {KEY_ACTIVE: active, KEY_WEIGHT: str(weight), **{IMAGE_KEYS[t]: i for t, i in IMAGES.items()}}
    return run(stack, overrides)


def route_rules(plan) -> list[dict]:
    (route,) = [inputs(r) for r in plan.by_type(ROUTE) if inputs(r)["metadata"]["name"] == "app"]
    return route["spec"]["rules"]


@pytest.mark.parametrize(("stack", "active", "weight"), STATES)
def test_route_weights_follow_the_release_state(stack: str, active: str, weight: int) -> None:
    plan = planned(stack, active, weight)
    idle = "green" if active == "blue" else "blue"
    refs = {b["name"]: b["weight"] for b in route_rules(plan)[-1]["backendRefs"]}
    assert refs == {f"app-{active}": 100 - weight, f"app-{idle}": weight}, (stack, active, weight, refs)
    shown = wire.plain(plan.stack_outputs)["release"]
    assert shown == {"active": active, "weights": {active: 100 - weight, idle: weight}}, shown


@pytest.mark.parametrize(("stack", "active", "weight"), STATES[:2])
def test_each_track_has_a_header_rule_for_the_smoke_check(stack: str, active: str, weight: int) -> None:
    header_rules = {r["matches"][0]["headers"][0]["value"]: r["backendRefs"]
                    for r in route_rules(planned(stack, active, weight)) if r["matches"][0].get("headers")}
    assert header_rules == {t: [{"name": f"app-{t}", "port": 8080}] for t in ("blue", "green")}, header_rules
    names = {r["matches"][0]["headers"][0]["name"] for r in route_rules(planned(stack, active, weight))[:-1]}
    assert names == {TRACK_HEADER}, names


@pytest.mark.parametrize(("stack", "active", "weight"), STATES)
def test_idle_track_runs_the_profiles_idle_replicas_and_each_track_its_image(stack: str, active: str,
                                                                              weight: int) -> None:
    plan = planned(stack, active, weight)
    deployments = {d["metadata"]["name"]: d for d in map(inputs, plan.by_type(DEPLOYMENT))
                   if d["metadata"]["name"].startswith("app-")}
    profile = PROFILES[stack]
    idle_replicas = profile.release.idle_replicas
    full = profile.app.replicas
    for track in ("blue", "green"):
        d = deployments[f"app-{track}"]
        carries = track == active or weight > 0
        expected = full if carries or idle_replicas is None else idle_replicas
        assert d["spec"]["replicas"] == expected, (stack, active, weight, track, d["spec"]["replicas"])
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGES[track], (stack, track)
        assert d["spec"]["selector"]["matchLabels"]["platform.example.com/track"] == track, d["spec"]["selector"]


def test_a_pr_stack_runs_one_unweighted_track(plan_of) -> None:
    plan = plan_of("pr-7")
    names = sorted(d["metadata"]["name"] for d in map(inputs, plan.by_type(DEPLOYMENT))
                   if d["metadata"]["name"].startswith("app-"))
    assert names == ["app-blue"], names
    assert [r.get("matches", [{}])[0].get("headers") for r in route_rules(plan)] == [None], route_rules(plan)
