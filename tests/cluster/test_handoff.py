"""The offline plan renders each Release once: the pack is handed those objects
(policies/rendering.py ``write_handoff``, tools/offline/cluster.py ``handoff``) and judges them with
its own rules instead of rendering again; what the plan reports itself (no chart folder,
``--no-render``) reaches the pack as ``unjudged`` and is not reported twice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.export_objects import namespace, release
from tools.offline import cluster

ROOT = Path(__file__).resolve().parents[2]


def document(values: dict, chart: str = "privileged") -> dict:
    return {"deployment": {"resources": [namespace("team"), release(chart, values)]}}


def rules_on_rendered(result) -> set[str]:
    return {v.rule for v in result.violations if " → " in v.what or v.rule == "helm-chart-renders"}


def handed(doc: dict, charts: Path, cache: Path, **kwargs) -> dict:
    return cluster.handoff(doc, cluster.render_stack(doc, charts=charts, cache=cache), **kwargs)


def test_the_pack_judges_the_objects_it_is_handed_and_does_not_render(small_pack, small_charts, tmp_path):
    # Handed the render of a compliant Release for the same Release identity: the pack judges
    # what it was handed, so the hostNetwork the deployment's values ask for goes unseen.
    compliant = handed(document({"hostNetwork": False}), small_charts, tmp_path)
    assert "k8s-no-host-namespaces" not in rules_on_rendered(small_pack.check(document({"hostNetwork": True}), "production",
                                                                        rendered=compliant))
    assert "k8s-no-host-namespaces" in rules_on_rendered(small_pack.check(document({"hostNetwork": True}), "production"))


@pytest.mark.parametrize("environment", ["production", "ephemeral"])
def test_handed_objects_get_the_same_findings_as_the_offline_check(small_pack, small_charts, tmp_path, environment):
    doc = document({"hostNetwork": True})
    offline = cluster.judge(doc, environment=environment, charts=small_charts, cache=tmp_path)
    result = small_pack.check(doc, environment, rendered=handed(doc, small_charts, tmp_path))
    pack_side = {(v.rule, v.what.split(": ", 1)[0]) for v in result.violations if " → " in v.what}
    assert pack_side == {(f.what.split(": ", 1)[0], f.subject) for f in offline.findings["pack-rules"]}, pack_side
    assert pack_side, "the small privileged chart breaks pack rules"


def test_an_unjudged_release_adds_no_finding_and_a_later_check_renders_again(small_pack, small_charts, tmp_path):
    doc = document({"hostNetwork": True})
    unjudged = cluster.handoff(doc, None, unjudged="--no-render")
    assert rules_on_rendered(small_pack.check(doc, "production", rendered=unjudged)) == set()
    assert "k8s-no-host-namespaces" in rules_on_rendered(small_pack.check(doc, "production")), "stale hand-off used"


def test_a_record_for_other_inputs_is_not_used(small_pack, small_charts, tmp_path):
    compliant = handed(document({"hostNetwork": False}), small_charts, tmp_path)
    [record] = compliant.values()
    record["release"]["namespace"] = "elsewhere"
    assert "k8s-no-host-namespaces" in rules_on_rendered(small_pack.check(document({"hostNetwork": True}), "production",
                                                                    rendered=compliant))


def test_a_chart_missing_from_an_existing_folder_stays_a_mandatory_pack_finding(small_pack, small_charts, tmp_path):
    doc = document({}, chart="not-in-the-folder")
    [v] = [v for v in small_pack.check(doc, "production", rendered=handed(doc, small_charts, tmp_path)).violations
           if v.rule == "helm-chart-renders"]
    assert v.mandatory and "not-in-the-folder-0.1.0.tgz" in v.what and "make charts" in v.what, v


def test_a_missing_chart_folder_is_the_plans_one_line_not_the_packs_finding(small_pack, tmp_path):
    doc = document({"hostNetwork": True})
    records = handed(doc, tmp_path / "no-such-folder", tmp_path)
    [record] = records.values()
    assert "does not exist" in record["unjudged"] and "make charts" in record["unjudged"], record
    assert rules_on_rendered(small_pack.check(doc, "production", rendered=records)) == set()


def test_a_render_error_is_handed_over_as_helms_message(small_pack, small_charts, tmp_path):
    doc = document({"port": 5432}, chart="tpl-port")
    [v] = [v for v in small_pack.check(doc, "production", rendered=handed(doc, small_charts, tmp_path)).violations
           if v.rule == "helm-chart-renders"]
    assert v.mandatory and "expected string; got float64" in v.what, v


def test_a_fresh_clone_plans_without_a_chart_folder_and_says_so_in_one_line(tmp_path):
    """README: "Without it the plan says so in one line and `make test` fails" (the plan passes)."""
    env = {**os.environ, "PLATFORM_CHARTS": str(tmp_path / "no-charts"), "PLATFORM_RENDER_CACHE": str(tmp_path / "c")}
    result = subprocess.run([sys.executable, "-m", "tools", "plan", "staging", "--quiet"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    warnings = [line for line in result.stdout.splitlines() if "chart folder" in line]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert len(warnings) == 1 and "make charts" in warnings[0], warnings
    assert "helm-chart-renders" not in result.stdout, result.stdout[-3000:]


def test_the_first_render_pass_runs_while_the_program_does(platform_charts, tmp_path):
    from tools.offline import helm
    from tools.offline.plan import build

    seen: list[str] = []
    prerender = helm.Prerender(platform_charts, tmp_path)
    plan = build("staging", observe=lambda r: (seen.append(r.urn), prerender.observe(r)))
    prerender.wait()
    specs = helm.releases((r.urn, r.type, r.inputs) for r in plan.resources)
    assert len(seen) == len(plan.resources) and len(specs) >= 9, (len(seen), len(specs))
    cold = [s.resource for s in specs if not helm.render(s, platform_charts, cache=tmp_path).cached]
    assert cold == [], f"not rendered while the program ran: {cold}"


def test_the_hand_off_may_come_from_a_function_the_check_calls_once(small_pack, small_charts, tmp_path):
    # tools plan passes a function: the pack judges everything else while the Releases render.
    compliant = handed(document({"hostNetwork": False}), small_charts, tmp_path)
    calls: list[int] = []
    result = small_pack.check(document({"hostNetwork": True}), "production",
                              rendered=lambda: calls.append(1) or compliant)
    assert calls == [1] and "k8s-no-host-namespaces" not in rules_on_rendered(result), (calls, rules_on_rendered(result))
