"""What every whole-cluster check reads and returns.

A check judges the objects that would really exist in the cluster: the program's own Kubernetes
objects and the objects each Helm Release renders. Each object keeps where it came from, so a
finding names the Release and the rendered object (``Release monitoring-stack → Deployment
monitoring/grafana``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROGRAM = "program"
"""Origin of an object the program declares itself (not rendered from a chart)."""


@dataclass(frozen=True)
class Obj:
    """One Kubernetes object as the API server would receive it."""

    body: Mapping[str, Any]
    origin: str = PROGRAM
    """``program``, or ``Release <release name>`` for an object a chart renders."""
    hook: str | None = None
    """The Helm hook events (``pre-install,post-install``) when the object is a hook, else None."""

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def namespace(self) -> str:
        return str((self.body.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.body.get("metadata") or {}).get("name") or "")

    @property
    def ref(self) -> str:
        """``Deployment monitoring/grafana`` (cluster-scoped objects: ``ClusterRole foo``)."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def describe(self) -> str:
        return self.ref if self.origin == PROGRAM else f"{self.origin} → {self.ref}"


@dataclass(frozen=True)
class Finding:
    """One problem a check found: what is wrong, on which object, and how to fix it."""

    check: str
    """The check's id, kebab case (``crd-schema``, ``pod-security``, ``quota-fit``, ...)."""
    subject: str
    """``Obj.describe()`` of the object (or a flow, for reachability: ``monitoring/prometheus → gateway/envoy:19001``)."""
    what: str
    fix: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        text = f"[{self.check}] {self.subject}: {self.what}"
        return f"{text}. Fix: {self.fix}" if self.fix else text
