"""Fixtures (the shared helpers are in tests/helpers.py) and the suite's order: fastest first.

Plans of each stack class are run once per session and cached (``helpers.cached_plan``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers import STACKS, analyzer_processes, cached_plan  # noqa: E402

from tools.offline import mockrun  # noqa: E402

_TEST_CHARTS = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """The policy baseline's Releases (tests/policies/policy_baseline.py) name small stand-in charts
    (tests/policies/charts): packaged once and listed after the pinned charts in PLATFORM_CHARTS,
    so the pack renders them as it renders every Release (xdist workers inherit the variable)."""
    if os.environ.get("PLATFORM_TEST_CHARTS"):
        return
    import tempfile

    import helm_python

    folder = tempfile.mkdtemp(prefix="platform-test-charts-")
    for chart in sorted((ROOT / "tests" / "policies" / "charts").iterdir()):
        helm_python.package(chart, destination=folder)
    charts = os.environ.get("PLATFORM_CHARTS") or "~/.cache/platform/charts"
    os.environ["PLATFORM_CHARTS"] = os.pathsep.join([charts, folder])
    os.environ["PLATFORM_TEST_CHARTS"] = folder
    config.stash[_TEST_CHARTS] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_TEST_CHARTS, None)
    if folder is not None:  # only the process that packaged them
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


ORDER = (
    "config/",                          # pure: profiles and validation
    "tools/",                           # the tools' kernel, facts, repository-wide greps
    "policies/test_rules.py",           # pure validators over a baseline deployment
    "delivery/test_reaper.py", "delivery/test_ephemeral_config.py", "delivery/test_pr_comment.py",
    "delivery/test_pulumi_cli_missing.py",
    "components/",                      # the session's plans of the three stacks
    "program/",                         # the plan CLI, first preview, golden URNs
    "policies/",                        # the pack as the engine runs it (analyzer plugin)
    "delivery/",                        # external validators of the workflows (zizmor, ...)
    "components/test_manifests_scanners.py",  # external scanners over every manifest
)
"""Fastest first: a broken profile fails in a second, not after the scanners. A test goes to the
last (most specific) entry its path starts with; ties keep pytest's order."""


def _rank(item: pytest.Item) -> int:
    path = Path(str(item.fspath)).resolve().relative_to(ROOT / "tests").as_posix()
    matches = [(len(prefix), i) for i, prefix in enumerate(ORDER) if path.startswith(prefix)]
    return max(matches)[1] if matches else len(ORDER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: within a rank, collection order


@pytest.fixture(scope="session")
def plan_of() -> Callable[[str], mockrun.Plan]:
    """``plan_of("staging")`` -> the cached offline plan of that stack."""
    return cached_plan


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over one stack of each environment class."""
    return request.param


@pytest.fixture
def plan(plan_of: Callable[[str], mockrun.Plan], stack: str) -> mockrun.Plan:
    return plan_of(stack)


# No policy-pack analyzer may outlive the session: each process (an xdist worker, or the only one)
# stops its own and reports any that remain; the controller fails the run if one did.
_LEFT: list[str] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    check = sys.modules.get("tools.offline.check")
    if check is not None:
        check.close_shared()
    left = [f"pid {pid} (parent {os.getpid()})" for pid in analyzer_processes(parent=os.getpid())]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["analyzers_left"] = left
        return
    left += _LEFT
    if left:
        print(f"\nerror: policy-pack analyzer processes outlived the tests: {', '.join(left)}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_testnodedown(node: object, error: object) -> None:
    _LEFT.extend(getattr(node, "workeroutput", {}).get("analyzers_left", []))
