"""Rendered objects → one file each for the scanners, with skips that carry reasons."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from cluster.cluster_objects import deployment
from tools.offline import scanfiles
from tools.offline.checks.base import Obj
from tools.offline.scanfiles import Skip, SkipFileError

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"
GRAFANA = "Release kube-prometheus-stack → Deployment monitoring/grafana"
REASON = "the chart pins its image by tag; digest pinning is tracked in the image-mirroring work"


def objects() -> list[Obj]:
    chart = deployment("monitoring", "grafana", {"app.kubernetes.io/name": "grafana"}, ("grafana", 3000, "TCP"),
                       origin="Release kube-prometheus-stack")
    return [chart, deployment("app", "app", {"app.kubernetes.io/name": "app"}, ("http", 8080, "TCP"))]


def test_one_file_per_object_named_after_its_release(tmp_path):
    scanfiles.write(objects(), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "app--deployment--app.yaml", "kube-prometheus-stack--monitoring--deployment--grafana.yaml"]


def test_a_checkov_skip_annotates_the_scanned_copy_only(tmp_path):
    objs = objects()
    scanfiles.write(objs, tmp_path / "out", [Skip("checkov", "CKV_K8S_43", GRAFANA, REASON)])
    written = yaml.safe_load((tmp_path / "out" / scanfiles.filename(objs[0])).read_text())
    assert written["metadata"]["annotations"] == {"checkov.io/skip1": f"CKV_K8S_43={REASON}"}
    assert "annotations" not in objs[0].body["metadata"], "the object itself must stay as the chart renders it"


def test_a_trivy_skip_is_an_ignore_entry_scoped_to_the_objects_file(tmp_path):
    ignore = scanfiles.write(objects(), tmp_path / "out", [Skip("trivy", "KSV-0125", GRAFANA, REASON)])
    assert ignore == {"misconfigurations": [{"id": "KSV-0125", "statement": REASON,
                                             "paths": ["kube-prometheus-stack--monitoring--deployment--grafana.yaml"]}]}


def test_a_skip_matching_no_object_is_an_error(tmp_path):
    with pytest.raises(SkipFileError, match="match no object"):
        scanfiles.write(objects(), tmp_path / "out", [Skip("trivy", "KSV-0125", "Release gone → *", REASON)])


def test_an_existing_non_empty_folder_is_never_overwritten(tmp_path):
    (tmp_path / "keep.yaml").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        scanfiles.write(objects(), tmp_path)
    assert (tmp_path / "keep.yaml").read_text() == "mine"


@pytest.mark.parametrize("entry,message", [
    ({"scanner": "checkov", "check": "CKV_K8S_43", "target": GRAFANA}, "'reason' is missing"),
    ({"scanner": "kubesec", "check": "X", "target": GRAFANA, "reason": "r"}, "not one of checkov, trivy"),
    ({"scanner": "trivy", "check": "X", "target": GRAFANA, "reason": "r", "until": "x"}, "unknown key"),
])
def test_a_malformed_skip_list_names_the_entry_and_key(tmp_path, entry, message):
    path = tmp_path / "skips.yaml"
    path.write_text(yaml.safe_dump({"skips": [entry]}))
    with pytest.raises(SkipFileError, match=rf"skips\[0\]: .*{message}"):
        scanfiles.load_skips(path)


def test_a_shared_reason_is_an_anchor_and_other_top_level_keys_are_refused(tmp_path):
    path = tmp_path / "skips.yaml"
    path.write_text(f"reasons:\n  r: &r {REASON}\nskips:\n  - {{scanner: trivy, check: X, target: '{GRAFANA}', reason: *r}}\n")
    assert [s.reason for s in scanfiles.load_skips(path)] == [REASON]
    path.write_text(path.read_text().replace("reasons:", "why:"))
    with pytest.raises(SkipFileError, match=r"unknown top-level key\(s\) \['why'\]"):
        scanfiles.load_skips(path)


def test_every_committed_chart_skip_is_documented():
    rows = [line for line in (ROOT / "docs" / "scanner-skips.md").read_text().splitlines() if line.startswith("| ")]
    for skip in scanfiles.load_skips(ROOT / scanfiles.SKIPS_FILE):
        assert any(f"| {skip.scanner} | {skip.check} |" in row and f"`{skip.target}`" in row for row in rows), \
            f"docs/scanner-skips.md has no row for {skip.scanner} {skip.check} on {skip.target}: python -m tools docs --write"


needs_tools = pytest.mark.skipif(not (TOOLS / "checkov").exists() or not (TOOLS / "trivy").exists(),
                                 reason=".venv-tools is absent (CI installs it): make tools-setup")


def scan(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd), "NO_COLOR": "1"}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env,
                          check=False)


@needs_tools
def test_checkov_honours_the_written_skip_on_that_object_only(tmp_path):
    scanfiles.write(objects(), tmp_path / "out", [Skip("checkov", "CKV_K8S_43", GRAFANA, REASON)])
    result = scan(TOOLS / "checkov", "-d", tmp_path / "out", "--framework", "kubernetes", "--compact", "-o", "json",
                  "--check", "CKV_K8S_43", cwd=tmp_path)
    report = json.loads(result.stdout)["results"]
    assert [Path(f["file_path"]).name for f in report["failed_checks"]] == ["app--deployment--app.yaml"]
    assert [Path(f["file_path"]).name for f in report["skipped_checks"]] == [
        "kube-prometheus-stack--monitoring--deployment--grafana.yaml"]


@needs_tools
def test_trivy_honours_the_written_ignore_on_that_object_only(tmp_path):
    objs = objects()
    ignore = scanfiles.write(objs, tmp_path / "out", [Skip("trivy", "KSV-0014", GRAFANA, REASON)])
    (tmp_path / "ignore.yaml").write_text(yaml.safe_dump(ignore))
    result = scan(TOOLS / "trivy", "config", "--skip-check-update", "--skip-version-check", "--cache-dir",
                  tmp_path / "cache", "--ignorefile", tmp_path / "ignore.yaml", "--format", "json", "--quiet",
                  tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    failing = {r["Target"] for r in json.loads(result.stdout).get("Results", [])
               for m in r.get("Misconfigurations") or [] if m["Status"] == "FAIL" and m["ID"] == "KSV-0014"}
    assert failing == {"app--deployment--app.yaml"}
