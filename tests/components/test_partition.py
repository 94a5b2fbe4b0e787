"""ARNs and service hosts come from the stack's partition (aws.get_partition), never literals.

Staging moved to cn-north-1 (partition aws-cn, DNS suffix amazonaws.com.cn), with the cluster's
ARNs of that partition: the plan has no ARN or host of another partition, and the pack agrees.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from helpers import run

from tools.offline import check, mockrun
from tools.offline import plan as plan_cli

ISSUER = "oidc.eks.cn-north-1.amazonaws.com.cn/id/5C0FFEE5AB1E5EED5F00D5CA1AB1E5EE"
CHINA = {"aws:region": "cn-north-1", "platform:cluster.oidcProviderUrl": ISSUER,
         "platform:cluster.oidcProviderArn": f"arn:aws-cn:iam::123456789012:oidc-provider/{ISSUER}",
         "platform:cluster.nodeRoleArn": "arn:aws-cn:iam::123456789012:role/platform-staging-nodes"}


@cache
def china() -> mockrun.Plan:
    return run("staging", CHINA)


def test_china_plan_passes_the_partition_rule() -> None:
    result = check.check_deployment(plan_cli.export(china()), "staging", stack="staging")
    wrong = [f"{v.name}: {v.what}" for v in result.violations if v.rule == "aws-arn-partition"]
    assert wrong == [], wrong


# Regional hosts of the wrong suffix are the rule's; the IRSA audience sts.amazonaws.com is global.
@pytest.mark.parametrize("literal", [r"arn:aws:", r"\.cn-north-1\.amazonaws\.com(?!\.cn)"])
def test_china_plan_has_no_literal_of_the_aws_partition(literal: str) -> None:
    text = re.compile(literal)
    found = sorted({r.urn for r in china().resources if text.search(str(r.inputs)) and r.type.startswith("aws:")})
    assert found == [], f"{literal} in {found}"


def test_china_service_principals_are_the_global_ones() -> None:
    # IAM takes <service>.amazonaws.com in every partition; the endpoint suffix .com.cn is no principal.
    # Production: its backup bucket replicates, so S3 assumes a role.
    plan = run("production", {**CHINA, "platform:backups.replicaRegion": "cn-northwest-1"})
    trusts = " ".join(str(r.inputs.get("assumeRolePolicy")) for r in plan.resources if r.type == "aws:iam/role:Role")
    services = set(re.findall(r'"Service": "([^"]+)"', trusts))
    assert "s3.amazonaws.com" in services and all(s.endswith(".amazonaws.com") for s in services), services
    result = check.check_deployment(plan_cli.export(plan), "production", stack="production")
    assert [v.what for v in result.violations if v.rule == "aws-arn-partition"] == []
