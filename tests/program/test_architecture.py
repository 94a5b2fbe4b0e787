"""The README's architecture picture (a Mermaid block, its own source) against the plans: every
`Kind/name` it names exists in the staging or production plan, every Release those plans install
is in it, and the block parses as the simple flowchart subset it is written in."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import inputs

README = Path(__file__).resolve().parents[2] / "README.md"
REFERENCE = re.compile(r"\b([A-Z][A-Za-z]+)/([a-z0-9][a-z0-9.-]*[a-z0-9])")
NODE = re.compile(r'^\s*([a-z][a-z0-9_]*)(\(\[|\[\(|\[)"([^"]*)"(\]\)|\)\]|\])(:::[a-z]+)?\s*$')
EDGE = re.compile(r'^\s*([a-z][a-z0-9_]*)\s+(-->|-\.->)(\|"[^"]*"\|)?\s+([a-z][a-z0-9_]*)\s*$')


def _diagram() -> list[str]:
    section = README.read_text().split("<!-- BEGIN architecture", 1)[1].split("<!-- END architecture -->", 1)[0]
    return section.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()


def _names(plan_of) -> set[tuple[str, str]]:
    """(Kind, name) of every resource: Releases by release name, Kubernetes objects by metadata.name,
    AWS resources by logical name."""
    found = set()
    for stack in ("staging", "production"):
        for r in plan_of(stack).resources:
            kind, props = r.type.rsplit(":", 1)[-1], inputs(r)
            found.add((kind, r.name))
            found.add((kind, str(props.get("name") or "")) if kind == "Release" else
                      (kind, str((props.get("metadata") or {}).get("name") or "")))
    return found


def _references() -> set[tuple[str, str]]:
    return {m.groups() for line in _diagram() for m in REFERENCE.finditer(line)}


def test_the_block_is_a_flowchart_of_declared_nodes():
    lines = [line for line in _diagram() if line.strip()]
    assert lines[0] == "flowchart LR", lines[0]
    nodes, edges, depth = set(), [], 0
    for line in lines[1:]:
        if line.strip().startswith("subgraph "):
            depth += 1
        elif line.strip() == "end":
            depth -= 1
        elif (node := NODE.match(line)) is not None:
            nodes.add(node.group(1))
        elif (edge := EDGE.match(line)) is not None:
            edges.append((edge.group(1), edge.group(4)))
        else:
            assert line.strip().startswith("classDef "), f"not in the flowchart subset this picture uses: {line!r}"
        assert depth >= 0, line
    assert depth == 0 and edges, "unbalanced subgraph/end or no edges"
    assert all(a in nodes and b in nodes for a, b in edges), [e for e in edges if not set(e) <= nodes]


def test_every_box_but_the_outside_world_names_what_the_plan_creates():
    unnamed = [n.group(1) for line in _diagram() if (n := NODE.match(line)) and n.group(5) != ":::external"
               and not REFERENCE.search(n.group(3))]
    assert unnamed == [], f"boxes naming nothing the plan creates: {unnamed}"


def test_every_name_in_the_picture_is_in_the_plans(plan_of):
    missing = sorted(_references() - _names(plan_of))
    assert missing == [], f"the picture names what no plan creates: {missing}"


def test_every_release_of_the_plans_is_in_the_picture(plan_of):
    releases = {("Release", str(inputs(r)["name"])) for s in ("staging", "production")
                for r in plan_of(s).resources if r.type == "kubernetes:helm.sh/v3:Release"}
    assert releases and sorted(releases - _references()) == [], "Releases missing from the README picture"
