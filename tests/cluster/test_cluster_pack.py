"""The policy pack's Kubernetes rules judge chart-created objects, with written suppressions only."""

from __future__ import annotations

import pytest

from cluster.export_objects import messages, namespace, release
from tools.offline import cluster
from tools.offline.checks import pack
from tools.offline.checks.base import Obj

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


TOKEN = "k8s-no-sa-token-automount"


def rendered(*bodies: dict) -> list[Obj]:
    return [Obj(body=b, origin="Release demo") for b in bodies]


def deployment(account: str = "demo", **pod: object) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "demo", "namespace": "team"},
            "spec": {"replicas": 2, "template": {"spec": {"serviceAccountName": account, **pod}}}}


def token_findings(objects: list[Obj], clients: dict | None = None) -> list[str]:
    config = {TOKEN: {"apiClients": clients}} if clients is not None else {}
    return [f.what for f in pack.check(objects, config) if f.what.startswith(TOKEN)]


def test_a_chart_pod_that_mounts_its_token_is_found_naming_its_service_account():
    [what] = token_findings(rendered(deployment()))
    assert "ServiceAccount team/demo is not in apiClients" in what, what


def test_an_api_client_listed_with_a_reason_may_mount_its_token_and_one_without_may_not():
    assert token_findings(rendered(deployment()), {"team/demo": "a controller: watches Widgets"}) == []
    assert token_findings(rendered(deployment("other")), {"team/demo": "a controller"}), "only the listed account"
    [what] = token_findings(rendered(deployment()), {"team/demo": " "})
    assert "apiClients entry 'team/demo' has no reason" in what, what


def test_a_service_account_of_the_same_release_that_opts_out_covers_its_pods():
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
               "metadata": {"name": "demo", "namespace": "team"}}
    assert token_findings(rendered(deployment(), account)) == []
    assert token_findings(rendered(deployment(automountServiceAccountToken=True), account)), "the pod's own value wins"


def test_the_token_rule_takes_no_rendered_suppression():
    config = {TOKEN: {pack.SUPPRESSIONS_KEY: {SUBJECT: "the operator needs it"}}}
    found = [f.what for f in pack.check(rendered(deployment()), config) if f.what.startswith(TOKEN)]
    assert any("suppressions are not allowed for security rules" in w for w in found), found


def test_a_system_addon_in_kube_system_needs_its_entry_with_a_reason():
    body = {**deployment(automountServiceAccountToken=False), "metadata": {"name": "demo", "namespace": "kube-system"}}
    rule = "k8s-no-default-namespace"
    listed = {rule: {"systemAddons": {"kube-system/demo": "serves an aggregated API"}}}
    assert [f for f in pack.check(rendered(body), {}) if f.what.startswith(rule)]
    assert not [f for f in pack.check(rendered(body), listed) if f.what.startswith(rule)]


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_a_mandatory_rules_finding_on_a_rendered_object_fails_the_plan(small_charts, tmp_path, environment):
    document = {"deployment": {"resources": [namespace("team"), release("privileged", {})]}}
    report = cluster.judge(document, environment=environment, charts=small_charts, cache=tmp_path)
    assert any(f.check == "pack-rules" and "k8s-image-registry-allowed" in f.what and f.subject == SUBJECT
               for f in report.errors), report.text()
