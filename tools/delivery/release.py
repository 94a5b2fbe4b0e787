"""``python -m tools release status|prepare|promote|rollback|decide``: blue/green releases.

The application runs as two tracks, ``blue`` and ``green``, behind one HTTPRoute with weights.
The stack config holds the whole release state, so the workflow, a human and the offline plan
all read the same thing:

- ``platform:release.activeTrack`` - ``blue`` | ``green``: the track serving users when stable;
- ``platform:release.candidateWeight`` - 0..100: the share of traffic on the other (idle)
  track; 0 when stable, so the HTTPRoute's weights are ``{active: 100 - w, idle: w}``;
- ``platform:release.blueImage`` / ``platform:release.greenImage`` - what each track runs
  (``<repository>@sha256:<digest>``);
- ``platform:release.steps`` (optional) - the candidate's traffic share per step, e.g. ``[10, 50, 100]``.

A release: ``prepare --image REF`` (the idle track gets the new image, still 0 % traffic) ->
``pulumi up`` -> smoke check through the idle track's header route -> ``promote`` per step (each
followed by ``pulumi up`` and a watch of the error-rate alert) -> at 100 % the idle track
becomes the active one, and the old track stays warm with the previous image for ``rollback``.
``decide`` turns (smoke result, alert firing, window elapsed) into rollback | wait | done.

The commands that touch a stack drive its config through the Automation API (they need the
Pulumi CLI; without it: exit 2 and how to install it). Exit codes: 0 ok, 1 a failed Pulumi
operation, 2 bad input or usage.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from release_model import (  # noqa: F401 - one source of truth with config.py; re-exported for callers
    IMAGE_KEYS,
    KEY_ACTIVE,
    KEY_STEPS,
    KEY_WEIGHT,
    TRACKS,
    ReleaseError,
    ReleaseState,
    image_problem,
    other,
    validate_steps,
)
from tools import cli
from tools.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ROOT, UsageError

DEFAULT_STEPS = (10, 50, 100)
PULUMI_INSTALL = ("the Pulumi CLI is not installed (no `pulumi` on PATH); `release {command}` drives the stack's "
                  "config through the Automation API.\n"
                  "Install it with:  curl -fsSL https://get.pulumi.com | sh   (see https://www.pulumi.com/docs/install/)\n"
                  "`python -m tools release decide` and `python -m tools plan` work without it.")

Decision = Literal["rollback", "wait", "done"]


def next_weights(state: ReleaseState, steps: Sequence[int]) -> dict[str, int]:
    """The weights after the next step: the candidate's share moves to the first step above it."""
    steps = validate_steps(steps)
    share = next(s for s in steps if s > state.candidate_weight)
    return {state.active: 100 - share, state.idle: share}


def prepare(state: ReleaseState, image: str) -> ReleaseState:
    """The idle track gets ``image``; traffic does not move."""
    problem = image_problem(image, digest_only=False)
    if problem:
        raise ReleaseError(f"--image {image!r}: expected {problem}")
    if state.phase != "stable":
        raise ReleaseError(f"a release is in progress ({state.idle} has {state.candidate_weight} %): "
                           "finish it with `promote` or undo it with `rollback` first")
    if state.images.get(state.active) == image:
        raise ReleaseError(f"{image} is already live on the active track {state.active}")
    return replace(state, images={**state.images, state.idle: image})


def promote(state: ReleaseState, steps: Sequence[int]) -> ReleaseState:
    """One step; at 100 % the candidate becomes the active track (the old one stays warm)."""
    if not state.images.get(state.idle):
        raise ReleaseError(f"the idle track {state.idle} has no image: run `release prepare --image REF` first")
    weights = next_weights(state, steps)
    if weights[state.idle] == 100:
        return replace(state, active=state.idle, candidate_weight=0)
    return replace(state, candidate_weight=weights[state.idle])


def rollback(state: ReleaseState) -> ReleaseState:
    """Mid-release: all traffic back on the active track. Stable: back to the warm previous track."""
    if state.phase == "shifting":
        return replace(state, candidate_weight=0)
    if not state.images.get(state.idle):
        raise ReleaseError(f"nothing to roll back to: the idle track {state.idle} has no image")
    return replace(state, active=state.idle)


def decide(*, smoke_passed: bool, alert_firing: bool, elapsed_minutes: float, window_minutes: float) -> Decision:
    """Rollback on a failed smoke check or a firing error-rate alert, whatever the time; otherwise
    wait until the window has elapsed with neither."""
    if not smoke_passed or alert_firing:
        return "rollback"
    return "done" if elapsed_minutes >= window_minutes else "wait"


# ------------------------------------------------------------------------------------------
# Stack config <-> state
# ------------------------------------------------------------------------------------------


def read_state(config: Mapping[str, str]) -> ReleaseState:
    """From engine-shaped config (strings); a stack that never released is blue, stable."""
    raw_weight = config.get(KEY_WEIGHT, "0")
    try:
        weight = int(raw_weight)
    except ValueError:
        raise ReleaseError(f"{KEY_WEIGHT} = {raw_weight!r}: expected a whole number 0..99") from None
    images = {t: config[k] for t, k in IMAGE_KEYS.items() if config.get(k)}
    return ReleaseState(active=config.get(KEY_ACTIVE, "blue"), candidate_weight=weight, images=images)


