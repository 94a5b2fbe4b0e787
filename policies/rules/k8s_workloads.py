"""Kubernetes workloads: the Pod Security Standards (restricted) plus pinned images from approved
registries, explicit resources and a dedicated service account for every pod template."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._core import Context, as_list, by_type, get, is_unknown, resource_rule, stack_rule, truthy, unknown_msg

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
CRON_JOB = "kubernetes:batch/v1:CronJob"
JOB = "kubernetes:batch/v1:Job"
POD = "kubernetes:core/v1:Pod"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
WORKLOADS = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET, CRON_JOB, JOB, POD)
PSS = "pss:restricted"


def pod_spec(type_: str, props: dict[str, Any]) -> Any:
    if type_ == POD:
        return props.get("spec") or {}
    if type_ == CRON_JOB:
        return get(props, "spec.jobTemplate.spec.template.spec", {})
    return get(props, "spec.template.spec", {})


def containers(spec: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, container) for init, regular and ephemeral containers."""
    if is_unknown(spec):
        return
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for c in as_list(spec.get(kind)):
            if isinstance(c, dict):
                yield f"{'init ' if kind == 'initContainers' else ''}container '{c.get('name', '?')}'", c


def pod_containers(props: dict[str, Any], ctx: Context) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, container) for every container of the workload's pod template."""
    return containers(pod_spec(ctx.type, props))


def on_known_spec(check: Callable[[dict[str, Any]], Iterable[str]]):
    """A rule over the pod spec alone; a spec unknown during preview leaves it nothing to check."""
    @functools.wraps(check)
    def validate(props: dict[str, Any], ctx: Context) -> Iterator[str]:
        spec = pod_spec(ctx.type, props)
        if not is_unknown(spec):
            yield from check(spec)
    return validate


def _setting(spec: dict, container: dict, key: str) -> Any:
    """A securityContext field, the container's value overriding the pod's."""
    value = get(container, f"securityContext.{key}")
    return get(spec, f"securityContext.{key}") if value is None else value


def workload_rule(id_: str, **kwargs):
    return resource_rule(id_, types=WORKLOADS, **kwargs)


@workload_rule(
    "k8s-no-privileged", severity="critical",
    description="No container runs privileged.",
    rows=("K-01",), anchors=("pss:baseline/privileged", "checkov:CKV_K8S_16", "trivy:KSV-0017",
                             "cis-k8s:5.2.2"),
    fix="remove securityContext.privileged (or set it false)")
def no_privileged(props, ctx):
    for label, c in pod_containers(props, ctx):
        value = get(c, "securityContext.privileged")
        if is_unknown(value):
            yield f"{label}: " + unknown_msg("securityContext.privileged")
        elif truthy(value):
            yield f"{label} is privileged"


@workload_rule(
    "k8s-no-privilege-escalation", severity="high",
    description="Every container sets allowPrivilegeEscalation false.",
    rows=("K-02",), anchors=(f"{PSS}/privilege-escalation", "checkov:CKV_K8S_20", "trivy:KSV-0001",
                             "cis-k8s:5.2.6"),
    fix="set securityContext.allowPrivilegeEscalation false on every container")
def no_escalation(props, ctx):
    for label, c in pod_containers(props, ctx):
        if get(c, "securityContext.allowPrivilegeEscalation") is not False:
            yield f"{label} does not set allowPrivilegeEscalation false"


@workload_rule(
    "k8s-run-as-non-root", severity="high",
    description="Pods run as a non-root user and group (runAsNonRoot, non-zero UID/GID).",
    rows=("K-03", "K-04", "K-05"),
    anchors=(f"{PSS}/running-as-non-root", "checkov:CKV_K8S_23", "checkov:CKV_K8S_40",
             "trivy:KSV-0012", "trivy:KSV-0105", "trivy:KSV-0116", "cis-k8s:5.2.7"),
    fix="set spec.securityContext runAsNonRoot true, runAsUser/runAsGroup/fsGroup to a non-zero "
        "id (e.g. 10001)")
def non_root(props, ctx):
    spec = pod_spec(ctx.type, props)
    if is_unknown(spec):
        yield unknown_msg("spec")
        return
    for label, c in containers(spec):
        if _setting(spec, c, "runAsNonRoot") is not True:
            yield f"{label} may run as root (runAsNonRoot is not true)"
        for key in ("runAsUser", "runAsGroup"):
            if _setting(spec, c, key) == 0:
                yield f"{label} sets {key} 0"
    for key in ("fsGroup",):
        if get(spec, f"securityContext.{key}") == 0:
            yield f"the pod sets {key} 0"
    if 0 in as_list(get(spec, "securityContext.supplementalGroups")):
        yield "the pod adds supplemental group 0"


_BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


@workload_rule(
    "k8s-capabilities-drop-all", severity="high",
    description="Containers drop ALL capabilities and add back at most NET_BIND_SERVICE.",
    rows=("K-06", "K-07", "K-08"),
    anchors=(f"{PSS}/capabilities", "pss:baseline/capabilities", "checkov:CKV_K8S_37",
             "checkov:CKV_K8S_28", "checkov:CKV_K8S_39", "trivy:KSV-0003", "trivy:KSV-0022",
             "trivy:KSV-0119", "trivy:KSV-0005", "cis-k8s:5.2.9"),
    fix="set securityContext.capabilities {drop: [ALL]} and add only NET_BIND_SERVICE if needed")
def capabilities(props, ctx):
    for label, c in pod_containers(props, ctx):
        drop = [str(x).upper() for x in as_list(get(c, "securityContext.capabilities.drop"))]
        add = [str(x).upper() for x in as_list(get(c, "securityContext.capabilities.add"))]
        if "ALL" not in drop:
            yield f"{label} does not drop ALL capabilities"
        extra = [a for a in add if a not in ("NET_BIND_SERVICE",)]
        if extra:
            dangerous = [a for a in extra if a.removeprefix("CAP_") not in _BASELINE_CAPS]
            yield f"{label} adds capabilities {extra}" + (
                f" ({dangerous} outside the baseline allow-list)" if dangerous else "")


@workload_rule(
    "k8s-seccomp-runtime-default", severity="medium",
    description="Pods use the RuntimeDefault (or a Localhost) seccomp profile.",
    rows=("K-09",), anchors=(f"{PSS}/seccomp", "checkov:CKV_K8S_31", "trivy:KSV-0104",
                             "cis-k8s:5.7.2"),
    fix="set spec.securityContext.seccompProfile.type RuntimeDefault")
def seccomp(props, ctx):
    spec = pod_spec(ctx.type, props)
    for label, c in containers(spec):
        kind = _setting(spec, c, "seccompProfile")
        kind = get(kind, "type") if isinstance(kind, dict) else None
        if kind not in ("RuntimeDefault", "Localhost"):
            yield f"{label} seccomp profile is {kind or 'unset'}"


@workload_rule(
    "k8s-read-only-root-fs", severity="high",
    description="Containers have a read-only root filesystem.",
    rows=("K-10",), anchors=("checkov:CKV_K8S_22", "trivy:KSV-0014",
                             "pcp:kubernetes-apps-v1-deployment-enable-read-only-root-filesystem"),
    fix="set securityContext.readOnlyRootFilesystem true and mount an emptyDir where the "
        "process writes (/tmp)")
def read_only_root(props, ctx):
    for label, c in pod_containers(props, ctx):
        if get(c, "securityContext.readOnlyRootFilesystem") is not True:
            yield f"{label} has a writable root filesystem"


@workload_rule(
    "k8s-no-host-namespaces", severity="high",
    description="Pods do not share the node's network, PID or IPC namespaces.",
    rows=("K-11",), anchors=("pss:baseline/host-namespaces", "checkov:CKV_K8S_17",
                             "checkov:CKV_K8S_18", "checkov:CKV_K8S_19", "trivy:KSV-0008",
                             "trivy:KSV-0009", "trivy:KSV-0010", "cis-k8s:5.2.3"),
    fix="remove hostNetwork, hostPID and hostIPC from the pod spec")
@on_known_spec
def host_namespaces(spec):
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if truthy(spec.get(key)):
            yield f"the pod sets {key} true"


@workload_rule(
    "k8s-no-host-path-or-port", severity="high",
    description="Pods mount no hostPath volumes and bind no hostPorts.",
    rows=("K-12", "K-13"), anchors=("pss:baseline/hostpath-volumes", "pss:baseline/host-ports",
                                    "checkov:CKV_K8S_27", "checkov:CKV_K8S_26", "trivy:KSV-0023",
                                    "trivy:KSV-0024", "cis-k8s:5.2.12", "cis-k8s:5.2.13"),
    fix="use emptyDir/persistentVolumeClaim instead of hostPath, and a Service instead of hostPort")
