"""The policy pack's Kubernetes resource rules, applied to what the charts create.

The pack judges the program's own objects already (as Pulumi resources). For a Release, the pack
itself renders the chart under a real ``pulumi preview`` and judges what it creates
(``policies/rules/_rendered.py``); this check applies that same function, ``judge_objects``, to
the objects the offline plan rendered with the same kernel, per Release and rule, with the
environment's pack config: the same findings on both paths, named ``Release <name> → <Kind>
<ns>/<name>``. Written exceptions (the pack's suppression annotation on the rendered object, or
``renderedSuppressions`` in the rule's config, suppressible categories only, a reason each) and
allow-lists (``apiClients``, ``systemAddons``) are the pack's own; see that module. Node agents:
a DaemonSet on the allow-list of a privileged namespace (``k8s-namespace-pod-security``'s
``privilegedNamespaces``, with a reason per DaemonSet) is not judged by the host-access rules its
namespace's level admits (``k8s_namespaces.HOST_ACCESS_RULES``); the skip is listed with that reason.
A finding carries its rule's enforcement level in the environment (``details["enforcement"]``):
an advisory rule's finding is advice here as it is in the pack, a mandatory rule's fails the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableSequence, Sequence
from typing import Any

from tools.offline.checks.base import PROGRAM, Finding, Obj
from tools.offline.checks.skip import Skip

CHECK = "pack-rules"
SUPPRESSIONS_KEY = "renderedSuppressions"
"""policies.rules._rendered.RENDERED_SUPPRESSIONS (not imported here: the pack loads lazily)."""


def check(objects: Sequence[Obj], config: Mapping[str, Any], skipped: MutableSequence[Skip] | None = None) -> list[Finding]:
    """``config``: the environment's pack config (``policies/config/<environment>.json``)."""
    from policies.rules import REGISTRY, VALIDATORS
    from policies.rules._rendered import judge_objects

    releases: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for obj in objects:
        if obj.origin != PROGRAM:  # the pack judges program objects as Pulumi resources
            releases.setdefault(obj.origin, []).append((obj.describe(), obj.body))
    rules = [m for m in REGISTRY if m.kind == "resource" and any(t.startswith("kubernetes:") for t in m.types)]
    findings: list[Finding] = []
    for rendered in releases.values():
        for meta in rules:
            level = _level(config, meta.id)
            if level == "disabled":
                continue
            judged = judge_objects(meta, VALIDATORS[meta.id], rendered, _rule_config(config, meta.id),
                                   node_agents=_rule_config(config, "k8s-namespace-pod-security"))
            findings += [Finding(CHECK, subject, f"{meta.id}: {what}", fix=meta.fix, details={"enforcement": level})
                         for subject, what in judged.violations]
            if skipped is not None:
                skipped += [Skip(CHECK, subject, f"{meta.id} suppressed: {reason}") for subject, reason in judged.suppressed]
                skipped += [Skip(CHECK, subject, f"{meta.id} not applicable: {reason}")
                            for subject, reason in judged.not_applicable]
    return findings


def is_advisory(finding: Finding) -> bool:
    return finding.details.get("enforcement") == "advisory"


def _level(config: Mapping[str, Any], rule: str) -> str:
    value = config.get(rule)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "enforcementLevel" in value:
        return str(value["enforcementLevel"])
    return str(config.get("all", "advisory"))


def _rule_config(config: Mapping[str, Any], rule: str) -> dict[str, Any]:
    value = config.get(rule)
    return {k: v for k, v in value.items() if k != "enforcementLevel"} if isinstance(value, Mapping) else {}
