"""Bootstrap in China and GovCloud: every ARN and host comes from the stack's partition
(``aws.get_partition``), as in the platform program (tests/components/test_partition.py).

Two literals are the same in every partition, each on AWS's word: the OIDC audience
``sts.amazonaws.com`` (the ``aud`` configure-aws-credentials requests by default, a string rather
than an endpoint) and the service principal ``ecr.amazonaws.com`` (principals are global but for a
few services: AWS CDK region-info)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from bootstrap import settings
from bootstrap.components.github_oidc import AUDIENCE
from bootstrap.components.registry import ECR_SERVICE_PRINCIPAL
from config import ConfigError
from tools import wire
from tools.offline import check, mockrun, stackfile
from tools.offline import plan as plan_cli

BOOTSTRAP = Path(__file__).resolve().parents[2] / "bootstrap"
REGIONS = {"cn-north-1": ("aws-cn", "amazonaws.com.cn"), "us-gov-west-1": ("aws-us-gov", "amazonaws.com")}
GLOBAL = (AUDIENCE, ECR_SERVICE_PRINCIPAL)


@functools.cache
def planned(stack: str, region: str) -> mockrun.Plan:
    loaded = stackfile.load(stack, BOOTSTRAP)
    roles = [arn.replace("arn:aws:", f"arn:{REGIONS[region][0]}:")
             for arn in json.loads(loaded.config["bootstrap:nodeRoleArns"])]
    config = {**loaded.config, "aws:region": region, "bootstrap:nodeRoleArns": json.dumps(roles)}
    return mockrun.run_program(stack, config, project=loaded.project, program=BOOTSTRAP / "__main__.py")


CASES = pytest.mark.parametrize(("stack", "region"), [(s, r) for s in ("staging-eu-west-1", "production-eu-west-1")
                                                      for r in REGIONS])


def _text(value: object) -> str:
    text = json.dumps(wire.plain(value))
    for literal in GLOBAL:
        text = text.replace(literal, "")
    return text


@CASES
def test_no_input_names_another_partition(stack: str, region: str) -> None:
    part, suffix = REGIONS[region]
    wrong = re.compile(r"arn:aws:" + (r"|amazonaws\.com(?!\.cn)" if suffix.endswith(".cn") else ""))
    found = sorted({r.urn for r in planned(stack, region).resources if wrong.search(_text(r.inputs))})
    assert found == [], f"{wrong.pattern} in {found}"
    assert f"arn:{part}:iam::" in _text(planned(stack, region).stack_outputs), "the role ARNs are of the partition"


@CASES
def test_the_pack_passes_the_partition_rule(stack: str, region: str) -> None:
    result = check.check_deployment(plan_cli.export(planned(stack, region)), "bootstrap", stack=stack)
    wrong = [f"{v.name}: {v.what}" for v in result.violations if v.rule == "aws-arn-partition"]
    assert wrong == [] and not result.mandatory, wrong or check.render(result)


def test_a_node_role_of_another_partition_is_refused() -> None:
    raw = {**stackfile.load("staging-eu-west-1", BOOTSTRAP).config, "aws:region": "cn-north-1"}
    with pytest.raises(ConfigError, match=r"bootstrap:nodeRoleArns = 'arn:aws:iam::123456789012:role/platform-"):
        settings.parse(raw, stack="staging-eu-west-1", project="platform-bootstrap")
