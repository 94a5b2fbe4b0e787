"""Every rule: the compliant baseline passes, each non-compliant variant (one mutation) is caught,
an absent property behaves as documented (the AWS default), a value unknown during preview is
reported rather than passed, and other resource types are ignored."""

from __future__ import annotations

import json
from typing import NamedTuple

import policy_baseline as baseline
import pytest
from policy_helpers import CONFIG_DIR, DELETE, META, UNKNOWN, mutate, run_rule
from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from policies.rules import POLICIES, REGISTRY

P = "spec.template.spec"
C = f"{P}.containers.0"
CJ = "spec.jobTemplate.spec.template.spec"
ALLOW_ALL = '{"Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]}'
doc_ = baseline.doc
SECRET = baseline.SECRET
PUBLIC = '{"Statement": [{"Sid": "Pub", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}'
EPHEMERAL = [("key", "@protect", False), ("db", "@protect", False), ("redis", "@protect", False), ("backups", "@protect", False),
             ("backups", "forceDestroy", True), ("repo", "forceDelete", True),
             ("db", "deletionProtection", False), ("db", "skipFinalSnapshot", True)]


PSA_REASON = "platform.example.com/pod-security-reason"
AGENTS_NS = (("app-ns", "metadata.name", "node-agents"), ("app-ns", "metadata.annotations", {PSA_REASON: "node agents"}))
"""The baseline's namespace as the allow-listed node-agents namespace, with its reason."""


class Case(NamedTuple):
    rule: str
    resource: str
    path: str
    value: object
    caught: bool = True
    env: str = "production"
    prep: tuple = ()


