"""TLS ingress through the Gateway API: Envoy Gateway, cert-manager, a Gateway per environment.

ingress-nginx is retired (no security fixes after March 2026); Envoy Gateway implements the
Gateway API. When this stack owns the shared platform (staging, production) it creates:

* the Envoy Gateway Helm release (OCI chart, pinned) with global rate limiting backed by a small
  in-memory Redis of its own (``ratelimit-redis``: counters only, nothing persisted), and the
  ``GatewayClass``;
* the cert-manager Helm release (pinned, CRDs installed, Gateway API support on).

Every stack then creates (custom resources ``depends_on`` the release that installs their CRDs):

* the ClusterIssuer of its environment class: Let's Encrypt production / staging (HTTP-01
  through an HTTPRoute on the Gateway's HTTP listener), or for a PR environment a self-signed
  chain: self-signed issuer -> CA Certificate -> CA ClusterIssuer (names scoped to the stack);
* an ``EnvoyProxy`` (replicas, PodDisruptionBudget, resources, NLB service) and a ``Gateway``
  using it, with an HTTPS listener per host (certificates issued by cert-manager through the
  ``cert-manager.io/cluster-issuer`` annotation) and an HTTP listener that only redirects;
* a ``ClientTrafficPolicy`` (TLS 1.2 minimum), the redirect ``HTTPRoute``, the application's
  ``HTTPRoute`` (HSTS header; with two release tracks: weighted ``backendRefs`` ``app-blue`` /
  ``app-green`` and a rule per track matching header ``x-platform-track: <track>``) and a
  ``BackendTrafficPolicy`` limiting each client IP.

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
from components.gateway import GATEWAY_API, Backend, GatewayRef, https_route
from components.kubernetes import (
    CERT_MANAGER,
    ENVOY_GATEWAY,
    cache_registry,
    container_security_context,
    helm_release,
    metadata,
    pod_security_context,
    restricted_container,
    restricted_pod_spec,
    skip_annotations,
)
from components.namespaces import RATELIMIT_REDIS_POD
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
"""Created by the stack that owns the platform; PR environments' Gateways use it too."""

ENVOY_API = "gateway.envoyproxy.io/v1alpha1"
CERT_MANAGER_API = "cert-manager.io/v1"


@dataclass(frozen=True, kw_only=True)
class Host:
    """An HTTPS listener: its name (listener and Secret) and hostname."""

    name: str
    hostname: str


@dataclass(frozen=True, kw_only=True)
class IngressArgs:
    stack_name: str
    """``platform-staging``, ``platform-pr-7``: prefixes cluster-scoped names a PR stack creates."""
    labels: Mapping[str, str]
    gateway: config.GatewayProfile
    certificates: config.CertificateProfile
    acme_email: str
    install_platform: bool
    image_cache: pulumi.Input[str]
    """``<registry>/<prefix>`` of the account's ECR pull-through cache (the rate-limit counter store's image)."""
    platform_namespace: pulumi.Input[str]
    """Where Envoy Gateway runs (and the shared Gateway lives)."""
    cert_manager_namespace: pulumi.Input[str]
    app_namespace: pulumi.Input[str]
    gateway_namespace: pulumi.Input[str]
    """Namespace of this stack's Gateway: the platform namespace, or a PR's own namespace."""
    app_host: str
    app_backends: Sequence[Backend]
    """The app's Services: one, or one per release track with its weight and header."""
    extra_hosts: Sequence[Host] = field(default_factory=tuple)
    """More HTTPS listeners on the same Gateway (e.g. Grafana); their owners attach routes by section
    name through ``Ingress.gateway``."""

    @classmethod
    def from_settings(cls, settings: config.Settings, *, namespaces: Namespaces,
                      app_services: Mapping[str, pulumi.Input[str]], image_cache: pulumi.Input[str]) -> IngressArgs:
        """``app_services``: per release track, its Service (``App.service_names``)."""
        p = settings.profile
        backends = [Backend(service=app_services[t.name], port=settings.app.port, weight=t.weight,
                            header=None if t.weight is None else (TRACK_HEADER, t.name))
                    for t in settings.release.tracks]
        return cls(stack_name=settings.name, labels=settings.labels, gateway=p.gateway, certificates=p.certificates,
                   acme_email=settings.acme_email, install_platform=p.installs_platform, image_cache=image_cache,
                   platform_namespace=namespaces.gateway, cert_manager_namespace=namespaces.cert_manager,
                   app_namespace=namespaces.app, gateway_namespace=namespaces.named[settings.gateway_namespace],
                   app_host=settings.app_host, app_backends=backends,
                   extra_hosts=[Host(name=name, hostname=host) for name, host in settings.extra_hosts.items()])


