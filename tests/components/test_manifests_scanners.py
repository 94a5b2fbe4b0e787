"""Every Kubernetes object the program declares passes the external validators.

kubernetes-validate (strict, Kubernetes 1.31), checkov's Kubernetes checks and ``trivy config``
(MEDIUM and above, offline: ``--skip-check-update`` uses the checks embedded in the binary) run
over ALL the manifests ``python -m tools plan <stack> --manifests DIR`` writes, for one stack of
each class: the platform's objects and the data plane's (in-cluster Postgres and Redis, the
backup CronJob, their ConfigMaps and Secrets) alike. kubernetes-validate has no schemas for
custom resources (Gateway, ClusterIssuer, PrometheusRule...): it warns "Couldn't find schema"
and exits 0; the test allows exactly those warnings.

A failure names the check, the object (kind namespace/name) and the manifest file. Every skip
carries a reason on the object (checkov annotation) or in ``.trivyignore.yaml``, and is listed in
docs/scanner-skips.md; the last tests keep the three in step.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import ROOT, STACKS

from tools.offline.plan import HELM_RELEASE, write_manifests
from tools.offline.plan import manifests as plan_manifests

TOOLS = ROOT / ".venv-tools" / "bin"
TRIVYIGNORE = ROOT / ".trivyignore.yaml"
SKIPS_DOC = ROOT / "docs" / "scanner-skips.md"

pytestmark = pytest.mark.skipif(
    not (TOOLS / "checkov").exists() or not (TOOLS / "trivy").exists()
    or not (TOOLS / "kubernetes-validate").exists(),
    reason=".venv-tools is absent (CI installs it): python3 -m venv .venv-tools && "
           ".venv-tools/bin/pip install -r requirements-tools.txt")


@pytest.fixture(scope="module", params=STACKS)
def manifests(request, plan_of, tmp_path_factory) -> Path:
    """The whole directory ``tools plan --manifests`` writes for the stack: nothing filtered out."""
    directory = tmp_path_factory.mktemp("manifests") / request.param
    assert write_manifests(plan_of(request.param), directory) > 0
    return directory


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd or ROOT), "NO_COLOR": "1"}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env,
                          check=False)


def describe(path: Path) -> str:
    """``Kind namespace/name`` of the object in a manifest file."""
    meta = yaml.safe_load(path.read_text())
    ns = meta["metadata"].get("namespace")
    return f"{meta['kind']} {ns + '/' if ns else ''}{meta['metadata']['name']}"


def report(header: str, findings: list[str]) -> str:
    return f"{header} ({len(findings)}):\n  " + "\n  ".join(findings)


def test_scans_every_object_of_the_stack(manifests, plan_of):
    """The scanners see every object the program declares (Helm releases aside), the data plane's too."""
    declared = sorted(f"{r.type} {r.name}" for r in plan_of(manifests.name).resources
                      if r.custom and r.type.startswith("kubernetes:") and r.type != HELM_RELEASE)
    names = sorted(p.name for p in manifests.glob("*.yaml"))
    assert len(names) == len(declared), report(f"{len(names)} manifests for these objects", declared)
    data_plane = {"--cronjob--postgres-backup.yaml", "--configmap--postgres-connection.yaml",
                  "--configmap--redis-connection.yaml", "--configmap--backup-config.yaml"}
    if manifests.name.startswith("pr-"):
        data_plane |= {"--statefulset--postgres.yaml", "--deployment--redis.yaml"}
    missing = sorted(d for d in data_plane if not any(n.endswith(d) for n in names))
    assert missing == [], report("data-plane objects missing from the scanned manifests", missing)


def test_kubernetes_validate_strict(manifests):
    files = sorted(manifests.glob("*.yaml"))
    result = run(TOOLS / "kubernetes-validate", "--strict", "-k", "1.31.0", "--quiet", *files)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "Couldn't find schema for kind" not in line]
    assert result.returncode == 0 and not problems, report(
        f"kubernetes-validate --strict (Kubernetes 1.31) rejects objects in {manifests}", problems)


