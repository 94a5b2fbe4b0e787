"""Rendering with Helm's own engine: Helm's message on a broken value, namespaces, hooks, CRDs, cache."""

from __future__ import annotations

import pytest

from cluster.export_objects import messages, release
from tools.offline import helm


def test_a_number_where_the_chart_needs_a_string_is_a_render_error_with_helms_message(judge):
    report = judge(release("tpl-port", {"port": 5432}))
    assert [f.subject for f in report.findings["helm-render"]] == ["Release demo"], messages(report, "helm-render")
    assert "expected string; got float64" in report.findings["helm-render"][0].what


def test_the_same_value_as_a_string_renders(judge):
    report = judge(release("tpl-port", {"port": "5432"}))
    (cm,) = report.releases[0].objects
    assert report.findings["helm-render"] == [] and cm.body["data"]["dsn"] == "postgresql://db:5432/app"
    assert (cm.namespace, cm.origin) == ("team", "Release demo"), "objects get the Release's namespace"


def test_hooks_are_rendered_and_marked(judge):
    objects = judge(release("hooked", {})).releases[0].objects
    assert {o.ref: o.hook for o in objects} == {"Deployment team/demo": None, "Job team/demo-check": "post-install"}


def test_crds_of_the_crds_folder_are_included(judge):
    kinds = sorted(o.kind for o in judge(release("widget", {})).releases[0].objects)
    assert kinds == ["CustomResourceDefinition", "Widget"]


def test_a_second_render_comes_from_the_cache(judge, tmp_path):
    first = judge(release("widget", {}), cache=tmp_path / "c").releases[0]
    again = judge(release("widget", {}), cache=tmp_path / "c").releases[0]
    assert (first.cached, again.cached) == (False, True)
    assert [o.body for o in again.objects] == [o.body for o in first.objects]


def test_a_missing_chart_names_the_archive_and_how_to_get_it(small_charts):
    spec = helm.ReleaseSpec(resource="x", name="x", chart="oci://example.com/charts/absent", version="1.0.0",
                            namespace="x")
    with pytest.raises(helm.ChartMissingError, match=r"absent-1\.0\.0\.tgz .*make charts"):
        helm.render(spec, small_charts)


def test_secrets_and_unknowns_reach_helm_as_placeholders():
    wire = {"a": {helm._SIG: helm._SECRET_SIG, "value": "hunter2"}, "b": helm._UNKNOWN, "n": 2.0}
    assert helm.helm_values(wire) == {"a": helm.SECRET_PLACEHOLDER, "b": helm.UNKNOWN_PLACEHOLDER, "n": 2}


def test_a_missing_chart_is_reported_and_nothing_is_judged(judge):
    report = judge(release("absent", {}), release("widget", {}, name="w"))
    assert [m for m in report.missing_charts if "absent-0.1.0.tgz" in m and "make charts" in m], report.missing_charts
    assert list(report.findings) == ["helm-render"] and "checks: not run" in report.text()
