"""The small framework every rule is written in: metadata, pure validators, unknown handling.

A rule is a pure function over plain data. ``resource_rule`` validators get ``(props, ctx)`` and
yield what is wrong; ``stack_rule`` validators get ``(resources, ctx)`` and yield ``(urn, what)``.
The wrappers turn them into pulumi-policy ``Policy`` objects, append the fix to every message
(``message``) and
hide the engine's preview proxies: a value unknown during preview reaches the validator as
``PREVIEW_UNKNOWN`` (never an exception), so each rule decides what an unknown means instead of the
analyzer silently downgrading the rule to advisory.

Suppressions (cdk-nag style) are handled here, for every rule alike: a resource declares
``policy.platform.example.com/suppress.<rule-id>: <reason>`` (Kubernetes: metadata.annotations;
AWS: tags) and that rule's violations on that resource are not reported. Only availability,
protection, cost and hygiene rules can be suppressed, and only with a non-empty reason; anything
else is itself reported as a violation of the rule named. Applied suppressions go back to the
engine as the rule's not-applicable reason (``SUPPRESSED`` + JSON), which ``tools check`` lists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ResourceValidationPolicy,
    Secret,
    Severity,
    StackValidationPolicy,
)
from pulumi_policy import deserialize as _sdk_deserialize
from pulumi_policy import policy as _sdk_policy
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    _DictProxy,
    _ListProxy,
)

_UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE,
})

CATEGORIES = ("security", "availability", "protection", "disposability", "cost", "hygiene", "preflight")
"""Enforcement is decided per category and environment in policies/config/<environment>.json.
``preflight``: what AWS itself would refuse (a name, a parameter value) or a destroy that would fail;
never suppressible, since no written reason makes AWS accept it."""

SUPPRESS_PREFIX = "policy.platform.example.com/suppress."
"""``<prefix><rule-id>: <reason>``: a written exception to one rule on one resource, read from
``metadata.annotations`` of a Kubernetes object and from ``tags`` of any other resource."""
SUPPRESSIBLE = frozenset({"availability", "protection", "cost", "hygiene"})
"""Security and disposability rules never take an exception: the resource must be fixed."""
FIX_SEPARATOR = ". Fix: "
"""A violation travels as one message, ``<what>. Fix: <fix>``, so ``pulumi preview`` shows the fix;
``tools/report.py`` (``what_of``) splits it again. The pack runs as its own plugin process without
the repository on its path, so the two spell the separator each; a test holds them equal."""
SUPPRESSED = "suppressed: "
"""Prefix of the not-applicable reason that reports applied suppressions to the engine (JSON list
of ``{"urn", "reason"}`` after it), so an exception is never silent."""


class _Unknown:
    """A value the engine cannot know during preview (an output of a resource not yet created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown during preview>"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; test it with is_unknown() first")


PREVIEW_UNKNOWN = _Unknown()
"""The validator-side stand-in for every unknown sentinel of the engine (the wire ones are
``pulumi_policy.proxy.UNKNOWN_*_VALUE``); rules compare with ``is_unknown``."""


def is_unknown(value: Any) -> bool:
    return value is PREVIEW_UNKNOWN


# -- Secrets ---------------------------------------------------------------------------------
# The engine sends an analyzer every secret with its signature ({sig: SECRET_SIG, value}); the
# policy SDK (1.21) unwraps it before a validator sees the properties, so "is this a Pulumi
# secret?" would be unanswerable. The pack keeps the mark instead: the SDK's deserializer is
# replaced by one that wraps each secret in ``pulumi_policy.Secret`` (the SDK's own marker, used
# by its remediation path); ``plain`` unwraps it for the rules, ``secret_paths`` lists where it was.
_SECRET_SIG = _sdk_deserialize.SPECIAL_SECRET_SIG
_SIG_KEY = _sdk_deserialize.SPECIAL_SIG_KEY
_SDK_DESERIALIZE = _sdk_deserialize.deserialize_properties


