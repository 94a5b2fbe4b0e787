"""Log shipping from every node: Fluent Bit to one KMS-encrypted CloudWatch Logs group per stack.

Created by the stacks that install the cluster platform (one per cluster: staging's also carries
the PR environments' logs, since those run on its cluster), in the ``node-agents`` namespace
(components/namespaces.py: the one namespace that enforces the ``privileged`` Pod Security level):

* the log group ``/<stack prefix>/cluster/logs``, encrypted with the stack's KMS key (whose policy
  admits the CloudWatch Logs service for this account's log groups, components/kms.py), retention
  from the profile (``NodeLogsProfile``); the program owns it, so Fluent Bit never creates groups;
* an IRSA role for the ``fluent-bit`` ServiceAccount that may only create streams in, write to and
  list the streams of that one group (``fluent_bit_policy``);
* Fluent Bit (pinned chart, a DaemonSet on every node, image through the account's Docker Hub
  pull-through cache): container logs (``tail`` of /var/log/containers, enriched by the
  ``kubernetes`` filter through the API server) to streams ``containers.<tag>``, the kubelet's and
  containerd's journal (``systemd``) to ``node.<tag>``, with the ``cloudwatch_logs`` output; its
  metrics endpoint is scraped by Prometheus (the chart's ServiceMonitor).

It runs as root (the log files on the node are root's, mode 0640) with every capability dropped,
no privilege escalation and a read-only root filesystem; read positions are kept in
/var/fluent-bit/state on the node, so a restarted pod neither loses nor re-sends lines.

node-exporter is the other node agent; it comes with kube-prometheus-stack (components/monitoring.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components import partition
from components.irsa import ROLE_NAME_MAX, Irsa, role_arn, trust_policy
from components.kubernetes import FLUENT_BIT, FLUENT_BIT_IMAGE, PULL_POLICY, cache_registry, helm_release
from components.namespaces import FLUENT_BIT_METRICS_PORT

if TYPE_CHECKING:
    from config import Settings

FLUENT_BIT_SA = "fluent-bit"
RELEASE = "fluent-bit"
LOG_STREAM_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
"""What the cloudwatch_logs output calls with ``auto_create_group`` off (Fluent Bit docs, "Amazon
CloudWatch": "Permissions")."""
STATE_DIR = "/var/fluent-bit/state"
MONITOR_SELECTOR = {"release": "kube-prometheus-stack"}
"""The labels kube-prometheus-stack's Prometheus selects ServiceMonitors by (monitoring.SELECTED)."""


def log_group_arn(region: str, account_id: pulumi.Input[str], log_group: str) -> pulumi.Output[str]:
    return partition.arn("logs", region, account_id, f"log-group:{log_group}")


def fluent_bit_policy(group_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Streams of the one group only: ``DescribeLogStreams`` acts on the group ARN, ``CreateLogStream``
    and ``PutLogEvents`` on its streams (Service Authorization Reference, CloudWatch Logs)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "WriteTheClusterLogGroup", "Effect": "Allow", "Action": list(LOG_STREAM_ACTIONS),
        "Resource": [group_arn, pulumi.Output.concat(group_arn, ":log-stream:*")]}]}


@dataclass(frozen=True, kw_only=True)
class NodeAgentsArgs:
    namespace: pulumi.Input[str]
    log_group: str
    """``/platform-staging/cluster/logs``: a name known before anything exists (the IAM policy names it)."""
    retention_days: int
    kms_key_arn: pulumi.Input[str]
    region: str
    irsa: Irsa
    role_name: str
    tags: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, *, namespace: pulumi.Input[str], irsa: Irsa,
                      kms_key_arn: pulumi.Input[str]) -> NodeAgentsArgs:
        if settings.profile.node_logs is None:  # config.PROFILES: every profile that installs the platform has one
            raise ValueError(f"the {settings.environment} profile ships no node logs (Profile.node_logs is None)")
        return cls(namespace=namespace, log_group=f"/{settings.name}/cluster/logs",
                   retention_days=settings.profile.node_logs.retention_days, kms_key_arn=kms_key_arn,
                   region=settings.region, irsa=irsa, role_name=f"{settings.name}-fluent-bit", tags=settings.tags)


