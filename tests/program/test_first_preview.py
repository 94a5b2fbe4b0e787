"""A new stack's first `pulumi preview` (every PR environment is a new stack) is not refused.

In that preview the outputs of resources to create (ids, ARNs, endpoints, digests) are unknown, so
anything built from them is unknown too, and the policy pack's mandatory rules cannot verify an
unknown document or image reference. Policies, names and images are built from what is known
before anything exists; these tests run the program as the engine would in that first preview.
"""

from __future__ import annotations

import json
from functools import cache

import pytest
from helpers import STACKS, environment_of

from tools import report, wire
from tools.offline import check, mockrun
from tools.offline import plan as plan_cli


@cache
def first_preview(stack: str) -> mockrun.Plan:
    return plan_cli.build(stack, first_preview=True, reproducible=True)


@pytest.mark.parametrize("stack", STACKS)
def test_first_preview_passes_the_policy_pack(stack: str) -> None:
    result = check.check_deployment(plan_cli.export(first_preview(stack)), environment_of(stack), stack=stack)
    unreadable = [f"{v.rule} {v.name}" for v in result.violations if "unknown during preview" in v.what]
    assert unreadable == [], f"{stack}: rules that cannot read a value in the first preview: {unreadable}"
    assert result.mandatory == 0, f"{stack}:\n{report.render(result)}"


@pytest.mark.parametrize("stack", STACKS)
def test_first_preview_really_has_unknown_outputs(stack: str) -> None:
    plan = first_preview(stack)
    sse = plan.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   "backups-encryption")
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == wire.UNKNOWN, sse.urn
    assert wire.UNKNOWN in json.dumps(plan_cli.export(plan)), stack


@pytest.mark.parametrize("stack", [s for s in STACKS if environment_of(s) != "ephemeral"])
def test_first_preview_rds_endpoint_is_unknown(stack: str) -> None:
    connection = first_preview(stack).get("kubernetes:core/v1:ConfigMap", "postgres-connection")
    assert connection.inputs["data"]["PGHOST"] == wire.UNKNOWN, connection.urn
