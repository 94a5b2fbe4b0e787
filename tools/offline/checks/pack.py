"""The policy pack's Kubernetes resource rules, applied to what the charts create.

The pack judges the program's own objects already (as Pulumi resources); a Release reaches it as
an opaque box of values. This check runs the same validators (``policies.rules.VALIDATORS``),
with the environment's pack config, over every rendered object, keyed by the Pulumi type the
object would have (``apps/v1`` Deployment → ``kubernetes:apps/v1:Deployment``), so a chart's
Deployment meets the rules a program Deployment meets. The pack's own suppression annotation
(``policy.platform.example.com/suppress.<rule>: <reason>``) works on a rendered object too, and
the pack config can carry one for objects whose chart offers no annotation, in the rule's own
config (validated by its schema, like any rule option):
``"<rule id>": {"renderedSuppressions": {"<Release> → <Kind ns/name>": "<reason>"}}``.
A suppression without a reason is itself a finding. Node agents: a DaemonSet on the allow-list of
a privileged namespace (``k8s-namespace-pod-security``'s ``privilegedNamespaces``, with a reason per
DaemonSet) is not judged by the host-access rules its namespace's level admits
(``k8s_namespaces.HOST_ACCESS_RULES``); the skip is listed with that reason. Every other rule
judges it as usual. A finding carries its rule's enforcement
level in the environment (``details["enforcement"]``): an advisory rule's finding is advice here
as it is in the pack, a mandatory rule's fails the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableSequence, Sequence
from typing import Any

from tools.offline.checks.base import PROGRAM, Finding, Obj
from tools.offline.checks.skip import Skip

CHECK = "pack-rules"
SUPPRESSIONS_KEY = "renderedSuppressions"
"""policies.rules._core.RENDERED_SUPPRESSIONS (not imported here: the pack loads lazily)."""


def pulumi_type(obj: Obj) -> str:
    group, _, version = str(obj.body.get("apiVersion", "")).rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{obj.kind}"


def check(objects: Sequence[Obj], config: Mapping[str, Any], skipped: MutableSequence[Skip] | None = None) -> list[Finding]:
    """``config``: the environment's pack config (``policies/config/<environment>.json``)."""
    from policies.rules import REGISTRY, VALIDATORS, Context
    from policies.rules._core import suppression_problem, suppressions
    from policies.rules.k8s_namespaces import HOST_ACCESS_RULES, node_agent_reason

    rules = [m for m in REGISTRY if m.kind == "resource" and any(t.startswith("kubernetes:") for t in m.types)]
    extra: dict[str, Mapping[str, str]] = {m.id: _rule_config(config, m.id).get(SUPPRESSIONS_KEY) or {} for m in rules}
    findings: list[Finding] = []
    for obj in objects:
        if obj.origin == PROGRAM:
            continue  # the pack judges these as Pulumi resources
        type_ = pulumi_type(obj)
        subject = obj.describe()
        declared = {**suppressions(type_, obj.body), **{r: s[subject] for r, s in extra.items() if subject in s}}
        agent = node_agent_reason(type_, obj.body, _rule_config(config, "k8s-namespace-pod-security"))
        for meta in rules:
            if type_ not in meta.types or _level(config, meta.id) == "disabled":
                continue
            if agent is not None and meta.id in HOST_ACCESS_RULES:
                if skipped is not None and list(VALIDATORS[meta.id](obj.body, Context(type=type_, name=obj.name))):
                    skipped.append(Skip(CHECK, subject, f"{meta.id} not applicable: allow-listed node agent: {agent}"))
                continue
            ctx = Context(type=type_, name=obj.name, urn=subject, config=_rule_config(config, meta.id))
            found = list(VALIDATORS[meta.id](obj.body, ctx))
            if meta.id in declared:
                problem = suppression_problem(meta, declared[meta.id])
                if problem is None:
                    if found and skipped is not None:
                        skipped.append(Skip(CHECK, subject, f"{meta.id} suppressed: {str(declared[meta.id]).strip()}"))
                    continue
                found.append(problem)
            level = _level(config, meta.id)
            findings += [Finding(CHECK, subject, f"{meta.id}: {what}", fix=meta.fix, details={"enforcement": level})
                         for what in found]
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
