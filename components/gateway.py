"""Gateway API references shared by the components that route traffic (ingress, monitoring).

``Ingress`` creates the Gateway and hands out a ``GatewayRef``; a component exposing a Service
on one of its HTTPS listeners creates the route with ``https_route`` (it does not call into
``Ingress``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import metadata

GATEWAY_API = "gateway.networking.k8s.io/v1"
HSTS = "max-age=31536000; includeSubDomains"
"""PR environments send it too: their hosts are served under staging's trusted wildcard certificate
(components/ingress.py), so browsers keep it (RFC 6797 §8.1 ignores it only on untrusted ones)."""


@dataclass(frozen=True, kw_only=True)
class GatewayRef:
    """The shared Gateway: an HTTP listener ``http``, an HTTPS listener ``https-<host name>`` per host of
    the platform stack and, on staging, ``https-preview`` (``*.preview.<domain>``, PR routes)."""

    name: str
    namespace: pulumi.Input[str]

    def ref(self) -> dict[str, Any]:
        return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": self.name,
                "namespace": self.namespace}

    def parent_ref(self, section: str) -> dict[str, Any]:
        return {**self.ref(), "sectionName": section}


@dataclass(frozen=True, kw_only=True)
class Backend:
    """A Service behind a route: its share of the traffic (``weight``, None = the only one) and, for
    a release track, the request header value that reaches it alone (``header``: name, value)."""

    service: pulumi.Input[str]
    port: int
    weight: int | None = None
    header: tuple[str, str] | None = None


def https_route(resource_name: str, *, gateway: GatewayRef, listener: str, route_name: str,
                namespace: pulumi.Input[str], hostname: str, backend: tuple[pulumi.Input[str], int] | None = None,
                backends: Sequence[Backend] = (), labels: Mapping[str, str],
                opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """An HTTPRoute for one host on listener ``https-<listener>`` with the HSTS header: to one Service
    (``backend``: name, port) or split by weight over ``backends``, plus one rule per backend with a
    ``header``. A rule with a header match takes precedence over the path-only rule (Gateway API
    HTTPRoute precedence: more header matches win), so ``x-platform-track: green`` reaches green
    even at weight 0: the smoke check before traffic moves."""
    targets = [Backend(service=backend[0], port=backend[1])] if backend else list(backends)
    path = {"path": {"type": "PathPrefix", "value": "/"}}
    hsts = [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {
        "set": [{"name": "Strict-Transport-Security", "value": HSTS}]}}]

    def ref(b: Backend, weighted: bool) -> dict[str, Any]:
        return {"name": b.service, "port": b.port, **({"weight": b.weight} if weighted and b.weight is not None else {})}

    rules = [{"matches": [{**path, "headers": [{"type": "Exact", "name": b.header[0], "value": b.header[1]}]}],
              "filters": hsts, "backendRefs": [ref(b, weighted=False)]} for b in targets if b.header]
    rules.append({"matches": [path], "filters": hsts, "backendRefs": [ref(b, weighted=True) for b in targets]})
    return k8s.apiextensions.CustomResource(
        resource_name, api_version=GATEWAY_API, kind="HTTPRoute",
        metadata=metadata(route_name, namespace, labels),
        spec={"parentRefs": [gateway.parent_ref(f"https-{listener}")], "hostnames": [hostname], "rules": rules},
        opts=opts)
