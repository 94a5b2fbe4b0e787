"""Custom resources against the CRDs the charts ship: pruning, schema, enums, versions, CEL."""

from __future__ import annotations

import pytest

from cluster.export_objects import messages, release, resource

BASELINE = {"spec": {"size": "small", "labels": {"team": "a"}, "extra": {"anything": 1}}}

BROKEN = {
    "pruned field": ({"spec": {"size": "small", "colour": "red"}}, "field spec.colour is not in the Widget schema"),
    "enum": ({"spec": {"size": "huge"}}, "spec.size: 'huge' is not one of ['small', 'large']"),
    "required": ({"spec": {"size": None}}, "'size' is a required property"),
    "minimum": ({"spec": {"size": "small", "replicas": 0}}, "spec.replicas: 0 is less than the minimum of 1"),
    "unserved version": ({"apiVersion": "example.com/v1beta1", "spec": {"size": "small"}},
                         "version example.com/v1beta1 is not served"),
    "CEL rule": ({"spec": {"size": "large", "replicas": 5}}, "a large widget runs at most 3 replicas"),
}


def test_a_widget_that_follows_the_crd_passes(judge):
    report = judge(release("widget", BASELINE))
    assert report.findings["crd-schema"] == [], messages(report, "crd-schema")


@pytest.mark.parametrize("case", BROKEN)
def test_each_schema_violation_is_found(judge, case):
    values, expected = BROKEN[case]
    found = messages(judge(release("widget", values)), "crd-schema")
    assert any(expected in m and "Release demo → Widget team/demo" in m for m in found), found


def test_defaults_apply_before_the_cel_rule(judge):
    """replicas is left out: the API server defaults it to 1 before the rule reads self.replicas."""
    report = judge(release("widget", {"spec": {"size": "large"}}))
    assert report.findings["crd-schema"] == [] and report.skipped == [], messages(report, "crd-schema")


def test_a_program_resource_of_a_kind_no_crd_serves(judge):
    gadget = resource("Gadget", "g", "team", api="example.com/v1", spec={})
    assert any("no CRD in the cluster serves kind Gadget" in m for m in messages(judge(gadget), "crd-schema"))
