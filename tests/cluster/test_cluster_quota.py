"""ResourceQuota and LimitRange fit: steady state, a post-install hook, a rolling-update surge."""

from __future__ import annotations

from cluster.export_objects import messages, release, resource


def quota(cpu: str) -> dict:
    return resource("ResourceQuota", "quota", "team", spec={"hard": {"limits.cpu": cpu, "limits.memory": "1Gi"}})


def limits(default_cpu: str) -> dict:
    return resource("LimitRange", "limits", "team", spec={"limits": [{"type": "Container",
                                                                       "default": {"cpu": default_cpu}}]})


def test_steady_state_hook_and_surge_fit(judge):
    # 2 x 200m + one 200m surge pod + a 100m hook = 600m at most
    report = judge(quota("600m"), release("hooked", {}))
    assert report.findings["quota-fit"] == [], messages(report, "quota-fit")


def test_an_over_quota_hook_is_found(judge):
    found = messages(judge(quota("600m"), release("hooked", {"hookCpu": "300m"})), "quota-fit")
    assert len(found) == 1 and "Release demo → Job team/demo-check" in found[0], found
    assert "limits.cpu 700m > 600m" in found[0], found


def test_the_rolling_update_surge_is_counted(judge):
    found = messages(judge(quota("500m"), release("hooked", {})), "quota-fit")
    assert any("rolling update" in m and "limits.cpu 600m > 500m" in m for m in found), found


def test_an_over_quota_steady_state_is_one_finding(judge):
    found = messages(judge(quota("300m"), release("hooked", {})), "quota-fit")
    assert len(found) == 1 and "the steady state exceeds ResourceQuota team/quota" in found[0], found


def test_limitrange_defaults_count_for_containers_without_limits(judge):
    """The hook sets no cpu limit: the LimitRange default (400m) is what the quota sees."""
    found = messages(judge(quota("700m"), limits("400m"), release("hooked", {"hookCpu": None})), "quota-fit")
    assert any("demo-check" in m and "limits.cpu 800m > 700m" in m for m in found), found
