"""Shared Kubernetes building blocks: the one explicit provider and the restricted workload floor.

Every workload the platform defines is built from ``restricted_container`` and
``restricted_pod_spec``: non-root, no privilege escalation, all capabilities dropped, seccomp
``RuntimeDefault``, read-only root filesystem, requests and limits, and no service-account token
unless the caller asks for one. The floor is fixed here; callers add probes, ports and volumes.

Third-party images are pulled through this account's ECR pull-through cache (``ecr_public_image``),
never straight from Docker Hub: only private ECR is an allowed registry.

Third-party charts are pinned here (``Chart``) and installed with ``helm_release``: a
``helm.v3.Release`` (rendered by Helm in the cluster), atomic, with a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

import config


def cluster_provider(settings: config.Settings) -> k8s.Provider:
    """One explicit provider, from the kubeconfig secret or a context; server-side apply on."""
    return k8s.Provider(
        "k8s",
        k8s.ProviderArgs(
            kubeconfig=settings.kubeconfig,
            context=settings.kube_context,
            enable_server_side_apply=True,
        ),
    )


NONROOT_UID = 65532
"""The floor's uid/gid: high (>= 10000, so never a host or image system account: checkov CKV_K8S_40,
trivy KSV-0020/KSV-0021) and claimed by no image's /etc/passwd. Workloads keep it unless an image
truly cannot run as an arbitrary uid."""
ECR_PUBLIC_CACHE_PREFIX = "ecr-public"
"""Repository prefix of the account's pull-through cache rule for ECR Public. The rule is created
by the stack that owns the platform (components/registry.py); PR stacks share that account and
cluster and pull through the same rule."""
PULL_THROUGH_CACHES: Mapping[str, str] = {"public.ecr.aws": ECR_PUBLIC_CACHE_PREFIX, "quay.io": "quay",
                                          "registry.k8s.io": "registry-k8s", "ghcr.io": "ghcr",
                                          "docker.io": "docker-hub"}
"""Upstream registry → repository prefix of the account's pull-through cache rule for it (the
account-level rules live in bootstrap/components/registry.py; a test keeps the two equal). Every
third-party image, the charts' included, is pulled through one of these."""
QUAY_CACHE_PREFIX = PULL_THROUGH_CACHES["quay.io"]
PULL_POLICY = "Always"
"""Every chart workload's pull policy, as for the program's own (checkov CKV_K8S_15): the node asks
the registry each time a container starts, so an image cached on a node is never run by a pod whose
node could not pull it, and a re-tagged upstream image is noticed at the next start."""
"""The quay.io rule's prefix (the Pushgateway image: Prometheus publishes it on Docker Hub and quay.io only)."""


ENCRYPTED_STORAGE_CLASS = "gp3-encrypted"
"""The StorageClass every PersistentVolumeClaim of ours names (EBS gp3, encrypted with the stack's
KMS key; created by the stack that installs the platform, components/addons.py). Named explicitly
rather than relied on as the default: EKS clusters created on 1.30+ mark no class default."""


@dataclass(frozen=True, kw_only=True)
class Chart:
    """A pinned Helm chart: a name in ``repo``, or an ``oci://`` reference (``repo`` None)."""

    chart: str
    version: str
    repo: str | None = None


PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
ENVOY_GATEWAY = Chart(chart="oci://docker.io/envoyproxy/gateway-helm", version="v1.9.0")
CERT_MANAGER = Chart(chart="cert-manager", version="v1.21.1", repo="https://charts.jetstack.io")
KUBE_PROMETHEUS_STACK = Chart(chart="kube-prometheus-stack", version="88.5.3", repo=PROMETHEUS_COMMUNITY)
POSTGRES_EXPORTER = Chart(chart="prometheus-postgres-exporter", version="8.2.0", repo=PROMETHEUS_COMMUNITY)
REDIS_EXPORTER = Chart(chart="prometheus-redis-exporter", version="6.29.0", repo=PROMETHEUS_COMMUNITY)
METRICS_SERVER = Chart(chart="metrics-server", version="3.13.1", repo="https://kubernetes-sigs.github.io/metrics-server/")
EXTERNAL_DNS = Chart(chart="external-dns", version="1.21.1", repo="https://kubernetes-sigs.github.io/external-dns/")
FLUENT_BIT = Chart(chart="fluent-bit", version="0.58.1", repo="https://fluent.github.io/helm-charts")
FLUENT_BIT_IMAGE = ("docker.io", "fluent/fluent-bit", "5.1.1")
"""(upstream registry, repository, tag): the chart's appVersion, pinned; Fluent Bit publishes the
same image on Docker Hub, which the account caches (the chart's default cr.fluentbit.io is not cached)."""
AWS_LOAD_BALANCER_CONTROLLER = Chart(chart="aws-load-balancer-controller", version="3.5.0",
                                     repo="https://aws.github.io/eks-charts")
"""Controller v3.5.0; its IAM policy (components/data/) is the one published for that tag."""


