"""The reaper's selection: a pure function over a listing of stacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tools.delivery.ephemeral import Decision, StackInfo, github_pr_closed, select_for_reaping

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def decide(*stacks: StackInfo, closed: dict[int, bool] | None = None) -> dict[str, Decision]:
    return {d.stack: d for d in select_for_reaping(stacks, now=NOW, pr_closed=closed or {}, ttl_hours=72)}


def test_expired_stack_is_reaped() -> None:
    d = decide(StackInfo("pr-1", {"expires-at": "2026-11-22T11:59:59Z"}))["pr-1"]
    assert d.reap and "expired" in d.reason


def test_fresh_stack_is_kept() -> None:
    d = decide(StackInfo("pr-2", {"expires-at": "2026-11-23T12:00:00Z"}))["pr-2"]
    assert not d.reap and "in 24 h" in d.reason


def test_closed_pr_is_reaped_even_before_expiry() -> None:
    d = decide(StackInfo("pr-3", {"expires-at": "2026-11-25T12:00:00Z"}), closed={3: True})["pr-3"]
    assert d.reap and "closed" in d.reason


def test_open_pr_with_unknown_state_judged_by_expiry() -> None:
    decisions = decide(StackInfo("pr-4", {"expires-at": "2026-11-25T12:00:00Z"}), closed={4: False})
    assert not decisions["pr-4"].reap


def test_malformed_tag_on_a_recently_updated_stack_is_kept_with_the_reason() -> None:
    d = decide(StackInfo("pr-5", {"expires-at": "next tuesday"}, last_update=NOW - timedelta(hours=1)))["pr-5"]
    assert not d.reap and "malformed expires-at" in d.reason and "next tuesday" in d.reason


def test_malformed_or_missing_tag_falls_back_to_last_update_plus_ttl() -> None:
    old = NOW - timedelta(hours=73)
    decisions = decide(StackInfo("pr-6", {"expires-at": "2026-13-45"}, last_update=old),
                       StackInfo("pr-7", {}, last_update=old))
    assert decisions["pr-6"].reap and decisions["pr-7"].reap
    assert "no expires-at tag" in decisions["pr-7"].reason


def test_long_lived_stacks_are_never_considered() -> None:
    expired = {"expires-at": "2000-01-01T00:00:00Z"}
    decisions = decide(StackInfo("staging", expired), StackInfo("production", expired),
                       StackInfo("pr-x", expired), StackInfo("org/platform/pr-8", expired))
    assert set(decisions) == {"pr-8"}, decisions


def test_update_in_progress_is_left_alone() -> None:
    d = decide(StackInfo("pr-9", {"expires-at": "2000-01-01T00:00:00Z"}, update_in_progress=True))["pr-9"]
    assert not d.reap


def test_closed_pr_detection_via_injected_github_api() -> None:
    seen: list[tuple[str, dict]] = []

    def fetch(url: str, headers: dict) -> dict:
        seen.append((url, headers))
        if url.endswith("/3"):
            raise OSError("rate limited")
        return {"state": "closed" if url.endswith("/1") else "open"}

    states = github_pr_closed([1, 2, 3], repository="acme/platform", token="t0ken", fetch=fetch)
    assert states == {1: True, 2: False}, "PR 3's state is unknown, so it is left out"
    assert seen[0][0] == "https://api.github.com/repos/acme/platform/pulls/1"
    assert seen[0][1]["Authorization"] == "Bearer t0ken"


def test_without_a_repository_closed_pr_detection_is_off() -> None:
    assert github_pr_closed([1], repository=None, token=None, fetch=lambda u, h: {"state": "closed"}) == {}


def test_listing_shows_pr_age_and_expiry() -> None:
    from tools.delivery.ephemeral import render_listing

    text = render_listing([StackInfo("pr-12", {"created-at": "2026-11-21T12:00:00Z",
                                               "expires-at": "2026-11-22T11:00:00Z"}),
                           StackInfo("pr-3", {"expires-at": "2026-11-24T12:00:00Z"},
                                     last_update=NOW - timedelta(hours=5))], NOW)
    lines = text.splitlines()
    assert lines[0].split() == ["STACK", "PR", "AGE", "EXPIRES-AT", "STATUS"]
    assert lines[1].split() == ["pr-3", "3", "5", "h", "2026-11-24T12:00:00Z", "active"]
    assert lines[2].split() == ["pr-12", "12", "24", "h", "2026-11-22T11:00:00Z", "expired"]
