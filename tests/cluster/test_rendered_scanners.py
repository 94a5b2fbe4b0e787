"""The external validators over every object the pinned charts render, per stack, as for the
program's own manifests (tests/components/test_manifests_scanners.py): kubernetes-validate
(strict, Kubernetes 1.31). Skips come only from chart-scanner-skips.yaml, each with its reason,
written onto the scanned copies by tools/offline/scanfiles.py; a skip that matches no rendered
object of any stack is an error. (checkov and trivy over the same folders: issue 15, still open.)"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.offline import cluster, helm, scanfiles
from tools.offline.checks.base import PROGRAM, Obj

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".venv-tools" / "bin"
STACKS = ("staging", "production", "pr-7")
SKIPS = scanfiles.load_skips(ROOT / scanfiles.SKIPS_FILE)

pytestmark = pytest.mark.skipif(
    not all((TOOLS / t).exists() for t in ("checkov", "trivy", "kubernetes-validate")),
    reason=".venv-tools is absent (CI installs it): make tools-setup")


@pytest.fixture(scope="module")
def rendered(plan_of, platform_charts, tmp_path_factory) -> dict[str, list[Obj]]:
    cache = tmp_path_factory.mktemp("render")
    platform = helm.releases((r.urn, r.type, r.inputs) for r in plan_of("staging").resources)
    reports = {s: cluster.judge(plan_of(s), stack=s, charts=platform_charts, cache=cache,
                                platform=platform if s.startswith("pr-") else None) for s in STACKS}
    return {s: [o for o in r.objects if o.origin != PROGRAM] for s, r in reports.items()}


def matching(objects: list[Obj]) -> list[scanfiles.Skip]:
    return [s for s in SKIPS if any(fnmatch.fnmatchcase(o.describe(), s.target) for o in objects)]


@pytest.fixture(scope="module", params=STACKS)
def written(request, rendered, tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(folder of rendered objects, trivy ignore file, file name → ``Release … → Kind ns/name``)."""
    objects = rendered[request.param]
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
