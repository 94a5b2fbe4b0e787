"""The Kubernetes objects the platform components declare pass the external validators.

kubernetes-validate (strict, Kubernetes 1.31), checkov's Kubernetes checks and ``trivy config``
(MEDIUM and above, offline: ``--skip-check-update`` uses the checks embedded in the binary) run
over the manifests ``tools.plan.write_manifests`` writes for one stack of each class.

Scope: objects built by the Kubernetes-platform components (namespaces, ingress, monitoring,
app). Objects of other components are scanned by their owners' tests. kubernetes-validate has
no schemas for custom resources (Gateway, ClusterIssuer, PrometheusRule...): it warns
"Couldn't find schema" and exits 0; the test allows exactly those warnings.

Every skip carries a reason on the object (checkov annotation) or in ``.trivyignore.yaml``, and
is listed in docs/scanner-skips.md; the last test keeps the three in step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, STACKS

from tools.plan import write_manifests

TOOLS = ROOT / ".venv-tools" / "bin"
OURS = {"platform:kubernetes:Namespaces", "platform:kubernetes:Ingress", "platform:kubernetes:Monitoring",
        "platform:kubernetes:App"}

pytestmark = pytest.mark.skipif(
    not (TOOLS / "checkov").exists() or not (TOOLS / "trivy").exists(),
    reason=".venv-tools is absent (CI installs it): python3 -m venv .venv-tools && "
           ".venv-tools/bin/pip install -r requirements-tools.txt")


def platform_plan(plan):
    """The plan restricted to resources under this team's components."""
    by_urn = {r.urn: r for r in plan.resources}

    def ours(r) -> bool:
        while r is not None:
            if r.type in OURS:
                return True
            r = by_urn.get(r.parent)
        return False

    return dataclasses.replace(plan, resources=[r for r in plan.resources if ours(r)])


@pytest.fixture(scope="module", params=STACKS)
def manifests(request, plan_of, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp(f"manifests-{request.param}")
    assert write_manifests(platform_plan(plan_of(request.param)), directory) > 0
    return directory


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd or ROOT), "NO_COLOR": "1"}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
                          check=False)


def test_kubernetes_validate_strict(manifests):
    files = sorted(manifests.glob("*.yaml"))
    result = run(TOOLS / "kubernetes-validate", "--strict", "-k", "1.31.0", "--quiet", *files)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "Couldn't find schema for kind" not in line]
    assert result.returncode == 0 and not problems, "\n".join(problems)


def test_checkov_kubernetes_checks(manifests, tmp_path):
    result = run(TOOLS / "checkov", "-d", manifests, "--framework", "kubernetes", "--quiet", "--compact",
                 "-o", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [f"{f['check_id']} {f['resource']} ({f['check_name']})" for f in report["results"]["failed_checks"]]
    assert report["summary"]["parsing_errors"] == 0
    assert failed == [], "fix the object, or skip with a reason (checkov.io/skipN annotation + docs):\n" + \
        "\n".join(failed)


def test_trivy_config_offline(manifests, tmp_path):
    result = run(TOOLS / "trivy", "config", "--skip-check-update", "--skip-version-check", "--cache-dir",
                 tmp_path / "cache", "--ignorefile", ROOT / ".trivyignore.yaml", "--severity",
                 "MEDIUM,HIGH,CRITICAL", "--format", "json", "--quiet", manifests, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    findings = [f"{m['Severity']} {m['ID']} {r['Target']}: {m['Title']}"
                for r in json.loads(result.stdout).get("Results", [])
                for m in r.get("Misconfigurations") or [] if m["Status"] == "FAIL"]
    assert findings == [], "\n".join(findings)


def test_every_skip_is_documented(manifests):
    doc = (ROOT / "docs" / "scanner-skips.md").read_text()
    skips = set()
    for path in manifests.glob("*.yaml"):
        annotations = (yaml.safe_load(path.read_text())["metadata"].get("annotations") or {})
        for key, value in annotations.items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert reason.strip(), f"{path.name}: {check} skipped without a reason"
                skips.add(check)
    ignore = yaml.safe_load((ROOT / ".trivyignore.yaml").read_text())
    for entry in ignore["misconfigurations"]:
        assert entry.get("statement"), f".trivyignore.yaml: {entry['id']} has no statement"
        skips.add(entry["id"])
    missing = sorted(s for s in skips if not re.search(rf"\b{re.escape(s)}\b", doc))
    assert missing == [], f"docs/scanner-skips.md does not list {missing}"