def keep_secrets(value: Any) -> Any:
    """A wire value deserialized as the SDK does, except that secrets stay ``Secret``-wrapped."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG and "value" in value:
            return Secret(keep_secrets(value["value"]))
        if _SIG_KEY in value:  # assets and archives: the SDK's own reading
            return _sdk_deserialize._deserialize_property(value)
        return {k: keep_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keep_secrets(v) for v in value]
    return value


def _deserialize_properties(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    if proxy_secrets:  # remediation: the SDK's secret-preserving proxies
        return _SDK_DESERIALIZE(props, True)
    return {k: keep_secrets(v) for k, v in props.items()}


_deserialize_properties.keeps_secrets = True  # type: ignore[attr-defined]
# Imported twice in one process (as ``rules`` in the pack, ``policies.rules`` in the tools) the
# second import finds the first one's replacement in place, which is as good.
assert (_sdk_policy.deserialize_properties is _SDK_DESERIALIZE
        or getattr(_sdk_policy.deserialize_properties, "keeps_secrets", False)), \
    "pulumi-policy changed how it deserializes properties: re-check the secret handling in _core.py"
_sdk_policy.deserialize_properties = _deserialize_properties


def secret_paths(value: Any, path: str = "") -> frozenset[str]:
    """Dotted paths (list items by index) of every Pulumi secret in raw engine properties."""
    if isinstance(value, (_DictProxy, _ListProxy)):
        value = value["__target"]
    if isinstance(value, Secret):
        return frozenset({path})
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return frozenset()
    return frozenset(p for k, v in items for p in secret_paths(v, f"{path}.{k}" if path else str(k)))


def under_secret(secrets: Iterable[str], path: str) -> bool:
    """Whether ``path`` is a secret or lies inside one (a secret map holds secret fields)."""
    return any(path == s or path.startswith(s + ".") for s in secrets)


def plain(value: Any) -> Any:
    """Engine properties as plain dicts/lists; preview unknowns become ``PREVIEW_UNKNOWN``."""
    if isinstance(value, (_DictProxy, _ListProxy)):
        value = value["__target"]
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (isinstance(value, Sequence) and not isinstance(value, str)):
        return [plain(v) for v in value]
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return PREVIEW_UNKNOWN
    return value


def get(obj: Any, path: str, default: Any = None) -> Any:
    """``get(props, "a.b.c")``: the nested value, ``default`` when absent, ``PREVIEW_UNKNOWN`` if unknown."""
    for key in path.split("."):
        if is_unknown(obj):
            return PREVIEW_UNKNOWN
        if not isinstance(obj, Mapping) or key not in obj or obj[key] is None:
            return default
        obj = obj[key]
    return obj


def truthy(value: Any) -> bool:
    """Booleans as the engine sends them (real bools; some older schemas used "true" strings)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_list(value: Any) -> list[Any]:
    if value is None or is_unknown(value):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def parse_json(value: Any) -> Any:
    """A JSON document property (IAM/S3/KMS policies); ``PREVIEW_UNKNOWN`` stays ``PREVIEW_UNKNOWN``, junk -> None."""
    if is_unknown(value) or isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def is_read_replica(props: Mapping[str, Any]) -> bool:
    """An RDS instance replicating another (``replicateSourceDb`` set): its backups, Multi-AZ standby and
    final snapshot are the primary's, and the rules that ask for them judge the primary."""
    return props.get("replicateSourceDb") not in (None, "")


def unknown_msg(prop: str) -> str:
    return (f"`{prop}` is unknown during preview, so this mandatory rule cannot verify it; "
            "set it from a literal or configuration value, not from another resource's output")


def expect_flag(value: Any, prop: str, want: bool, what: str) -> Iterator[str]:
    """A boolean setting that must be ``want``: ``unknown_msg(prop)`` while it is unknown during
    preview, ``what`` once it is known to be anything else."""
    if is_unknown(value):
        yield unknown_msg(prop)
    elif truthy(value) is not want:
        yield what


