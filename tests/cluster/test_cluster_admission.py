"""Pod Security admission on chart pods, per the namespace's enforced level, hooks included."""

from __future__ import annotations

import pytest

from cluster.export_objects import messages, namespace, release

# Helm merges these into the chart's compliant defaults (None deletes a default key).
MUTATIONS = {
    "host network": ({"hostNetwork": True}, "baseline", "hostNetwork is true"),
    "privileged container": ({"securityContext": {"privileged": True}}, "baseline", "container app: privileged is true"),
    "added capability": ({"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}, "baseline",
                         "adds capabilities ['NET_ADMIN']"),
    "escalation allowed": ({"securityContext": {"allowPrivilegeEscalation": True}}, "restricted",
                           "allowPrivilegeEscalation is not false"),
    "root allowed": ({"podSecurityContext": {"runAsNonRoot": None}}, "restricted", "runAsNonRoot is not true"),
    "seccomp unset": ({"podSecurityContext": {"seccompProfile": None}}, "restricted",
                      "seccompProfile.type is not RuntimeDefault or Localhost"),
}


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_the_charts_defaults_are_admitted(judge, level):
    report = judge(namespace("team", level), release("privileged", {}))
    assert report.findings["pod-security"] == [], messages(report, "pod-security")


@pytest.mark.parametrize("case", MUTATIONS)
def test_a_violating_chart_pod_is_rejected(judge, case):
    values, level, expected = MUTATIONS[case]
    found = messages(judge(namespace("team", level), release("privileged", values)), "pod-security")
    assert any(expected in m and "Release demo → Deployment team/demo" in m for m in found), found


def test_privileged_namespaces_admit_anything(judge):
    report = judge(namespace("team", "privileged"), release("privileged", {"hostNetwork": True}))
    assert report.findings["pod-security"] == []


def test_a_hook_pod_is_judged_too(judge):
    found = messages(judge(namespace("team", "restricted"), release("hooked", {})), "pod-security")
    assert any("Job team/demo-check" in m and "(Helm hook post-install)" in m for m in found), found
