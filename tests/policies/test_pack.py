"""The pack driven over the Analyzer gRPC protocol (one analyzer subprocess per session), the
per-environment configs, the CLI, the coverage document, and a corpus of insecure one-field edits
of the project's own offline plans, each of which `tools check` must catch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import policy_baseline as baseline
import pytest
from policy_helpers import DELETE, UNKNOWN, mandatory, mutate

from config import ENVIRONMENTS
from policies.rules import REGISTRY
from tools import cli, report, wire
from tools.dev import coverage
from tools.offline import check, facts

ROOT = Path(__file__).resolve().parents[2]
CJ = "spec.jobTemplate.spec.template.spec"


def test_baseline_passes_over_grpc(analyzer):
    result = check.check_deployment(baseline.deployment(), "production")
    assert result.mandatory == 0 and result.advisory == 0, report.render(result)
    assert result.rules_run == len(REGISTRY) - 1  # ephemeral-disposable is disabled in production


def test_analyzer_info_carries_rule_metadata(analyzer):
    info = {p.name: p for p in analyzer.info().policies}
    assert set(info) == {m.id for m in REGISTRY}
    for meta in REGISTRY:
        assert info[meta.id].remediation_steps == meta.fix
        assert f"category:{meta.category}" in info[meta.id].tags
        assert all(f"matrix:{row}" in info[meta.id].tags for row in meta.rows)


def test_unknown_value_is_a_mandatory_violation_naming_the_input(analyzer):
    dep = mutate(baseline.deployment(), "db", "publiclyAccessible", UNKNOWN)
    [v] = mandatory(check.check_deployment(dep, "production"), "aws-rds-not-public")
    assert "publiclyAccessible" in v.what and "unknown during preview" in v.what


def test_secrets_are_sent_as_secrets_and_never_echoed(analyzer):
    dep = baseline.deployment()
    dep = mutate(dep, "backup-config", "data.DB_PASSWORD", "Sup3r-s3cret-Value")
    result = check.check_deployment(dep, "production")
    text = json.dumps(result.to_json())
    assert "Sup3r-s3cret-Value" not in text and "v1:AAAA" not in text
    assert sorted(v.rule for v in mandatory(result)) == ["k8s-no-credentials-in-configmap", "secret-inputs-are-secrets"]
    # The AUTH token is a ciphertext-only secret: present, so EC-03 passes without reading it.
    assert not mandatory(result, "aws-elasticache-auth")


@pytest.mark.parametrize("environment,level", [("production", "mandatory"), ("staging", "advisory"),
                                               ("ephemeral", "advisory")])
def test_availability_is_advisory_outside_production(analyzer, environment, level):
    dep = mutate(baseline.deployment(), "db", "multiAz", False)
    [v] = [v for v in check.check_deployment(dep, environment).violations if v.rule == "aws-rds-multi-az"]
    assert v.enforcement == level


def test_security_stays_mandatory_everywhere(analyzer):
    dep = mutate(baseline.deployment(), "db", "storageEncrypted", False)
    for environment in ENVIRONMENTS:
        assert mandatory(check.check_deployment(dep, environment), "aws-rds-storage-encrypted"), environment


def test_disposability_is_mandatory_only_in_ephemeral(analyzer):
    dep = baseline.deployment()  # production-style: protected, deletion-protected
    assert mandatory(check.check_deployment(dep, "ephemeral"), "ephemeral-disposable")
    assert not [v for v in check.check_deployment(dep, "staging").violations if v.rule == "ephemeral-disposable"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_config_files_name_existing_rules(environment):
    config = json.loads((ROOT / "policies" / "config" / f"{environment}.json").read_text())
    assert config["all"] == "mandatory"
    assert set(config) - {"all"} <= {m.id for m in REGISTRY}


def test_cli_exit_codes(tmp_path, analyzer, capsys):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(baseline.deployment()))
    bad.write_text(json.dumps(mutate(baseline.deployment(), "db", "publiclyAccessible", True)))
    (tmp_path / "junk.json").write_text("{not json")
    out = tmp_path / "result.json"
    assert cli.run(check.main, [str(good), "--stack", "production"]) == 0
    assert cli.run(check.main, [str(bad), "--stack", "production", "--json", str(out)]) == 1
    assert json.loads(out.read_text())["mandatory"] == 1
    assert cli.run(check.main, [str(tmp_path / "missing.json"), "--stack", "production"]) == 2
    assert cli.run(check.main, [str(tmp_path / "junk.json"), "--stack", "production"]) == 2
    assert cli.run(check.main, [str(good), "--stack", "nosuchstack"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unknown stack 'nosuchstack'" in err


def test_pr_stacks_without_a_file_are_ephemeral():
    assert facts.environment_of("pr-12345") == "ephemeral"
    assert facts.environment_of("production") == "production"


def test_policies_doc_is_current():
    assert (ROOT / "docs" / "POLICIES.md").read_text() == coverage.report(), \
        "regenerate: python -m tools coverage --write docs/POLICIES.md"


# ------------------------------------------------------------------------------------------
# The corpus: insecure edits of the real offline plans.
# ------------------------------------------------------------------------------------------


POLICY_DOC_ALLOW_ALL = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}'
CORPUS = [
    ("production", "backups-bucket", "acl", "public-read", "aws-s3-no-public-acl"),
    ("production", "backups-encryption", "", None, "aws-s3-encryption-kms"),
    ("staging", "backups-encryption", "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256", "aws-s3-encryption-kms"),
    ("production", "backups-public-access", "", None, "aws-s3-public-access-block"),
    ("staging", "backups-public-access", "blockPublicPolicy", False, "aws-s3-public-access-block"),
    ("production", "backups-versioning", "", None, "aws-s3-versioning"),
    ("pr-7", "backups-versioning", "versioningConfiguration.status", "Suspended", "aws-s3-versioning"),
    ("production", "backups-lifecycle", "", None, "aws-s3-lifecycle"),
    ("production", "backups-ownership", "rule.objectOwnership", "ObjectWriter", "aws-s3-acls-disabled"),
    ("production", "backups-policy", "", None, "aws-s3-deny-insecure-transport"),
    ("staging", "backups-policy", "policy", '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}', "aws-s3-policy-not-public"),
    ("production", "backups-bucket", "@protect", False, "production-data-protected"),
    ("production", "backups-bucket", "forceDestroy", True, "production-data-protected"),
    ("pr-7", "backups-bucket", "forceDestroy", False, "ephemeral-disposable"),
    ("production", "postgres-db", "storageEncrypted", False, "aws-rds-storage-encrypted"),
    ("staging", "postgres-db", "publiclyAccessible", True, "aws-rds-not-public"),
    ("production", "postgres-db", "backupRetentionPeriod", 0, "aws-rds-backup-retention"),
    ("production", "postgres-db", "multiAz", False, "aws-rds-multi-az"),
    ("production", "postgres-db", "deletionProtection", False, "production-data-protected"),
    ("production", "postgres-db", "skipFinalSnapshot", True, "production-data-protected"),
    ("staging", "postgres-db", "iamDatabaseAuthenticationEnabled", False, "aws-rds-iam-auth"),
    ("production", "postgres-db", "autoMinorVersionUpgrade", False, "aws-rds-auto-minor-upgrade"),
    ("production", "postgres-db", "enabledCloudwatchLogsExports", [], "aws-rds-query-logging"),
    ("production", "postgres-db", "instanceClass", "db.x2g.16xlarge", "aws-allowed-instance-sizes"),
    ("staging", "postgres-params", "parameters", [{"name": "rds.force_ssl", "value": "0"}], "aws-rds-force-ssl"),
    ("staging", "postgres-from-nodes", "cidrIpv4", "0.0.0.0/0", "aws-sg-no-world-ingress"),
    ("production", "redis-from-nodes", "cidrIpv4", "0.0.0.0/0", "data-store-sg-no-world-ingress"),
    ("production", "redis-sg", "egress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}], "aws-sg-no-open-egress"),
    ("production", "redis-group", "atRestEncryptionEnabled", False, "aws-elasticache-encryption-at-rest"),
    ("staging", "redis-group", "transitEncryptionEnabled", False, "aws-elasticache-encryption-in-transit"),
    ("production", "redis-group", "authToken", DELETE, "aws-elasticache-auth"),
    ("production", "redis-group", "snapshotRetentionLimit", 0, "aws-elasticache-snapshots"),
    ("production", "redis-group", "multiAzEnabled", False, "aws-elasticache-multi-az"),
    ("production", "redis-group", "nodeType", "cache.t4g.micro", "aws-allowed-instance-sizes"),
    ("staging", "redis-group", "securityGroupIds", [], "aws-elasticache-private-network"),
    ("production", "registry-app", "imageTagMutability", "MUTABLE", "aws-ecr-immutable-tags"),
    ("staging", "registry-backup", "imageScanningConfiguration.scanOnPush", False, "aws-ecr-scan-on-push"),
    ("production", "registry-app", "encryptionConfigurations", [{"encryptionType": "AES256"}], "aws-ecr-kms-encryption"),
    ("production", "registry-app-lifecycle", "", None, "aws-ecr-lifecycle-policy"),
    ("pr-7", "registry-app", "forceDelete", False, "ephemeral-disposable"),
    ("production", "kms-key", "enableKeyRotation", False, "aws-kms-key-rotation"),
    ("production", "kms-key", "bypassPolicyLockoutSafetyCheck", True, "aws-kms-no-lockout-bypass"),
    ("production", "kms-key", "deletionWindowInDays", 7, "aws-kms-deletion-window"),
    ("production", "kms-key", "tags", DELETE, "aws-required-tags"),
    ("pr-7", "kms-key", "tags.expires-at", DELETE, "aws-required-tags"),
    ("production", "backups-role-policy", "policy", POLICY_DOC_ALLOW_ALL, "aws-iam-no-admin-statement"),
    ("staging", "backups-role", "assumeRolePolicy", '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}', "aws-iam-trust-specific-principals"),
    ("production", "backups-role", "managedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"], "aws-iam-no-admin-managed-policies"),
    ("production", "registry-backup-image", "imageName", "docker.io/someone/backup:latest", "docker-image-pinned-to-ecr"),
    ("production", "backup-config", "data.BACKUP_BUCKET", "platform-staging-backups-0000", "backup-job-own-bucket-and-role"),
    ("production", "backup-config", "data.DB_PASSWORD", "hunter2-Hunter2", "k8s-no-credentials-in-configmap"),
    ("production", "backup-cronjob", f"{CJ}.containers.0.securityContext.privileged", True, "k8s-no-privileged"),
    ("production", "backup-cronjob", f"{CJ}.containers.0.securityContext.readOnlyRootFilesystem", False, "k8s-read-only-root-fs"),
    ("staging", "backup-cronjob", f"{CJ}.hostNetwork", True, "k8s-no-host-namespaces"),
    ("pr-7", "postgres-statefulset", "spec.template.spec.containers.0.image", "postgres:latest", "k8s-image-pinned"),
    ("pr-7", "redis-deployment", "spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation", True, "k8s-no-privilege-escalation"),
    ("pr-7", "postgres-statefulset", "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", "Retain", "ephemeral-disposable"),
    # Preflight: what AWS itself refuses (the defects of issue 11)
    ("staging", "postgres-params", "parameters.1.value", "1", "aws-rds-parameter-values-valid"),
    ("production", "postgres-log-postgresql", "retentionInDays", 10, "aws-log-retention-allowed"),
    ("staging", "redis-group", "replicationGroupId", "platform-staging_redis", "aws-physical-names-valid"),
    ("pr-7", "backups-bucket", "bucket", "Platform-pr-7-backups", "aws-physical-names-valid"),
    ("staging", "kms-alias", "name", "alias/aws/platform-staging", "aws-physical-names-valid"),
    ("production", "backups-role-policy", "policy",
     '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws-cn:s3:::x/*"}]}', "aws-arn-partition"),
]


@pytest.mark.parametrize("stack,resource,path,value,rule", CORPUS,
                         ids=[f"{c[0]}:{c[1]}:{c[2] or 'removed'}" for c in CORPUS])
def test_corpus_edit_is_caught(plans, unedited, stack, resource, path, value, rule):
    """Each edit of a copy of the plan, checked in-process over gRPC by the session's analyzer."""
    edited = check.check_deployment(mutate(plans[stack], resource, path, value), facts.environment_of(stack),
                                    stack=stack)
    new = [v for v in mandatory(edited, rule) if (v.rule, v.urn, v.what) not in unedited(stack)]
    assert new, f"{stack}: {resource}.{path or '(removed)'} -> {value!r:.60} not caught by {rule}"


