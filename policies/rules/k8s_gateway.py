"""Gateway API (our ingress): HTTPS on every host, HTTP only to redirect, unique non-wildcard
hosts, certificates from the environment's approved issuer. The Ingress rows of the matrix map
onto Gateway listeners and HTTPRoutes."""

from __future__ import annotations

import re

from ._core import Res, as_list, by_type, get, is_unknown, resource_rule, stack_rule, unknown_msg

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
ISSUER = "kubernetes:cert-manager.io/v1:Issuer"


def _redirects_to_https(route: Res) -> bool:
    rules = as_list(get(route.props, "spec.rules"))
    return bool(rules) and all(
        not as_list(r.get("backendRefs")) and any(
            f.get("type") == "RequestRedirect" and get(f, "requestRedirect.scheme") == "https"
            for f in as_list(r.get("filters")))
        for r in rules if isinstance(r, dict))


def _attached(route: Res, gateway: Res) -> list[dict]:
    """Listeners of ``gateway`` the route attaches to."""
    listeners = [x for x in as_list(get(gateway.props, "spec.listeners")) if isinstance(x, dict)]
    found = []
    for ref in as_list(get(route.props, "spec.parentRefs")):
        if not isinstance(ref, dict):
            continue
        name = ref.get("name")
        if not (route.depends_on(gateway) or name == get(gateway.props, "metadata.name")):
            continue
        section = ref.get("sectionName")
        found += [x for x in listeners if section in (None, x.get("name"))]
    return found


@stack_rule(
    "gateway-tls-only", types=(GATEWAY, HTTP_ROUTE), severity="high",
    description="Gateways serve every host over HTTPS with a certificate; plain HTTP only redirects.",
    rows=("ING-01",), anchors=("gatekeeper:K8sHttpsOnly", "kyverno:other/require-ingress-https"),
    fix="give the Gateway an HTTPS listener with tls.mode Terminate and certificateRefs for the "
        "host, and attach to the HTTP listener only a route whose filter is RequestRedirect "
        "scheme https")
def tls_only(resources, ctx):
    for gw in by_type(resources, GATEWAY):
        listeners = as_list(get(gw.props, "spec.listeners"))
        if is_unknown(get(gw.props, "spec.listeners")):
            yield gw.urn, unknown_msg("spec.listeners")
            continue
        if not any(x.get("protocol") == "HTTPS" for x in listeners if isinstance(x, dict)):
            yield gw.urn, f"gateway '{gw.name}' has no HTTPS listener"
        for x in listeners:
            if isinstance(x, dict) and x.get("protocol") in ("HTTPS", "TLS"):
                if get(x, "tls.mode", "Terminate") == "Terminate" and not as_list(get(x, "tls.certificateRefs")):
                    yield gw.urn, f"listener '{x.get('name')}' terminates TLS without certificateRefs"
        for route in by_type(resources, HTTP_ROUTE):
            plain = [x for x in _attached(route, gw) if x.get("protocol") == "HTTP"]
            if plain and not _redirects_to_https(route):
                yield route.urn, (f"route '{route.name}' serves plain HTTP on listener "
                                  f"'{plain[0].get('name')}' instead of redirecting to https")


@resource_rule(
    "gateway-hosts-specific", types=(GATEWAY, HTTP_ROUTE), severity="medium",
    description="Routes and HTTPS listeners name specific hosts: no wildcard or empty host (a wildcard "
                "listener only where a namespace selector limits who attaches).",
    rows=("ING-04",), anchors=("gatekeeper:K8sBlockWildcardIngress",
                               "kyverno:other/restrict-ingress-wildcard"),
    fix="set the exact host (app.<domain>, pr-<n>.preview.<domain>) in hostnames / listener hostname")
