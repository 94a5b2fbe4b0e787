"""TLS ingress through the Gateway API: Envoy Gateway, cert-manager, one shared Gateway per cluster.

ingress-nginx is retired (no security fixes after March 2026); Envoy Gateway implements the
Gateway API. The stack that installs the shared platform (staging, production) creates:

* the Envoy Gateway Helm release (OCI chart, pinned) with global rate limiting backed by a small
  in-memory Redis of its own (``ratelimit-redis``: counters only, nothing persisted), and the
  ``GatewayClass``;
* the cert-manager Helm release (pinned, CRDs installed, Gateway API support on);
* the HTTP-01 ClusterIssuer of its environment (Let's Encrypt production / staging, solver
  routes on the Gateway's HTTP listener);
* an ``EnvoyProxy`` (replicas, PodDisruptionBudget, resources, the one NLB service) and the
  ``Gateway`` ``platform`` using it, with an HTTPS listener per host of the stack (certificates
  issued by cert-manager's gateway-shim through the ``cert-manager.io/cluster-issuer``
  annotation; PR namespaces may not attach to them) and an HTTP listener that only redirects;
* a ``ClientTrafficPolicy`` (TLS 1.2 minimum) and the redirect ``HTTPRoute`` (every host);
* where the stack hosts PR environments (staging): the preview listener ``https-preview`` for
  ``*.preview.<domain>``, admitting routes only from namespaces labelled as PR environments
  (``PR_ENVIRONMENT_LABELS``); one wildcard ``Certificate`` for it from a second ClusterIssuer
  (``letsencrypt-preview-dns01``: Let's Encrypt production, DNS-01 through Route53), and the IAM
  role (IRSA, cert-manager's ServiceAccount only) that may write only the challenge's TXT record
  in the configured hosted zone (``acme_dns01_policy``).

Every stack then creates the application's ``HTTPRoute`` (HSTS header; with two release tracks:
weighted ``backendRefs`` ``app-blue`` / ``app-green`` and a rule per track matching header
``x-platform-track: <track>``) and a ``BackendTrafficPolicy`` limiting each client IP, both in the
app namespace. A PR stack creates only these two: its route attaches to the shared Gateway's
preview listener (host ``pr-<n>.preview.<domain>``, from config.py); external-dns (staging's,
components/addons.py) publishes the host while the route exists. No Gateway, EnvoyProxy, load
balancer, issuer or certificate per PR: a PR is up without waiting for an NLB or an ACME order,
Let's Encrypt's 50-certificates-per-domain-per-week limit is never at stake, and reviewers get a
trusted certificate.

Decision — staging and production keep HTTP-01 for their own hosts. Their hosts are fixed, few
and served by the Gateway anyway, so HTTP-01 works once external-dns has published them, and it
needs no DNS write permission at all: a compromised cert-manager in production cannot change a
record. DNS-01 is used only where HTTP-01 cannot work — a wildcard — and only on staging, whose
role may write one record name (``_acme-challenge.preview.<domain>``, TXT): it cannot issue for
``app.<domain>`` or touch any other record. Production has no DNS-01 issuer and no Route53 role.

Per-client limits need Envoy Gateway's *global* rate limit: the local limiter cannot key on
distinct client addresses (Envoy Gateway docs, "Local rate limiting does not support distinct
matching"). The NLB preserves client IPs (``preserve_client_ip``) so the source address is the
client's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

import config
from components.addons import hosted_zone_arn
from components.gateway import GATEWAY_API, Backend, GatewayRef, https_route
from components.irsa import Irsa, service_account_role
from components.kubernetes import (
    CERT_MANAGER,
    ENVOY_GATEWAY,
    PULL_POLICY,
    cache_registry,
    container_security_context,
    helm_release,
    metadata,
    pod_security_context,
    restricted_container,
    restricted_pod_spec,
    skip_annotations,
)
from components.namespaces import (
    ENVIRONMENT_LABEL,
    GATEWAY_BACKENDS_LABEL,
    PR_ENVIRONMENT_LABELS,
    RATELIMIT_REDIS_POD,
)
from release_model import TRACK_HEADER

if TYPE_CHECKING:
    from components.namespaces import Namespaces

RATELIMIT_REDIS_IMAGE = "docker/library/redis:7.4.5-alpine"
"""Docker's official image from ECR Public, pulled through this account's ECR pull-through cache
(``ContainerRegistry.public_cache``): only private ECR is an allowed registry. The bootstrap
project's registry policy grants the nodes' role ``ecr:BatchImportUpstreamImage`` and
``ecr:CreateRepository`` on ``ecr-public/*`` for the first pull."""
ENVOY_PROXY_IMAGE = "docker.io/envoyproxy/envoy:distroless-v1.39.0"
"""The data plane gateway-helm v1.9.0 defaults to, pinned here so the chart's registry override applies."""
RATELIMIT_REDIS_SKIPS = {"CKV_K8S_43": "official image pinned by version tag; its digest is not resolvable offline "
                                       "(pin the cached image's digest when promoted)"}
GATEWAY_CLASS = "envoy-gateway"
"""Created by the stack that owns the platform, with the one Gateway of the cluster."""
SHARED_GATEWAY = "platform"
"""The Gateway (and its EnvoyProxy: one NLB) of the cluster, in ``Settings.gateway_namespace``."""
PREVIEW_LISTENER = "preview"
"""Listener ``https-preview`` of the shared Gateway: every PR environment's route attaches there."""
PREVIEW_ISSUER = "letsencrypt-preview-dns01"
PREVIEW_SECRET = "preview-tls"
CERT_MANAGER_SA = "cert-manager"
"""The controller's ServiceAccount (named explicitly in the chart values): the DNS-01 role trusts it only."""

ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
CERT_MANAGER_API = "cert-manager.io/v1"


@dataclass(frozen=True, kw_only=True)
class Host:
    """An HTTPS listener: its name (listener and Secret) and hostname."""

    name: str
    hostname: str


@dataclass(frozen=True, kw_only=True)
class Previews:
    """The shared preview listener of the stack that hosts PR environments, and its wildcard certificate."""

    domain: str
    """``preview.<domain>``: the listener serves ``*.preview.<domain>``."""
    acme_server: str
    hosted_zone_id: str
    """Route53 zone of the domain; the DNS-01 role may write only the challenge TXT record in it."""
    partition: str
    region: str
    irsa: Irsa

    @property
    def wildcard(self) -> str:
        return f"*.{self.domain}"

    @property
    def challenge_record(self) -> str:
        """The one record a DNS-01 challenge for the wildcard writes (Route53 normalises names: lower
        case, no trailing dot)."""
        return f"_acme-challenge.{self.domain}"


@dataclass(frozen=True, kw_only=True)
class IngressArgs:
    stack_name: str
    """``platform-staging``: prefixes the DNS-01 role's name."""
    labels: Mapping[str, str]
    gateway: config.GatewayProfile
    certificates: config.CertificateProfile
    acme_email: str
    install_platform: bool
    """True: this stack creates the shared Gateway (and what it needs); False (PR stacks): it only
    attaches its app's route to the shared preview listener."""
    image_cache: pulumi.Input[str]
    """``<registry>/<prefix>`` of the account's ECR pull-through cache (the rate-limit counter store's image)."""
    platform_namespace: pulumi.Input[str]
    """Where Envoy Gateway runs (and the shared Gateway lives)."""
    cert_manager_namespace: pulumi.Input[str]
    app_namespace: pulumi.Input[str]
    gateway_namespace: pulumi.Input[str]
    """Namespace of the shared Gateway (``Settings.gateway_namespace``)."""
    app_host: str
    app_backends: Sequence[Backend]
    """The app's Services: one, or one per release track with its weight and header."""
    extra_hosts: Sequence[Host] = field(default_factory=tuple)
    """More HTTPS listeners on the same Gateway (e.g. Grafana); their owners attach routes by section
    name through ``Ingress.gateway``."""
    previews: Previews | None = None
    """Set on the stack that hosts PR environments: the preview listener and its wildcard."""

    @property
    def app_listener(self) -> str:
        """The listener the app's route attaches to: its own host's, or (PR stacks) the preview listener."""
        return "app" if self.install_platform else PREVIEW_LISTENER
    proxy_after: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the ``EnvoyProxy`` (so the Gateway's LoadBalancer Service) waits for: the load balancer
    controller's release (components/loadbalancer.py), so the NLB is made at the first reconcile."""

    @classmethod
    def from_settings(cls, settings: config.Settings, *, namespaces: Namespaces,
                      app_services: Mapping[str, pulumi.Input[str]], image_cache: pulumi.Input[str],
                      irsa: Irsa, load_balancer: pulumi.Resource | None = None) -> IngressArgs:
        """``app_services``: per release track, its Service (``App.service_names``); ``load_balancer``:
        the controller release this stack installs (None: the cluster's, installed by staging)."""
        from policies.constraints import partition_of

        p = settings.profile
        backends = [Backend(service=app_services[t.name], port=settings.app.port, weight=t.weight,
                            header=None if t.weight is None else (TRACK_HEADER, t.name))
                    for t in settings.release.tracks]
        previews = None
        if p.installs_platform and p.certificates.preview_acme_server is not None:
            if settings.hosted_zone_id is None:  # config.py requires it wherever the platform is installed
                raise ValueError("platform:dns.hostedZoneId is required by the stack that hosts PR environments")
            previews = Previews(domain=settings.preview_domain, acme_server=p.certificates.preview_acme_server,
                                hosted_zone_id=settings.hosted_zone_id, partition=partition_of(settings.region),
                                region=settings.region, irsa=irsa)
        return cls(stack_name=settings.name, labels=settings.labels, gateway=p.gateway, certificates=p.certificates,
                   acme_email=settings.acme_email, install_platform=p.installs_platform, image_cache=image_cache,
                   platform_namespace=namespaces.gateway, cert_manager_namespace=namespaces.cert_manager,
                   app_namespace=namespaces.app, gateway_namespace=namespaces.named[settings.gateway_namespace],
                   app_host=settings.app_host, app_backends=backends,
                   extra_hosts=[Host(name=name, hostname=host) for name, host in settings.extra_hosts.items()],
                   previews=previews, proxy_after=[load_balancer] if load_balancer is not None else [])


def acme_dns01_policy(previews: Previews) -> dict[str, Any]:
    """cert-manager's documented Route53 policy (cert-manager.io/docs/configuration/acme/dns01/route53/),
    narrowed: ``ChangeResourceRecordSets`` on the one zone and only for the preview wildcard's
    challenge TXT record (Route53's record-set condition keys); ``ListHostedZonesByName`` is left out
    because the solver names its ``hostedZoneID`` (as the docs allow). ``GetChange`` has no narrower
    resource than ``change/*`` (change ids are random)."""
    zone = hosted_zone_arn(previews.partition, previews.hosted_zone_id)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "WriteTheChallengeRecordOnly", "Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets"],
         "Resource": [zone],
         "Condition": {"ForAllValues:StringEquals": {
             "route53:ChangeResourceRecordSetsNormalizedRecordNames": [previews.challenge_record],
             "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]}}},
        {"Sid": "ReadTheZone", "Effect": "Allow", "Action": ["route53:ListResourceRecordSets"], "Resource": [zone]},
        {"Sid": "WaitForTheChange", "Effect": "Allow", "Action": ["route53:GetChange"],
         "Resource": [f"arn:{previews.partition}:route53:::change/*"]},
    ]}


def preview_listener(previews: Previews) -> dict[str, Any]:
    """``https-preview`` for ``*.preview.<domain>`` with the wildcard's Secret; routes only from PR
    environments' namespaces (Gateway API ``allowedRoutes``), so no other tenant of the cluster can
    claim a preview host and no PR can claim another listener's host."""
    return {"name": f"https-{PREVIEW_LISTENER}", "protocol": "HTTPS", "port": 443, "hostname": previews.wildcard,
            "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": PREVIEW_SECRET}]},
            "allowedRoutes": {"namespaces": {"from": "Selector",
                                             "selector": {"matchLabels": dict(PR_ENVIRONMENT_LABELS)}}}}


class Ingress(pulumi.ComponentResource):
    """Creates: Envoy Gateway + cert-manager, issuers, EnvoyProxy, the shared Gateway, its policies and
    routes (when the stack installs the platform); the app's route and rate limit (every stack)."""

    gateway: GatewayRef
    """What a route attaches to (``https_route``): listeners ``http``, ``https-<host name>`` and, on the
    stack that hosts PR environments, ``https-preview``."""
    issuer: pulumi.Output[str] | None
    """The HTTP-01 ClusterIssuer of the stack's own hosts; None on a PR stack (it has no certificate)."""

    def __init__(self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:Ingress", name, None, opts)
        self._name, self._args = name, args
        labels = dict(args.labels)
        self.gateway = GatewayRef(name=SHARED_GATEWAY, namespace=args.gateway_namespace)
        self.issuer = None
        # A PR stack's route waits for nothing here: the shared Gateway is staging's, up before any PR.
        after_gateway = pulumi.ResourceOptions(parent=self)
        if args.install_platform:
            after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[self._shared_gateway(labels)])

        app_route = https_route(f"{name}-app", gateway=self.gateway, listener=args.app_listener, route_name="app",
                                namespace=args.app_namespace, hostname=args.app_host,
                                backends=args.app_backends, labels=labels, opts=after_gateway)
        k8s.apiextensions.CustomResource(
            f"{name}-rate-limit", api_version=ENVOY_API, kind="BackendTrafficPolicy",
            metadata=metadata("app-rate-limit", args.app_namespace, labels),
            spec={"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "app"}],
                  "rateLimit": {"global": {"rules": [{
                      "clientSelectors": [{"sourceCIDR": {"type": "Distinct", "value": "0.0.0.0/0"}}],
                      "limit": {"requests": args.gateway.rate_limit_per_minute, "unit": "Minute"}}]}}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[app_route]))

        self.register_outputs({"gateway_name": self.gateway.name, "gateway_namespace": self.gateway.namespace,
                               "issuer": self.issuer})

    # -- pieces ------------------------------------------------------------------------------------

    def _shared_gateway(self, labels: Mapping[str, str]) -> pulumi.Resource:
        """The releases, issuers, EnvoyProxy, Gateway, TLS policy and redirect of the platform stack."""
        args, name = self._args, self._name
        dns01_role = None
        if args.previews is not None:
            dns01_role = service_account_role(
                f"{name}-cert-manager-dns01", role_name=f"{args.stack_name}-acme-dns01", irsa=args.previews.irsa,
                namespace=args.cert_manager_namespace, service_account=CERT_MANAGER_SA,
                policy=acme_dns01_policy(args.previews), parent=self)
        redis = self._ratelimit_redis(labels)
        envoy = helm_release(f"{name}-envoy-gateway", release="envoy-gateway", chart=ENVOY_GATEWAY,
                             namespace=args.platform_namespace, values=self._envoy_gateway_values(redis),
                             timeout=600, opts=pulumi.ResourceOptions(parent=self))
        # cert-manager's Gateway API support needs the Gateway API CRDs Envoy Gateway installs at start.
        certs = helm_release(f"{name}-cert-manager", release="cert-manager", chart=CERT_MANAGER,
                             namespace=args.cert_manager_namespace, values=self._cert_manager_values(dns01_role),
                             timeout=600, opts=pulumi.ResourceOptions(parent=self, depends_on=[envoy]))
        gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-gateway-class", api_version=GATEWAY_API, kind="GatewayClass",
            metadata=metadata(GATEWAY_CLASS, None, labels),
            spec={"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[envoy]))
        crds: list[pulumi.Resource] = [envoy, certs, gateway_class]
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=crds)

        gateway_name, ns = self.gateway.name, args.gateway_namespace
        hosts = [Host(name="app", hostname=args.app_host), *args.extra_hosts]
        self.issuer = self._http01_issuer(after_crds)
        annotations: dict[str, pulumi.Input[str]] = {"cert-manager.io/cluster-issuer": self.issuer}
        # Not PR environments' hosts: they attach only to the preview listener.
        not_previews = [{"key": ENVIRONMENT_LABEL, "operator": "NotIn", "values": [PR_ENVIRONMENT_LABELS[ENVIRONMENT_LABEL]]}]
        listeners: list[dict[str, Any]] = [
            # HTTP exists only to redirect (and for ACME HTTP-01 solver routes).
            {"name": "http", "protocol": "HTTP", "port": 80, "allowedRoutes": {"namespaces": {"from": "Same"}}},
            *[{"name": f"https-{h.name}", "protocol": "HTTPS", "port": 443, "hostname": h.hostname,
               "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": f"{h.name}-tls"}]},
               "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {
                   "matchLabels": {GATEWAY_BACKENDS_LABEL: "true"}, "matchExpressions": not_previews}}}}
              for h in hosts],
        ]
        if args.previews is not None:
            certificate = self._preview_certificate(args.previews, after_crds)
            listeners.append(preview_listener(args.previews))
            # The wildcard has its own DNS-01 Certificate: keep cert-manager's gateway-shim from
            # requesting an HTTP-01 one (which cannot issue a wildcard) for the same Secret.
            annotations["cert-manager.io/ignore-tls-listeners"] = f"https-{PREVIEW_LISTENER}"
            crds.append(certificate)

        envoy_proxy = k8s.apiextensions.CustomResource(
            f"{name}-envoy-proxy", api_version=ENVOY_API, kind="EnvoyProxy",
            metadata=metadata(gateway_name, ns, labels), spec=self._envoy_proxy_spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*crds, *args.proxy_after]))
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway", api_version=GATEWAY_API, kind="Gateway",
            metadata=metadata(gateway_name, ns, labels, annotations=annotations),
            spec={"gatewayClassName": GATEWAY_CLASS,
                  "infrastructure": {"parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
                                                       "name": gateway_name}},
                  "listeners": listeners},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*crds, envoy_proxy]))
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[gateway])

        k8s.apiextensions.CustomResource(
            f"{name}-client-traffic", api_version=ENVOY_API, kind="ClientTrafficPolicy",
            metadata=metadata(f"{gateway_name}-tls", ns, labels),
            # A local reference: the CRD has no targetRefs[].namespace (the API server would prune it).
            spec={"targetRefs": [{k: v for k, v in self.gateway.ref().items() if k != "namespace"}],
                  "tls": {"minVersion": "1.2"}}, opts=after_gateway)
        # No hostnames: it redirects every host on the Gateway, PR environments' too.
        k8s.apiextensions.CustomResource(
            f"{name}-https-redirect", api_version=GATEWAY_API, kind="HTTPRoute",
            metadata=metadata("https-redirect", ns, labels),
            spec={"parentRefs": [self.gateway.parent_ref("http")],
                  "rules": [{"filters": [{"type": "RequestRedirect",
                                          "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]},
            opts=after_gateway)
        return gateway

    def _http01_issuer(self, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        args, name, labels = self._args, self._name, dict(self._args.labels)
        server = args.certificates.acme_server
        if server is None:
            raise ValueError(f"certificates.issuer {args.certificates.issuer!r} of a stack that installs the "
                             "platform must be an ACME directory (letsencrypt-staging or letsencrypt-production)")
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer", api_version=CERT_MANAGER_API, kind="ClusterIssuer",
            metadata=metadata(args.certificates.issuer, None, labels),
            spec={"acme": {"server": server, "email": args.acme_email,
                           "privateKeySecretRef": {"name": f"{args.certificates.issuer}-account"},
                           "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [{
                               "name": self.gateway.name, "namespace": args.gateway_namespace,
                               "kind": "Gateway", "sectionName": "http"}]}}}]}},
            opts=opts)
        return issuer.metadata["name"]

    def _preview_certificate(self, previews: Previews, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """The DNS-01 ClusterIssuer (Route53, ambient IRSA credentials of cert-manager's ServiceAccount)
        and the one wildcard Certificate every PR environment is served under."""
        args, name, labels = self._args, self._name, dict(self._args.labels)
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-preview-issuer", api_version=CERT_MANAGER_API, kind="ClusterIssuer",
            metadata=metadata(PREVIEW_ISSUER, None, labels),
            spec={"acme": {"server": previews.acme_server, "email": args.acme_email,
                           "privateKeySecretRef": {"name": f"{PREVIEW_ISSUER}-account"},
                           "solvers": [{"selector": {"dnsZones": [previews.domain]},
                                        "dns01": {"route53": {"region": previews.region,
                                                              "hostedZoneID": previews.hosted_zone_id}}}]}},
            opts=opts)
        return k8s.apiextensions.CustomResource(
            f"{name}-preview-certificate", api_version=CERT_MANAGER_API, kind="Certificate",
            metadata=metadata("preview-wildcard", args.gateway_namespace, labels),
            spec={"secretName": PREVIEW_SECRET, "dnsNames": [previews.wildcard],
                  "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                  "issuerRef": {"name": issuer.metadata["name"], "kind": "ClusterIssuer", "group": "cert-manager.io"}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[issuer])))

    def _envoy_proxy_spec(self) -> dict[str, Any]:
        profile = self._args.gateway
        envoy_container = container_security_context()
        envoy_container["readOnlyRootFilesystem"] = False  # Envoy writes its UDS socket and logs.
        kubernetes: dict[str, Any] = {
            "envoyDeployment": {
                "replicas": profile.replicas,
                "pod": {"securityContext": pod_security_context(),
                        "topologySpreadConstraints": [{
                            "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "envoy"}}}]},
                "container": {"securityContext": envoy_container,
                              "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                            "limits": {"cpu": "500m", "memory": "512Mi"}}},
            },
            "envoyService": {
                "type": "LoadBalancer",
                "annotations": {
                    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                    # The rate limiter keys on the client address: keep it through the NLB.
                    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes":
                        "preserve_client_ip.enabled=true",
                },
            },
        }
        if profile.disruption_budget:
            kubernetes["envoyPDB"] = {"minAvailable": max(1, profile.replicas - 1)}
        return {"provider": {"type": "Kubernetes", "kubernetes": kubernetes}}

    def _envoy_gateway_values(self, redis_url: pulumi.Input[str]) -> dict[str, Any]:
        return {
            # Every image (controller, certgen, rate limiter, the Envoy data plane) from Docker Hub
            # through the account's pull-through cache; the data plane's tag pinned, not implied.
            "global": {"imageRegistry": cache_registry("docker.io", parent=self),
                       "images": {"envoyGateway": {"pullPolicy": PULL_POLICY},
                                  "envoyProxy": {"image": ENVOY_PROXY_IMAGE}}},
            "deployment": {"replicas": 2 if self._args.gateway.disruption_budget else 1,
                           "envoyGateway": {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                                          "limits": {"cpu": "500m", "memory": "1024Mi"}},
                                            "securityContext": container_security_context()},
                           "pod": {"securityContext": pod_security_context()}},
            "config": {"envoyGateway": {
                # failClosed false: if the counter store is down (one replica; several would split
                # the counters), requests pass unlimited rather than fail.
                "rateLimit": {"failClosed": False, "backend": {"type": "Redis", "redis": {"url": redis_url}}},
                "provider": {"type": "Kubernetes", "kubernetes": {"rateLimitDeployment": {
                    "container": {"securityContext": container_security_context(),
                                  "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                "limits": {"cpu": "500m", "memory": "256Mi"}}},
                    "pod": {"securityContext": pod_security_context()}}}},
            }},
            "certgen": {"job": {"resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                              "limits": {"cpu": "200m", "memory": "128Mi"}}}},
        }

    def _cert_manager_values(self, dns01_role: pulumi.Input[str] | None) -> dict[str, Any]:
        # Sized to fit the cert-manager namespace quota (2 CPU / 2 GiB of limits) with every
        # Deployment surging at once during an upgrade and the post-install startupapicheck hook.
        def secure(cpu: str, memory: str) -> dict[str, Any]:
            return {"securityContext": pod_security_context(), "containerSecurityContext": container_security_context(),
                    "image": {"pullPolicy": PULL_POLICY},
                    "resources": {"requests": {"cpu": "25m", "memory": "64Mi"},
                                  "limits": {"cpu": cpu, "memory": memory}}}
        return {
            "imageRegistry": cache_registry("quay.io", parent=self),  # quay.io/jetstack/* via the cache
            "crds": {"enabled": True, "keep": True},
            "config": {"apiVersion": "controller.config.cert-manager.io/v1alpha1",
                       "kind": "ControllerConfiguration", "gatewayAPI": {"enabled": True}},
            "replicaCount": 2 if self._args.gateway.disruption_budget else 1,
            "podDisruptionBudget": {"enabled": self._args.gateway.disruption_budget},
            **secure("300m", "256Mi"),
            "webhook": {**secure("150m", "128Mi"), "replicaCount": 2 if self._args.gateway.disruption_budget else 1},
            "cainjector": {**secure("150m", "256Mi"), "replicaCount": 2 if self._args.gateway.disruption_budget else 1},
            "startupapicheck": secure("100m", "128Mi"),
            "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
            # IRSA: the controller's Route53 credentials for DNS-01 (the preview wildcard only).
            "serviceAccount": {"name": CERT_MANAGER_SA, "annotations": (
                {} if dns01_role is None else {"eks.amazonaws.com/role-arn": dns01_role})},
        }

    def _ratelimit_redis(self, labels: Mapping[str, str]) -> pulumi.Output[str]:
        """Rate-limit counters only: in memory, no persistence, reachable only from the limiter."""
        name, ns = f"{self._name}-ratelimit-redis", self._args.platform_namespace
        child = pulumi.ResourceOptions(parent=self)
        pod_labels = {**labels, **RATELIMIT_REDIS_POD}
        image = pulumi.Output.concat(self._args.image_cache, "/", RATELIMIT_REDIS_IMAGE)
        account_sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata("ratelimit-redis", ns, labels),
                                                automount_service_account_token=False, opts=child)
        container = restricted_container(
            name="redis", image=image, cpu="200m", memory="256Mi", imagePullPolicy="Always",
            args=["--save", "", "--appendonly", "no", "--maxmemory", "200mb", "--maxmemory-policy", "allkeys-lru"],
            ports=[{"name": "redis", "containerPort": 6379}],
            readinessProbe={"tcpSocket": {"port": 6379}, "periodSeconds": 5},
            livenessProbe={"tcpSocket": {"port": 6379}, "periodSeconds": 10},
            volumeMounts=[{"name": "data", "mountPath": "/data"}])
        # One replica on purpose: several independent Redis would split each client's counter (up
        # to N x the limit), and the limiter fails open, so losing the pod pauses limiting, not
        # traffic. The annotation is the policy pack's written exception to k8s-min-replicas
        # (reported by `tools check` under "Suppressed").
        annotations = {**skip_annotations(RATELIMIT_REDIS_SKIPS),
                       "policy.platform.example.com/suppress.k8s-min-replicas":
                           "counter store: replicas would split counters; the rate limiter fails open"}
        k8s.apps.v1.Deployment(name, metadata=metadata("ratelimit-redis", ns, pod_labels, annotations=annotations), spec={
            "replicas": 1,
            "selector": {"matchLabels": dict(RATELIMIT_REDIS_POD)},
            "template": {"metadata": {"labels": pod_labels},
                         "spec": restricted_pod_spec(containers=[container],
                                                     service_account=account_sa.metadata["name"],
                                                     volumes=[{"name": "data", "emptyDir": {"medium": "Memory",
                                                                                            "sizeLimit": "64Mi"}}])},
        }, opts=child)
        service = k8s.core.v1.Service(f"{name}-svc", metadata=metadata("ratelimit-redis", ns, labels), spec={
            "selector": dict(RATELIMIT_REDIS_POD), "ports": [{"name": "redis", "port": 6379, "targetPort": "redis"}]},
            opts=child)
        return pulumi.Output.format("{0}.{1}.svc.cluster.local:6379", service.metadata["name"], ns)