@on_known_spec
def host_path_port(spec):
    for v in as_list(spec.get("volumes")):
        if isinstance(v, dict) and v.get("hostPath") is not None:
            yield f"volume '{v.get('name')}' mounts hostPath {get(v, 'hostPath.path')}"
    for label, c in containers(spec):
        for port in as_list(c.get("ports")):
            if isinstance(port, dict) and port.get("hostPort") not in (None, 0):
                yield f"{label} binds hostPort {port.get('hostPort')}"


_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                 "projected", "secret"}


@workload_rule(
    "k8s-volume-types-restricted", severity="medium",
    description="Pods use only the volume types the restricted profile allows.",
    rows=("K-14",), anchors=(f"{PSS}/volume-types", "trivy:KSV-0028"),
    fix="use configMap, secret, projected, emptyDir, persistentVolumeClaim, csi or ephemeral volumes")
@on_known_spec
def volume_types(spec):
    for v in as_list(spec.get("volumes")):
        kinds = [k for k in (v or {}) if k != "name"]
        bad = [k for k in kinds if k not in _VOLUME_TYPES]
        if bad:
            yield f"volume '{v.get('name')}' is of type {bad}"


_SAFE_SYSCTLS = {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                 "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
                 "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                 "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                 "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}


@workload_rule(
    "k8s-no-unsafe-proc-or-sysctls", severity="medium",
    description="Containers use the default /proc mount and pods set only safe sysctls.",
    rows=("K-15",), anchors=("pss:baseline/proc-mount", "pss:baseline/sysctls", "trivy:KSV-0027",
                             "trivy:KSV-0026"),
    fix="remove procMount and any sysctl outside the Kubernetes safe set")
def proc_sysctls(props, ctx):
    spec = pod_spec(ctx.type, props)
    for label, c in containers(spec):
        if get(c, "securityContext.procMount", "Default") != "Default":
            yield f"{label} sets procMount {get(c, 'securityContext.procMount')}"
    if is_unknown(spec):
        return
    for s in as_list(get(spec, "securityContext.sysctls")):
        if isinstance(s, dict) and s.get("name") not in _SAFE_SYSCTLS:
            yield f"the pod sets unsafe sysctl {s.get('name')}"


@workload_rule(
    "k8s-no-selinux-apparmor-override", severity="medium",
    description="No custom SELinux user/role, no Unconfined AppArmor, no hostProcess, no probe host.",
    rows=("K-16",), anchors=("pss:baseline/selinux", "pss:baseline/apparmor",
                             "pss:baseline/hostprocess", "trivy:KSV-0025", "trivy:KSV-0002",
                             "trivy:KSV-0103"),
    fix="remove seLinuxOptions.user/role, AppArmor Unconfined, windowsOptions.hostProcess and "
        "probe httpGet.host")
def selinux_apparmor(props, ctx):
    spec = pod_spec(ctx.type, props)
    if is_unknown(spec):
        return
    scopes = [("the pod", spec.get("securityContext") or {})]
    scopes += [(label, c.get("securityContext") or {}) for label, c in containers(spec)]
    for label, sc in scopes:
        if get(sc, "seLinuxOptions.user") or get(sc, "seLinuxOptions.role"):
            yield f"{label} sets a custom SELinux user/role"
        if get(sc, "appArmorProfile.type") == "Unconfined":
            yield f"{label} runs AppArmor Unconfined"
        if truthy(get(sc, "windowsOptions.hostProcess")):
            yield f"{label} is a Windows hostProcess"
    for label, c in containers(spec):
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if get(c, f"{probe}.httpGet.host"):
                yield f"{label} {probe} targets another host"
    annotations = get(props, "spec.template.metadata.annotations") or {}
    if isinstance(annotations, dict) and any(
            k.startswith("container.apparmor.security.beta.kubernetes.io/") and v == "unconfined"
            for k, v in annotations.items()):
        yield "an AppArmor annotation sets unconfined"


@workload_rule(
    "k8s-security-context-explicit", severity="medium",
    description="securityContext is set explicitly at pod and container level.",
    rows=("K-17",), anchors=("checkov:CKV_K8S_29", "checkov:CKV_K8S_30", "trivy:KSV-0118",
                             "cis-k8s:5.7.3"),
    fix="set spec.securityContext and every container's securityContext")
@on_known_spec
def explicit_context(spec):
    if not spec.get("securityContext"):
        yield "the pod has no securityContext"
    for label, c in containers(spec):
        if not c.get("securityContext"):
            yield f"{label} has no securityContext"


@workload_rule(
    "k8s-resources-set", severity="medium",
    description="Containers request CPU and memory and set a memory limit.",
    rows=("K-18", "K-19"), anchors=("checkov:CKV_K8S_10", "checkov:CKV_K8S_12",
                                    "checkov:CKV_K8S_13", "trivy:KSV-0015", "trivy:KSV-0016",
                                    "trivy:KSV-0018"),
    fix="set resources.requests.cpu, resources.requests.memory and resources.limits.memory")
def resources_set(props, ctx):
    for label, c in pod_containers(props, ctx):
        missing = [p for p in ("requests.cpu", "requests.memory", "limits.memory")
                   if get(c, f"resources.{p}") in (None, "")]
        if missing:
            yield f"{label} does not set resources.{', resources.'.join(missing)}"


def images(type_: str, props: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for label, c in containers(pod_spec(type_, props)):
        yield label, c.get("image")


def image_tag(image: str) -> str | None:
    if "@sha256:" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


@workload_rule(
    "k8s-image-pinned", severity="medium",
    description="Container images are pinned to a version tag or digest (no 'latest', no untagged).",
    rows=("K-20",), anchors=("checkov:CKV_K8S_14", "trivy:KSV-0013",
                             "kyverno:best-practices/disallow-latest-tag"),
    fix="reference the image as <repository>:<version or git sha> (or @sha256:<digest>)")
def image_pinned(props, ctx):
    for label, image in images(ctx.type, props):
        if is_unknown(image):
            yield f"{label}: " + unknown_msg("image")
        elif not image:
            yield f"{label} has no image"
        elif image_tag(image) in (None, "latest"):
            yield f"{label} image '{image}' is {'untagged' if image_tag(image) is None else 'tagged latest'}"


DEFAULT_REGISTRIES = [r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/"]


def normalise(image: str) -> str:
    """docker.io/library/... for short names, as the container runtime resolves them."""
    first = image.split("/", 1)[0]
    if "/" not in image:
        return f"docker.io/library/{image}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{image}"
    return image


@workload_rule(
    "k8s-image-registry-allowed", severity="medium",
    description="Images come only from the stack's ECR and allow-listed registries.",
    rows=("K-22",), anchors=("trivy:KSV-0035", "trivy:KSV-0034", "trivy:KSV-0125",
                             "kyverno:best-practices/restrict-image-registries"),
    config={"allowedRegistries": {"type": "array", "items": {"type": "string"},
                                  "default": DEFAULT_REGISTRIES}},
    fix="push the image to the stack's ECR, or add its registry/repository prefix (regex) to "
        "allowedRegistries in policies/config/<environment>.json in a reviewed pull request")
def registry_allowed(props, ctx):
    patterns = [re.compile(p) for p in ctx.config.get("allowedRegistries", DEFAULT_REGISTRIES)]
    for label, image in images(ctx.type, props):
        if is_unknown(image):
            yield f"{label}: " + unknown_msg("image")
        elif isinstance(image, str) and image and not any(p.match(normalise(image)) for p in patterns):
            yield f"{label} image '{image}' is not from an allowed registry"


@workload_rule(
    "k8s-no-sa-token-automount", severity="medium",
    description="Pods do not mount a Kubernetes API token unless they call the API server.",
    rows=("K-24",), anchors=("checkov:CKV_K8S_38", "trivy:KSV-0036", "cis-k8s:5.1.6"),
    config={"apiClients": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}}},
    fix="set spec.automountServiceAccountToken false on the pod template (IRSA mounts its own "
        "AWS token regardless); a controller that calls the API server goes into apiClients "
        "(`<namespace>/<ServiceAccount>`: reason) in policies/config/<environment>.json")
def no_token(props, ctx):
    """``apiClients`` is an allow-list, not a suppression: it names the ServiceAccounts that must
    talk to the API server (an operator, a controller, a hook that creates Secrets), each with the
    reason, so the exception is per identity and reviewed, never a blanket flag."""
    spec = pod_spec(ctx.type, props)
    if is_unknown(spec) or spec.get("automountServiceAccountToken") is False:
        return
    clients = ctx.config.get("apiClients") or {}
    client = f"{get(props, 'metadata.namespace', 'default')}/{spec.get('serviceAccountName') or 'default'}"
    if client not in clients:
        yield (f"the pod template does not set automountServiceAccountToken false (ServiceAccount {client} "
               "is not in apiClients)")
    elif not isinstance(clients[client], str) or not clients[client].strip():
        yield f"apiClients entry '{client}' has no reason; say why it must call the API server"


@workload_rule(
    "k8s-no-default-namespace", severity="low",
    description="Workloads are not deployed to the default or kube-system namespace.",
    rows=("K-27",), anchors=("checkov:CKV_K8S_21", "trivy:KSV-0110", "cis-k8s:5.7.1"),
    config={"systemAddons": {"type": "object", "additionalProperties": {"type": "string"}, "default": {}}},
    fix="set metadata.namespace to the stack's application namespace (a cluster add-on that belongs in "
        "kube-system goes into systemAddons, `kube-system/<name>`: reason)")
def not_default_namespace(props, ctx):
    """``systemAddons`` allow-lists, each with its reason, the cluster add-ons that belong in
    kube-system (``kube-system/<workload name>``); ``default`` never takes one."""
    namespace = get(props, "metadata.namespace", "default")
    if is_unknown(namespace) or namespace not in ("default", "kube-system", ""):
        return
    addon = f"{namespace}/{get(props, 'metadata.name', '')}"
    reason = (ctx.config.get("systemAddons") or {}).get(addon) if namespace == "kube-system" else None
    if reason is None:
        yield f"it is deployed to the '{namespace}' namespace"
    elif not isinstance(reason, str) or not reason.strip():
        yield f"systemAddons entry '{addon}' has no reason; say why it belongs in kube-system"


@resource_rule(
    "k8s-no-bare-pods", types=(POD,), severity="medium",
    description="No bare Pods: every pod belongs to a controller.",
    rows=("K-28",), anchors=("pcp:kubernetes-core-v1-pod-disallow-pod",
                             "kyverno:other/prevent-bare-pods"),
    fix="wrap the pod in a Deployment, StatefulSet or Job")
def no_bare_pods(props, ctx):
    yield f"Pod '{ctx.name}' is not managed by a controller"


@resource_rule(
    "k8s-min-replicas", types=(DEPLOYMENT, STATEFUL_SET), severity="medium", category="availability",
    description="Long-running workloads keep at least the environment's minimum replica count.",
    rows=("D-01",), anchors=("pcp:kubernetes-apps-v1-deployment-configure-minimum-replica-count",
                             "kube-linter:minimum-three-replicas"),
    config={"minReplicas": {"type": "integer", "default": 2}},
    fix="raise spec.replicas (pulumi config set platform:gateway.replicas 3 / the component's "
        "replica setting)")
def min_replicas(props, ctx):
    minimum = int(ctx.config.get("minReplicas", 2))
    replicas = get(props, "spec.replicas", 1)
    if is_unknown(replicas):
        yield unknown_msg("spec.replicas")
    elif int(replicas) < minimum:
        yield f"spec.replicas is {int(replicas)}, below {minimum}: one node drain takes it down"


@stack_rule(
    "k8s-dedicated-service-account", types=(*WORKLOADS, SERVICE_ACCOUNT), severity="medium",
    description="Each workload runs under its own ServiceAccount created by this stack, never 'default'.",
    rows=("K-25",), anchors=("checkov:CKV_K8S_41", "checkov:CKV_K8S_42",
                             "kube-linter:default-service-account", "cis-k8s:5.1.5"),
    fix="create a ServiceAccount for the workload and set spec.serviceAccountName to it")
def dedicated_sa(resources, ctx):
    accounts = {(get(sa.props, "metadata.namespace", "default"), get(sa.props, "metadata.name"))
                for sa in by_type(resources, SERVICE_ACCOUNT)}
    for w in by_type(resources, *WORKLOADS):
        spec = pod_spec(w.type, w.props)
        if is_unknown(spec):
            continue
        if spec.get("serviceAccount"):
            yield w.urn, f"'{w.name}' uses the deprecated serviceAccount field"
        name = spec.get("serviceAccountName", "default")
        namespace = get(w.props, "metadata.namespace", "default")
        if is_unknown(name) or is_unknown(namespace):
            # Preview: the name comes from the ServiceAccount resource's output; that dependency
            # is known even when the value is not.
            if not any(w.depends_on(sa) for sa in by_type(resources, SERVICE_ACCOUNT)):
                yield w.urn, f"'{w.name}': " + unknown_msg("spec.serviceAccountName")
            continue
        if name == "default":
            yield w.urn, f"'{w.name}' runs under the namespace's default ServiceAccount"
        elif (namespace, name) not in accounts:
            yield w.urn, f"'{w.name}' uses ServiceAccount '{name}', which this stack does not create in '{namespace}'"
