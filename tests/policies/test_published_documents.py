"""Published IAM documents (policies/rules/iam.py, PUBLISHED_DOCUMENTS): the AWS Load Balancer
Controller's policy passes aws-iam-no-wildcard-resource only as published, listed with its reason;
any edit is judged like every other policy."""

from __future__ import annotations

import json

import policy_baseline as baseline
import pytest
from policy_helpers import run_rule

from components.loadbalancer import POLICY_FILE, published_policy
from policies.rules.iam import PUBLISHED_DOCUMENTS, document_hash
from tools.offline import check

RULE = "aws-iam-no-wildcard-resource"
EXTRA_WILDCARD = {"Effect": "Allow", "Action": ["elasticloadbalancing:DeleteLoadBalancer"], "Resource": "*"}


def _with_policy(policy: dict) -> dict:
    return baseline.deployment([("aws:iam/rolePolicy:RolePolicy", "lb-controller-policy",
                                 {"role": "platform-production-lb-controller", "policy": json.dumps(policy)}, {})])


def _lb_violations(deployment: dict) -> list[str]:
    return [msg for name, msg in run_rule(RULE, deployment) if name == "lb-controller-policy"]


def test_the_pack_knows_the_committed_file_by_its_hash():
    digests = {p.sha256: p for p in PUBLISHED_DOCUMENTS}
    assert document_hash(POLICY_FILE.read_text()) in digests, f"{POLICY_FILE.name}: hash not in PUBLISHED_DOCUMENTS"
    assert all(p.reason.strip() and p.waives == (RULE,) for p in digests.values()), digests


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_the_published_policy_is_accepted_in_every_partition(partition):
    assert _lb_violations(_with_policy(published_policy(partition))) == []


def test_a_copy_with_one_more_wildcard_statement_is_caught():
    policy = published_policy()
    edited = {**policy, "Statement": [*policy["Statement"], EXTRA_WILDCARD]}
    found = _lb_violations(_with_policy(edited))
    assert any("['elasticloadbalancing:DeleteLoadBalancer'] on Resource '*'" in m for m in found), found


def test_a_copy_with_one_more_action_loses_the_exception_for_every_statement():
    policy = json.loads(json.dumps(published_policy()))
    policy["Statement"][1]["Action"].append("ec2:CreateTags")
    found = _lb_violations(_with_policy(policy))
    # The untouched statements are judged again too: the exception is for the whole published document.
    assert any("'elasticloadbalancing:CreateLoadBalancer'" in m for m in found), found
    assert any("'ec2:CreateTags'" in m for m in found), found


def test_the_exception_is_listed_with_its_reason_over_the_analyzer_protocol():
    result = check.check_deployment(_with_policy(published_policy()), "production")
    listed = [s for s in result.suppressed if s.rule == RULE]
    assert [s.name for s in listed] == ["lb-controller-policy"], result.suppressed
    assert "published policy" in listed[0].reason and listed[0].reason.count("sha256") == 1, listed[0].reason
    assert not [v for v in result.violations if v.rule == RULE], result.violations