def test_corpus_edit_is_caught_by_the_cli(plans, tmp_path):
    """One edit end to end through the real command line (`python -m tools check`, own analyzer):
    the committed production plan passes with its written exceptions, the edit fails it."""
    good, bad, out = tmp_path / "production.json", tmp_path / "edited.json", tmp_path / "result.json"
    good.write_text(wire.to_json(plans["production"]))
    bad.write_text(wire.to_json(mutate(plans["production"], "postgres-db", "storageEncrypted", False)))
    command = [sys.executable, "-m", "tools", "check", "--stack", "production", "--json", str(out)]
    passed = subprocess.run([*command, str(good)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    # 3 on program objects, the rest on objects the charts render (the pack renders the Releases)
    assert "Suppressed (" in passed.stdout and "ingress-ratelimit-redis" in passed.stdout
    waivers = json.loads(out.read_text())["suppressed"]
    assert sorted((w["rule"], w["name"]) for w in waivers if " → " not in w["reason"]) == [
        ("aws-iam-no-wildcard-resource", "lb-controller-policy"),  # the published document (PUBLISHED_DOCUMENTS)
        ("k8s-min-replicas", "ingress-ratelimit-redis"), ("k8s-min-replicas", "monitoring-pushgateway-deployment")]
    assert all(w["reason"] for w in waivers), waivers
    failed = subprocess.run([*command, str(bad)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [(v["rule"], v["name"]) for v in result["violations"] if v["enforcement"] == "mandatory"] == [
        ("aws-rds-storage-encrypted", "postgres-db")]


def test_corpus_is_large_and_broad():
    assert len(CORPUS) >= 40
    assert len({c[1] for c in CORPUS}) >= 20


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