@dataclass(frozen=True)
class Context:
    """What a validator may know besides the properties. Pure data; tests build it directly."""

    type: str = ""
    name: str = ""
    urn: str = ""
    protect: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)
    provider: Mapping[str, Any] = field(default_factory=dict)
    """Inputs of the resource's provider (e.g. the AWS provider's defaultTags)."""
    secrets: frozenset[str] = frozenset()
    """Paths of the properties that arrived as Pulumi secrets (``secret_paths``)."""


@dataclass
class Res:
    """A resource as a stack validator sees it (plain data)."""

    type: str
    urn: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    """Paths of the properties that arrived as Pulumi secrets (``secret_paths``)."""

    def depends_on(self, other: Res, prop: str | None = None) -> bool:
        if prop is not None:
            return other.urn in self.property_dependencies.get(prop, [])
        return other.urn in self.dependencies or any(
            other.urn in urns for urns in self.property_dependencies.values())


@dataclass(frozen=True)
class Meta:
    id: str
    description: str
    severity: str
    category: str
    rows: tuple[str, ...]
    anchors: tuple[str, ...]
    fix: str
    types: tuple[str, ...]
    kind: str

    @property
    def tags(self) -> list[str]:
        return ([f"category:{self.category}"] + [f"matrix:{r}" for r in self.rows]
                + list(self.anchors))


REGISTRY: list[Meta] = []
POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = []
VALIDATORS: dict[str, Callable[..., Iterable[Any]]] = {}

_SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH,
             "critical": Severity.CRITICAL}


RENDERED_SUPPRESSIONS = "renderedSuppressions"
"""A Kubernetes rule's config key: ``{"Release <name> → <Kind> <ns>/<name>": "<reason>"}``, written
exceptions for chart-created objects whose chart offers no annotation (tools/offline/checks/pack.py)."""
_RENDERED_SUPPRESSIONS_SCHEMA = {"type": "object", "additionalProperties": {"type": "string"}}


def _schema(config: Mapping[str, Mapping[str, Any]] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties={k: dict(v) for k, v in config.items()}) if config else None


def _meta(id_: str, description: str, severity: str, category: str, rows: Sequence[str],
          anchors: Sequence[str], fix: str, types: Sequence[str], kind: str) -> Meta:
    assert id_ == id_.lower() and " " not in id_ and "_" not in id_, f"{id_}: ids are kebab-case"
    assert category in CATEGORIES, f"{id_}: unknown category {category}"
    assert severity in _SEVERITY, f"{id_}: unknown severity {severity}"
    assert id_ not in VALIDATORS, f"{id_}: duplicate rule id"
    return Meta(id_, description, severity, category, tuple(rows), tuple(anchors), fix,
                tuple(types), kind)


def suppressions(type_: str, props: Any) -> dict[str, Any]:
    """``{rule id: reason}`` declared on a resource (plain properties)."""
    holder = get(props, "metadata.annotations") if type_.startswith("kubernetes:") else get(props, "tags")
    if not isinstance(holder, Mapping):
        return {}
    return {k[len(SUPPRESS_PREFIX):]: v for k, v in holder.items()
            if isinstance(k, str) and k.startswith(SUPPRESS_PREFIX)}


def suppression_problem(meta: Meta, reason: Any) -> str | None:
    """Why a declared suppression of ``meta`` cannot apply, or None when it is a valid exception."""
    key = f"`{SUPPRESS_PREFIX}{meta.id}`"
    if meta.category not in SUPPRESSIBLE:
        return (f"{key} asks to suppress this rule, but suppressions are not allowed for "
                f"{meta.category} rules; remove it and fix the resource")
    if is_unknown(reason):
        return f"{key} has a reason that is unknown during preview; write the reason as a literal"
    if not isinstance(reason, str) or not reason.strip():
        return f"{key} has no reason; a suppression needs a written reason saying why the exception is safe"
    return None


