"""policies/constraints.py against its sources: the installed botocore and the pulumi-aws SDK.

Per name kind one value AWS accepts and one it refuses; the data file current with botocore; each
hand-written rule still matching the constraint text botocore documents for its field.
"""

from __future__ import annotations

import re
from pathlib import Path

import pulumi_aws
import pytest

from policies import constraints as c
from tools.dev import constraints as generator

VALID = {
    "rds-instance": "platform-staging-postgres",
    "rds-subnet-group": "platform-staging-postgres",
    "rds-parameter-group": "platform-staging-postgres-pg18",
    "rds-snapshot": "platform-production-postgres-final-1a2b3c4d",
    "elasticache-replication-group": "platform-production-redis",
    "elasticache-subnet-group": "platform-production-redis",
    "elasticache-parameter-group": "platform-valkey8",
    "elasticache-snapshot": "platform-production-redis-final-1a2b",
    "s3-bucket": "platform-staging-backups-123456789012-eu-west-1",
    "kms-alias": "alias/platform-staging",
    "ecr-repository": "platform-staging/app",
    "ecr-pull-through-prefix": "ecr-public",
    "iam-role": "platform-staging-postgres-exporter",
    "iam-policy": "platform-staging-backup",
    "log-group": "/aws/rds/instance/platform-staging-postgres/postgresql",
    "secret": "platform/staging/token",
    "security-group": "platform-staging-redis",
    "security-group-description": "platform-staging-redis: Valkey from the cluster nodes only",
}
INVALID = {
    "rds-instance": "platform-staging--postgres",
    "rds-subnet-group": "default",
    "rds-parameter-group": "platform-staging-postgres-",
    "rds-snapshot": "1-platform-final",
    "elasticache-replication-group": "platform-staging-redis-with-a-name-too-long",
    "elasticache-subnet-group": "platform_staging_redis",
    "elasticache-parameter-group": "platform--valkey8",
    "elasticache-snapshot": "platform-redis-final-",
    "s3-bucket": "platform-staging-backups-123456789012-ap-southeast-2-" + "x" * 11,
    "kms-alias": "alias/aws/platform",
    "ecr-repository": "platform-staging/App",
    "ecr-pull-through-prefix": "e",
    "iam-role": "platform-staging-" + "r" * 48,
    "iam-policy": "platform staging",
    "log-group": "/platform/staging redis",
    "secret": "platform:staging",
    "security-group": "sg-platform",
    "security-group-description": "naïve",
}


@pytest.mark.parametrize("kind", sorted(c.NAMES))
def test_each_name_kind_accepts_a_valid_and_refuses_an_invalid_name(kind: str) -> None:
    assert c.name_problems(kind, VALID[kind]) == [], (kind, VALID[kind])
    assert c.name_problems(kind, INVALID[kind]), (kind, INVALID[kind])


def test_shapes_file_is_current_with_the_installed_botocore() -> None:
    committed = Path(generator.OUTPUT).read_text()
    assert committed == generator.render(), "regenerate: python -m tools constraints --write"


@pytest.mark.parametrize("kind", [k for k, r in c.NAMES.items() if r.documented])
def test_hand_written_rule_still_matches_botocores_documentation(kind: str) -> None:
    rule = c.NAMES[kind]
    doc = c.SHAPES[rule.field]["documentation"]
    assert rule.documented in doc, f"{kind}: botocore {rule.field} no longer says {rule.documented!r}: review the rule"
    numbers = [int(n) for n in re.findall(r"\b(\d+)\b", rule.documented)]
    if numbers:
        assert rule.max == max(numbers), f"{kind}: documented limit {max(numbers)}, rule says {rule.max}"


@pytest.mark.parametrize("kind", [k for k, r in c.NAMES.items() if "pattern" in c.SHAPES[r.field]])
def test_model_backed_rule_is_the_botocore_shape(kind: str) -> None:
    rule, shape = c.NAMES[kind], c.SHAPES[c.NAMES[kind].field]
    assert rule.pattern == shape["pattern"].removeprefix("^").removesuffix("$"), kind
    assert (rule.min, rule.max) == (shape.get("min", 1), shape["max"]), kind


def test_hand_facts_without_botocore_text_cite_a_source() -> None:
    for kind, rule in c.NAMES.items():
        if "pattern" not in c.SHAPES[rule.field] and not rule.documented:
            assert rule.source.startswith("https://docs.aws.amazon.com/"), kind


def test_log_retention_values_match_the_pulumi_aws_sdk_docs() -> None:
    sdk = (Path(pulumi_aws.__file__).parent / "cloudwatch" / "log_group.py").read_text()
    sentence = re.search(r"retain log events in the specified log group\.\s+Possible values are: ([\d, and]+)", sdk)
    assert sentence, "pulumi_aws LogGroup docstring changed"
    sdk_values = {int(n) for n in re.findall(r"\d+", sentence.group(1))}
    assert sdk_values - {0} == set(c.LOG_RETENTION_DAYS)


@pytest.mark.parametrize("days,expected", [(1, 1), (7, 7), (10, 14), (30, 30), (45, 60), (3650, 3653)])
def test_log_retention_rounds_up_to_an_allowed_value(days: int, expected: int) -> None:
    assert c.log_retention_at_least(days) == expected
    assert expected in c.LOG_RETENTION_DAYS


def test_storage_and_retention_ranges_come_from_botocore() -> None:
    assert c.GP3_STORAGE_GIB == (20, 65536)
    assert c.BACKUP_RETENTION_DAYS == (0, 35)
    assert c.REPLICAS_PER_SHARD == (0, 5)
    assert c.min_max_storage(50) == 55 and c.min_max_storage(100) == 110


@pytest.mark.parametrize("family,name,value,ok", [
    ("postgres18", "log_connections", "1", False),
    ("postgres18", "log_connections", "receipt,authentication,authorization", True),
    ("postgres18", "log_connections", "all", True),
    ("postgres18", "log_connections", "", True),
    ("postgres17", "log_connections", "1", True),
    ("postgres17", "log_connections", "receipt", False),
    ("postgres18", "rds.force_ssl", "true", False),
    ("postgres18", "log_min_duration_statement", "-1", True),
    ("postgres18", "log_min_duration_statement", "1.5", False),
    ("postgres18", "shared_buffers", "1", False),
    ("mysql8.0", "rds.force_ssl", "1", False),
])
def test_parameter_values_per_family(family: str, name: str, value: str, ok: bool) -> None:
    assert (c.parameter_problem(family, name, value) is None) == ok, c.parameter_problem(family, name, value)


@pytest.mark.parametrize("region,partition,suffix", [
    ("eu-west-1", "aws", "amazonaws.com"), ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
    ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"), ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
    ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
])
def test_partition_of_a_region_comes_from_botocore(region: str, partition: str, suffix: str) -> None:
    assert (c.partition_of(region), c.dns_suffix(region)) == (partition, suffix)