def helm_release(resource_name: str, *, release: str, chart: Chart, namespace: pulumi.Input[str],
                 values: Mapping[str, Any], timeout: int, opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    """``chart`` installed as ``release`` in ``namespace``; atomic: a failed install is rolled back."""
    repository = k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo) if chart.repo is not None else None
    return k8s.helm.v3.Release(resource_name, k8s.helm.v3.ReleaseArgs(
        name=release, chart=chart.chart, version=chart.version, repository_opts=repository,
        namespace=namespace, values=dict(values), atomic=True, timeout=timeout), opts=opts)


def pod_security_context(run_as_user: int = NONROOT_UID) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "fsGroup": run_as_user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(run_as_user: int = NONROOT_UID) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "runAsGroup": run_as_user,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def restricted_container(
    *,
    name: str,
    image: pulumi.Input[str],
    cpu: str,
    memory: str,
    run_as_user: int = NONROOT_UID,
    **extra: Any,
) -> dict[str, Any]:
    """A container with the security floor and requests == limits for memory (no OOM surprises)."""
    container: dict[str, Any] = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": container_security_context(run_as_user),
        "resources": {
            "requests": {"cpu": cpu, "memory": memory},
            "limits": {"cpu": cpu, "memory": memory},
        },
    }
    container.update(extra)
    return container


def restricted_pod_spec(
    *,
    containers: Sequence[Mapping[str, Any]],
    service_account: str | pulumi.Input[str] | None = None,
    mount_token: bool = False,
    run_as_user: int = NONROOT_UID,
    fs_group_change_policy: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A pod spec with the floor; the service-account token is mounted only when asked for.

    ``fs_group_change_policy="OnRootMismatch"`` for a volume whose files must keep their own modes
    (PGDATA must stay 0700): kubelet then re-applies fsGroup only when the volume root differs.
    """
    security = pod_security_context(run_as_user)
    if fs_group_change_policy is not None:
        security["fsGroupChangePolicy"] = fs_group_change_policy
    spec: dict[str, Any] = {
        "automountServiceAccountToken": mount_token,
        "securityContext": security,
        "containers": list(containers),
    }
    if service_account is not None:
        spec["serviceAccountName"] = service_account
    spec.update(extra)
    return spec


def ecr_public_image(repository: str, *, parent: pulumi.Resource) -> pulumi.Output[str]:
    """``repository`` (``docker/library/postgres:18.1-alpine3.22``, as on public.ecr.aws) through
    this account's ECR pull-through cache: ``<account>.dkr.ecr.<region>.amazonaws.com/ecr-public/...``.

    The nodes pull from private ECR with their own role (``ecr:BatchImportUpstreamImage`` on
    ``ecr-public/*`` for the first pull); Docker Hub's rate limits and outages never reach a pod.
    """
    return pulumi.Output.concat(cache_registry("public.ecr.aws", parent=parent), "/", repository)


def cache_registry(upstream: str, *, parent: pulumi.Resource) -> pulumi.Output[str]:
    """``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>``: where ``upstream``'s images (``quay.io``,
    ``docker.io``, ...) are pulled through this account's cache; a chart's ``image.registry`` value."""
    if upstream not in PULL_THROUGH_CACHES:
        raise ValueError(f"no pull-through cache rule for {upstream!r}; add one to PULL_THROUGH_CACHES and bootstrap")
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    account = aws.get_caller_identity_output(opts=invoke).account_id
    region = aws.get_region_output(opts=invoke).region
    dns_suffix = aws.get_partition_output(opts=invoke).dns_suffix
    return pulumi.Output.format("{0}.dkr.ecr.{1}.{2}/{3}", account, region, dns_suffix, PULL_THROUGH_CACHES[upstream])


def cached_image(reference: str, *, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A full upstream reference (``quay.io/oliver006/redis_exporter:v1.89.0``) through the cache."""
    upstream, _, repository = reference.partition("/")
    return pulumi.Output.concat(cache_registry(upstream, parent=parent), "/", repository)


def quay_image(repository: str, *, parent: pulumi.Resource) -> pulumi.Output[str]:
    """``repository`` (``prometheus/pushgateway:v1.11.1``, as on quay.io) through the account's cache."""
    return cached_image(f"quay.io/{repository}", parent=parent)


def metadata(name: str, namespace: pulumi.Input[str] | None, labels: Mapping[str, str],
             **extra: Any) -> dict[str, Any]:
    """Object metadata with an explicit name (stable across runs) and the shared labels."""
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def http_probe(path: str, port: int | str, *, period: int = 10, failures: int = 3,
               initial_delay: int = 0) -> dict[str, Any]:
    """An HTTP GET probe; readiness and liveness share the shape, not the thresholds."""
    probe: dict[str, Any] = {"httpGet": {"path": path, "port": port}, "periodSeconds": period,
                             "timeoutSeconds": 2, "failureThreshold": failures}
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def skip_annotations(skips: Mapping[str, str]) -> dict[str, str]:
    """checkov skip annotations (``checkov.io/skip<n>: CKV_K8S_xx=reason``) from {check: reason}.

    Every skip must carry a reason; docs/scanner-skips.md lists them all.
    """
    return {f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(sorted(skips.items()), 1)}