class Accepted(str):
    """What a validator yields instead of a violation for a reviewed exception the pack itself holds
    (e.g. a vendor's published IAM document, matched by content hash): the reason, reported like an
    applied suppression, so the exception is listed by every check and never silent."""


def message(what: str, fix: str) -> str:
    """What a violation reports to the engine: what is wrong, then how to fix it."""
    return f"{what}{FIX_SEPARATOR}{fix}"


def _suppressed_reason(applied: Iterable[tuple[str, str]]) -> str:
    return SUPPRESSED + json.dumps([{"urn": urn, "reason": reason} for urn, reason in applied])


def _register(policy: type[ResourceValidationPolicy] | type[StackValidationPolicy], meta: Meta,
              fn: Callable[..., Iterable[Any]], validate: Callable[..., None],
              config: Mapping[str, Mapping[str, Any]] | None) -> Callable[..., Iterable[Any]]:
    """Add the rule to the pack (the engine's policy) and to the registry (docs, tests, checker)."""
    POLICIES.append(policy(
        name=meta.id, description=meta.description, validate=validate,
        severity=_SEVERITY[meta.severity], tags=meta.tags, remediation_steps=meta.fix,
        config_schema=_schema(config)))
    REGISTRY.append(meta)
    VALIDATORS[meta.id] = fn
    fn.meta = meta  # type: ignore[attr-defined]
    return fn


EVERY_TYPE = "*"
"""``types=(EVERY_TYPE,)``: a resource rule that judges every resource of the program (not the
objects charts render: those are not Pulumi inputs)."""


def resource_rule(id: str, *, types: Sequence[str], description: str, severity: str, fix: str,
                  rows: Sequence[str] = (), anchors: Sequence[str] = (), category: str = "security",
                  config: Mapping[str, Mapping[str, Any]] | None = None):
    """Register a rule on single resources. The validator yields what is wrong, nothing if fine."""
    judges_charts = any(t.startswith("kubernetes:") for t in types)
    if judges_charts:  # it judges chart-created objects too (rules/_rendered.py)
        config = {**(config or {}), RENDERED_SUPPRESSIONS: _RENDERED_SUPPRESSIONS_SCHEMA}

    def wrap(fn: Callable[[dict[str, Any], Context], Iterable[str]]):
        meta = _meta(id, description, severity, category, rows, anchors, fix, types, "resource")
        wanted = frozenset(types) | (HELM_RELEASES if judges_charts else frozenset())

        def validate(args, report_violation):
            if args.resource_type not in wanted and EVERY_TYPE not in wanted:
                return
            ctx = Context(type=args.resource_type, name=args.name, urn=args.urn,
                          protect=bool(args.opts.protect) if args.opts else False,
                          config=dict(args.get_config() or {}),
                          provider=plain(args.provider.props) if args.provider else {},
                          secrets=secret_paths(args.props))
            props = plain(args.props)
            RULE_CONFIGS[id] = ctx.config
            if judges_charts and args.resource_type in HELM_RELEASES and args.resource_type not in types:
                _judge_release(meta, fn, args, props, ctx.config, report_violation)
                return
            results = list(fn(props, ctx))
            accepted = [(args.urn, str(r)) for r in results if isinstance(r, Accepted)]
            found = [message(what, fix) for what in results if not isinstance(what, Accepted)]
            declared = suppressions(args.resource_type, props)
            if id in declared:
                problem = suppression_problem(meta, declared[id])
                if problem is None:
                    if found:
                        accepted.append((args.urn, declared[id].strip()))
                    found = []
                else:
                    found.append(message(problem, fix))
            for text in found:
                report_violation(text, None)
            if accepted:  # after every report: the engine keeps the violations reported before it
                args.not_applicable(_suppressed_reason(accepted))

        return _register(ResourceValidationPolicy, meta, fn, validate, config)
    return wrap


HELM_RELEASES = frozenset({"kubernetes:helm.sh/v3:Release"})
"""policies/rendering.py RELEASE_TYPES: what a Kubernetes rule renders to judge the objects inside."""


