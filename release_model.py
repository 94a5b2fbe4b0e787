"""The blue/green release state: its stack-config keys and rules, shared by ``config.py`` (the
program reads the state) and ``tools/delivery/release.py`` (the workflow writes it), so the two
can never disagree. Pure: no Pulumi import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

TRACKS = ("blue", "green")
PROJECT_PREFIX = "platform:"
KEY_ACTIVE = "platform:release.activeTrack"
KEY_WEIGHT = "platform:release.candidateWeight"
KEY_STEPS = "platform:release.steps"
IMAGE_KEYS = {track: f"platform:release.{track}Image" for track in TRACKS}
TRACK_LABEL = "platform.example.com/track"
TRACK_HEADER = "x-platform-track"
"""The request header the HTTPRoute matches to send a request to one track only (the smoke check)."""
DIGEST_REF = re.compile(r"[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}")
TAG_REF = re.compile(r"[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
"""A tag as ``platform:imageTag`` allows it (never ``latest``: checked by ``image_problem``)."""


class ReleaseError(Exception):
    """A release state or a request that cannot be: one line saying which and how to fix it."""


def other(track: str) -> str:
    return TRACKS[1 - TRACKS.index(track)]


def config_name(key: str) -> str:
    """``platform:release.activeTrack`` -> ``release.activeTrack`` (config.py's key names)."""
    return key.removeprefix(PROJECT_PREFIX)


def image_problem(image: str, *, digest_only: bool) -> str | None:
    """None when ``image`` is a pinned reference, else what is allowed."""
    if DIGEST_REF.fullmatch(image):
        return None
    if not digest_only and TAG_REF.fullmatch(image) and not image.endswith(":latest"):
        return None
    return ("an image by digest, <registry>/<repository>@sha256:<64 hex>" if digest_only else
            "<registry>/<repository>@sha256:<64 hex> or <registry>/<repository>:<immutable tag> (not latest)")


@dataclass(frozen=True)
class ReleaseState:
    active: str
    candidate_weight: int
    images: Mapping[str, str]

    def __post_init__(self) -> None:
        if self.active not in TRACKS:
            raise ReleaseError(f"{KEY_ACTIVE} = {self.active!r}: expected blue or green")
        if not 0 <= self.candidate_weight <= 99:
            raise ReleaseError(f"{KEY_WEIGHT} = {self.candidate_weight}: expected 0..99 (100 makes the idle "
                               f"track active: set {KEY_ACTIVE} instead)")

    @property
    def idle(self) -> str:
        return other(self.active)

    @property
    def weights(self) -> dict[str, int]:
        """What the HTTPRoute gets, per track."""
        return {self.active: 100 - self.candidate_weight, self.idle: self.candidate_weight}

    @property
    def phase(self) -> Literal["stable", "shifting"]:
        return "shifting" if self.candidate_weight else "stable"


def validate_steps(steps: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(s) for s in steps)
    if not out or out[-1] != 100 or any(not 0 < s <= 100 for s in out) or list(out) != sorted(set(out)):
        raise ReleaseError(f"release steps {list(steps)}: expected strictly increasing percentages ending at 100, "
                           "e.g. [10, 50, 100]")
    return out
