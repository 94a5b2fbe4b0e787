"""Gateway API references shared by the components that route traffic (ingress, monitoring).

``Ingress`` creates the Gateway and hands out a ``GatewayRef``; a component exposing a Service
on one of its HTTPS listeners creates the route with ``https_route`` (it does not call into
``Ingress``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import metadata

GATEWAY_API = "gateway.networking.k8s.io/v1"
HSTS = "max-age=31536000; includeSubDomains"
"""Browsers ignore HSTS sent with a certificate they do not trust (RFC 6797 §8.1), so this is
harmless on PR environments' self-signed certificates."""


@dataclass(frozen=True, kw_only=True)
class GatewayRef:
    """This stack's Gateway: an HTTP listener ``http`` and an HTTPS listener ``https-<host name>`` per host."""

    name: str
    namespace: pulumi.Input[str]

    def ref(self) -> dict[str, Any]:
        return {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": self.name,
                "namespace": self.namespace}

    def parent_ref(self, section: str) -> dict[str, Any]:
        return {**self.ref(), "sectionName": section}


def https_route(resource_name: str, *, gateway: GatewayRef, listener: str, route_name: str,
                namespace: pulumi.Input[str], hostname: str, backend: tuple[pulumi.Input[str], int],
                labels: Mapping[str, str], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """An HTTPRoute for one host on listener ``https-<listener>`` to one Service (``backend``: name,
    port), with the HSTS header."""
    service, port = backend
    return k8s.apiextensions.CustomResource(
        resource_name, api_version=GATEWAY_API, kind="HTTPRoute",
        metadata=metadata(route_name, namespace, labels),
        spec={"parentRefs": [gateway.parent_ref(f"https-{listener}")], "hostnames": [hostname],
              "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                         "filters": [{"type": "ResponseHeaderModifier", "responseHeaderModifier": {
                             "set": [{"name": "Strict-Transport-Security", "value": HSTS}]}}],
                         "backendRefs": [{"name": service, "port": port}]}]},
        opts=opts)
