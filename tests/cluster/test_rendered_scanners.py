"""The external validators over every object the pinned charts render, per stack, as for the
program's own manifests (tests/components/test_manifests_scanners.py, same versions and flags):
kubernetes-validate (strict, Kubernetes 1.31), checkov's Kubernetes checks and ``trivy config``
(MEDIUM and above, offline), one invocation per stack folder. Skips come only from
chart-scanner-skips.yaml, each with its reason, written onto the scanned copies by
tools/offline/scanfiles.py; a skip that matches no rendered object of any stack is an error, and
docs/scanner-skips.md lists every one (generated: ``python -m tools docs``).

The folder also holds the program's NetworkPolicies (they select the chart pods of their
namespace): checkov's CKV2_K8S_6 is a graph check that needs them to see which pod is covered.
A failure names the check and the object (``Release <name> → Kind ns/name``)."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.offline import cluster, facts, helm, scanfiles
from tools.offline.checks.base import PROGRAM, Obj

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"
STACKS = ("staging", "production", "pr-7")
SKIPS = scanfiles.load_skips(ROOT / scanfiles.SKIPS_FILE)

pytestmark = pytest.mark.skipif(
    not all((TOOLS / t).exists() for t in ("checkov", "trivy", "kubernetes-validate")),
    reason=".venv-tools is absent (CI installs it): make tools-setup")


@pytest.fixture(scope="module")
def reports(plan_of, platform_charts, tmp_path_factory) -> dict[str, cluster.ClusterReport]:
    cache = tmp_path_factory.mktemp("render")
    platform = helm.releases((r.urn, r.type, r.inputs) for r in plan_of("staging").resources)
    return {s: cluster.judge(plan_of(s), stack=s, charts=platform_charts, cache=cache,
                             platform=platform if s.startswith("pr-") else None) for s in STACKS}


@pytest.fixture(scope="module")
def rendered(reports) -> dict[str, list[Obj]]:
    return {s: [o for o in r.objects if o.origin != PROGRAM] for s, r in reports.items()}


def matching(objects: list[Obj]) -> list[scanfiles.Skip]:
    return [s for s in SKIPS if any(fnmatch.fnmatchcase(o.describe(), s.target) for o in objects)]


@pytest.fixture(scope="module", params=STACKS)
def written(request, reports, rendered, tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(folder of rendered objects + the program's NetworkPolicies, trivy ignore file,
    file name → ``Release … → Kind ns/name``)."""
    policies = [o for o in reports[request.param].objects if o.origin == PROGRAM and o.kind == "NetworkPolicy"]
    assert policies, f"{request.param}: the program declares no NetworkPolicy"
    objects = rendered[request.param] + policies
    base = tmp_path_factory.mktemp(f"rendered-{request.param}")
    ignore = scanfiles.write(objects, base / "objects", matching(objects))
    (base / "ignore.yaml").write_text(yaml.safe_dump(ignore))
    return base / "objects", base / "ignore.yaml", {scanfiles.filename(o): o.describe() for o in objects}


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd), "NO_COLOR": "1"}
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900, cwd=cwd, env=env,
                          check=False)


def test_every_skip_matches_a_rendered_object_of_some_stack(rendered):
    stale = [f"{s.scanner} {s.check} on {s.target!r}" for s in SKIPS
             if not any(s in matching(objects) for objects in rendered.values())]
    assert stale == [], f"{scanfiles.SKIPS_FILE}: remove or correct: {stale}"


def test_kubernetes_validate_strict_on_rendered_objects(written):
    folder, _, _ = written
    result = run(TOOLS / "kubernetes-validate", "--strict", "-k", "1.31.0", "--quiet", *sorted(folder.glob("*.yaml")),
                 cwd=folder.parent)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "Couldn't find schema for kind" not in line]
    assert result.returncode == 0 and not problems, problems


def report(header: str, findings: list[str]) -> str:
    return f"{header} ({len(findings)}):\n  " + "\n  ".join(findings)


def test_checkov_kubernetes_checks_on_rendered_objects(written):
    folder, _, names = written
    result = run(TOOLS / "checkov", "-d", folder, "--framework", "kubernetes", "--quiet", "--compact", "-o", "json",
                 cwd=folder.parent)
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov produced no JSON report (exit {result.returncode}):\n{result.stderr[-2000:]}")
    rep = parsed[0] if isinstance(parsed, list) else parsed
    assert rep.get("results") and rep["summary"]["parsing_errors"] == 0 and rep["summary"]["passed"] > 0, rep
    failed = sorted(f"{f['check_id']} {names[Path(f['file_path']).name]}: {f['check_name']}"
                    for f in rep["results"]["failed_checks"])
    assert failed == [], report(f"checkov failures on rendered objects: fix the Release's values, or skip with a "
                                f"reason in {scanfiles.SKIPS_FILE}", failed)


def test_trivy_config_on_rendered_objects(written):
    folder, ignore, names = written
    result = run(TOOLS / "trivy", "config", "--skip-check-update", "--skip-version-check", "--cache-dir",
                 folder.parent / "cache", "--ignorefile", ignore, "--severity", "MEDIUM,HIGH,CRITICAL",
                 "--format", "json", "--quiet", folder, cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout).get("Results", [])
    assert {r["Target"] for r in results} <= set(names), "trivy scanned files that were not written"
    findings = sorted(f"{m['ID']} ({m['Severity']}) {names[r['Target']]}: {m['Title']}"
                      for r in results for m in r.get("Misconfigurations") or [] if m["Status"] == "FAIL")
    assert findings == [], report(f"trivy findings on rendered objects: fix the Release's values, or skip with a "
                                  f"reason in {scanfiles.SKIPS_FILE}", findings)


def pod_spec(obj: Obj) -> dict:
    spec = obj.body.get("spec") or {}
    template = (spec.get("jobTemplate") or {}).get("spec", spec).get("template") or {}
    return dict(template.get("spec") or {})


@pytest.mark.parametrize("stack", STACKS)
def test_every_token_skip_is_an_api_client_of_the_pack_or_mounts_none(stack, rendered):
    """A CKV_K8S_38 skip holds only for a workload the pack allow-lists as an API client (its
    ServiceAccount in apiClients) or whose ServiceAccount turns the token off (checkov reads the pod only)."""
    config = json.loads((ROOT / "policies" / "config" / f"{facts.environment_of(stack)}.json").read_text())
    clients = set((config.get("k8s-no-sa-token-automount") or {}).get("apiClients") or {})
    tokenless = {f"{o.namespace}/{o.name}" for o in rendered[stack]
                 if o.kind == "ServiceAccount" and o.body.get("automountServiceAccountToken") is False}
    untrue = []
    for skip in (s for s in SKIPS if s.scanner == "checkov" and s.check == "CKV_K8S_38"):
        for obj in (o for o in rendered[stack] if fnmatch.fnmatchcase(o.describe(), skip.target)):
            account = f"{obj.namespace}/{pod_spec(obj).get('serviceAccountName', 'default')}"
            if account not in clients and account not in tokenless:
                untrue.append(f"{obj.describe()} (ServiceAccount {account})")
    assert untrue == [], report(f"CKV_K8S_38 skipped for workloads that are no API client of the pack's "
                                f"{facts.environment_of(stack)} config and mount a token", untrue)
