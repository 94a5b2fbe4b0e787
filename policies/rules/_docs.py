"""Reading IAM-style JSON policy documents (IAM, S3 bucket, ECR repository and KMS key policies)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from ._core import as_list, is_unknown, parse_json, unknown_msg


def statements(document: Any) -> Iterator[dict[str, Any]]:
    doc = parse_json(document)
    if not isinstance(doc, dict):
        return
    for st in as_list(doc.get("Statement")):
        if isinstance(st, dict):
            yield st


def allows(st: dict[str, Any]) -> bool:
    return st.get("Effect", "Allow") == "Allow"


def actions(st: dict[str, Any]) -> list[str]:
    return [a for a in as_list(st.get("Action")) if isinstance(a, str)]


def resources(st: dict[str, Any]) -> list[str]:
    return [r for r in as_list(st.get("Resource")) if isinstance(r, str)]


def principals(st: dict[str, Any]) -> list[str]:
    """Every principal value ("*" included), whatever the principal kind."""
    p = st.get("Principal")
    if isinstance(p, str):
        return [p]
    if isinstance(p, dict):
        return [v for values in p.values() for v in as_list(values) if isinstance(v, str)]
    return []


def public_principal(st: dict[str, Any]) -> bool:
    """Allows anyone: Principal "*" / {"AWS": "*"} with no Condition narrowing it."""
    return allows(st) and "*" in principals(st) and not st.get("Condition")


def action_matches(action: str, pattern: str) -> bool:
    """Whether a statement action (which may itself hold wildcards) grants ``pattern``."""
    return fnmatch.fnmatchcase(pattern.lower(), action.lower()) or fnmatch.fnmatchcase(
        action.lower(), pattern.lower())


def document_state(document: Any) -> str:
    """"unknown" (preview), "absent", "invalid" or "ok"."""
    if is_unknown(document):
        return "unknown"
    if document in (None, ""):
        return "absent"
    return "ok" if isinstance(parse_json(document), dict) else "invalid"


def public_statements(document: Any, invalid: str | None = None) -> Iterator[str]:
    """The ``policy`` property's statements open to anyone; an unknown document is a violation
    naming it, and an unparsable one is reported as ``invalid`` when the rule gives that message."""
    state = document_state(document)
    if state == "unknown":
        yield unknown_msg("policy")
    elif state == "invalid" and invalid is not None:
        yield invalid
    for st in statements(document):
        if public_principal(st):
            yield f"statement '{st.get('Sid', '?')}' allows Principal '*' with no condition"