def hosts_specific(props, ctx):
    if ctx.type == HTTP_ROUTE:
        hosts = get(props, "spec.hostnames")
        if is_unknown(hosts):
            yield unknown_msg("spec.hostnames")
            return
        rules = [r for r in as_list(get(props, "spec.rules")) if isinstance(r, dict)]
        redirect_only = bool(rules) and all(
            not as_list(r.get("backendRefs")) and any(get(f, "requestRedirect.scheme") == "https"
                                                      for f in as_list(r.get("filters"))) for r in rules)
        if not as_list(hosts) and not redirect_only:  # a catch-all http->https redirect serves nothing
            yield "the route sets no hostnames: it matches every host on the gateway"
        hosts = as_list(hosts)
    else:
        listeners = [x for x in as_list(get(props, "spec.listeners"))
                     if isinstance(x, dict) and x.get("protocol") in ("HTTPS", "TLS")]
        if any(x.get("hostname") in (None, "") for x in listeners):
            yield "an HTTPS listener sets no hostname"
        # A wildcard listener (one certificate for every PR environment) is fine when only selected
        # namespaces may attach: each route there still names its one specific host (checked above).
        hosts = [x.get("hostname") for x in listeners if not _admits_selected_namespaces(x)]
    for host in hosts:
        if isinstance(host, str) and "*" in host:
            yield f"host '{host}' is a wildcard"


def _admits_selected_namespaces(listener: dict) -> bool:
    namespaces = get(listener, "allowedRoutes.namespaces") or {}
    selector = namespaces.get("selector") if isinstance(namespaces, dict) else None
    return (isinstance(namespaces, dict) and namespaces.get("from") == "Selector" and isinstance(selector, dict)
            and bool(selector.get("matchLabels") or selector.get("matchExpressions")))


@stack_rule(
    "gateway-hosts-unique", types=(HTTP_ROUTE,), severity="medium",
    description="Each host+path is routed once, and a PR stack routes only its own pr-<n> hosts.",
    rows=("ING-05",), anchors=("gatekeeper:K8sUniqueIngressHost",
                               "kyverno:other/unique-ingress-host-and-path"),
    fix="derive hosts from settings.app_host (pr-<n>.preview.<domain> for PR stacks)")
def hosts_unique(resources, ctx):
    pr_numbers = {get(r.props, "tags.pr") for r in resources if isinstance(get(r.props, "tags.pr"), str)}
    seen: dict[tuple[str, str, str], str] = {}
    for route in by_type(resources, HTTP_ROUTE):
        hosts = get(route.props, "spec.hostnames")
        if is_unknown(hosts):
            continue  # gateway-hosts-specific reports it
        paths = [get(m, "path.value", "/") for r in as_list(get(route.props, "spec.rules"))
                 for m in (as_list(get(r, "matches")) or [{}])]
        sections = sorted({str(get(ref, "sectionName", "")) for ref in as_list(get(route.props, "spec.parentRefs"))})
        for host in as_list(hosts):
            for pr in pr_numbers:
                if isinstance(host, str) and not host.startswith(f"pr-{pr}."):
                    yield route.urn, f"PR stack {pr} routes host '{host}', which is not its own pr-{pr}.* host"
            for path in paths:
                key = (str(host), str(path), ",".join(sections))
                if key in seen and seen[key] != route.urn:
                    yield route.urn, f"host '{host}' path '{path}' is also routed by {seen[key].rsplit('::', 1)[-1]}"
                seen.setdefault(key, route.urn)


@stack_rule(
    "cert-manager-issuer-approved", types=(CERTIFICATE, CLUSTER_ISSUER, ISSUER, GATEWAY), severity="medium",
    description="Certificates come from the environment's approved issuer (Let's Encrypt production "
                "in production).",
    rows=("ING-07",), anchors=("kyverno:cert-manager/restrict-issuer",),
    config={"allowedIssuerKinds": {"type": "array", "items": {"type": "string"}},
            "allowedAcmeServers": {"type": "array", "items": {"type": "string"}}},
    fix="issue certificates from the ClusterIssuer this stack creates for its environment "
        "(platform:certificates profile) and point its acme.server at the allowed directory")