RULE_CONFIGS: dict[str, Mapping[str, Any]] = {}
"""Each resource rule's options as the engine last passed them (a policy sees only its own config).
The host-access rules read k8s-namespace-pod-security's allow-list of node agents from here when
they judge a Release's DaemonSets: the namespaces (which that rule judges) precede the Releases in
them, so it is set by then; before it is, nothing is exempt (the safe side)."""


def _judge_release(meta: Meta, fn: Callable[..., Iterable[str]], args: Any, props: Any,
                   config: Mapping[str, Any], report_violation: Callable[..., None]) -> None:
    """A Kubernetes rule on a Release: judge what its chart creates (rules/_rendered.py). A chart
    that cannot be rendered is reported once, by helm-chart-renders."""
    from . import _rendered

    rendered = _rendered.release(args.urn, args.name, props)
    judged = _rendered.judge_objects(meta, fn, rendered.objects, config,
                                     node_agents=RULE_CONFIGS.get("k8s-namespace-pod-security"))
    for subject, what in judged.violations:
        report_violation(message(f"{subject}: {what}", meta.fix), None)
    if judged.suppressed:  # listed on the Release, naming the rendered object they waive
        args.not_applicable(_suppressed_reason((args.urn, f"{subject}: {reason}") for subject, reason in judged.suppressed))
    if judged.not_applicable:
        args.not_applicable("; ".join(f"{subject}: {reason}" for subject, reason in judged.not_applicable))


def stack_rule(id: str, *, types: Sequence[str], description: str, severity: str, fix: str,
               rows: Sequence[str] = (), anchors: Sequence[str] = (), category: str = "security",
               config: Mapping[str, Mapping[str, Any]] | None = None):
    """Register a rule over the whole stack (joins between resources). Yields ``(urn, what)``."""
    def wrap(fn: Callable[[list[Res], Context], Iterable[tuple[str, str]]]):
        meta = _meta(id, description, severity, category, rows, anchors, fix, types, "stack")
        wanted = frozenset(types)

        def validate(args, report_violation):
            resources = [_res(r) for r in args.resources]
            ctx = Context(config=dict(args.get_config() or {}))
            declared = {r.urn: s[id] for r in resources if r.type in wanted
                        for s in (suppressions(r.type, r.props),) if id in s}
            problems = {urn: suppression_problem(meta, reason) for urn, reason in declared.items()}
            applied: dict[str, str] = {}
            for urn, what in fn(resources, ctx):
                if urn in declared and problems[urn] is None:
                    applied[urn] = declared[urn].strip()
                    continue
                report_violation(message(what, fix), urn)
            for urn, problem in problems.items():
                if problem is not None:
                    report_violation(message(problem, fix), urn)
            if applied:  # after every report: the engine keeps the violations reported before it
                args.not_applicable(_suppressed_reason(applied.items()))

        return _register(StackValidationPolicy, meta, fn, validate, config)
    return wrap


def _res(r: Any) -> Res:
    return Res(
        type=r.resource_type, urn=r.urn, name=r.name, props=plain(r.props),
        protect=bool(r.opts.protect) if r.opts else False,
        parent=r.parent.urn if r.parent is not None else None,
        dependencies=[d.urn for d in r.dependencies],
        property_dependencies={k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
        secrets=secret_paths(r.props),
    )


def by_type(resources: Iterable[Res], *types: str) -> list[Res]:
    return [r for r in resources if r.type in types]


def related(companion: Res, targets: Iterable[Res], prop: str, *target_keys: str) -> list[Res]:
    """Targets a companion resource points at through ``prop``: by property dependency (works in
    preview, when ids are unknown) or by equal known value (a deployed stack's export)."""
    value = companion.props.get(prop)
    found = []
    for t in targets:
        if t.urn in companion.property_dependencies.get(prop, []):
            found.append(t)
        elif isinstance(value, str) and any(
                isinstance(t.props.get(k), str) and t.props.get(k) == value for k in target_keys):
            found.append(t)
    return found
