"""URNs as the Pulumi engine builds them: a resource's own URN, its alias URNs, and one stable
order of a resource graph.

Alias URNs follow the engine's step generator (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``,
``generateAliases`` / ``collapseAliasToUrn`` / ``inheritedChildAlias``): an alias spec fills every
part it leaves out from the resource itself, a child inherits one alias per alias of its parent, and
a child named ``<parent>-x`` is aliased as ``<parent alias name>-x`` under it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

ROOT_STACK = "pulumi:pulumi:Stack"


def create_urn(name: str, type_: str, parent: str, project: str, stack: str) -> str:
    """The engine's URN (``resource.NewURN``): the parent's whole type chain, the root stack's
    type left out, before the resource's own type."""
    parent_type = qualified_type(parent) if parent else ""
    typ = f"{parent_type}${type_}" if parent_type and parent_type != ROOT_STACK else type_
    return f"urn:pulumi:{stack}::{project}::{typ}::{name}"


def parts(urn: str) -> tuple[str, str, str, str]:
    """``(stack, project, qualified type, name)`` of a URN."""
    _, _, rest = urn.partition("urn:pulumi:")
    stack, project, typ, name = rest.split("::", 3)
    return stack, project, typ, name


def qualified_type(urn: str) -> str:
    return parts(urn)[2]


def name_of(urn: str) -> str:
    return parts(urn)[3]


def alias_urns(*, name: str, type_: str, parent: str, project: str, stack: str,
               specs: Sequence[Mapping[str, Any]], parent_aliases: Sequence[str]) -> list[str]:
    """The alias URNs the engine matches against the old state for one registration.

    ``specs``: the request's aliases, each ``{"urn": ...}`` or a spec with any of ``name``,
    ``type``, ``stack``, ``project``, ``parentUrn``, ``noParent``.
    """
    out: list[str] = []

    def add(urn: str) -> None:
        if urn not in out:
            out.append(urn)

    def collapse(spec: Mapping[str, Any]) -> str:
        if spec.get("urn"):
            return str(spec["urn"])
        p = "" if spec.get("noParent") else (spec.get("parentUrn") or parent)
        return create_urn(spec.get("name") or name, spec.get("type") or type_, p,
                          spec.get("project") or project, spec.get("stack") or stack)

    own = [collapse(s) for s in specs]
    for urn in own:
        add(urn)
    if parent:
        parent_name = name_of(parent)
        for palias in parent_aliases:
            add(_inherited(type_, name, parent_name, palias))
            for urn in own:
                add(_inherited(qualified_type(urn).rsplit("$", 1)[-1], name_of(urn), parent_name, palias))
    return out


def _inherited(child_type: str, child_name: str, parent_name: str, parent_alias: str) -> str:
    alias_name = child_name
    if child_name.startswith(parent_name):
        alias_name = name_of(parent_alias) + child_name[len(parent_name):]
    stack, project, _, _ = parts(parent_alias)
    return create_urn(alias_name, child_type, parent_alias, project, stack)


T = TypeVar("T")


def by_dependency(items: Iterable[T], edges: Callable[[T], Iterable[str]], urn: Callable[[T], str]) -> list[T]:
    """Topological order (everything a resource depends on comes first), ties broken by URN.

    The SDK registers resources as their inputs resolve, which varies run to run; this order
    depends only on the graph, so two plans of one commit list resources identically.
    """
    nodes = {urn(i): i for i in items}
    waiting: dict[str, set[str]] = {u: {e for e in edges(i) if e in nodes and e != u} for u, i in nodes.items()}
    users: dict[str, list[str]] = {u: [] for u in nodes}
    for u, deps in waiting.items():
        for d in deps:
            users[d].append(u)
    ready = [u for u, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    out: list[T] = []
    while ready:
        u = heapq.heappop(ready)
        out.append(nodes[u])
        for v in users[u]:
            waiting[v].discard(u)
            if not waiting[v]:
                heapq.heappush(ready, v)
    placed = {urn(i) for i in out}
    out += [nodes[u] for u in sorted(nodes) if u not in placed]  # a cycle cannot happen; never drop one
    return out


def graph_edges(parent: str, dependencies: Iterable[str], provider: str,
                property_dependencies: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """Every URN a resource waits for: parent, dependencies, property dependencies, provider."""
    out = [parent, *dependencies]
    for deps in (property_dependencies or {}).values():
        out += list(deps)
    if provider:
        out.append(provider.rsplit("::", 1)[0])
    return [u for u in out if u]