def checkov_report(manifests: Path, cwd: Path) -> dict[str, Any]:
    result = run(TOOLS / "checkov", "-d", manifests, "--framework", "kubernetes", "--quiet", "--compact",
                 "-o", "json", cwd=cwd)
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov produced no JSON report (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return parsed[0] if isinstance(parsed, list) else parsed


def test_checkov_kubernetes_checks(manifests, tmp_path):
    rep = checkov_report(manifests, tmp_path)
    if not rep.get("results"):  # checkov's empty-report shape: nothing was scanned
        pytest.fail(f"checkov scanned nothing in {manifests}: {rep}")
    failed = [f"{f['check_id']} {f['resource']} in {Path(f['file_path']).name}: {f['check_name']}"
              for f in rep["results"]["failed_checks"]]
    assert rep["summary"]["parsing_errors"] == 0, rep["summary"]
    assert rep["summary"]["passed"] > 0, rep["summary"]
    assert failed == [], report(
        "checkov failures: fix the object, or skip with a reason (checkov.io/skipN annotation built by "
        "components.kubernetes.skip_annotations) and list it in docs/scanner-skips.md", failed)


def test_trivy_config_offline(manifests, tmp_path):
    result = run(TOOLS / "trivy", "config", "--skip-check-update", "--skip-version-check", "--cache-dir",
                 tmp_path / "cache", "--ignorefile", TRIVYIGNORE, "--severity", "MEDIUM,HIGH,CRITICAL",
                 "--format", "json", "--quiet", manifests, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    findings = [f"{m['ID']} ({m['Severity']}) {describe(manifests / r['Target'])} in {r['Target']}: {m['Title']}"
                for r in json.loads(result.stdout).get("Results", [])
                for m in r.get("Misconfigurations") or [] if m["Status"] == "FAIL"]
    assert findings == [], report(
        "trivy config findings: fix the object, or add an entry with a statement to .trivyignore.yaml "
        "(scoped to the manifest file) and list it in docs/scanner-skips.md", findings)


def doc_rows(scanner: str) -> list[str]:
    return [line for line in SKIPS_DOC.read_text().splitlines() if line.startswith(f"| {scanner} |")]


def test_every_checkov_skip_has_a_reason_and_a_doc_row(manifests):
    rows = doc_rows("checkov")
    missing = []
    for path in sorted(manifests.glob("*.yaml")):
        obj = yaml.safe_load(path.read_text())
        for key, value in (obj["metadata"].get("annotations") or {}).items():
            if not key.startswith("checkov.io/skip"):
                continue
            check, _, reason = value.partition("=")
            assert reason.strip(), f"{path.name}: {check} skipped without a reason"
            kind, name = obj["kind"], obj["metadata"]["name"]
            obj_ref = re.compile(rf"`{kind} (?:[^`/ ]+/)?{re.escape(name)}`")  # `Kind name` or `Kind ns/name`
            if not any(re.search(rf"\b{re.escape(check)}\b", row) and obj_ref.search(row) for row in rows):
                missing.append(f"{check} on {describe(path)} ({path.name})")
    assert missing == [], report("docs/scanner-skips.md has no checkov row (check, `Kind name`) for", missing)


def test_every_trivy_ignore_has_a_statement_a_doc_row_and_a_target(plan_of):
    """Each .trivyignore.yaml entry is explained, documented, and still matches a manifest somewhere."""
    files = {name for stack in STACKS for name in plan_manifests(plan_of(stack))}
    rows = doc_rows("trivy")
    for entry in yaml.safe_load(TRIVYIGNORE.read_text())["misconfigurations"]:
        assert (entry.get("statement") or "").strip(), f".trivyignore.yaml: {entry['id']} has no statement"
        assert entry.get("paths"), f".trivyignore.yaml: {entry['id']} is not scoped to manifest files"
        assert any(re.search(rf"\b{re.escape(entry['id'])}\b", row) for row in rows), \
            f"docs/scanner-skips.md does not list {entry['id']}"
        stale = [p for p in entry["paths"] if not fnmatch.filter(files, p)]
        assert stale == [], f".trivyignore.yaml: {entry['id']} paths match no manifest of {STACKS}: {stale}"