def steps_of(config: Mapping[str, str], default: Sequence[int] = DEFAULT_STEPS) -> tuple[int, ...]:
    """``platform:release.steps``, else ``default`` (the stack's profile: ``profile_steps``)."""
    raw = config.get(KEY_STEPS)
    if raw is None:
        return tuple(default)
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise ReleaseError(f"{KEY_STEPS} = {raw!r}: expected a JSON list such as [10, 50, 100]") from None
    if not isinstance(parsed, list) or not all(isinstance(s, int) for s in parsed):
        raise ReleaseError(f"{KEY_STEPS} = {raw!r}: expected a list of whole percentages such as [10, 50, 100]")
    try:
        return validate_steps(parsed)
    except ReleaseError as exc:
        raise ReleaseError(f"{KEY_STEPS}: {exc}. Fix: pulumi config rm {KEY_STEPS} (default {list(default)}) "
                           "or set a list ending at 100") from None


def write_state(config: MutableMapping[str, str], state: ReleaseState) -> dict[str, str]:
    """The keys that change, applied to ``config``; returns them."""
    changed = {KEY_ACTIVE: state.active, KEY_WEIGHT: str(state.candidate_weight)}
    changed.update({IMAGE_KEYS[t]: image for t, image in state.images.items()})
    changed = {k: v for k, v in changed.items() if config.get(k) != v}
    config.update(changed)
    return changed


def describe(state: ReleaseState) -> dict[str, Any]:
    return {"activeTrack": state.active, "idleTrack": state.idle, "phase": state.phase, "weights": state.weights,
            "images": {t: state.images.get(t, "") for t in TRACKS}}


# ------------------------------------------------------------------------------------------
# The stack, through the Automation API
# ------------------------------------------------------------------------------------------


class StackConfig(MutableMapping[str, str]):
    """A stack's plain (non-secret) config, read once; writes go to the stack through the CLI."""

    def __init__(self, stack: Any):
        self._stack = stack
        self._values = {k: v.value for k, v in stack.get_all_config().items() if not v.secret}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __setitem__(self, key: str, value: str) -> None:
        from pulumi import automation as auto

        self._stack.set_config(key, auto.ConfigValue(value=value, secret=False))
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        self._stack.remove_config(key)
        del self._values[key]

    def __iter__(self):  # noqa: ANN204
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def open_stack(name: str, command: str, root: Path = ROOT) -> StackConfig:
    if shutil.which("pulumi") is None:
        raise UsageError(PULUMI_INSTALL.format(command=command))
    from pulumi import automation as auto

    return StackConfig(auto.select_stack(stack_name=name, work_dir=str(root)))


def profile_steps(stack: str) -> tuple[int, ...]:
    """The steps of the stack's environment profile (config.py's ``ReleaseProfile``)."""
    import config as platform_config
    from tools.offline.facts import environment_of

    env = environment_of(stack)
    if env not in platform_config.PROFILES:
        raise UsageError(f"stack {stack}: a {env} stack has no blue/green releases")
    return platform_config.PROFILES[env].release.steps  # type: ignore[index]


def run(command: str, config: MutableMapping[str, str], *, image: str | None = None,
        default_steps: Sequence[int] = DEFAULT_STEPS) -> tuple[ReleaseState, dict]:
    """Applies ``command`` to the stack's config; returns the new state and the keys written."""
    state = read_state(config)
    if command == "status":
        return state, {}
    if command == "prepare":
        new = prepare(state, image or "")
    elif command == "promote":
        new = promote(state, steps_of(config, default_steps))
    elif command == "rollback":
        new = rollback(state)
    else:
        raise UsageError(f"unknown release command {command!r}")
    return new, write_state(config, new)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m tools release", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (("status", "active track, weights and images"),
                        ("prepare", "put an image on the idle track (no traffic moves)"),
                        ("promote", "move traffic one step to the idle track; at 100 %% it becomes active"),
                        ("rollback", "all traffic back to the previous track")):
        cmd = sub.add_parser(name, help=help_)
        cmd.add_argument("--stack", required=True)
        cmd.add_argument("--json", action="store_true", help="print the state as JSON")
        if name == "prepare":
            cmd.add_argument("--image", required=True, help="<repository>@sha256:<digest>")
    d = sub.add_parser("decide", help="rollback | wait | done from the watch's observations (offline)")
    d.add_argument("--smoke", choices=("pass", "fail"), required=True)
    d.add_argument("--alert", choices=("firing", "quiet"), required=True)
    d.add_argument("--elapsed-minutes", type=float, required=True)
    d.add_argument("--window-minutes", type=float, required=True)
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.command == "decide":
        decision = decide(smoke_passed=args.smoke == "pass", alert_firing=args.alert == "firing",
                          elapsed_minutes=args.elapsed_minutes, window_minutes=args.window_minutes)
        print(f"decision={decision}")
        return EXIT_OK
    try:
        steps = profile_steps(args.stack)
        config = open_stack(args.stack, args.command)
        state, changed = run(args.command, config, image=getattr(args, "image", None), default_steps=steps)
    except ReleaseError as exc:
        print(f"error: stack {args.stack}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 (Automation API errors carry the CLI's output; no traceback)
        from pulumi import automation as auto

        if isinstance(exc, auto.CommandError | auto.StackNotFoundError | auto.ConcurrentUpdateError):
            print(f"error: stack {args.stack}: {str(exc).strip().splitlines()[-1]}", file=sys.stderr)
            return EXIT_FAILED
        raise
    if args.json:
        print(json.dumps(describe(state), sort_keys=True))
    else:
        w = state.weights
        print(f"{args.stack}: active {state.active}, {state.phase}; weights blue {w['blue']} % / green {w['green']} %")
        for track in TRACKS:
            print(f"  {track}: {state.images.get(track) or '(no image)'}")
        for key, value in changed.items():
            print(f"  set {key} = {value}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
