"""Suppressions (cdk-nag style), over the Analyzer gRPC protocol: a resource waives one
non-security rule with a written reason; the waiver is listed, never silent; a security or
disposability rule, or a missing reason, cannot be waived."""

from __future__ import annotations

import json

import policy_baseline as baseline
import pytest
from policy_helpers import mutate, suppress

from policies.rules import REGISTRY
from policies.rules._core import SUPPRESSIBLE
from tools import report
from tools.offline import check

REASON = "counter store: replicas would split counters; the limiter fails open"


def rules(result, rule=None):
    return [v for v in result.violations if v.enforcement == "mandatory" and rule in (None, v.rule)]


@pytest.fixture(scope="module")
def one_replica():
    """Baseline with one mandatory availability violation (production: k8s-min-replicas)."""
    dep = mutate(baseline.deployment(), "app", "spec.replicas", 1)
    assert [v.rule for v in rules(check.check_deployment(dep, "production"))] == ["k8s-min-replicas"]
    return dep


def test_suppressed_availability_rule_passes_and_is_listed(one_replica):
    result = check.check_deployment(suppress(one_replica, "app", "k8s-min-replicas", REASON), "production")
    assert result.mandatory == 0 and result.advisory == 0, report.render(result)
    [s] = result.suppressed
    assert (s.rule, s.name, s.reason, s.enforcement) == ("k8s-min-replicas", "app", REASON, "mandatory")
    assert "Suppressed (1)" in report.render(result) and REASON in report.render(result)
    assert json.loads(json.dumps(result.to_json()))["suppressed"][0]["reason"] == REASON


def test_stack_rule_on_an_aws_resource_is_suppressed_by_a_tag():
    dep = mutate(baseline.deployment(), "backups-lock", "", None)
    assert rules(check.check_deployment(dep, "production"), "aws-s3-backup-object-lock")
    result = check.check_deployment(suppress(dep, "backups", "aws-s3-backup-object-lock", "legal hold"), "production")
    assert result.mandatory == 0, report.render(result)
    assert [(s.rule, s.name, s.reason) for s in result.suppressed] == [("aws-s3-backup-object-lock", "backups", "legal hold")]


def test_suppressing_a_security_rule_is_itself_a_violation():
    dep = mutate(baseline.deployment(), "db", "storageEncrypted", False)
    result = check.check_deployment(suppress(dep, "db", "aws-rds-storage-encrypted", "we accept it"), "production")
    found = rules(result, "aws-rds-storage-encrypted")
    assert len(found) == 2 and not result.suppressed, report.render(result)
    assert any("suppressions are not allowed for security rules" in v.what for v in found)
    # Even on a compliant resource: the attempt is reported.
    compliant = check.check_deployment(suppress(baseline.deployment(), "db", "aws-rds-storage-encrypted", "x"),
                                       "production")
    [v] = rules(compliant)
    assert v.rule == "aws-rds-storage-encrypted" and "not allowed for security rules" in v.what


def test_suppressing_a_stack_security_rule_is_a_violation():
    dep = mutate(baseline.deployment(), "backups-versioning", "", None)
    result = check.check_deployment(suppress(dep, "backups", "aws-s3-versioning", "not needed"), "production")
    assert len(rules(result, "aws-s3-versioning")) == 2 and not result.suppressed, report.render(result)


def test_disposability_cannot_be_suppressed():
    dep = suppress(baseline.deployment(), "db", "ephemeral-disposable", "keep it")
    found = rules(check.check_deployment(dep, "ephemeral"), "ephemeral-disposable")
    assert any("not allowed for disposability rules" in v.what for v in found)


@pytest.mark.parametrize("reason", ["", "   ", None], ids=["empty", "blank", "null"])
def test_a_suppression_without_a_reason_is_a_violation(one_replica, reason):
    dep = suppress(one_replica, "app", "k8s-min-replicas", reason)
    result = check.check_deployment(dep, "production")
    found = rules(result, "k8s-min-replicas")
    assert len(found) == 2 and not result.suppressed, report.render(result)
    assert any("needs a written reason" in v.what for v in found)


def test_other_rules_and_resources_are_unaffected(one_replica):
    dep = mutate(one_replica, "app", "spec.template.spec.containers.0.securityContext.privileged", True)
    dep = mutate(dep, "cache", "spec.replicas", 1)
    result = check.check_deployment(suppress(dep, "app", "k8s-min-replicas", REASON), "production")
    assert sorted((v.rule, v.name) for v in rules(result)) == [("k8s-min-replicas", "cache"), ("k8s-no-privileged", "app")]
    assert [(s.rule, s.name) for s in result.suppressed] == [("k8s-min-replicas", "app")]


def test_an_unused_suppression_is_not_listed():
    result = check.check_deployment(suppress(baseline.deployment(), "app", "k8s-min-replicas", REASON), "production")
    assert result.mandatory == 0 and result.suppressed == []


def test_only_non_security_categories_can_be_suppressed():
    assert {"security", "disposability"}.isdisjoint(SUPPRESSIBLE)
    assert {m.category for m in REGISTRY if m.category in SUPPRESSIBLE} <= {"availability", "protection", "cost", "hygiene"}


def test_a_suppression_naming_an_unknown_rule_is_a_violation():
    dep = suppress(baseline.deployment(), "app", "k8s-min-replica", REASON)  # typo: no such rule
    [v] = rules(check.check_deployment(dep, "production"))
    assert v.rule == "policy-suppression-names-a-rule" and v.name == "app", v
    assert "did you mean k8s-min-replicas?" in v.what
