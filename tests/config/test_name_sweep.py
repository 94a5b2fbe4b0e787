"""Sweep: a stack name (or PR number) the config accepts yields only physical names AWS accepts,
and every name it refuses would have produced at least one name AWS refuses.

Judged by policies/constraints.py (botocore's shapes and AWS's documented rules) over the name
templates the components use (components/naming.py), in every region botocore knows.
"""

from __future__ import annotations

import random

import pytest

import config
from components.naming import physical_names
from policies import constraints

SERVICES = ("app", "backup")
ACCOUNT = "123456789012"
CLASSES = {"lower": "abcxyz", "digit": "0189", "hyphen": "-", "upper": "AZ", "underscore": "_", "period": ".",
           "space": " ", "punctuation": "+=@/:", "non-ascii": "éß"}
REGIONS = sorted({min(constraints.KNOWN_REGIONS, key=len), max(constraints.KNOWN_REGIONS, key=len),
                  "eu-west-1", "us-east-1", "ap-southeast-2", "cn-northwest-1", "us-gov-west-1"})
"""The shortest and longest region botocore knows (only the length changes a budget), plus the
stacks' own and one per partition we admit."""


def _invalid(stack: str, region: str) -> list[str]:
    return [f"{name}: {what}" for kind, name in physical_names(prefix=f"platform-{stack}", account=ACCOUNT,
                                                                region=region, services=SERVICES)
            for what in constraints.name_problems(kind, name)]


def _names(length: int) -> list[str]:
    """Valid shapes and one of each character class at the start, middle and end."""
    base = ("ab1-" * length)[:length].strip("-").ljust(length, "a")
    names = {"a" * length, "9" * length, base}
    for chars in CLASSES.values():
        for c in chars[:2]:
            for at in (0, length // 2, length - 1):
                names.add(base[:at] + c + base[at + 1:])
    if length >= 3:
        names.add(base[:1] + "--" + base[3:])
    return sorted(names)


@pytest.mark.parametrize("region", REGIONS)
def test_accepted_stack_names_yield_only_valid_physical_names(region: str) -> None:
    budget = config.stack_name_budget("platform", region, SERVICES)
    checked = 0
    for length in range(1, budget + 3):
        for stack in _names(length):
            accepted = config.stack_name_problem(stack, project="platform", region=region, services=SERVICES) is None
            invalid = _invalid(stack, region)
            assert accepted == (not invalid), f"{region} {stack!r}: accepted={accepted}, AWS refuses {invalid}"
            checked += 1
    assert checked > 500


def test_pr_numbers_up_to_ten_million_yield_valid_names() -> None:
    rng = random.Random(11)  # noqa: S311 - a fixed-seed sample, the same in every run and worker
    edges = {m + d for k in range(8) for m in (10 ** k,) for d in (-1, 0, 1)} - {0, 10_000_001}
    numbers = edges | {rng.randint(1, 10_000_000) for _ in range(300)}
    for region in REGIONS:
        for n in sorted(numbers):
            stack = f"pr-{n}"
            assert config.stack_name_problem(stack, project="platform", region=region, services=SERVICES) is None
            assert not _invalid(stack, region), (region, stack, _invalid(stack, region))
