"""The app's first deploy: a track without a release image runs bootstrap's shared ``platform/app``
at ``platform:imageTag``, looked up with ``aws.ecr.get_image`` in ``platform:registryAccount`` and
run by digest. An image nobody pushed fails the plan (and the preview) with how to push it, never a
Deployment waiting on a pull that cannot succeed."""

from __future__ import annotations

import functools

import pulumi
import pytest
from helpers import environment_of, inputs, run

from bootstrap.components.permissions import SHARED_REPOSITORY_PREFIX
from components import registry
from tools import wire
from tools.offline import mockrun

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
BUILD_ACCOUNT = "123456789012"
"""Owns bootstrap's shared repositories (bootstrap/Pulumi.staging-eu-west-1.yaml: imageRepositories)."""


def _tracks(plan: mockrun.Plan) -> dict[str, str]:
    return {d.name: inputs(d)["spec"]["template"]["spec"]["containers"][0]["image"]
            for d in plan.by_type(DEPLOYMENT) if d.name.startswith("app-")}


def test_a_track_without_a_release_image_runs_the_looked_up_digest(plan: mockrun.Plan) -> None:
    tag = "pr-7" if plan.stack == "pr-7" else "0.1.0"
    digest = mockrun.image_digest(BUILD_ACCOUNT, "platform/app", tag)
    expected = f"{BUILD_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/platform/app@{digest}"
    tracks = _tracks(plan)
    assert tracks and set(tracks.values()) == {expected}, tracks
    assert wire.plain(plan.stack_outputs)["images"]["app"] == expected


def test_production_looks_up_the_build_accounts_repository(plan: mockrun.Plan) -> None:
    # Production's own account (210987654321) has no shared repositories: it names the build account.
    own = plan.get("aws:ecr/repository:Repository", "registry-backup").outputs["repositoryUrl"].split(".")[0]
    registries = {image.split(".")[0] for image in _tracks(plan).values()}
    assert registries == {BUILD_ACCOUNT}, (own, registries)
    assert (own != BUILD_ACCOUNT) == (environment_of(plan.stack) == "production"), own


@pytest.mark.parametrize("stack", ["staging", "production", "pr-7"])
def test_an_image_nobody_pushed_fails_the_plan_with_how_to_push_it(stack: str) -> None:
    tag = "pr-7" if stack == "pr-7" else "0.1.0"
    with pytest.raises(registry.MissingImageError) as caught:
        run(stack, missing_images=frozenset({f"platform/app:{tag}"}))
    assert isinstance(caught.value, pulumi.RunError), "a clean preview error, no traceback"
    message = str(caught.value)
    for part in (f"platform/app:{tag}", f"account {BUILD_ACCOUNT}", "ImageNotFoundException", registry.PUSH_SCRIPT,
                 "platform:imageTag", f"--stack {stack}"):
        assert part in message, f"{part!r} not in: {message}"


def test_once_every_track_runs_a_release_image_the_tag_need_not_exist() -> None:
    image = f"{BUILD_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/platform/app@sha256:{'a' * 64}"
    plan = run("staging", {"platform:release.blueImage": image, "platform:release.greenImage": image},
               missing_images=frozenset({"platform/app:0.1.0"}))
    assert set(_tracks(plan).values()) == {image}, _tracks(plan)


def test_the_lookup_is_in_the_account_the_config_names() -> None:
    plan = run("staging", {"platform:registryAccount": "555555555555"})
    digest = mockrun.image_digest("555555555555", "platform/app", "0.1.0")
    assert set(_tracks(plan).values()) == {f"555555555555.dkr.ecr.eu-west-1.amazonaws.com/platform/app@{digest}"}


def test_the_shared_prefix_is_the_one_bootstrap_creates() -> None:
    assert registry.SHARED_REPOSITORY_PREFIX == SHARED_REPOSITORY_PREFIX


def test_the_plan_command_refuses_a_missing_image_naming_it(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from tools.offline import plan as plan_cli
    program = mockrun.run_program
    monkeypatch.setattr(mockrun, "run_program", functools.partial(
        program, missing_images=frozenset({"platform/app:0.1.0"})))
    assert plan_cli.main(["staging", "--quiet", "--no-policy", "--no-render"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: 1 configuration problem(s):") and "platform/app:0.1.0" in err, err
    assert "Traceback" not in err, err
