"""The application's HorizontalPodAutoscaler (CPU and memory), between the profile's bounds.

Creates one ``autoscaling/v2`` HorizontalPodAutoscaler ``app`` on the App's Deployment (named by
``App.deployment_name``). Its floor is the profile's ``app.replicas``, which the
PodDisruptionBudget counts on; metrics come from metrics-server (components/addons.py). The
Deployment it scales ignores changes to ``spec.replicas`` (components/app.py), so a ``pulumi up``
never resets the scale the autoscaler chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes import metadata

if TYPE_CHECKING:
    from config import Settings

CPU_TARGET_PERCENT = 70
MEMORY_TARGET_PERCENT = 80
"""Of the containers' requests (memory requests equal limits: scale out before the OOM killer)."""


@dataclass(frozen=True, kw_only=True)
class AppAutoscalerArgs:
    namespace: pulumi.Input[str]
    deployment: pulumi.Input[str]
    min_replicas: int
    max_replicas: int
    labels: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: Settings, *, namespace: pulumi.Input[str],
                      deployment: pulumi.Input[str]) -> AppAutoscalerArgs:
        app = settings.profile.app
        return cls(namespace=namespace, deployment=deployment, min_replicas=app.replicas,
                   max_replicas=app.max_replicas, labels=settings.labels)


class AppAutoscaler(pulumi.ComponentResource):
    """Creates: the HorizontalPodAutoscaler ``app``."""

    def __init__(self, name: str, args: AppAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("platform:kubernetes:AppAutoscaler", name, None, opts)

        def utilization(resource: str, percent: int) -> dict[str, object]:
            return {"type": "Resource", "resource": {"name": resource, "target": {
                "type": "Utilization", "averageUtilization": percent}}}

        k8s.autoscaling.v2.HorizontalPodAutoscaler(f"{name}-hpa", metadata=metadata("app", args.namespace, args.labels),
                                                   spec={
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": args.deployment},
            "minReplicas": args.min_replicas, "maxReplicas": args.max_replicas,
            "metrics": [utilization("cpu", CPU_TARGET_PERCENT), utilization("memory", MEMORY_TARGET_PERCENT)],
        }, opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})
