"""The policy pack's Kubernetes rules judge chart-created objects, with written suppressions only."""

from __future__ import annotations

from cluster.export_objects import messages, namespace, release
from tools.offline.checks import pack

SUBJECT = "Release demo → Deployment team/demo"


def test_a_chart_image_outside_private_ecr_is_found(judge):
    found = messages(judge(namespace("team"), release("privileged", {})), "pack-rules")
    assert any(SUBJECT in m and "k8s-image-registry-allowed" in m and "registry.example/app" in m for m in found), found


def test_program_objects_are_left_to_the_pack(judge):
    report = judge(namespace("team"), release("privileged", {}))
    assert all(f.subject.startswith("Release demo → ") for f in report.findings["pack-rules"])


def test_a_suppression_in_the_pack_config_needs_a_reason(judge):
    objects = judge(namespace("team"), release("privileged", {})).objects
    reasoned = {"k8s-min-replicas": {pack.SUPPRESSIONS_KEY: {SUBJECT: "a test workload, never deployed"}}}
    blank = {"k8s-min-replicas": {pack.SUPPRESSIONS_KEY: {SUBJECT: " "}}}
    skipped: list = []
    assert not [f for f in pack.check(objects, reasoned, skipped) if "k8s-min-replicas" in f.what]
    assert [s.reason for s in skipped] == ["k8s-min-replicas suppressed: a test workload, never deployed"]
    assert any("has no reason" in f.what for f in pack.check(objects, blank))


def test_the_suppression_key_is_the_packs_rule_option():
    from policies.rules import _core

    assert pack.SUPPRESSIONS_KEY == _core.RENDERED_SUPPRESSIONS


def test_a_chart_deployment_in_the_privileged_namespace_is_found(judge):
    objects = judge(namespace("node-agents", "privileged"), release("privileged", {}, ns="node-agents")).objects
    config = {"k8s-namespace-pod-security": {"privilegedNamespaces": {"node-agents": {"fluent-bit": "ships logs"}}}}
    found = [f.what for f in pack.check(objects, config) if f.subject == "Release demo → Deployment node-agents/demo"]
    assert any(w.startswith("k8s-namespace-pod-security: Deployment 'demo' runs in 'node-agents'") for w in found), found
