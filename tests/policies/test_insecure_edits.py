"""The insecure-edit corpus of the secret classes: one edit of the real staging / production /
pr-7 offline plan per case (the session's plans, exported once; the edit is a copy), checked over
gRPC by the session's analyzer. Each must raise a mandatory violation of the named rule, on the
resource edited, that the unedited plan does not have.

Classes: plain credentials in provider inputs (schema-secret and credential-named, RDS password
and ElastiCache AUTH token included), credentials in Kubernetes objects, credentials and webhook
URLs in Helm values, KMS administration granted to another account, the gateway's TLS minimum,
HSTS, log groups without a KMS key, RDS snapshots without tags.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from policy_baseline import SECRET
from policy_helpers import DELETE, UNKNOWN, mandatory, mutate

from tools.offline import check, facts

CJ = "spec.jobTemplate.spec.template.spec"
POD = "spec.template.spec"
FOREIGN = "arn:aws:iam::999999999999"
KPS = "monitoring-kube-prometheus-stack"


def key_policy(principal: object, action: object) -> str:
    import json
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": "*"}]})


class Edit(NamedTuple):
    cls: str
    stack: str
    resource: str
    path: str
    value: object
    rule: str


SECRETS = "secret-inputs-are-secrets"
HELM = "helm-values-no-literal-credentials"
CORPUS = [
    # Provider inputs the schema marks secret, or named like a credential, in plain text
    Edit("provider-input", "production", "postgres-db", "password", "plain-Passw0rd-1", SECRETS),
    Edit("provider-input", "staging", "postgres-db", "passwordWo", "plain-Passw0rd-2", SECRETS),
    Edit("provider-input", "production", "redis-group", "authToken", "Plain-Auth-Token-0123456789", SECRETS),
    Edit("provider-input", "staging", "redis-group", "authToken", UNKNOWN, SECRETS),
    Edit("provider-input", "staging", "redis-group", "authTokenWo", "Plain-Auth-Token-9876543210", SECRETS),
    Edit("provider-input", "production", "registry-backup-image", "registry.password", "ecr-login-token", SECRETS),
    Edit("provider-input", "pr-7", "registry-backup-image", "registry", {"server": "x", "password": "ecr-login"}, SECRETS),
    # Kubernetes objects: Secret data in plain text, literal credentials in env and ConfigMaps
    Edit("kubernetes", "pr-7", "postgres-credentials", "stringData", {"password": "pg-plain"}, SECRETS),
    Edit("kubernetes", "staging", "redis-auth", "stringData", {"password": "redis-plain"}, SECRETS),
    Edit("kubernetes", "production", "monitoring-grafana-admin", "stringData", {"admin-password": "admin"}, SECRETS),
    Edit("kubernetes", "staging", "monitoring-alertmanager-config", "stringData",
         {"alertmanager.yaml": "route: {}"}, SECRETS),
    Edit("kubernetes", "production", "redis-auth", "data", {"password": "cGxhaW4="}, SECRETS),
    Edit("kubernetes", "production", "redis-connection", "data.REDIS_PASSWORD", "redis-plain", SECRETS),
    Edit("kubernetes", "production", "backup-config", "data.DB_PASSWORD", "hunter2-Hunter2", SECRETS),
    Edit("kubernetes", "staging", "postgres-connection", "data.DATABASE_URL",
         "postgresql://platform:s3cret@db.internal:5432/app", SECRETS),
    Edit("kubernetes", "pr-7", "backup-config", "data.SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nMIIE", SECRETS),
    Edit("kubernetes", "staging", "backup-cronjob", f"{CJ}.containers.0.env", [{"name": "PGPASSWORD", "value": "pw"}], SECRETS),
    Edit("kubernetes", "pr-7", "postgres-statefulset", f"{POD}.containers.0.env.2",
         {"name": "POSTGRES_PASSWORD", "value": "postgres"}, SECRETS),
    Edit("kubernetes", "production", "app-blue-deployment", f"{POD}.containers.0.env",
         [{"name": "STRIPE_API_KEY", "value": "sk_live_0123456789"}], SECRETS),
    Edit("kubernetes", "staging", "app-green-deployment", f"{POD}.containers.0.env",
         [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"}], SECRETS),
    # Helm values: credentials and webhook URLs written into values instead of an existingSecret
    Edit("helm-values", "staging", KPS, "values.grafana.adminPassword", "admin", HELM),
    Edit("helm-values", "production", KPS, "values.grafana.adminPassword", SECRET, HELM),
    Edit("helm-values", "production", KPS, "values.grafana.adminPassword", "prom-operator", SECRETS),
    Edit("helm-values", "staging", KPS, "values.alertmanager.config.global.slack_api_url",
         "https://hooks.slack.com/services/T000/B000/XXXX", HELM),
    Edit("helm-values", "production", KPS, "values.alertmanager.config.receivers",
         [{"name": "ops", "webhook_configs": [{"url": "https://ops.example.com/alert-hook"}]}], HELM),
    Edit("helm-values", "staging", KPS, "values.alertmanager.config.receivers",
         [{"name": "pager", "pagerduty_configs": [{"routing_key": "0123456789abcdef"}]}], HELM),
    Edit("helm-values", "production", KPS, "values.alertmanager.config.receivers",
         [{"name": "chat", "slack_configs": [{"api_url": "https://chat.example.com/hooks/abc"}]}], HELM),
    Edit("helm-values", "staging", KPS, "values.grafana.smtp.password", "smtp-plain", HELM),
    Edit("helm-values", "production", "monitoring-postgres-exporter", "values.config.datasource.password", "pw", HELM),
    Edit("helm-values", "staging", "monitoring-redis-exporter", "values.auth.redisPassword", "pw", HELM),
    Edit("helm-values", "pr-7", "monitoring-redis-exporter", "values.auth.redisPassword", "pw", SECRETS),
    Edit("helm-values", "production", "addons-external-dns", "values.env",
         [{"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI/K7MDENG"}], HELM),
    Edit("helm-values", "staging", "ingress-envoy-gateway", "values.config.envoyGateway.rateLimit.backend.redis.url",
         "redis://default:s3cret@ratelimit-redis.gateway.svc.cluster.local:6379", HELM),
    # KMS administration granted to another account
    Edit("kms", "production", "kms-key", "policy", key_policy(f"{FOREIGN}:root", "kms:*"), "aws-kms-no-foreign-admin"),
    Edit("kms", "staging", "kms-key", "policy", key_policy(f"{FOREIGN}:role/ops", ["kms:Put*"]), "aws-kms-no-foreign-admin"),
    Edit("kms", "pr-7", "kms-key", "policy", key_policy("999999999999", "*"), "aws-kms-no-foreign-admin"),
    Edit("kms", "production", "kms-key", "policy", key_policy(f"{FOREIGN}:root", ["kms:Decrypt", "kms:CreateGrant"]),
         "aws-kms-no-foreign-admin"),
    # The gateway's TLS floor and HSTS
    Edit("tls", "staging", "ingress-client-traffic", "spec.tls.minVersion", "1.0", "gateway-tls-minimum-1-2"),
    Edit("tls", "production", "ingress-client-traffic", "spec.tls.minVersion", "1.1", "gateway-tls-minimum-1-2"),
    Edit("tls", "staging", "ingress-client-traffic", "spec.tls.maxVersion", "1.1", "gateway-tls-minimum-1-2"),
    Edit("hsts", "production", "ingress-app", "spec.rules.0.filters", [], "gateway-hsts"),
    Edit("hsts", "staging", "ingress-app", "spec.rules.2.filters.0.responseHeaderModifier.set.0.value", "max-age=60",
         "gateway-hsts"),
    Edit("hsts", "pr-7", "ingress-app", "spec.rules.0.filters.0.type", "RequestHeaderModifier", "gateway-hsts"),
    Edit("hsts", "production", "monitoring-grafana-route", "spec.rules.0.filters", DELETE, "gateway-hsts"),
    Edit("hsts", "staging", "monitoring-grafana-route", "spec.rules.0.filters.0.responseHeaderModifier.set.0.value",
         "max-age=0", "gateway-hsts"),
    # Log groups without a KMS key; RDS snapshots without the instance's tags
    Edit("log-kms", "production", "postgres-log-postgresql", "kmsKeyId", DELETE, "aws-log-group-kms"),
    Edit("log-kms", "staging", "postgres-log-upgrade", "kmsKeyId", "", "aws-log-group-kms"),
    Edit("log-kms", "production", "redis-slow-log", "kmsKeyId", DELETE, "aws-log-group-kms"),
    Edit("rds-tags", "production", "postgres-db", "copyTagsToSnapshot", False, "aws-rds-copy-tags-to-snapshot"),
    Edit("rds-tags", "staging", "postgres-db", "copyTagsToSnapshot", DELETE, "aws-rds-copy-tags-to-snapshot"),
]


@pytest.mark.parametrize("edit", CORPUS, ids=[f"{e.cls}:{e.stack}:{e.resource}:{e.path}" for e in CORPUS])
def test_insecure_edit_is_caught(plans, unedited, edit):
    result = check.check_deployment(mutate(plans[edit.stack], edit.resource, edit.path, edit.value),
                                    facts.environment_of(edit.stack), stack=edit.stack)
    new = [v for v in mandatory(result, edit.rule) if (v.rule, v.urn, v.what) not in unedited(edit.stack)]
    assert [v for v in new if v.urn.endswith(f"::{edit.resource}")], \
        f"{edit.stack}: {edit.resource}.{edit.path} -> {edit.value!r:.60} not caught by {edit.rule}: {new}"


def test_no_secret_is_echoed(plans):
    """A plain credential is reported by where it is, never by what it is."""
    edited = mutate(plans["staging"], KPS, "values.grafana.adminPassword", "Sup3r-s3cret-Value")
    text = str(check.check_deployment(edited, "staging", stack="staging").to_json())
    assert "Sup3r-s3cret-Value" not in text and "values.grafana.adminPassword" in text


def test_corpus_spans_the_classes():
    per_class = {c: sum(e.cls == c for e in CORPUS) for c in {e.cls for e in CORPUS}}
    assert len(CORPUS) >= 40 and min(per_class.values()) >= 2, per_class
    assert {e.stack for e in CORPUS} == {"staging", "production", "pr-7"}
