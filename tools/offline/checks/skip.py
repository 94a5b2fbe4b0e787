"""A check that could not judge something says so, with the reason: never a silent pass."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Skip:
    check: str
    subject: str
    """``Obj.describe()`` of what was not judged."""
    reason: str

    def line(self) -> str:
        return f"[{self.check}] {self.subject}: skipped, {self.reason}"
