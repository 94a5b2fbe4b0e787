"""Pod Security admission: every pod template against its namespace's enforced level, hooks included.

The rules are the Pod Security Standards of Kubernetes v1.31, control by control, as listed in
https://kubernetes.io/docs/concepts/security/pod-security-standards/ (the ``baseline`` and
``restricted`` tables; ``restricted`` includes ``baseline``). The level is the namespace's
``pod-security.kubernetes.io/enforce`` label; the API server rejects a violating Pod at creation,
so for a Deployment the ReplicaSet never gets pods, and for a Helm hook the install fails.

Templates judged: Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController, Job
(``spec.template``) and CronJob (``spec.jobTemplate.spec.template``). A namespace the objects do
not declare has no known level; its pods are recorded as skipped with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableSequence, Sequence
from typing import Any

from tools.offline.checks.base import Finding, Obj
from tools.offline.checks.skip import Skip

CHECK = "pod-security"
LABEL = "pod-security.kubernetes.io/enforce"
LEVELS = ("privileged", "baseline", "restricted")
TEMPLATE_PATHS = {
    "Pod": (), "Deployment": ("spec", "template"), "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"), "DaemonSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"), "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# Baseline, "Capabilities": the capabilities a baseline container may add.
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# Baseline, "SELinux": allowed seLinuxOptions.type values (container_engine_t since v1.31).
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Baseline, "Sysctls": the safe set (ip_local_reserved_ports since v1.27, the tcp_* since v1.29).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes"})
# Restricted, "Volume Types": the only volume sources a restricted pod may use.
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"})


def pod_spec(obj: Obj) -> Mapping[str, Any] | None:
    path = TEMPLATE_PATHS.get(obj.kind)
    if path is None:
        return None
    node: Any = obj.body
    for key in path:
        node = (node or {}).get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    spec = node.get("spec")
    return spec if isinstance(spec, dict) else None


def pod_annotations(obj: Obj) -> Mapping[str, Any]:
    path = TEMPLATE_PATHS.get(obj.kind, ())
    node: Any = obj.body
    for key in path:
        node = (node or {}).get(key) if isinstance(node, dict) else {}
    return ((node or {}).get("metadata") or {}).get("annotations") or {}


def namespace_levels(objects: Sequence[Obj]) -> dict[str, str]:
    return {o.name: str(((o.body.get("metadata") or {}).get("labels") or {}).get(LABEL, "privileged"))
            for o in objects if o.kind == "Namespace"}


def check(objects: Sequence[Obj], skipped: MutableSequence[Skip] | None = None) -> list[Finding]:
    levels = namespace_levels(objects)
    findings: list[Finding] = []
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        level = levels.get(obj.namespace)
        if level is None:
            if skipped is not None:
                skipped.append(Skip(CHECK, obj.describe(), f"namespace {obj.namespace!r} is not declared by this "
                                                           "stack: its enforced level is unknown here"))
            continue
        hook = f" (Helm hook {obj.hook})" if obj.hook else ""
        for problem in violations(spec, pod_annotations(obj), level):
            findings.append(Finding(CHECK, obj.describe(), f"rejected by Pod Security \"{level}\"{hook}: {problem}",
                                    fix="set the chart's securityContext values (or the pod spec) to meet the level"))
    return findings


def violations(spec: Mapping[str, Any], annotations: Mapping[str, Any], level: str) -> list[str]:
    if level not in LEVELS:
        return [f"unknown level {level!r} in label {LABEL}"]
    if level == "privileged":
        return []
    out = list(_baseline(spec, annotations))
    if level == "restricted":
        out += _restricted(spec)
    return out


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            yield f"{key[:-1]} {c.get('name', '?')}", c


def _sc(c: Mapping[str, Any]) -> Mapping[str, Any]:
    return c.get("securityContext") or {}


def _baseline(spec: Mapping[str, Any], annotations: Mapping[str, Any]) -> Iterator[str]:
    psc = spec.get("securityContext") or {}
    # HostProcess
    if (psc.get("windowsOptions") or {}).get("hostProcess"):
        yield "securityContext.windowsOptions.hostProcess is true"
    # Host Namespaces
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield f"{key} is true"
    # HostPath Volumes
    for v in spec.get("volumes") or []:
        if "hostPath" in v:
            yield f"volume {v.get('name')} is a hostPath"
    # Sysctls
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            yield f"sysctl {s.get('name')} is not in the safe set"
    # AppArmor (field and the pre-1.30 annotation), SELinux, Seccomp on the pod
    yield from _apparmor("pod", psc)
    yield from _selinux("pod", psc)
    if (psc.get("seccompProfile") or {}).get("type") == "Unconfined":
        yield "pod seccompProfile.type is Unconfined"
    for key, value in annotations.items():
        if str(key).startswith("container.apparmor.security.beta.kubernetes.io/") and \
                value != "runtime/default" and not str(value).startswith("localhost/"):
            yield f"annotation {key}={value} is not runtime/default or localhost/*"
    for where, c in _containers(spec):
        sc = _sc(c)
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            yield f"{where}: windowsOptions.hostProcess is true"
        if sc.get("privileged"):
            yield f"{where}: privileged is true"
        added = set((sc.get("capabilities") or {}).get("add") or []) - BASELINE_CAPABILITIES
        if added:
            yield f"{where}: adds capabilities {sorted(added)}"
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                yield f"{where}: hostPort {p['hostPort']}"
        yield from _apparmor(where, sc)
        yield from _selinux(where, sc)
        if sc.get("procMount") not in (None, "Default"):
            yield f"{where}: procMount is {sc['procMount']}"
        if (sc.get("seccompProfile") or {}).get("type") == "Unconfined":
            yield f"{where}: seccompProfile.type is Unconfined"


def _apparmor(where: str, sc: Mapping[str, Any]) -> Iterator[str]:
    kind = (sc.get("appArmorProfile") or {}).get("type")
    if kind not in (None, "RuntimeDefault", "Localhost"):
        yield f"{where}: appArmorProfile.type is {kind}"


def _selinux(where: str, sc: Mapping[str, Any]) -> Iterator[str]:
    opts = sc.get("seLinuxOptions") or {}
    if opts.get("type", "") not in SELINUX_TYPES:
        yield f"{where}: seLinuxOptions.type {opts['type']} is not allowed"
    for key in ("user", "role"):
        if opts.get(key):
            yield f"{where}: seLinuxOptions.{key} is set"


def _restricted(spec: Mapping[str, Any]) -> Iterator[str]:
    psc = spec.get("securityContext") or {}
    # Volume Types
    for v in spec.get("volumes") or []:
        kinds = set(v) - {"name"}
        if kinds and not kinds <= RESTRICTED_VOLUMES:
            yield f"volume {v.get('name')} uses {sorted(kinds - RESTRICTED_VOLUMES)} (not an allowed volume type)"
    pod_non_root = psc.get("runAsNonRoot") is True
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if psc.get("runAsUser") == 0:
        yield "pod runAsUser is 0"
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        yield f"pod seccompProfile.type is {pod_seccomp}"
    for where, c in _containers(spec):
        sc = _sc(c)
        # Privilege Escalation
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{where}: allowPrivilegeEscalation is not false"
        # Running as Non-root
        if sc.get("runAsNonRoot") is False or (sc.get("runAsNonRoot") is None and not pod_non_root):
            yield f"{where}: runAsNonRoot is not true (on the container or the pod)"
        # Running as Non-root user
        if sc.get("runAsUser") == 0:
            yield f"{where}: runAsUser is 0"
        # Seccomp
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is None and pod_seccomp is None:
            yield f"{where}: seccompProfile.type is not RuntimeDefault or Localhost (on the container or the pod)"
        elif seccomp not in (None, "RuntimeDefault", "Localhost"):
            yield f"{where}: seccompProfile.type is {seccomp}"
        # Capabilities
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"{where}: capabilities.drop does not include ALL"
        added = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            yield f"{where}: adds capabilities {sorted(added)} (restricted allows only NET_BIND_SERVICE)"