class Ingress(pulumi.ComponentResource):
    """Creates: Envoy Gateway + cert-manager (when owned), issuer, EnvoyProxy, Gateway, policies, routes."""

    gateway: GatewayRef
    """What a route attaches to (``https_route``): listeners ``http`` and ``https-<host name>``."""
    issuer: pulumi.Output[str]

    def __init__(self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:Ingress", name, None, opts)
        self._name, self._args = name, args
        labels = dict(args.labels)

        crds: list[pulumi.Resource] = []
        if args.install_platform:
            redis = self._ratelimit_redis(labels)
            envoy = helm_release(f"{name}-envoy-gateway", release="envoy-gateway", chart=ENVOY_GATEWAY,
                                 namespace=args.platform_namespace, values=self._envoy_gateway_values(redis),
                                 timeout=600, opts=pulumi.ResourceOptions(parent=self))
            # cert-manager's Gateway API support needs the Gateway API CRDs Envoy Gateway installs at start.
            certs = helm_release(f"{name}-cert-manager", release="cert-manager", chart=CERT_MANAGER,
                                 namespace=args.cert_manager_namespace, values=self._cert_manager_values(),
                                 timeout=600, opts=pulumi.ResourceOptions(parent=self, depends_on=[envoy]))
            crds = [envoy, certs]
            gateway_class = k8s.apiextensions.CustomResource(
                f"{name}-gateway-class", api_version=GATEWAY_API, kind="GatewayClass",
                metadata=metadata(GATEWAY_CLASS, None, labels),
                spec={"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[envoy]))
            crds.append(gateway_class)
        # Without install_platform the CRDs and the GatewayClass come from the shared platform
        # (installed by the staging stack on the same cluster), which must be up first.
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=crds)

        gateway_name = "platform" if args.install_platform else "preview"
        self.gateway = GatewayRef(name=gateway_name, namespace=args.gateway_namespace)
        hosts = [Host(name="app", hostname=args.app_host), *args.extra_hosts]
        self.issuer = self._issuer(gateway_name, after_crds)

        envoy_proxy = k8s.apiextensions.CustomResource(
            f"{name}-envoy-proxy", api_version=ENVOY_API, kind="EnvoyProxy",
            metadata=metadata(gateway_name, args.gateway_namespace, labels), spec=self._envoy_proxy_spec(),
            opts=after_crds)
        gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway", api_version=GATEWAY_API, kind="Gateway",
            metadata=metadata(gateway_name, args.gateway_namespace, labels,
                              annotations={"cert-manager.io/cluster-issuer": self.issuer}),
            spec={
                "gatewayClassName": GATEWAY_CLASS,
                "infrastructure": {"parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy",
                                                     "name": gateway_name}},
                "listeners": [
                    # HTTP exists only to redirect (and for ACME HTTP-01 solver routes).
                    {"name": "http", "protocol": "HTTP", "port": 80,
                     "allowedRoutes": {"namespaces": {"from": "Same"}}},
                    *[{"name": f"https-{h.name}", "protocol": "HTTPS", "port": 443, "hostname": h.hostname,
                       "tls": {"mode": "Terminate",
                               "certificateRefs": [{"kind": "Secret", "name": f"{h.name}-tls"}]},
                       "allowedRoutes": {"namespaces": {"from": "Selector", "selector": {"matchLabels": {
                           "platform.example.com/gateway-backends": "true"}}}}} for h in hosts],
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*crds, envoy_proxy]))
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[gateway])

        k8s.apiextensions.CustomResource(
            f"{name}-client-traffic", api_version=ENVOY_API, kind="ClientTrafficPolicy",
            metadata=metadata(f"{gateway_name}-tls", args.gateway_namespace, labels),
            # A local reference: the CRD has no targetRefs[].namespace (the API server would prune it).
            spec={"targetRefs": [{k: v for k, v in self.gateway.ref().items() if k != "namespace"}],
                  "tls": {"minVersion": "1.2"}}, opts=after_gateway)
        k8s.apiextensions.CustomResource(
            f"{name}-https-redirect", api_version=GATEWAY_API, kind="HTTPRoute",
            metadata=metadata("https-redirect", args.gateway_namespace, labels),
            spec={"parentRefs": [self.gateway.parent_ref("http")],
                  "rules": [{"filters": [{"type": "RequestRedirect",
                                          "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]},
            opts=after_gateway)

        app_route = https_route(f"{name}-app", gateway=self.gateway, listener="app", route_name="app",
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

        self.register_outputs({"gateway_name": gateway.metadata["name"],
                               "gateway_namespace": gateway.metadata["namespace"], "issuer": self.issuer})

    # -- pieces ------------------------------------------------------------------------------------

    def _issuer(self, gateway_name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        args, name, labels = self._args, self._name, dict(self._args.labels)
        server = args.certificates.acme_server
        if server is not None:
            issuer = k8s.apiextensions.CustomResource(
                f"{name}-issuer", api_version=CERT_MANAGER_API, kind="ClusterIssuer",
                metadata=metadata(args.certificates.issuer, None, labels),
                spec={"acme": {"server": server, "email": args.acme_email,
                               "privateKeySecretRef": {"name": f"{args.certificates.issuer}-account"},
                               "solvers": [{"http01": {"gatewayHTTPRoute": {"parentRefs": [{
                                   "name": gateway_name, "namespace": args.gateway_namespace,
                                   "kind": "Gateway", "sectionName": "http"}]}}}]}},
                opts=opts)
            return issuer.metadata["name"]
        # PR environments: a throw-away CA per stack, so no stack trusts another's certificates.
        selfsigned = k8s.apiextensions.CustomResource(
            f"{name}-selfsigned-issuer", api_version=CERT_MANAGER_API, kind="ClusterIssuer",
            metadata=metadata(f"{args.stack_name}-selfsigned", None, labels), spec={"selfSigned": {}}, opts=opts)
        ca = k8s.apiextensions.CustomResource(
            f"{name}-ca", api_version=CERT_MANAGER_API, kind="Certificate",
            metadata=metadata(f"{args.stack_name}-ca", args.cert_manager_namespace, labels),
            spec={"isCA": True, "commonName": f"{args.stack_name} preview CA", "secretName": f"{args.stack_name}-ca",
                  "duration": "2160h", "privateKey": {"algorithm": "ECDSA", "size": 256},
                  "issuerRef": {"name": f"{args.stack_name}-selfsigned", "kind": "ClusterIssuer",
                                "group": "cert-manager.io"}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[selfsigned])))
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer", api_version=CERT_MANAGER_API, kind="ClusterIssuer",
            metadata=metadata(f"{args.stack_name}-ca", None, labels), spec={"ca": {"secretName": f"{args.stack_name}-ca"}},
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[ca])))
        return issuer.metadata["name"]

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
                       "images": {"envoyProxy": {"image": ENVOY_PROXY_IMAGE}}},
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

    def _cert_manager_values(self) -> dict[str, Any]:
        # Sized to fit the cert-manager namespace quota (2 CPU / 2 GiB of limits) with every
        # Deployment surging at once during an upgrade and the post-install startupapicheck hook.
        def secure(cpu: str, memory: str) -> dict[str, Any]:
            return {"securityContext": pod_security_context(1000),
                    "containerSecurityContext": container_security_context(1000),
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

