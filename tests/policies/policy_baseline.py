"""A small, hand-written, compliant deployment (stack export format) with one resource of every
type the stack creates. Rule tests mutate one field of it; production config unless noted."""

from __future__ import annotations

import copy
import json
from typing import Any

from tools.wire import SECRET_SIG, SIG

STACK = "production"
ACCOUNT = "210987654321"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/0b6c-key"
ECR = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"
TAGS = {"environment": "production", "project": "platform", "stack": "production",
        "owner": "team-platform", "cost-center": "cc-1234", "managed-by": "pulumi"}
SECRET = {SIG: SECRET_SIG, "ciphertext": "v1:AAAA"}
SOURCE = "ba8a48abe8f4fa0a7c6b913f6c0683bcd2814f3ab0ad9597c5b29d68fcff7478"
"""The SHA-256 of a build context (components/registry.py context_digest); the image's tag names it."""
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"}}
HSTS = {"type": "ResponseHeaderModifier", "responseHeaderModifier": {
    "set": [{"name": "Strict-Transport-Security", "value": "max-age=31536000; includeSubDomains"}]}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "privileged": False,
                      "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::platform::{type_}::{name}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def pod(name: str, image: str, sa: str) -> dict[str, Any]:
    return {"serviceAccountName": sa, "automountServiceAccountToken": False,
            "securityContext": dict(POD_SECURITY),
            "containers": [{"name": name, "image": image, "securityContext": copy.deepcopy(CONTAINER_SECURITY),
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                          "limits": {"memory": "256Mi"}},
                            "ports": [{"containerPort": 8080}]}],
            "volumes": [{"name": "tmp", "emptyDir": {}}]}


