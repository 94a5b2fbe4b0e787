"""The release keys: config.py accepts exactly what `tools release` writes, and rejects the rest."""

from __future__ import annotations

import pytest

import config
from tools.delivery import release
from tools.offline import facts

DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:" + "ab" * 32
NEXT = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:" + "cd" * 32


def _raw(stack: str) -> dict[str, str]:
    return dict(facts.engine_config(stack, reproducible=True).config)


def _problems(raw: dict[str, str], stack: str) -> list[str]:
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw, stack=stack)
    return err.value.problems


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_what_release_prepare_and_promote_write_parses(stack: str) -> None:
    raw = _raw(stack) | {release.IMAGE_KEYS["blue"]: DIGEST}
    steps = release.profile_steps(stack)
    assert steps == config.PROFILES[facts.environment_of(stack)].release.steps
    release.run("prepare", raw, image=NEXT)
    for step in steps:
        state, _ = release.run("promote", raw, default_steps=steps)
        assert state.weights["green"] == step, (stack, step, state)
        parsed = config.parse(raw, stack=stack).release
        assert (parsed.active, parsed.weights) == (state.active, state.weights), (stack, step)
    assert parsed.active == "green" and {t.name: t.image for t in parsed.tracks} == {"blue": DIGEST, "green": NEXT}


@pytest.mark.parametrize(("key", "value", "expected"), [
    (release.KEY_ACTIVE, "purple", "blue or green"),
    (release.KEY_WEIGHT, "100", "an integer from 0 to 99"),
    (release.IMAGE_KEYS["green"], "registry.example/app:latest", "<registry>/<repository>@sha256"),
    (release.IMAGE_KEYS["green"], "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app:3f2c1a9", "by digest"),
    (release.KEY_STEPS, "[50, 10, 100]", "ending at 100"),
    (release.KEY_STEPS, "[10, 50]", "ending at 100"),
])
def test_bad_release_state_names_the_key(key: str, value: str, expected: str) -> None:
    problems = _problems(_raw("staging") | {key: value}, "staging")
    assert any(key in p and expected in p for p in problems), problems


def test_ephemeral_runs_one_track_and_refuses_a_second() -> None:
    assert [t.name for t in config.parse(_raw("pr-7"), stack="pr-7").release.tracks] == ["blue"]
    problems = _problems(_raw("pr-7") | {release.KEY_WEIGHT: "10"}, "pr-7")
    assert any(release.KEY_WEIGHT in p and "one app track" in p for p in problems), problems


@pytest.mark.parametrize(("env", "idle"), [("staging", 1), ("production", 3)])
def test_idle_track_replicas_follow_the_profile(env: str, idle: int) -> None:
    tracks = {t.name: t for t in config.parse(_raw(env), stack=env).release.tracks}
    assert (tracks["blue"].replicas, tracks["blue"].weight) == (config.PROFILES[env].app.replicas, 100), tracks
    assert (tracks["green"].replicas, tracks["green"].weight) == (idle, 0), tracks
