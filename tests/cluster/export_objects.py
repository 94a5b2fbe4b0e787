"""Small builders for the whole-cluster tests: resources as a stack export holds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tools.offline import cluster, helm


def resource(kind: str, name: str, namespace: str | None = None, api: str = "v1", **fields: Any) -> dict[str, Any]:
    """A program object as the stack export holds it."""
    group, _, version = api.rpartition("/")
    meta: dict[str, Any] = {"name": name, **({"namespace": namespace} if namespace else {})}
    meta.update(fields.pop("metadata", {}))
    return {"urn": f"urn:pulumi:test::platform::kubernetes:{group or 'core'}/{version}:{kind}::{name}",
            "type": f"kubernetes:{group or 'core'}/{version}:{kind}", "custom": True,
            "inputs": {"apiVersion": api, "kind": kind, "metadata": meta, **fields}}


def namespace(name: str, level: str = "restricted") -> dict[str, Any]:
    return resource("Namespace", name, metadata={"labels": {"pod-security.kubernetes.io/enforce": level}})


def release(chart: str, values: Mapping[str, Any], ns: str = "team", name: str = "demo") -> dict[str, Any]:
    return {"urn": f"urn:pulumi:test::platform::kubernetes:helm.sh/v3:Release::{name}",
            "type": helm.HELM_RELEASE, "custom": True,
            "inputs": {"chart": chart, "version": "0.1.0", "name": name, "namespace": ns, "values": dict(values)}}


def messages(report: cluster.ClusterReport, check: str) -> Sequence[str]:
    return [f.line() for f in report.findings[check]]
