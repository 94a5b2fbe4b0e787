"""Helm releases: charts pinned to an exact version, fetched over TLS, no retired components."""

from __future__ import annotations

import re

from ._core import get, is_unknown, resource_rule, unknown_msg

RELEASE = "kubernetes:helm.sh/v3:Release"
CHART_TYPES = (RELEASE, "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v4:Chart")
_EXACT = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
RETIRED = ["ingress-nginx"]


def chart_name(props: dict) -> str:
    chart = str(props.get("chart") or "")
    return chart.rstrip("/").rsplit("/", 1)[-1]


@resource_rule(
    "helm-chart-pinned-https", types=CHART_TYPES, severity="high",
    description="Helm charts are pinned to an exact version and fetched over HTTPS or OCI.",
    fix="set version to an exact chart version (e.g. '1.4.2') and repositoryOpts.repo to an "
        "https:// URL, or chart to oci://<registry>/<chart>")
def pinned_https(props, ctx):
    version = props.get("version")
    if is_unknown(version):
        yield unknown_msg("version")
    elif not isinstance(version, str) or not _EXACT.match(version):
        yield f"chart '{chart_name(props)}' version {version!r} is not an exact version"
    chart, repo = str(props.get("chart") or ""), get(props, "repositoryOpts.repo")
    if is_unknown(repo):
        yield unknown_msg("repositoryOpts.repo")
    elif chart.startswith("oci://"):
        pass
    elif "://" in chart and not chart.startswith("https://"):
        yield f"chart '{chart_name(props)}' is fetched without TLS ({chart.split('://')[0]}://)"
    elif repo is None and "://" not in chart:
        yield f"chart '{chart_name(props)}' has no repository: it resolves from the local helm config"
    elif repo is not None and not str(repo).startswith(("https://", "oci://")):
        yield f"chart '{chart_name(props)}' repository is not https:// or oci://"


@resource_rule(
    "helm-no-retired-charts", types=CHART_TYPES, severity="high",
    description="No retired or end-of-life components (the ingress-nginx chart) are installed.",
    anchors=("checkov:CKV_K8S_153", "trivy:KCV-0093"),
    config={"retiredCharts": {"type": "array", "items": {"type": "string"}, "default": RETIRED}},
    fix="use the Gateway API with envoy-gateway instead of ingress-nginx (retired, unpatched "
        "snippet-injection CVEs)")
def no_retired(props, ctx):
    retired = list(ctx.config.get("retiredCharts", RETIRED))
    name = chart_name(props)
    if name in retired:
        yield f"chart '{name}' is retired and no longer receives security fixes"


@resource_rule(
    "helm-chart-renders", types=(RELEASE,), severity="high", category="preflight",
    description="Every Helm Release renders with Helm's own engine from the pinned chart, so the "
                "Kubernetes rules judge what it creates.",
    fix="correct the Release's values (Helm's message says which), or fill the chart folder: "
        "`make charts` (or point PLATFORM_CHARTS at a folder with the pinned <chart>-<version>.tgz)")
def chart_renders(props, ctx):
    """A render failure would fail ``pulumi up`` (the atomic install rolls back); a chart the pack
    cannot read would let every Kubernetes rule pass over the Release unseen. Both are reported
    here, once per Release, never as a silent pass."""
    from . import _rendered

    problem = _rendered.release(ctx.urn, ctx.name, props).problem
    if problem is not None:
        yield problem