def k8s(kind: str, api: str, name: str, namespace: str | None = "app", **body: Any) -> dict[str, Any]:
    meta = {"name": name, "labels": {"app.kubernetes.io/name": name}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": meta, **body}


def backup_pod() -> dict[str, Any]:
    spec = pod("backup", f"{ECR}/platform-production/backup:0.1.0", "backup")
    spec["containers"][0]["envFrom"] = [{"configMapRef": {"name": "backup-config"}}]
    return {**spec, "restartPolicy": "Never"}


# (type, name, inputs, extra resource fields such as protect / propertyDependencies)
R = list[tuple[str, str, dict[str, Any], dict[str, Any]]]


def resources() -> R:
    b, pg, rg = "aws:s3/bucket:Bucket", "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup"
    key = urn("aws:kms/key:Key", "key")
    rid = "random:index/randomId:RandomId"
    # Settings of the kept bucket are kept with it (aws-protected-data-dependencies-protected).
    bucket_dep = {"protect": True, "propertyDependencies": {"bucket": [urn(b, "backups")]}}
    sg = "aws:ec2/securityGroup:SecurityGroup"
    return [
        ("aws:kms/key:Key", "key", {"enableKeyRotation": True, "deletionWindowInDays": 30, "tags": TAGS,
                                    "policy": doc({"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                   "Action": "kms:*", "Resource": "*"})}, {"protect": True}),
        ("aws:kms/alias:Alias", "alias", {"name": "alias/platform-production", "targetKeyId": KEY_ARN},
         {"protect": True, "propertyDependencies": {"targetKeyId": [key]}}),
        ("aws:ecr/repository:Repository", "repo", {"name": "platform-production/app", "imageTagMutability": "IMMUTABLE",
                                                   "imageScanningConfiguration": {"scanOnPush": True},
                                                   "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}],
                                                   "tags": TAGS}, {}),
        ("aws:ecr/lifecyclePolicy:LifecyclePolicy", "repo-lifecycle", {"repository": "platform-production/app", "policy": "{}"}, {}),
        ("aws:ecr/repositoryPolicy:RepositoryPolicy", "repo-pull", {"repository": "platform-production/app", "policy": doc(
            {"Sid": "Pull", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/nodes"},
             "Action": ["ecr:BatchGetImage"]})}, {}),
        ("docker:index/image:Image", "image", {"imageName": f"{ECR}/platform-production/app:src-{SOURCE[:20]}",
                                               "build": {"context": "app", "args": {"SOURCE_DIGEST": SOURCE}},
                                               "registry": {"server": ECR, "password": SECRET}}, {}),
        ("aws:rds/parameterGroup:ParameterGroup", "pg-params", {"name": "platform-production-pg", "family": "postgres16", "tags": TAGS,
                                                                "parameters": [{"name": "rds.force_ssl", "value": "1"},
                                                                               {"name": "log_min_duration_statement", "value": "500"}]}, {}),
        ("aws:rds/subnetGroup:SubnetGroup", "pg-subnets", {"name": "platform-production-pg", "subnetIds": ["subnet-a", "subnet-b"], "tags": TAGS}, {}),
        (sg, "pg-sg", {"description": "postgres", "vpcId": "vpc-1", "tags": TAGS}, {}),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "pg-from-nodes", {
            "securityGroupId": "sg-pg", "referencedSecurityGroupId": "sg-nodes", "fromPort": 5432, "toPort": 5432,
            "ipProtocol": "tcp", "description": "nodes", "tags": TAGS},
         {"propertyDependencies": {"securityGroupId": [urn(sg, "pg-sg")]}}),
        (pg, "db", {"engine": "postgres", "engineVersion": "16.4", "instanceClass": "db.r6g.large", "storageEncrypted": True,
                    "kmsKeyId": KEY_ARN, "publiclyAccessible": False, "backupRetentionPeriod": 30, "multiAz": True,
                    "deletionProtection": True, "skipFinalSnapshot": False, "finalSnapshotIdentifier": "platform-production-final",
                    "iamDatabaseAuthenticationEnabled": True, "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
                    "parameterGroupName": "platform-production-pg", "vpcSecurityGroupIds": ["sg-pg"],
                    "dbSubnetGroupName": "platform-production-pg", "manageMasterUserPassword": True, "tags": TAGS,
                    "copyTagsToSnapshot": True},
         {"protect": True, "propertyDependencies": {"vpcSecurityGroupIds": [urn(sg, "pg-sg")], "kmsKeyId": [key],
                                                    "finalSnapshotIdentifier": [urn(rid, "db-final-suffix")],
                                                    "parameterGroupName": [urn("aws:rds/parameterGroup:ParameterGroup", "pg-params")]}}),
        (rid, "db-final-suffix", {"byteLength": 4, "keepers": {"identifier": "platform-production-postgres"}}, {}),
        (rid, "redis-final-suffix", {"byteLength": 4, "keepers": {"identifier": "platform-production-redis"}}, {}),
        ("random:index/randomPassword:RandomPassword", "redis-token", {"length": 64, "special": False}, {}),
        ("aws:elasticache/subnetGroup:SubnetGroup", "redis-subnets", {"name": "platform-production-redis", "subnetIds": ["subnet-a"], "tags": TAGS}, {}),
        (sg, "redis-sg", {"description": "redis", "vpcId": "vpc-1", "tags": TAGS}, {}),
        (rg, "redis", {"nodeType": "cache.r6g.large", "atRestEncryptionEnabled": True, "kmsKeyId": KEY_ARN,
                       "transitEncryptionEnabled": True, "authToken": SECRET, "snapshotRetentionLimit": 7,
                       "automaticFailoverEnabled": True, "multiAzEnabled": True, "replicasPerNodeGroup": 2, "numNodeGroups": 3,
                       "subnetGroupName": "platform-production-redis", "securityGroupIds": ["sg-redis"],
                       "finalSnapshotIdentifier": "platform-production-redis-final", "tags": TAGS},
         {"protect": True, "propertyDependencies": {"securityGroupIds": [urn(sg, "redis-sg")], "kmsKeyId": [key],
                                                    "finalSnapshotIdentifier": [urn(rid, "redis-final-suffix")]}}),
        ("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30, "kmsKeyId": KEY_ARN, "tags": TAGS}, {}),
        (b, "backups", {"bucket": "platform-production-backups", "forceDestroy": False, "objectLockEnabled": True, "tags": TAGS}, {"protect": True}),
        ("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", "backups-lock", {
            "bucket": "platform-production-backups", "rule": {"defaultRetention": {"mode": "GOVERNANCE", "days": 7}}}, bucket_dep),
        ("aws:s3/bucketVersioning:BucketVersioning", "backups-versioning", {
            "bucket": "platform-production-backups", "versioningConfiguration": {"status": "Enabled"}}, bucket_dep),
        ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-sse", {
            "bucket": "platform-production-backups", "rules": [{"applyServerSideEncryptionByDefault": {
                "sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}, "bucketKeyEnabled": True}]},
         {"protect": True, "propertyDependencies": {"bucket": [urn(b, "backups")], "rules": [key]}}),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-pab", {
            "bucket": "platform-production-backups", "blockPublicAcls": True, "blockPublicPolicy": True,
            "ignorePublicAcls": True, "restrictPublicBuckets": True}, bucket_dep),
        ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "backups-ownership", {
            "bucket": "platform-production-backups", "rule": {"objectOwnership": "BucketOwnerEnforced"}}, bucket_dep),
        ("aws:s3/bucketPolicy:BucketPolicy", "backups-policy", {"bucket": "platform-production-backups", "policy": doc(
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::platform-production-backups", "arn:aws:s3:::platform-production-backups/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}})}, bucket_dep),
        ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle", {
            "bucket": "platform-production-backups", "rules": [{"id": "expire", "status": "Enabled", "filter": {},
                                                                "expiration": {"days": 30},
                                                                "noncurrentVersionExpiration": {"noncurrentDays": 30},
                                                                "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1}}]}, bucket_dep),
        ("aws:iam/role:Role", "backup-role", {"name": "platform-production-backup", "tags": TAGS, "assumeRolePolicy": doc(
            {"Sid": "Irsa", "Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks/id/X"},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {"oidc.eks/id/X:sub": "system:serviceaccount:app:backup",
                                            "oidc.eks/id/X:aud": "sts.amazonaws.com"}}})}, {}),
        ("aws:iam/rolePolicy:RolePolicy", "backup-role-policy", {"role": "platform-production-backup", "policy": doc(
            {"Sid": "Write", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::platform-production-backups/postgres/*"},
            {"Sid": "Key", "Effect": "Allow", "Action": ["kms:GenerateDataKey"], "Resource": KEY_ARN})}, {}),
        ("kubernetes:core/v1:Namespace", "app-ns", k8s("Namespace", "v1", "app", None) | {"metadata": {"name": "app", "labels": {
            "pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted"}}}, {}),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "default-deny", k8s("NetworkPolicy", "networking.k8s.io/v1", "default-deny",
                                                                             spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}), {}),
        ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-gateway", k8s("NetworkPolicy", "networking.k8s.io/v1", "allow-gateway", spec={
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "app"}}, "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}}}],
                         "ports": [{"port": 8080}]}]}), {}),
        ("kubernetes:core/v1:ResourceQuota", "quota", k8s("ResourceQuota", "v1", "quota", spec={"hard": {"requests.cpu": "32"}}), {}),
        ("kubernetes:core/v1:LimitRange", "limits", k8s("LimitRange", "v1", "limits", spec={"limits": [{
            "type": "Container", "default": {"memory": "256Mi"}, "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}), {}),
        ("kubernetes:core/v1:ServiceAccount", "app-sa", k8s("ServiceAccount", "v1", "app", automountServiceAccountToken=False), {}),
        ("kubernetes:core/v1:ServiceAccount", "backup-sa", k8s("ServiceAccount", "v1", "backup") | {"metadata": {
            "name": "backup", "namespace": "app",
            "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{ACCOUNT}:role/platform-production-backup"}}}, {}),
        ("kubernetes:core/v1:Secret", "redis-auth", k8s("Secret", "v1", "redis-auth", stringData=SECRET), {}),
        ("kubernetes:core/v1:ConfigMap", "backup-config", k8s("ConfigMap", "v1", "backup-config", data={
            "BACKUP_BUCKET": "platform-production-backups", "PG_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
            "PGPASSFILE": "/run/pgpass/pgpass"}), {}),
        ("kubernetes:core/v1:Service", "app-svc", k8s("Service", "v1", "app", spec={"type": "ClusterIP", "ports": [{"port": 80}]}), {}),
        ("kubernetes:apps/v1:Deployment", "app", k8s("Deployment", "apps/v1", "app", spec={
            "replicas": 3, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "app"}},
                                        "spec": pod("app", f"{ECR}/platform-production/app:0.1.0", "app")}}), {}),
        ("kubernetes:apps/v1:StatefulSet", "cache", k8s("StatefulSet", "apps/v1", "cache", spec={
            "replicas": 2, "template": {"spec": pod("cache", f"{ECR}/platform-production/cache:1.2.3", "app")}}), {}),
        ("kubernetes:batch/v1:CronJob", "backup", k8s("CronJob", "batch/v1", "postgres-backup", spec={
            "schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": backup_pod()}}}}), {}),
        ("kubernetes:batch/v1:Job", "migrate", k8s("Job", "batch/v1", "migrate", spec={
            "template": {"spec": pod("migrate", f"{ECR}/platform-production/app:0.1.0", "app")}}), {}),
        ("kubernetes:policy/v1:PodDisruptionBudget", "app-pdb", k8s("PodDisruptionBudget", "policy/v1", "app", spec={
            "maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "app"}}}), {}),
        ("kubernetes:helm.sh/v3:Release", "envoy-gateway", {"chart": "oci://docker.io/envoyproxy/gateway-helm", "version": "1.4.2",
                                                            "namespace": "gateway"}, {}),
        ("kubernetes:helm.sh/v3:Release", "cert-manager", {"chart": "cert-manager", "version": "v1.17.2",
                                                           "repositoryOpts": {"repo": "https://charts.jetstack.io"}}, {}),
        ("kubernetes:cert-manager.io/v1:ClusterIssuer", "letsencrypt", k8s("ClusterIssuer", "cert-manager.io/v1", "letsencrypt", None, spec={
            "acme": {"server": "https://acme-v02.api.letsencrypt.org/directory", "email": "platform@example.com",
                     "privateKeySecretRef": {"name": "le"}, "solvers": [{"http01": {"gatewayHTTPRoute": {}}}]}}), {}),
        ("kubernetes:cert-manager.io/v1:Certificate", "app-cert", k8s("Certificate", "cert-manager.io/v1", "app-cert", "gateway", spec={
            "secretName": "app-tls", "dnsNames": ["app.example.com"], "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}}), {}),
        ("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gateway", k8s("Gateway", "gateway.networking.k8s.io/v1", "platform", "gateway", spec={
            "gatewayClassName": "envoy", "listeners": [
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": "app.example.com"},
                {"name": "https", "protocol": "HTTPS", "port": 443, "hostname": "app.example.com",
                 "tls": {"mode": "Terminate", "certificateRefs": [{"name": "app-tls"}]}}]}), {}),
        ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "app-route", k8s("HTTPRoute", "gateway.networking.k8s.io/v1", "app", spec={
            "parentRefs": [{"name": "platform", "namespace": "gateway", "sectionName": "https"}],
            "hostnames": ["app.example.com"], "rules": [{"backendRefs": [{"name": "app", "port": 80}], "filters": [HSTS]}]}), {}),
        ("kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy", "client-tls", k8s(
            "ClientTrafficPolicy", "gateway.envoyproxy.io/v1alpha1", "platform-tls", "gateway", spec={
                "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "platform"}],
                "tls": {"minVersion": "1.2"}}), {}),
        ("kubernetes:helm.sh/v3:Release", "monitoring", {
            "chart": "kube-prometheus-stack", "version": "75.0.0", "namespace": "monitoring",
            "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
            "values": {"grafana": {"admin": {"existingSecret": "grafana-admin", "userKey": "admin-user",
                                             "passwordKey": "admin-password"}},
                       "alertmanager": {"alertmanagerSpec": {"useExistingSecret": True, "configSecret": "alertmanager-config"}}}}, {}),
        ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "https-redirect", k8s("HTTPRoute", "gateway.networking.k8s.io/v1", "redirect", "gateway", spec={
            "parentRefs": [{"name": "platform", "sectionName": "http"}], "hostnames": ["app.example.com"],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                       "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}]}), {}),
        ("kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy", "rate-limit", k8s(
            "BackendTrafficPolicy", "gateway.envoyproxy.io/v1alpha1", "rate-limit", spec={"rateLimit": {"type": "Local"}}), {}),
        ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "alerts", k8s("PrometheusRule", "monitoring.coreos.com/v1", "alerts", spec={"groups": []}), {}),
    ]


def deployment(extra: R = ()) -> dict[str, Any]:
    out = []
    for type_, name, inputs, fields in [*resources(), *extra]:
        out.append({"urn": urn(type_, name), "type": type_, "custom": True, "inputs": copy.deepcopy(inputs),
                    "outputs": {}, "protect": False, "dependencies": [], **copy.deepcopy(fields)})
    return {"version": 3, "deployment": {"manifest": {}, "resources": out}}
