"""Config validation at the boundary: every class of bad input names the key and the fix."""

from __future__ import annotations

import pytest

import config
from tools.offline import facts, stackfile


def _staging() -> dict[str, str]:
    return dict(stackfile.load("staging").config)


def _problems(raw: dict[str, str], stack: str = "staging", secret_keys: frozenset[str] = frozenset()) -> list[str]:
    with pytest.raises(config.ConfigError) as err:
        config.parse(raw, stack=stack, secret_keys=secret_keys)
    return err.value.problems


BAD = {
    "unknown top-level key": ({"platform:postgresInstanceClass": "db.r6g.large"}, "platform:postgresInstanceClass"),
    "nested typo (flat)": ({"platform:postgres.instanceClas": "db.r6g.large"}, "did you mean platform:postgres.instanceClass"),
    "nested typo (object)": ({"platform:redis": '{"shard": 2}'}, "platform:redis.shard"),
    "wrong type": ({"platform:gateway.replicas": "three"}, "platform:gateway.replicas"),
    "out of range": ({"platform:redis.replicasPerShard": "9"}, "an integer from 0 to 5"),
    "bad environment": ({"platform:environment": "prod"}, "one of ephemeral, staging, production"),
    "empty string": ({"platform:domain": ""}, "platform:domain"),
    "bad pattern": ({"platform:vpcId": "my-vpc"}, "a VPC id"),
    "latest image tag": ({"platform:imageTag": "latest"}, "not 'latest'"),
    "build context without a Dockerfile": ({"platform:app.buildContext": "docs"}, "a directory with a Dockerfile"),
    "hosted zone arn, not id": ({"platform:dns.hostedZoneId": "arn:aws:route53:::hostedzone/Z1"}, "a Route53 hosted zone id"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_value_is_reported_with_key_and_fix(case: str) -> None:
    change, expected = BAD[case]
    raw = _staging() | change
    problems = _problems(raw)
    assert any(expected in p for p in problems), problems
    assert all("Fix: pulumi config" in p and "Pulumi.staging.yaml" in p for p in problems), problems


@pytest.mark.parametrize("key", ["platform:vpcId", "platform:environment", "aws:region", "platform:cluster.name",
                                 "platform:dns.hostedZoneId"])
def test_missing_required_key_is_reported(key: str) -> None:
    raw = _staging()
    del raw[key]
    assert any(key in p and "(missing)" in p for p in _problems(raw)), key


def test_all_problems_are_reported_together() -> None:
    raw = _staging() | {"platform:vpcId": "x", "platform:owner": "", "platform:foo": "1"}
    assert len(_problems(raw)) == 3


@pytest.mark.parametrize(("change", "key"), [
    ({"platform:postgres.multiAz": "false"}, "platform:postgres.multiAz"),
    ({"platform:redis.replicasPerShard": "0"}, "platform:redis.replicasPerShard"),
    ({"platform:gateway.replicas": "1"}, "platform:gateway.replicas"),
])
def test_production_cannot_be_single_az(change: dict[str, str], key: str) -> None:
    raw = dict(stackfile.load("production").config) | change
    assert any(key in p for p in _problems(raw, stack="production"))


def test_kubeconfig_and_context_are_exclusive() -> None:
    raw = _staging() | {"platform:kubeconfig": "apiVersion: v1"}
    assert any("exactly one of" in p for p in _problems(raw, secret_keys=frozenset({"platform:kubeconfig"})))


def test_secret_value_is_never_echoed() -> None:
    raw = _staging() | {"platform:alerting.pagerdutyRoutingKy": "s3cr3t-typo",  # unknown, but secure:
                        "platform:kubeconfig": "  "}                      # empty
    secret_keys = {"platform:kubeconfig", "platform:alerting.pagerdutyRoutingKy"}
    problems = _problems(raw, secret_keys=frozenset(secret_keys))
    assert not [p for p in problems if "s3cr3t" in p], problems
    assert sum("= [secret]" in p for p in problems) == 2, problems


def test_ephemeral_rejects_managed_data_store_sizes() -> None:
    cfg = dict(facts.engine_config("pr-3", reproducible=True).config)
    cfg["platform:postgres.instanceClass"] = "db.r6g.large"
    assert any("pulumi config rm platform:postgres.instanceClass --stack pr-3" in p
               for p in _problems(cfg, stack="pr-3"))


def test_nested_object_form_is_accepted() -> None:
    raw = _staging() | {"platform:postgres": '{"instanceClass": "db.t4g.large"}'}
    assert config.parse(raw, stack="staging").profile.postgres.instance_class == "db.t4g.large"


def test_override_changes_only_that_field() -> None:
    raw = _staging() | {"platform:quota.cpu": "12"}
    profile = config.parse(raw, stack="staging").profile
    assert profile.quota.cpu == 12 and profile.quota.memory_gib == config.PROFILES["staging"].quota.memory_gib
