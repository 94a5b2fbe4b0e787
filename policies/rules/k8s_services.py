"""Services are internal; credentials live in Secrets, not ConfigMaps; budgets allow draining."""

from __future__ import annotations

import re

from ._core import as_list, get, is_unknown, resource_rule, unknown_msg

SERVICE = "kubernetes:core/v1:Service"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"


@resource_rule(
    "k8s-service-internal", types=(SERVICE,), severity="medium",
    description="Services are ClusterIP: no LoadBalancer or NodePort (traffic enters through the Gateway).",
    rows=("SVC-01", "SVC-02"), anchors=("pcp:kubernetes-core-v1-service-disallow-load-balancer",
                                        "kyverno:best-practices/restrict-node-port",
                                        "kube-linter:exposed-services"),
    fix="use type ClusterIP and expose HTTP through an HTTPRoute on the Gateway")
def internal(props, ctx):
    kind = get(props, "spec.type", "ClusterIP")
    if is_unknown(kind):
        yield unknown_msg("spec.type")
    elif kind in ("LoadBalancer", "NodePort"):
        yield f"spec.type is {kind}: the service is reachable from outside the cluster"
    elif any(isinstance(p, dict) and p.get("nodePort") for p in as_list(get(props, "spec.ports"))):
        yield "a port sets nodePort"


@resource_rule(
    "k8s-service-no-external-ips", types=(SERVICE,), severity="high",
    description="Services set no externalIPs (CVE-2020-8554).",
    rows=("SVC-03",), anchors=("trivy:KSV-0108", "kyverno:best-practices/restrict-service-external-ips"),
    fix="remove spec.externalIPs")
def no_external_ips(props, ctx):
    value = get(props, "spec.externalIPs")
    if is_unknown(value):
        yield unknown_msg("spec.externalIPs")
    elif as_list(value):
        yield "spec.externalIPs is set: traffic to those IPs can be intercepted cluster-wide"


_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|"
                         r"auth|webhook[-_]?url|routing[-_]?key)", re.I)
_SECRET_VALUE = re.compile(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|"
                           r"://[^/\s:@]+:[^/\s@]+@|hooks\.slack\.com/services/|xox[abp]-)")


# Keys that name where a credential lives (an ARN, a file, a Secret's name), not the credential.
_REFERENCE_KEY = re.compile(r"(_REF|_ARN|FILE|_PATH|_NAME|_SOURCE|_SECRET)$", re.I)
_REFERENCE_VALUE = re.compile(r"^(arn:aws[a-z-]*:|/)")


@resource_rule(
    "k8s-no-credentials-in-configmap", types=(CONFIG_MAP,), severity="high",
    description="ConfigMaps hold no credentials (use a Secret).",
    rows=("SEC-01",), anchors=("trivy:KSV-0109", "trivy:KSV-01010"),
    fix="move the value to a Secret (Pulumi secret in, Kubernetes Secret out) and mount it as a file")
def no_credentials(props, ctx):
    # Names the key only: the value may be a credential and must never reach a log.
    for section in ("data", "binaryData"):
        data = props.get(section) or {}
        if is_unknown(data):
            yield unknown_msg(section)
            continue
        for key, value in data.items():
            text = value if isinstance(value, str) else ""
            if _SECRET_VALUE.search(text):
                yield f"{section} key '{key}' holds what looks like a credential"
            elif (_SECRET_KEY.search(key) and not _REFERENCE_KEY.search(key)
                  and not _REFERENCE_VALUE.match(text)):
                yield f"{section} key '{key}' looks like a credential"


@resource_rule(
    "k8s-pdb-allows-disruption", types=(PDB,), severity="low", category="availability",
    description="PodDisruptionBudgets never block every voluntary disruption.",
    rows=("D-03",), anchors=("pcp:kubernetes-policy-v1-poddisruptionbudget-disallow-zero-voluntary-disruption",
                             "kyverno:other/pdb-maxunavailable"),
    fix="use maxUnavailable 1 (or minAvailable below the replica count)")
def pdb(props, ctx):
    spec = props.get("spec") or {}
    if is_unknown(spec):
        return
    if spec.get("maxUnavailable") in (0, "0", "0%"):
        yield "maxUnavailable is 0: node drains and cluster upgrades hang"
    if spec.get("minAvailable") in ("100%",):
        yield "minAvailable is 100%: node drains and cluster upgrades hang"
