"""Fixtures for the whole-cluster checks: the tests' own small charts, packaged by Helm, and the
pinned charts from the one explicit input PLATFORM_CHARTS (a missing folder fails, never skips)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tools.offline import check, cluster, helm

CHARTS = Path(__file__).resolve().parent / "charts"


@pytest.fixture(scope="session")
def small_charts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every chart under tests/cluster/charts packaged by Helm (<name>-<version>.tgz)."""
    import helm_python

    out = tmp_path_factory.mktemp("charts")
    for chart in sorted(p for p in CHARTS.iterdir() if (p / "Chart.yaml").is_file()):
        helm_python.package(chart, destination=out)
    return out


@pytest.fixture(scope="session")
def platform_charts() -> Path:
    charts = helm.charts_dir()
    if not charts.is_dir():
        pytest.fail(f"{helm.CHARTS_ENV}={charts} does not exist: the pinned charts are needed to render the "
                    f"Releases. Run `make charts` (network) or export {helm.CHARTS_ENV}=<folder of the pinned "
                    "<chart>-<version>.tgz archives>", pytrace=False)
    return charts


@pytest.fixture
def judge(small_charts: Path, tmp_path: Path) -> Callable[..., cluster.ClusterReport]:
    """``judge(release(...), namespace(...), ...)``: the cluster of those resources, judged."""
    def run(*resources: Mapping[str, Any], cache: Path | None = None) -> cluster.ClusterReport:
        document = {"deployment": {"resources": list(resources)}}
        return cluster.judge(document, stack="test", charts=small_charts, cache=cache or tmp_path / "render")
    return run


@pytest.fixture(scope="module")
def small_pack(small_charts: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[check.Analyzer]:
    """The pack as its own plugin, its chart folder the tests' small charts."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PLATFORM_CHARTS", str(small_charts))
        env.setenv("PLATFORM_RENDER_CACHE", str(tmp_path_factory.mktemp("pack-render")))
        analyzer = check.Analyzer()
    yield analyzer
    analyzer.close()
