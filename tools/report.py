"""A policy verdict as data: ``Violation`` (what is wrong, and separately how to fix it),
``Suppression``, ``CheckResult`` with its JSON form, and the text table the commands print.

The pack sends a violation over the Analyzer protocol as one message, ``<description>\\n<what>.
Fix: <fix>`` (``policies/rules/_core.py`` writes it that way so the real ``pulumi preview`` shows
the fix); ``what_of`` is the one place that takes it apart again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tools.cli import UsageError

FIX_SEPARATOR = ". Fix: "
"""Between what is wrong and the fix in a rule's message; the pack's ``_core.FIX_SEPARATOR``."""
ENFORCEMENTS = ("advisory", "mandatory", "remediate", "disabled")


def what_of(message: str, *, description: str, fix: str) -> str:
    """The *what* of an analyzer diagnostic: its message without the policy description before
    it and without the fix the rule appended (the fix travels as the policy's remediation)."""
    what = message.removeprefix(description).strip()
    return what.removesuffix(f"{FIX_SEPARATOR}{fix}") if fix else what


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: str
    enforcement: str
    urn: str
    type: str
    name: str
    what: str
    """What is wrong, on this resource."""
    fix: str
    """How to fix it (the rule's remediation)."""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"


@dataclass(frozen=True)
class Suppression:
    """A violation a resource waived with a written reason (``policy.platform.example.com/suppress.<rule>``)."""

    rule: str
    enforcement: str
    urn: str
    type: str
    name: str
    reason: str


@dataclass
class CheckResult:
    environment: str
    violations: list[Violation] = field(default_factory=list)
    suppressed: list[Suppression] = field(default_factory=list)
    rules_run: int = 0
    resources: int = 0
    seconds: float = 0.0

    @property
    def mandatory(self) -> int:
        return sum(v.mandatory for v in self.violations)

    @property
    def advisory(self) -> int:
        return sum(v.enforcement == "advisory" for v in self.violations)

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "mandatory": self.mandatory,
                "advisory": self.advisory, "rulesRun": self.rules_run,
                "resources": self.resources, "seconds": round(self.seconds, 3),
                "violations": [asdict(v) for v in self.violations],
                "suppressed": [asdict(s) for s in self.suppressed]}

    @classmethod
    def from_json(cls, data: Any, source: str = "check result") -> CheckResult:
        """The inverse of ``to_json``. Strict: a missing or unknown key, a wrong type or counts
        that disagree with the violations raise ``UsageError`` naming the key."""
        _keys(data, set(_RESULT_TYPES), source)
        for key, types in _RESULT_TYPES.items():
            if not isinstance(data[key], types) or isinstance(data[key], bool):
                raise UsageError(f"{source}: {key!r} must be {_type_names(types)}, got {json.dumps(data[key])}")
        violations = [Violation(**_record(v, Violation, f"{source}: violations[{i}]"))
                      for i, v in enumerate(data["violations"])]
        suppressed = [Suppression(**_record(s, Suppression, f"{source}: suppressed[{i}]"))
                      for i, s in enumerate(data["suppressed"])]
        for i, v in enumerate(violations):
            if v.enforcement not in ENFORCEMENTS:
                raise UsageError(f"{source}: violations[{i}].enforcement is {v.enforcement!r}, "
                                 f"expected one of {', '.join(ENFORCEMENTS)}")
        result = cls(environment=data["environment"], violations=violations, suppressed=suppressed,
                     rules_run=data["rulesRun"], resources=data["resources"], seconds=float(data["seconds"]))
        for key, counted in (("mandatory", result.mandatory), ("advisory", result.advisory)):
            if data[key] != counted:
                raise UsageError(f"{source}: {key!r} is {data[key]} but {counted} violation(s) are {key}")
        return result

    @classmethod
    def read(cls, path: Path) -> CheckResult:
        """A file written by ``python -m tools check --json`` or ``plan --check-json``."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"{path}: not found") from None
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_json(data, str(path.name))

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")


_RESULT_TYPES: dict[str, type | tuple[type, ...]] = {
    "environment": str, "mandatory": int, "advisory": int, "rulesRun": int, "resources": int,
    "seconds": (int, float), "violations": list, "suppressed": list}


def _type_names(types: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list"}
    return " or ".join(names[t] for t in (types if isinstance(types, tuple) else (types,)))


def _keys(data: Any, expected: set[str], source: str) -> None:
    if not isinstance(data, dict):
        raise UsageError(f"{source}: expected an object with keys {', '.join(sorted(expected))}")
    missing, unknown = sorted(expected - set(data)), sorted(set(data) - expected)
    if missing:
        raise UsageError(f"{source}: missing key(s) {', '.join(map(repr, missing))}")
    if unknown:
        raise UsageError(f"{source}: unknown key(s) {', '.join(map(repr, unknown))} "
                         f"(expected: {', '.join(sorted(expected))})")


def _record(data: Any, kind: type, source: str) -> dict[str, str]:
    names = {f.name for f in fields(kind)}
    _keys(data, names, source)
    for name in sorted(names):
        if not isinstance(data[name], str):
            raise UsageError(f"{source}.{name} must be a string, got {json.dumps(data[name])}")
    return data


# --------------------------------------------------------------------------------------------
# Text output.
# --------------------------------------------------------------------------------------------


def table(header: tuple[str, ...], rows: list[tuple[tuple[str, ...], list[str]]]) -> list[str]:
    """Aligned columns; each row followed by its indented detail lines."""
    widths = [max(len(cells[i]) for cells in [header] + [r for r, _ in rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    for cells, details in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        lines += [f"    {d}" for d in details]
    return lines + [""]


def _resource(type_: str, name: str) -> str:
    return f"{type_.rsplit(':', 1)[-1] or 'stack'} {name}".strip()


def render(result: CheckResult) -> str:
    lines: list[str] = []
    if result.violations:
        lines += table(("ENFORCEMENT", "SEVERITY", "RULE", "RESOURCE"), [
            ((v.enforcement, v.severity, v.rule, _resource(v.type, v.name)),
             [f"what: {v.what}"] + ([f"fix:  {v.fix}"] if v.fix else []))
            for v in result.violations])
    if result.suppressed:
        lines.append(f"Suppressed ({len(result.suppressed)}): violations waived on the resource, with a written reason")
        lines += table(("ENFORCEMENT", "RULE", "RESOURCE"), [
            ((s.enforcement, s.rule, _resource(s.type, s.name)), [f"reason: {s.reason}"])
            for s in result.suppressed])
    verdict = "FAIL" if result.mandatory else "PASS"
    suppressed = f", {len(result.suppressed)} suppressed" if result.suppressed else ""
    lines.append(f"{verdict}: {result.mandatory} mandatory, {result.advisory} advisory violation(s){suppressed}; "
                 f"{result.rules_run} rules over {result.resources} resources "
                 f"({result.environment} policy config) in {result.seconds:.2f}s")
    return "\n".join(lines)
