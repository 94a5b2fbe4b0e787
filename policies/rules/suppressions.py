"""Suppressions must name a rule that exists: a typo in the key would otherwise waive nothing
and hide the intent, silently (the same reason unknown config keys are errors)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ._core import REGISTRY, Context, Res, stack_rule, suppressions


@stack_rule(
    "policy-suppression-names-a-rule", types=(), severity="medium",
    description="Every policy suppression annotation/tag names an existing rule of this pack.",
    fix="correct the rule id after `policy.platform.example.com/suppress.` (see docs/POLICIES.md), or remove it",
)
def suppression_names_a_rule(resources: list[Res], ctx: Context) -> Iterable[tuple[str, str]]:
    known = {m.id for m in REGISTRY}
    for r in resources:
        for rule in suppressions(r.type, r.props):
            if rule not in known:
                close = difflib.get_close_matches(rule, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                yield r.urn, f"suppression names rule '{rule}', which this pack does not have{hint}"