def issuer_approved(resources, ctx):
    kinds = ctx.config.get("allowedIssuerKinds")
    servers = ctx.config.get("allowedAcmeServers")
    issuers = by_type(resources, CLUSTER_ISSUER, ISSUER)
    names = {get(i.props, "metadata.name") for i in issuers}
    for issuer in issuers:
        spec = issuer.props.get("spec") or {}
        if is_unknown(spec):
            yield issuer.urn, unknown_msg("spec")
            continue
        kind = next((k for k in ("acme", "selfSigned", "ca", "vault", "venafi") if k in spec), None)
        if kinds is not None and kind not in kinds:
            yield issuer.urn, f"issuer '{issuer.name}' is of kind {kind}, not one of {kinds}"
        server = get(spec, "acme.server")
        if kind == "acme" and servers is not None and server not in servers:
            yield issuer.urn, f"issuer '{issuer.name}' uses ACME server {server}, not one allowed here"
    for cert in by_type(resources, CERTIFICATE):
        ref = get(cert.props, "spec.issuerRef.name")
        if is_unknown(ref):
            if not any(cert.depends_on(i) for i in issuers):
                yield cert.urn, unknown_msg("spec.issuerRef.name")
        elif ref not in names:
            yield cert.urn, f"certificate '{cert.name}' uses issuer '{ref}', which this stack does not create"


CLIENT_TRAFFIC_POLICY = "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy"
_OLD_TLS = ("1.0", "1.1")


@resource_rule(
    "gateway-tls-minimum-1-2", types=(CLIENT_TRAFFIC_POLICY,), severity="high",
    description="The gateway never negotiates TLS below 1.2 (Envoy Gateway ClientTrafficPolicy).",
    rows=("ING-08",), anchors=("checkov:CKV_AWS_103", "trivy:AWS-0047", "mozilla:intermediate"),
    fix="set spec.tls.minVersion '1.2' (or '1.3', or leave it unset: Envoy Gateway's default is 1.2) "
        "and never a maxVersion below 1.2")
def tls_minimum(props, ctx):
    for field in ("minVersion", "maxVersion"):
        value = get(props, f"spec.tls.{field}")
        if is_unknown(value):
            yield unknown_msg(f"spec.tls.{field}")
        elif str(value) in _OLD_TLS:
            yield f"spec.tls.{field} is {value}: TLS 1.0/1.1 are deprecated (RFC 8996) and broken by known attacks"


HSTS = "strict-transport-security"


def _hsts_max_age(rule: dict) -> int | None:
    """max-age of the Strict-Transport-Security header a route rule sets on its responses."""
    for f in as_list(rule.get("filters")):
        if not isinstance(f, dict) or f.get("type") != "ResponseHeaderModifier":
            continue
        headers = as_list(get(f, "responseHeaderModifier.set")) + as_list(get(f, "responseHeaderModifier.add"))
        for h in headers:
            if isinstance(h, dict) and str(h.get("name", "")).lower() == HSTS:
                match = re.search(r"max-age=(\d+)", str(h.get("value", "")))
                return int(match.group(1)) if match else 0
    return None


@resource_rule(
    "gateway-hsts", types=(HTTP_ROUTE,), severity="medium",
    description="Every route that serves a backend sends Strict-Transport-Security (HSTS) with a long max-age.",
    rows=("ING-09",), anchors=("owasp:ASVS-14.4.5", "mozilla:hsts"),
    config={"minimumMaxAge": {"type": "integer", "default": 31536000}},
    fix="add to every rule with backendRefs a ResponseHeaderModifier filter setting "
        "Strict-Transport-Security: max-age=31536000; includeSubDomains (components/gateway.py https_route does)")
def hsts(props, ctx):
    minimum = int(ctx.config.get("minimumMaxAge", 31536000))
    rules = get(props, "spec.rules")
    if is_unknown(rules):
        yield unknown_msg("spec.rules")
        return
    for i, rule in enumerate(as_list(rules)):
        if not isinstance(rule, dict) or not as_list(rule.get("backendRefs")):
            continue  # a redirect serves no page to pin
        age = _hsts_max_age(rule)
        if age is None:
            yield f"rule {i} serves a backend without a Strict-Transport-Security header"
        elif age < minimum:
            yield f"rule {i} sends Strict-Transport-Security max-age={age}, below {minimum} seconds"