CASES = [
    # S3
    Case("aws-s3-no-public-acl", "backups", "acl", "public-read"),
    Case("aws-s3-no-public-acl", "backups", "grants", [{"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}]),
    Case("aws-s3-no-public-acl", "backups", "acl", DELETE, caught=False),
    Case("aws-s3-no-public-acl", "backups", "acl", UNKNOWN),
    Case("aws-s3-encryption-kms", "backups-sse", "", None),
    Case("aws-s3-encryption-kms", "backups-sse", "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"),
    Case("aws-s3-encryption-kms", "backups-sse", "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId", DELETE),
    Case("aws-s3-encryption-kms", "backups-sse", "rules.0.bucketKeyEnabled", DELETE),
    Case("aws-s3-encryption-kms", "backups-sse", "rules.0.applyServerSideEncryptionByDefault.kmsMasterKeyId", UNKNOWN, caught=False),
    Case("aws-s3-public-access-block", "backups-pab", "", None),
    Case("aws-s3-public-access-block", "backups-pab", "restrictPublicBuckets", False),
    Case("aws-s3-public-access-block", "backups-pab", "blockPublicPolicy", DELETE),
    Case("aws-s3-public-access-block", "backups-pab", "ignorePublicAcls", UNKNOWN),
    Case("aws-s3-versioning", "backups-versioning", "", None),
    Case("aws-s3-versioning", "backups-versioning", "versioningConfiguration.status", "Suspended"),
    Case("aws-s3-lifecycle", "backups-lifecycle", "", None),
    Case("aws-s3-lifecycle", "backups-lifecycle", "rules.0.noncurrentVersionExpiration", DELETE),
    Case("aws-s3-lifecycle", "backups-lifecycle", "rules.0.status", "Disabled"),
    Case("aws-s3-acls-disabled", "backups-ownership", "rule.objectOwnership", "ObjectWriter"),
    Case("aws-s3-acls-disabled", "backups-ownership", "", None, caught=False),
    Case("aws-s3-policy-not-public", "backups-policy", "policy", PUBLIC),
    Case("aws-s3-policy-not-public", "backups-policy", "policy", UNKNOWN),
    Case("aws-s3-deny-insecure-transport", "backups-policy", "", None),
    Case("aws-s3-deny-insecure-transport", "backups-policy", "policy", PUBLIC),
    Case("aws-s3-backup-object-lock", "backups", "objectLockEnabled", DELETE),
    Case("aws-s3-backup-object-lock", "backups-lock", "", None),
    # RDS
    Case("aws-rds-storage-encrypted", "db", "storageEncrypted", DELETE),
    Case("aws-rds-storage-encrypted", "db", "kmsKeyId", DELETE),
    Case("aws-rds-storage-encrypted", "db", "kmsKeyId", UNKNOWN, caught=False),
    Case("aws-rds-storage-encrypted", "db", "storageEncrypted", UNKNOWN),
    Case("aws-rds-not-public", "db", "publiclyAccessible", True),
    Case("aws-rds-not-public", "db", "publiclyAccessible", DELETE, caught=False),
    Case("aws-rds-not-public", "db", "publiclyAccessible", UNKNOWN),
    Case("aws-rds-backup-retention", "db", "backupRetentionPeriod", 3),
    Case("aws-rds-backup-retention", "db", "backupRetentionPeriod", DELETE),
    Case("aws-rds-multi-az", "db", "multiAz", False),
    Case("aws-rds-iam-auth", "db", "iamDatabaseAuthenticationEnabled", DELETE),
    Case("aws-rds-auto-minor-upgrade", "db", "autoMinorVersionUpgrade", False),
    Case("aws-rds-auto-minor-upgrade", "db", "autoMinorVersionUpgrade", DELETE, caught=False),
    Case("aws-rds-force-ssl", "pg-params", "parameters.0.value", "0"),
    Case("aws-rds-force-ssl", "pg-params", "parameters.0.name", "rds.other", caught=False),  # PG 15+ default is 1
    Case("aws-rds-force-ssl", "pg-params", "family", "postgres14", prep=(("pg-params", "parameters.0.name", "x"),)),
    Case("aws-rds-query-logging", "db", "enabledCloudwatchLogsExports", ["postgresql"]),
    Case("aws-rds-query-logging", "pg-params", "parameters.1.value", "-1"),
    # ElastiCache
    Case("aws-elasticache-encryption-at-rest", "redis", "atRestEncryptionEnabled", DELETE),
    Case("aws-elasticache-encryption-in-transit", "redis", "transitEncryptionEnabled", False),
    Case("aws-elasticache-encryption-in-transit", "redis", "transitEncryptionMode", "preferred"),
    Case("aws-elasticache-auth", "redis", "authToken", DELETE),
    Case("aws-elasticache-auth", "redis", "authToken", UNKNOWN, caught=False),
    Case("aws-elasticache-snapshots", "redis", "snapshotRetentionLimit", DELETE),
    Case("aws-elasticache-multi-az", "redis", "multiAzEnabled", False),
    Case("aws-elasticache-multi-az", "redis", "replicasPerNodeGroup", 0),
    Case("aws-elasticache-auto-minor-upgrade", "redis", "autoMinorVersionUpgrade", False),
    Case("aws-elasticache-private-network", "redis", "subnetGroupName", DELETE),
    Case("aws-elasticache-private-network", "redis", "securityGroupIds", []),
    # ECR, KMS, Docker
    Case("aws-ecr-immutable-tags", "repo", "imageTagMutability", DELETE),
    Case("aws-ecr-scan-on-push", "repo", "imageScanningConfiguration.scanOnPush", False),
    Case("aws-ecr-kms-encryption", "repo", "encryptionConfigurations", DELETE),
    Case("aws-ecr-policy-not-public", "repo-pull", "policy", PUBLIC),
    Case("aws-ecr-lifecycle-policy", "repo-lifecycle", "", None),
    Case("aws-kms-key-rotation", "key", "enableKeyRotation", DELETE),
    Case("aws-kms-policy-not-public", "key", "policy", PUBLIC),
    Case("aws-kms-policy-not-public", "key", "policy", DELETE, caught=False),
    Case("aws-kms-no-lockout-bypass", "key", "bypassPolicyLockoutSafetyCheck", True),
    Case("aws-kms-deletion-window", "key", "deletionWindowInDays", 7),
    Case("aws-kms-deletion-window", "key", "deletionWindowInDays", DELETE, caught=False),
    Case("docker-image-pinned-to-ecr", "image", "imageName", f"{baseline.ECR}/platform-production/app:latest"),
    Case("docker-image-pinned-to-ecr", "image", "imageName", "docker.io/me/app:1.0"),
    Case("docker-image-pinned-to-ecr", "image", "imageName", UNKNOWN),
    # IAM
    Case("aws-iam-no-admin-statement", "backup-role-policy", "policy", ALLOW_ALL),
    Case("aws-iam-no-admin-statement", "backup-role-policy", "policy", UNKNOWN),
    Case("aws-iam-no-wildcard-actions", "backup-role-policy", "policy",
         '{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}]}'),
    Case("aws-iam-no-wildcard-resource", "backup-role-policy", "policy",
         '{"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}'),
    Case("aws-iam-no-privilege-escalation", "backup-role-policy", "policy",
         '{"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}'),
    Case("aws-iam-no-exposure-on-star", "backup-role-policy", "policy",
         '{"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}'),
    Case("aws-iam-s3-least-privilege", "backup-role-policy", "policy",
         '{"Statement": [{"Effect": "Allow", "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::b"}]}'),
    Case("aws-iam-no-admin-managed-policies", "backup-role", "managedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"]),
    Case("aws-iam-trust-specific-principals", "backup-role", "assumeRolePolicy",
         '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}'),
    Case("aws-iam-trust-specific-principals", "backup-role", "assumeRolePolicy", UNKNOWN),
    Case("aws-iam-oidc-trust-pinned", "backup-role", "assumeRolePolicy",
         '{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}'),
    Case("aws-iam-oidc-trust-pinned", "backup-role", "assumeRolePolicy",
         '{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "sts:AssumeRoleWithWebIdentity",'
         ' "Condition": {"StringLike": {"i:sub": "system:serviceaccount:app:*", "i:aud": "sts.amazonaws.com"}}}]}'),
    Case("aws-iam-oidc-trust-pinned", "backup-role", "assumeRolePolicy",
         '{"Statement": [{"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "sts:AssumeRoleWithWebIdentity",'
         ' "Condition": {"StringLike": {"i:sub": "repo:o/r:*", "i:aud": "sts.amazonaws.com"}}}]}'),
    # Network
    Case("aws-sg-no-world-ingress", "pg-from-nodes", "cidrIpv4", "0.0.0.0/0"),
    Case("aws-sg-no-world-ingress", "pg-sg", "ingress", [{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]),
    Case("aws-sg-no-world-ingress", "pg-from-nodes", "cidrIpv6", UNKNOWN),
    Case("aws-sg-no-open-egress", "pg-sg", "egress", [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]),
    Case("data-store-sg-no-world-ingress", "pg-from-nodes", "cidrIpv4", "0.0.0.0/0"),
    Case("data-store-sg-no-world-ingress", "redis", "@propertyDependencies", {}),
    # Tags, cost, helm, teardown
    Case("aws-required-tags", "db", "tags.cost-center", DELETE),
    Case("aws-required-tags", "backups", "tags", DELETE),
    Case("aws-required-tags", "key", "tags", UNKNOWN),
    Case("aws-allowed-instance-sizes", "db", "instanceClass", "db.r6g.16xlarge"),
    Case("aws-allowed-instance-sizes", "redis", "nodeType", "cache.t4g.small"),
    Case("helm-chart-pinned-https", "cert-manager", "version", DELETE),
    Case("helm-chart-pinned-https", "cert-manager", "version", "^1.17"),
    Case("helm-chart-pinned-https", "cert-manager", "repositoryOpts.repo", "http://charts.jetstack.io"),
    Case("helm-no-retired-charts", "cert-manager", "chart", "ingress-nginx"),
    Case("helm-chart-renders", "cert-manager", "version", "v1.99.0"),  # no such archive in PLATFORM_CHARTS
    Case("production-data-protected", "db", "@protect", False),
    Case("production-data-protected", "db", "skipFinalSnapshot", True),
    Case("production-data-protected", "db", "finalSnapshotIdentifier", DELETE),
    Case("production-data-protected", "db", "deletionProtection", DELETE),
    Case("production-data-protected", "backups", "forceDestroy", True),
    Case("ephemeral-disposable", "db", "@protect", True, env="ephemeral", prep=tuple(EPHEMERAL)),
    Case("ephemeral-disposable", "backups", "forceDestroy", DELETE, env="ephemeral", prep=tuple(EPHEMERAL)),
    Case("ephemeral-disposable", "repo", "forceDelete", False, env="ephemeral", prep=tuple(EPHEMERAL)),
    Case("ephemeral-disposable", "db", "deletionProtection", True, env="ephemeral", prep=tuple(EPHEMERAL)),
    Case("ephemeral-disposable", "key", "tags.expires-at", "next tuesday", env="ephemeral", prep=tuple(EPHEMERAL)),
    # Preflight: what AWS itself refuses (policies/constraints.py), destroys that fail or lose data
    Case("aws-physical-names-valid", "db", "identifier", "platform-production--postgres"),
    Case("aws-physical-names-valid", "db", "identifier", "platform-production-postgres-"),
    Case("aws-physical-names-valid", "db", "identifier", UNKNOWN),
    Case("aws-physical-names-valid", "db", "identifier", DELETE, caught=False),
    Case("aws-physical-names-valid", "redis", "replicationGroupId", "platform-production-redis-cluster-mode-on"),
    Case("aws-physical-names-valid", "backups", "bucket", "platform_production_backups"),
    Case("aws-physical-names-valid", "backups", "bucket", "platform-production-backups-210987654321-ap-southeast-2-" + "x" * 8),
    Case("aws-physical-names-valid", "alias", "name", "alias/aws/platform"),
    Case("aws-physical-names-valid", "repo", "name", "platform-production/app-"),
    Case("aws-physical-names-valid", "backup-role", "name", "platform-production-" + "x" * 45),
    Case("aws-physical-names-valid", "pg-subnets", "name", "default"),
    Case("aws-physical-names-valid", "pg-sg", "name", "sg-platform"),
    Case("aws-physical-names-valid", "pg-params", "name", "platform.production.pg"),
    Case("aws-rds-parameter-values-valid", "pg-params", "parameters.1", {"name": "log_connections", "value": "1"},
         prep=(("pg-params", "family", "postgres18"),)),
    Case("aws-rds-parameter-values-valid", "pg-params", "parameters.1",
         {"name": "log_connections", "value": "receipt,authentication,authorization"}, caught=False,
         prep=(("pg-params", "family", "postgres18"),)),
    Case("aws-rds-parameter-values-valid", "pg-params", "parameters.1", {"name": "log_connections", "value": "1"},
         caught=False),
    Case("aws-rds-parameter-values-valid", "pg-params", "parameters.1.value", "-5"),
    Case("aws-rds-parameter-values-valid", "pg-params", "parameters.0.value", "on"),
    Case("aws-rds-parameter-values-valid", "pg-params", "parameters.1.name", "log_statment"),
    Case("aws-rds-parameter-values-valid", "pg-params", "family", "postgres99"),
    Case("aws-rds-parameter-values-valid", "pg-params", "family", UNKNOWN),
    Case("aws-log-retention-allowed", "logs", "retentionInDays", 10),
    Case("aws-log-retention-allowed", "logs", "retentionInDays", 45),
    Case("aws-log-retention-allowed", "logs", "retentionInDays", 14, caught=False),
    Case("aws-log-retention-allowed", "logs", "retentionInDays", UNKNOWN),
    Case("aws-log-retention-allowed", "logs", "retentionInDays", DELETE, caught=False),
    # The backup image as it was: the stack file's fixed tag on an immutable repository.
    Case("aws-ecr-immutable-tag-per-build", "image", "imageName", f"{baseline.ECR}/platform-production/app:0.1.0"),
    Case("aws-ecr-immutable-tag-per-build", "image", "build.args", DELETE),
    Case("aws-ecr-immutable-tag-per-build", "image", "build.args.SOURCE_DIGEST", "0.1.0"),
    Case("aws-ecr-immutable-tag-per-build", "image", "build.args.SOURCE_DIGEST", UNKNOWN),
    Case("aws-ecr-immutable-tag-per-build", "image", "imageName", UNKNOWN),
    Case("aws-ecr-immutable-tag-per-build", "image", "imageName", f"{baseline.ECR}/platform-production/app:0.1.0",
         caught=False, prep=(("repo", "imageTagMutability", "MUTABLE"),)),
    Case("aws-final-snapshot-unique", "db-final-suffix", "", None),
    Case("aws-final-snapshot-unique", "redis-final-suffix", "", None),
    Case("aws-final-snapshot-unique", "db", "@propertyDependencies", {}),
    Case("aws-final-snapshot-unique", "db", "finalSnapshotIdentifier", DELETE, caught=False),
    Case("aws-protected-data-dependencies-protected", "key", "@protect", False),
    Case("aws-protected-data-dependencies-protected", "alias", "@protect", False),
    Case("aws-protected-data-dependencies-protected", "backups-versioning", "@protect", False),
    Case("aws-protected-data-dependencies-protected", "backups-policy", "@protect", False),
    Case("aws-protected-data-dependencies-protected", "key", "@protect", False, caught=False,
         prep=(("db", "@protect", False), ("redis", "@protect", False), ("backups", "@protect", False))),
    Case("aws-arn-partition", "backup-role-policy", "policy", doc_(
        {"Sid": "Write", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws-cn:s3:::b/postgres/*"})),
    Case("aws-arn-partition", "logs", "kmsKeyId", "arn:aws:kms:cn-north-1:210987654321:key/0b6c-key"),
    Case("aws-arn-partition", "image", "imageName", "210987654321.dkr.ecr.cn-north-1.amazonaws.com/platform/app:1"),
    Case("aws-arn-partition", "logs", "kmsKeyId", "arn:aws:kms:us-gov-west-1:210987654321:key/0b6c-key"),
    # Kubernetes workloads
    Case("k8s-no-privileged", "app", f"{C}.securityContext.privileged", True),
    Case("k8s-no-privileged", "backup", f"{CJ}.containers.0.securityContext.privileged", True),
    Case("k8s-no-privilege-escalation", "app", f"{C}.securityContext.allowPrivilegeEscalation", DELETE),
    Case("k8s-run-as-non-root", "app", f"{P}.securityContext.runAsNonRoot", DELETE),
    Case("k8s-run-as-non-root", "cache", f"{C}.securityContext.runAsUser", 0),
    Case("k8s-run-as-non-root", "migrate", f"{P}.securityContext.fsGroup", 0),
    Case("k8s-capabilities-drop-all", "app", f"{C}.securityContext.capabilities.drop", ["NET_RAW"]),
    Case("k8s-capabilities-drop-all", "app", f"{C}.securityContext.capabilities.add", ["SYS_ADMIN"]),
    Case("k8s-capabilities-drop-all", "app", f"{C}.securityContext.capabilities.add", ["NET_BIND_SERVICE"], caught=False),
    Case("k8s-seccomp-runtime-default", "app", f"{P}.securityContext.seccompProfile.type", "Unconfined"),
    Case("k8s-seccomp-runtime-default", "app", f"{P}.securityContext.seccompProfile", DELETE),
    Case("k8s-read-only-root-fs", "app", f"{C}.securityContext.readOnlyRootFilesystem", False),
    Case("k8s-no-host-namespaces", "app", f"{P}.hostNetwork", True),
    Case("k8s-no-host-path-or-port", "app", f"{P}.volumes.0", {"name": "sock", "hostPath": {"path": "/var/run"}}),
    Case("k8s-no-host-path-or-port", "app", f"{C}.ports.0.hostPort", 8080),
    Case("k8s-volume-types-restricted", "app", f"{P}.volumes.0", {"name": "n", "nfs": {"server": "x"}}),
    Case("k8s-no-unsafe-proc-or-sysctls", "app", f"{C}.securityContext.procMount", "Unmasked"),
    Case("k8s-no-unsafe-proc-or-sysctls", "app", f"{P}.securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}]),
    Case("k8s-no-selinux-apparmor-override", "app", f"{C}.securityContext.appArmorProfile", {"type": "Unconfined"}),
    Case("k8s-security-context-explicit", "app", f"{C}.securityContext", DELETE),
    Case("k8s-resources-set", "app", f"{C}.resources.limits", DELETE),
    Case("k8s-resources-set", "backup", f"{CJ}.containers.0.resources.requests.cpu", DELETE),
    Case("k8s-image-pinned", "app", f"{C}.image", f"{baseline.ECR}/platform-production/app:latest"),
    Case("k8s-image-pinned", "app", f"{C}.image", f"{baseline.ECR}/platform-production/app"),
    Case("k8s-image-pinned", "app", f"{C}.image", UNKNOWN),
    Case("k8s-image-registry-allowed", "app", f"{C}.image", "evil.example.com/app:1.0"),
    Case("k8s-image-registry-allowed", "app", f"{C}.image", "postgres:18.1", env="ephemeral"),  # PR stores pull via ECR too
    Case("k8s-no-sa-token-automount", "app", f"{P}.automountServiceAccountToken", True),
    Case("k8s-no-sa-token-automount", "app", f"{P}.automountServiceAccountToken", DELETE),
    Case("k8s-no-default-namespace", "app", "metadata.namespace", "default"),
    Case("k8s-min-replicas", "app", "spec.replicas", 1),
    Case("policy-suppression-names-a-rule", "app", "metadata.annotations",
         {"policy.platform.example.com/suppress.k8s-min-replica": "typo"}),
    Case("policy-suppression-names-a-rule", "backups", "tags",
         {"policy.platform.example.com/suppress.no-such-rule": "typo"}),
    Case("policy-suppression-names-a-rule", "app", "metadata.annotations",
         {"policy.platform.example.com/suppress.k8s-min-replicas": "a real rule"}, caught=False),
    Case("k8s-min-replicas", "app", "spec.replicas", DELETE),
    Case("k8s-dedicated-service-account", "app", f"{P}.serviceAccountName", DELETE),
    Case("k8s-dedicated-service-account", "app", f"{P}.serviceAccountName", "ghost"),
    Case("k8s-dedicated-service-account", "app-sa", "", None),
    Case("k8s-dedicated-service-account", "app", f"{P}.serviceAccountName", UNKNOWN),
    # Kubernetes namespaces, services, gateway
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/enforce", "privileged"),
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels", DELETE),
    # issue 10: an application namespace downgraded from restricted, in any of the three modes
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/enforce", "baseline"),
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/audit", "baseline"),
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/warn", "privileged"),
    # a written reason alone is no exception: the namespace must be on the config's allow-list
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/enforce", "privileged",
         prep=(("app-ns", "metadata.annotations", {PSA_REASON: "node agents"}),)),
    # the allow-listed namespace: privileged with a reason passes, without one it does not
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/enforce", "privileged",
         caught=False, prep=AGENTS_NS),
    Case("k8s-namespace-pod-security", "app-ns", f"metadata.annotations.{PSA_REASON}", " ", prep=AGENTS_NS),
    Case("k8s-namespace-pod-security", "app-ns", "metadata.labels.pod-security.kubernetes.io/audit", "privileged",
         prep=AGENTS_NS),
    # no Deployment/CronJob of ours in it
    Case("k8s-namespace-pod-security", "app", "metadata.namespace", "node-agents"),
    Case("k8s-namespace-pod-security", "backup", "metadata.namespace", "node-agents"),
    Case("k8s-namespace-guardrails", "default-deny", "", None),
    Case("k8s-namespace-guardrails", "default-deny", "spec.policyTypes", ["Ingress"]),
    Case("k8s-namespace-guardrails", "quota", "", None),
    Case("k8s-namespace-guardrails", "limits", "", None),
    Case("k8s-namespace-guardrails", "limits", "spec.limits.0.default", DELETE),
    Case("k8s-network-policy-no-allow-all", "allow-gateway", "spec.ingress.0", {}),
    Case("k8s-network-policy-no-allow-all", "allow-gateway", "spec.ingress.0.from.0", {"ipBlock": {"cidr": "0.0.0.0/0"}}),
    Case("k8s-service-internal", "app-svc", "spec.type", "LoadBalancer"),
    Case("k8s-service-internal", "app-svc", "spec.type", "NodePort"),
    Case("k8s-service-no-external-ips", "app-svc", "spec.externalIPs", ["1.2.3.4"]),
    Case("k8s-no-credentials-in-configmap", "backup-config", "data.DB_PASSWORD", "Sup3r-secret!"),
    Case("k8s-no-credentials-in-configmap", "backup-config", "data.URL", "postgres://u:p4ss@db:5432/app"),
    Case("k8s-pdb-allows-disruption", "app-pdb", "spec.maxUnavailable", 0),
    Case("gateway-tls-only", "gateway", "spec.listeners.1.tls.certificateRefs", []),
    Case("gateway-tls-only", "gateway", "spec.listeners.1.protocol", "HTTP"),
    Case("gateway-tls-only", "https-redirect", "spec.rules.0.filters", []),
    Case("gateway-hosts-specific", "app-route", "spec.hostnames", ["*.example.com"]),
    Case("gateway-hosts-specific", "app-route", "spec.hostnames", DELETE),
    Case("gateway-hosts-specific", "https-redirect", "spec.hostnames", DELETE, caught=False),
    Case("gateway-hosts-specific", "gateway", "spec.listeners.1.hostname", "*.preview.example.com"),
    Case("gateway-hosts-specific", "gateway", "spec.listeners.1.hostname", "*.preview.example.com", caught=False,
         prep=(("gateway", "spec.listeners.1.allowedRoutes", {"namespaces": {"from": "Selector", "selector": {
             "matchLabels": {"platform.example.com/environment": "ephemeral"}}}}),)),
    Case("gateway-hosts-specific", "gateway", "spec.listeners.1.hostname", "*.preview.example.com",
         prep=(("gateway", "spec.listeners.1.allowedRoutes", {"namespaces": {"from": "All"}}),)),
    Case("gateway-hosts-unique", "https-redirect", "spec.parentRefs.0.sectionName", "https"),
    Case("gateway-hosts-unique", "db", "tags.pr", "7"),  # a PR stack may route only pr-7.* hosts
    Case("cert-manager-issuer-approved", "letsencrypt", "spec.acme.server",
         "https://acme-staging-v02.api.letsencrypt.org/directory"),
    Case("cert-manager-issuer-approved", "app-cert", "spec.issuerRef.name", "someone-elses"),
    Case("cert-manager-issuer-approved", "letsencrypt", "spec", {"selfSigned": {}}),
    Case("backup-job-own-bucket-and-role", "backup-config", "data.BACKUP_BUCKET", "platform-staging-backups"),
    Case("backup-job-own-bucket-and-role", "backup-sa", "metadata.annotations.eks.amazonaws.com/role-arn",
         "arn:aws:iam::1:role/platform-staging-backup"),
    Case("backup-job-own-bucket-and-role", "backup", f"{CJ}.serviceAccountName", "app"),
    # Secrets by class: the provider schema's secret inputs and credential names, at any depth
    Case("secret-inputs-are-secrets", "db", "password", "hunter2-Hunter2"),  # schema: RDS password
    Case("secret-inputs-are-secrets", "redis", "authToken", "plain-token-0123456789"),  # schema: AUTH token
    Case("secret-inputs-are-secrets", "redis", "authToken", UNKNOWN),  # an output that lost its secrecy
    Case("secret-inputs-are-secrets", "redis-auth", "data", {"token": "cGxhaW4="}),  # schema only: 'data'
    Case("secret-inputs-are-secrets", "image", "registry.password", "ecr-login-token"),  # nested, by name
    Case("secret-inputs-are-secrets", "monitoring", "values.grafana.adminPassword", "hunter2"),
    Case("secret-inputs-are-secrets", "monitoring", "values.grafana.adminPassword", SECRET, caught=False),
    Case("secret-inputs-are-secrets", "monitoring", "values.grafana.adminPassword", "$__file{/etc/grafana/pw}", caught=False),
    Case("secret-inputs-are-secrets", "app", f"{C}.env", [{"name": "API_TOKEN", "value": "t0ken-value"}]),
    Case("secret-inputs-are-secrets", "app", f"{C}.env", [{"name": "LOG_LEVEL", "value": "info"}], caught=False),
    Case("secret-inputs-are-secrets", "backup-config", "data.SENTRY_DSN", "https://key:s3cr3t@sentry.example.com/1"),
    Case("secret-inputs-are-secrets", "backup-config", "data.REDIS_AUTH_SECRET", "redis-auth", caught=False),
    Case("secret-inputs-are-secrets", "backup-config", "data.OAUTH_CLIENT_SECRET", "Zx9-q8W7e6R5t4Y3"),
    Case("secret-inputs-are-secrets", "backup-config", "data.PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nMII"),
    Case("secret-inputs-are-secrets", "monitoring", "values.grafana.admin.passwordKey", "admin-password", caught=False),
    Case("helm-values-no-literal-credentials", "monitoring", "values.grafana.adminPassword", "hunter2"),
    Case("helm-values-no-literal-credentials", "monitoring", "values.grafana.adminPassword", SECRET),
    Case("helm-values-no-literal-credentials", "monitoring", "values.alertmanager.config.global.slack_api_url",
         "https://hooks.slack.com/services/T0/B0/x"),
    Case("helm-values-no-literal-credentials", "monitoring", "values.alertmanager.config.receivers",
         [{"name": "team", "webhook_configs": [{"url": "https://alerts.example.com/hook/1"}]}]),
    Case("helm-values-no-literal-credentials", "monitoring", "values.alertmanager.config.receivers",
         [{"name": "pager", "pagerduty_configs": [{"routing_key": "R0UT1NGKEY"}]}]),
    Case("helm-values-no-literal-credentials", "monitoring", "values.grafana.admin.existingSecret", "other", caught=False),
    Case("aws-kms-no-foreign-admin", "key", "policy", doc_(
        {"Sid": "Foreign", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:*", "Resource": "*"})),
    Case("aws-kms-no-foreign-admin", "key", "policy", doc_(
        {"Sid": "Foreign", "Effect": "Allow", "Principal": {"AWS": "999999999999"}, "Action": ["kms:Put*"], "Resource": "*"})),
    Case("aws-kms-no-foreign-admin", "key", "policy", doc_(
        {"Sid": "Foreign", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:role/x"}, "Action": "*", "Resource": "*"})),
    Case("aws-kms-no-foreign-admin", "key", "policy", doc_(
        {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": ["kms:Decrypt"],
         "Resource": "*"}), caught=False),
    Case("gateway-tls-minimum-1-2", "client-tls", "spec.tls.minVersion", "1.0"),
    Case("gateway-tls-minimum-1-2", "client-tls", "spec.tls.minVersion", "1.1"),
    Case("gateway-tls-minimum-1-2", "client-tls", "spec.tls.maxVersion", "1.1"),
    Case("gateway-tls-minimum-1-2", "client-tls", "spec.tls.minVersion", UNKNOWN),
    Case("gateway-tls-minimum-1-2", "client-tls", "spec.tls.minVersion", DELETE, caught=False),  # default 1.2
    Case("gateway-tls-minimum-1-2", "client-tls", "spec.tls.minVersion", "1.3", caught=False),
    Case("gateway-hsts", "app-route", "spec.rules.0.filters", DELETE),
    Case("gateway-hsts", "app-route", "spec.rules.0.filters.0.responseHeaderModifier.set.0.value", "max-age=300"),
    Case("gateway-hsts", "app-route", "spec.rules.0.filters.0.responseHeaderModifier.set.0.name", "X-Frame-Options"),
    Case("gateway-hsts", "app-route", "spec.rules", UNKNOWN),
    Case("gateway-hsts", "https-redirect", "spec.rules.0.filters.0.requestRedirect.statusCode", 302, caught=False),
    Case("aws-log-group-kms", "logs", "kmsKeyId", DELETE),
    Case("aws-log-group-kms", "logs", "kmsKeyId", ""),
    Case("aws-log-group-kms", "logs", "kmsKeyId", UNKNOWN, caught=False),  # the key's ARN in a first preview
    Case("aws-rds-copy-tags-to-snapshot", "db", "copyTagsToSnapshot", False),
    Case("aws-rds-copy-tags-to-snapshot", "db", "copyTagsToSnapshot", DELETE),  # the AWS default is false
]


def _prepare(case: Case):
    dep = baseline.deployment()
    if case.rule == "k8s-no-bare-pods" or case.rule == "aws-iam-no-users":
        return dep
    for name, path, value in case.prep:
        dep = mutate(dep, name, path, value)
    return dep


def _mutate_dotted(dep, case: Case):
    # Label/annotation keys hold dots: treat a path with a known map prefix specially.
    for prefix in ("metadata.labels.", "metadata.annotations."):
        if case.path.startswith(prefix):
            import copy

            from tools.offline.check import name_of
            dep = copy.deepcopy(dep)
            target = next(r for r in dep["deployment"]["resources"] if name_of(r["urn"]) == case.resource)
            mapping = target["inputs"]["metadata"].setdefault(prefix.split(".")[1], {})
            mapping[case.path[len(prefix):]] = case.value
            return dep
    return mutate(dep, case.resource, case.path, case.value)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.rule}:{c.resource}:{c.path or 'removed'}={c.value!r:.30}")
def test_mutation(case: Case):
    before = run_rule(case.rule, _prepare(case), case.env)
    assert before == [], f"{case.rule}: the prepared baseline already fails: {before}"
    after = run_rule(case.rule, _mutate_dotted(_prepare(case), case), case.env)
    assert bool(after) == case.caught, f"{case.rule} on {case.resource}.{case.path}: {after or 'no violation'}"


@pytest.mark.parametrize("rule", sorted(META))
def test_baseline_passes(rule: str):
    env = "ephemeral" if META[rule].category == "disposability" else "production"
    dep = baseline.deployment()
    if env == "ephemeral":
        for name, path, value in EPHEMERAL:
            dep = mutate(dep, name, path, value)
    assert run_rule(rule, dep, env) == []


@pytest.mark.parametrize("rule", sorted(META))
def test_every_rule_has_a_caught_mutation(rule: str):
    extra = {"k8s-no-bare-pods", "aws-iam-no-users"}  # types the stack never creates: see test below
    assert rule in extra or any(c.rule == rule and c.caught for c in CASES), f"{rule} has no test case"


@pytest.mark.parametrize("type_,rule", [("kubernetes:core/v1:Pod", "k8s-no-bare-pods"),
                                        ("aws:iam/user:User", "aws-iam-no-users"),
                                        ("aws:iam/accessKey:AccessKey", "aws-iam-no-users")])
def test_forbidden_types_are_caught(type_, rule):
    dep = baseline.deployment([(type_, "intruder", {"metadata": {"name": "x", "namespace": "app"}}, {})])
    assert [name for name, _ in run_rule(rule, dep)] == ["intruder"]


RESOURCE_POLICIES = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]


@pytest.mark.parametrize("policy", RESOURCE_POLICIES, ids=lambda p: p.name)
def test_other_types_are_ignored(policy):
    """A broken resource of a type the rule does not cover is never reported by it."""
    reported = []
    for type_ in ("aws:ssm/parameter:Parameter", "kubernetes:core/v1:Endpoints", "random:index/randomPet:RandomPet"):
        props = {"tags": {}, "publiclyAccessible": True, "spec": {"type": "LoadBalancer"}, "policy": ALLOW_ALL}
        args = ResourceValidationArgs(type_, props, f"urn:x::{type_}::x", "x", None, None, {}, {})
        policy.validate(args, lambda msg, urn=None: reported.append(msg))
    assert reported == []


def test_messages_say_what_and_how():
    for meta in REGISTRY:
        assert meta.fix and meta.description and meta.severity, meta.id
        assert meta.id == meta.id.lower() and "_" not in meta.id


def test_ephemeral_needs_pr_and_expiry_tags_and_no_managed_data_stores():
    dep = baseline.deployment()
    tags = run_rule("aws-required-tags", dep, "ephemeral")
    assert ("db", "missing tag(s) ['pr', 'expires-at']") in tags
    sizes = {name for name, _ in run_rule("aws-allowed-instance-sizes", dep, "ephemeral")}
    assert sizes == {"db", "redis"}


def _daemon_set(name: str, namespace: str) -> list:
    return [("kubernetes:apps/v1:DaemonSet", "agent", baseline.k8s("DaemonSet", "apps/v1", name, namespace), {})]


@pytest.mark.parametrize("name, namespace, caught", [
    ("fluent-bit", "node-agents", False),          # allow-listed
    ("crypto-miner", "node-agents", True),         # not on the allow-list
    ("crypto-miner", "app", False),                # elsewhere the restricted namespace itself judges it
])
def test_only_allow_listed_daemon_sets_run_in_the_privileged_namespace(name, namespace, caught):
    found = run_rule("k8s-namespace-pod-security", baseline.deployment(_daemon_set(name, namespace)))
    assert bool(found) == caught, f"DaemonSet {namespace}/{name}: {found or 'no violation'}"


@pytest.mark.parametrize("env", ["ephemeral", "staging", "production"])
def test_node_agents_is_the_only_privileged_namespace_in_every_environment(env):
    from policy_helpers import rule_config

    allowed = rule_config("k8s-namespace-pod-security", env)["privilegedNamespaces"]
    assert set(allowed) == {"node-agents"}, f"{env}: {sorted(allowed)}"
    assert set(allowed["node-agents"]) == {"fluent-bit", "kube-prometheus-stack-prometheus-node-exporter"}, env
    assert all(reason.strip() for reason in allowed["node-agents"].values()), f"{env}: every exception says why"
    level = json.loads((CONFIG_DIR / f"{env}.json").read_text())["k8s-namespace-pod-security"]["enforcementLevel"]
    assert level == "mandatory", f"{env}: a downgraded namespace must fail the preview"


def test_one_tag_pushed_from_two_builds_is_caught() -> None:
    name = f"{baseline.ECR}/platform-production/app:src-{baseline.SOURCE[:20]}"
    other = {"imageName": name, "build": {"context": "app2", "args": {"SOURCE_DIGEST": baseline.SOURCE[:20] + "0" * 44}},
             "registry": {"server": baseline.ECR}}
    found = run_rule("aws-ecr-immutable-tag-per-build", baseline.deployment([("docker:index/image:Image", "image2", other, {})]))
    assert [where for where, _ in found] == ["image2"], found
    assert "from a different build" in found[0][1], found
