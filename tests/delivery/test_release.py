"""Blue/green: weight steps, the release state machine over stack config, rollback decisions, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools.delivery import release
from tools.delivery.release import ReleaseError, ReleaseState

ROOT = Path(__file__).resolve().parents[2]
OLD = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:" + "a" * 64
NEW = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:" + "b" * 64
STABLE_BLUE = ReleaseState(active="blue", candidate_weight=0, images={"blue": OLD})


@pytest.mark.parametrize(("weight", "steps", "expected"), [
    (0, (10, 50, 100), {"blue": 90, "green": 10}),
    (10, (10, 50, 100), {"blue": 50, "green": 50}),
    (50, (10, 50, 100), {"blue": 0, "green": 100}),
    (0, (100,), {"blue": 0, "green": 100}),
    (25, (10, 50, 100), {"blue": 50, "green": 50}),
])
def test_next_weights_moves_to_the_first_step_above(weight, steps, expected):
    state = ReleaseState(active="blue", candidate_weight=weight, images={"blue": OLD, "green": NEW})
    assert release.next_weights(state, steps) == expected


@pytest.mark.parametrize("steps", [(), (10, 50), (50, 10, 100), (0, 100), (10, 10, 100), (10, 150)])
def test_bad_step_plans_are_refused(steps):
    with pytest.raises(ReleaseError, match="ending at 100"):
        release.validate_steps(steps)


def test_a_full_release_flips_the_active_track_and_keeps_the_old_one_warm():
    state = release.prepare(STABLE_BLUE, NEW)
    assert state.weights == {"blue": 100, "green": 0} and state.images["green"] == NEW
    seen = []
    for _ in range(3):
        state = release.promote(state, (10, 50, 100))
        seen.append(state.weights)
    assert seen == [{"blue": 90, "green": 10}, {"blue": 50, "green": 50}, {"green": 100, "blue": 0}]
    assert state.active == "green" and state.phase == "stable" and state.images["blue"] == OLD


def test_rollback_mid_release_moves_all_traffic_back():
    shifting = release.promote(release.prepare(STABLE_BLUE, NEW), (10, 50, 100))
    back = release.rollback(shifting)
    assert back.active == "blue" and back.weights == {"blue": 100, "green": 0}


def test_rollback_after_a_release_returns_to_the_warm_previous_track():
    done = ReleaseState(active="green", candidate_weight=0, images={"blue": OLD, "green": NEW})
    assert release.rollback(done).active == "blue"
    with pytest.raises(ReleaseError, match="nothing to roll back to"):
        release.rollback(STABLE_BLUE)


@pytest.mark.parametrize(("state", "image", "message"), [
    (ReleaseState(active="blue", candidate_weight=10, images={"blue": OLD, "green": NEW}), NEW, "in progress"),
    (STABLE_BLUE, OLD, "already live"),
    (STABLE_BLUE, "latest", "expected <registry>"),
])
def test_prepare_refuses(state, image, message):
    with pytest.raises(ReleaseError, match=message):
        release.prepare(state, image)


def test_promote_needs_an_image_on_the_idle_track():
    with pytest.raises(ReleaseError, match="release prepare"):
        release.promote(STABLE_BLUE, (10, 50, 100))


@pytest.mark.parametrize(("smoke", "alert", "elapsed", "expected"), [
    (False, False, 0, "rollback"),
    (True, True, 14, "rollback"),
    (False, False, 30, "rollback"),   # a failed smoke check is never "done"
    (True, False, 5, "wait"),
    (True, False, 15, "done"),
])
def test_rollback_decision(smoke, alert, elapsed, expected):
    assert release.decide(smoke_passed=smoke, alert_firing=alert, elapsed_minutes=elapsed,
                          window_minutes=15) == expected


def test_run_writes_only_the_changed_keys_to_stack_config():
    config = {"platform:environment": "staging", release.KEY_ACTIVE: "blue", release.IMAGE_KEYS["blue"]: OLD}
    _, changed = release.run("prepare", config, image=NEW)
    assert changed == {release.KEY_WEIGHT: "0", release.IMAGE_KEYS["green"]: NEW}
    state, changed = release.run("promote", config)
    assert changed == {release.KEY_WEIGHT: "10"} and state.weights == {"blue": 90, "green": 10}


@pytest.mark.parametrize(("key", "value"), [(release.KEY_ACTIVE, "purple"), (release.KEY_WEIGHT, "half"),
                                             (release.KEY_WEIGHT, "100"), (release.KEY_STEPS, "[50, 10]")])
def test_bad_release_config_names_the_key(key, value):
    config = {release.IMAGE_KEYS["blue"]: OLD, release.IMAGE_KEYS["green"]: NEW, key: value}
    with pytest.raises(ReleaseError) as caught:
        release.run("promote", config)
    assert key in str(caught.value), caught.value


@pytest.mark.parametrize("argv", [["status", "--stack", "staging"], ["promote", "--stack", "staging"],
                                  ["rollback", "--stack", "production"],
                                  ["prepare", "--stack", "staging", "--image", NEW]])
def test_without_the_cli_exit_2_and_how_to_install(argv, tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty directory: no pulumi on PATH
    proc = subprocess.run([sys.executable, "-m", "tools", "release", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"release {argv[0]}" in proc.stderr and "get.pulumi.com" in proc.stderr and "Traceback" not in proc.stderr


def test_decide_cli_prints_a_github_output_line(capsys):
    assert release.main(["decide", "--smoke", "pass", "--alert", "firing", "--elapsed-minutes", "3",
                         "--window-minutes", "15"]) == 0
    assert capsys.readouterr().out == "decision=rollback\n"