def fluent_bit_config(region: str, log_group: str) -> dict[str, str]:
    """The chart's ``config`` sections (classic format): inputs, the kubernetes filter, the outputs."""
    inputs = f"""[INPUT]
    Name tail
    Tag kube.*
    Path /var/log/containers/*.log
    multiline.parser cri
    DB {STATE_DIR}/containers.db
    Mem_Buf_Limit 16MB
    Skip_Long_Lines On
    Refresh_Interval 10
[INPUT]
    Name systemd
    Tag host.*
    Systemd_Filter _SYSTEMD_UNIT=kubelet.service
    Systemd_Filter _SYSTEMD_UNIT=containerd.service
    DB {STATE_DIR}/systemd.db
    Read_From_Tail On
"""
    filters = """[FILTER]
    Name kubernetes
    Match kube.*
    Merge_Log On
    Keep_Log Off
    Labels Off
    Annotations Off
    K8S-Logging.Exclude On
"""

    def output(match: str, prefix: str) -> str:
        return f"""[OUTPUT]
    Name cloudwatch_logs
    Match {match}
    region {region}
    log_group_name {log_group}
    log_stream_prefix {prefix}
    auto_create_group Off
    Retry_Limit 5
"""
    return {"inputs": inputs, "filters": filters, "outputs": output("kube.*", "containers.") + output("host.*", "node.")}


class NodeAgents(pulumi.ComponentResource):
    """Creates: the log group ``{name}-log-group``, the IRSA role ``{name}-fluent-bit-role`` and its
    inline policy ``{name}-fluent-bit-policy``, and the Fluent Bit release ``{name}-fluent-bit``."""

    log_group: pulumi.Output[str]

    def __init__(self, name: str, args: NodeAgentsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:NodeAgents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(f"{name}-log-group", name=args.log_group, retention_in_days=args.retention_days,
                                        kms_key_id=args.kms_key_arn, tags=dict(args.tags), opts=child)
        if len(args.role_name) > ROLE_NAME_MAX:
            raise ValueError(f"IAM role name {args.role_name!r} is {len(args.role_name)} characters; "
                             f"the limit is {ROLE_NAME_MAX}")
        irsa = args.irsa
        role = aws.iam.Role(f"{name}-fluent-bit-role", name=args.role_name, assume_role_policy=pulumi.Output.json_dumps(
            trust_policy(irsa.oidc_provider_arn, irsa.oidc_provider_url, args.namespace, FLUENT_BIT_SA)),
            tags=dict(irsa.tags), opts=child)
        group_arn = log_group_arn(args.region, irsa.account_id, args.log_group)
        aws.iam.RolePolicy(f"{name}-fluent-bit-policy", role=role.id,
                           policy=pulumi.Output.json_dumps(fluent_bit_policy(group_arn)), opts=child)
        helm_release(f"{name}-fluent-bit", release=RELEASE, chart=FLUENT_BIT, namespace=args.namespace,
                     values=self._values(args, role_arn(irsa.account_id, role)), timeout=600,
                     opts=pulumi.ResourceOptions(parent=self, depends_on=[group]))
        self.log_group = group.name
        self.register_outputs({"log_group": self.log_group})

    def _values(self, args: NodeAgentsArgs, role: pulumi.Input[str]) -> dict[str, Any]:
        upstream, repository, tag = FLUENT_BIT_IMAGE
        resources = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
        # (volume, node path, hostPath type, read-only): logs and the journal, the journal's machine id, read positions.
        host_path = [("varlog", "/var/log", "Directory", True), ("machine-id", "/etc/machine-id", "File", True),
                     ("state", STATE_DIR, "DirectoryOrCreate", False)]
        return {
            "kind": "DaemonSet",
            "image": {"repository": pulumi.Output.concat(cache_registry(upstream, parent=self), "/", repository),
                      "tag": tag, "pullPolicy": PULL_POLICY},
            # The kubernetes filter reads pod metadata from the API server with this token.
            "serviceAccount": {"create": True, "name": FLUENT_BIT_SA, "automountServiceAccountToken": True,
                               "annotations": {"eks.amazonaws.com/role-arn": role}},
            "rbac": {"create": True, "nodeAccess": False, "eventsAccess": False},
            "podSecurityContext": {"runAsUser": 0, "runAsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}},
            "securityContext": {"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": False, "privileged": False,
                                "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
            "resources": resources,
            # Every node, tainted ones too: a node whose logs are not shipped loses them with the node.
            "tolerations": [{"operator": "Exists"}],
            "metricsPort": FLUENT_BIT_METRICS_PORT,
            "serviceMonitor": {"enabled": True, "selector": dict(MONITOR_SELECTOR), "interval": "30s"},
            "env": [{"name": "AWS_REGION", "value": args.region}],
            "config": fluent_bit_config(args.region, args.log_group),
            "daemonSetVolumes": [{"name": n, "hostPath": {"path": p, "type": t}} for n, p, t, _ in host_path],
            "daemonSetVolumeMounts": [{"name": n, "mountPath": p, "readOnly": ro} for n, p, _, ro in host_path],
            # The `helm test` pod is busybox:latest as root from Docker Hub; Pulumi's Release never runs tests.
            "testFramework": {"enabled": False},
        }
