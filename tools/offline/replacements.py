"""What forces a resource to be replaced, per resource type, as data with its source.

``TABLE[type]`` lists the input paths (Pulumi's camelCase input names; ``[*]`` matches any list
index) whose change makes the provider plan a replacement, ``immutable`` paths the API rejects
on update without the provider replacing, and ``stateful`` says what a delete or replacement
loses (these are blocking in ``python -m tools diff``).

Versions the entries are read against: pulumi-aws 7.51.1 (bridging terraform-provider-aws v6;
``ForceNew`` / ``RequiresReplace`` in the resource's schema), pulumi-kubernetes 4.34.2
(``provider/pkg/provider/diff.go`` ``forceNew`` table, read at pulumi/pulumi-kubernetes@94977969d,
the newest stored snapshot, whose diff.go last changed before v4.32.0), pulumi-random 4.21.4,
pulumi-docker 5.2.0. ``checked`` is True where the entry was compared with the cited file at the
cited commit (``@<sha>``). The commit is the stored version of that file that could be read
here: pulumi-aws v7.51.1's exact upstream commit could not be pinned (the terraform-provider-aws
snapshot is over the fetch limit), so "pre-v6" marks a file read at an aws-sdk-go v1 era commit
whose ForceNew set was compared as it stands there; the v6 ``region`` input is added on top.

Every AWS resource in pulumi-aws 7 also has a per-resource ``region`` input (terraform-provider-aws
v6, ``RequiresReplace``), added to each regional AWS entry below (IAM is global: it has none).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rules:
    force_new: tuple[str, ...]
    source: str
    stateful: str = ""
    """What a delete or replacement loses; empty when nothing is lost but downtime."""
    immutable: tuple[str, ...] = ()
    immutable_source: str = ""
    checked: bool = False
    notes: str = ""
    patch: bool = field(default=False)
    """A pulumi-kubernetes Patch resource: only name and namespace force replacement."""


TF_AWS = "hashicorp/terraform-provider-aws"
K8S_DIFF = "pulumi/pulumi-kubernetes provider/pkg/provider/diff.go (forceNew)"
K8S_META = ("metadata.name", "metadata.namespace")
"""pulumi-kubernetes provider.go Diff: "Changing the identity of the resource always causes a replacement"."""
LABEL_SELECTOR = ("spec.selector",)
K8S_API = "Kubernetes API validation (k8s.io/kubernetes pkg/apis/*/validation)"


def _aws(fields: tuple[str, ...], path: str, *, regional: bool = True, **kw: object) -> Rules:
    fields = (*fields, "region") if regional else fields
    return Rules(force_new=fields, source=f"{TF_AWS} {path} (ForceNew)", **kw)  # type: ignore[arg-type]


def _k8s(fields: tuple[str, ...] = (), kind: str = "", **kw: object) -> Rules:
    src = f"{K8S_DIFF}{' ' + kind if kind else ': no kind entry, metadata only'}"
    return Rules(force_new=(*K8S_META, *fields), source=src, checked=True, **kw)  # type: ignore[arg-type]


COMPONENT = Rules(force_new=(), source="component resource of this repository: no provider and no inputs; "
                  "replaced only through its URN", checked=True)

TABLE: dict[str, Rules] = {
    # --- AWS -------------------------------------------------------------------------------
    "aws:rds/instance:Instance": _aws(
        ("availabilityZone", "characterSetName", "customIamInstanceProfile", "dbName", "engine", "kmsKeyId",
         "ncharCharacterSetName", "restoreToPointInTime", "s3Import", "snapshotIdentifier", "storageEncrypted",
         "timezone", "username"),
        "internal/service/rds/instance.go @00e4b238", stateful="database (all data unless restored from a snapshot)",
        checked=True,
        notes="identifier/identifierPrefix are updated in place (renamed) since terraform-provider-aws "
              "v5.0.0 (#31232, CHANGELOG); engineVersion is an in-place upgrade"),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": _aws(
        ("kmsKeyId", "preSignedUrl", "retentionPeriod", "sourceDbInstanceArn"),
        "internal/service/rds/instance_automated_backups_replication.go (no Update: every argument)",
        stateful="the automated backups replicated into the second region"),
    "aws:rds/subnetGroup:SubnetGroup": _aws(("name", "namePrefix"), "internal/service/rds/subnet_group.go @01c08000 (pre-v6)", checked=True),
    "aws:rds/parameterGroup:ParameterGroup": _aws(("name", "namePrefix", "family", "description"),
                                                  "internal/service/rds/parameter_group.go @01606926 (v6)",
                                                  checked=True),
    "aws:elasticache/replicationGroup:ReplicationGroup": _aws(
        ("replicationGroupId", "atRestEncryptionEnabled", "kmsKeyId", "subnetGroupName", "port",
         "snapshotArns", "snapshotName", "dataTieringEnabled", "networkType", "globalReplicationGroupId",
         "securityGroupNames"),
        "internal/service/elasticache/replication_group.go @001b6364 (v6)", stateful="cache data",
        checked=True,
        notes="CustomizeDiff also forces replacement on an engine or engineVersion downgrade and on a "
              "significant nodeGroupConfiguration change; transitEncryptionEnabled is updatable in place"),
    "aws:elasticache/subnetGroup:SubnetGroup": _aws(("name",), "internal/service/elasticache/subnet_group.go @01c08000 (pre-v6)",
        checked=True),
    "aws:s3/bucket:Bucket": _aws(("bucket", "bucketPrefix", "objectLockEnabled"),
                                 "internal/service/s3/bucket.go", stateful="every object (backups)",
                                 notes="objectLockEnabled ForceNew seen in the stored v6 bucket.go"),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _aws(
        ("bucket",), "internal/service/s3/bucket_replication_configuration.go",
        notes="a replacement pauses the copy; objects already replicated stay"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _aws(
        ("bucket", "expectedBucketOwner"), "internal/service/s3/bucket_lifecycle_configuration.go"),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _aws(
        ("bucket", "expectedBucketOwner", "objectLockEnabled"),
        "internal/service/s3/bucket_object_lock_configuration.go"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _aws(
        ("bucket",), "internal/service/s3/bucket_ownership_controls.go @01c08000 (pre-v6)", checked=True),
    "aws:s3/bucketPolicy:BucketPolicy": _aws(("bucket",), "internal/service/s3/bucket_policy.go @0073593e (v6)", checked=True),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _aws(
        ("bucket",), "internal/service/s3/bucket_public_access_block.go @01606926 (v6)", checked=True),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _aws(
        ("bucket", "expectedBucketOwner"), "internal/service/s3/bucket_server_side_encryption_configuration.go @01606926 (v6)",
        checked=True),
    "aws:s3/bucketVersioning:BucketVersioning": _aws(
        ("bucket", "expectedBucketOwner"), "internal/service/s3/bucket_versioning.go @01c08000 (pre-v6)", checked=True),
    "aws:kms/key:Key": _aws(("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
                            "internal/service/kms/key.go @00a35305 (v6)", checked=True,
                            stateful="encryption key: everything encrypted under it becomes unreadable"),
    "aws:kms/alias:Alias": _aws(("name", "namePrefix"), "internal/service/kms/alias.go @01c08000 (pre-v6)",
                                 checked=True),
    "aws:ecr/repository:Repository": _aws(("name", "encryptionConfigurations"),
                                          "internal/service/ecr/repository.go @0072eea2", stateful="pushed images",
                                          checked=True),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _aws(
        ("policy", "repository"), "internal/service/ecr/lifecycle_policy.go @00a35305 (v6)", checked=True,
        notes="the resource has no Update: `policy` is ForceNew too, so every rule change is a replacement "
              "(delete + put of the policy; no images are lost)"),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _aws(("repository",), "internal/service/ecr/repository_policy.go @004b82ba (v6)",
        checked=True),
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": _aws(
        ("ecrRepositoryPrefix", "upstreamRegistryUrl"), "internal/service/ecr/pull_through_cache_rule.go",
        stateful="the account's pull-through cache: every pull through its prefix fails until it is re-created "
                 "(move it with `pulumi state delete`, docs/first-deployment.md)"),
    "aws:iam/role:Role": _aws(("name", "namePrefix", "path"), "internal/service/iam/role.go @0040ea69 (pre-v6)",
                              regional=False, checked=True),
    "aws:iam/rolePolicy:RolePolicy": _aws(("role", "name", "namePrefix"),
                                          "internal/service/iam/role_policy.go @02f97af8 (pre-v6)",
                                          regional=False, checked=True),
    "aws:cloudwatch/logGroup:LogGroup": _aws(("name", "namePrefix", "logGroupClass"),
                                             "internal/service/logs/group.go @0073593e (v6)", checked=True, stateful="stored log events"),
    "aws:ec2/securityGroup:SecurityGroup": _aws(("name", "namePrefix", "description", "vpcId"),
                                                "internal/service/ec2/vpc_security_group.go"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _aws(
        ("securityGroupId",), "internal/service/ec2/vpc_security_group_ingress_rule.go (RequiresReplace)"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _aws(
        ("securityGroupId",), "internal/service/ec2/vpc_security_group_egress_rule.go (RequiresReplace)"),
    # --- other providers ---------------------------------------------------------------------
    "random:index/randomPassword:RandomPassword": Rules(
        force_new=("keepers", "length", "lower", "minLower", "minNumeric", "minSpecial", "minUpper", "number",
                   "numeric", "overrideSpecial", "special", "upper"),
        source="hashicorp/terraform-provider-random internal/provider/resource_password.go (RequiresReplace on "
               "every argument)"),
    "random:index/randomId:RandomId": Rules(
        force_new=("byteLength", "keepers", "prefix"),
        source="hashicorp/terraform-provider-random internal/provider/resource_id.go (RequiresReplace on "
               "every argument)"),
    "docker:index/image:Image": Rules(
        force_new=(), source="pulumi/pulumi-docker provider/image.go Diff: a changed build or name is an "
                             "update (a new push), never a replacement"),
    "pulumi:providers:aws": Rules(
        force_new=("region",), source="pulumi/pulumi-terraform-bridge pkg/tfbridge/provider.go (DiffConfig); "
                                      "an explicit provider's region is where its resources live",
        notes="a replaced provider replaces every resource it manages (the second-region backup copy); "
              "not checked against the bridge's code offline"),
    "pulumi:providers:kubernetes": Rules(
        force_new=("kubeconfig", "context", "cluster", "clusterIdentifier", "renderYamlToDirectory"),
        source="pulumi/pulumi-kubernetes provider/pkg/provider/provider.go DiffConfig (kubeconfig: only when the "
               "active cluster changes, which a redacted kubeconfig cannot show offline)", checked=True,
        notes="a replaced provider replaces every resource it manages"),
    # --- Kubernetes (pulumi-kubernetes forceNew table + identity) -----------------------------
    "kubernetes:apps/v1:Deployment": _k8s(LABEL_SELECTOR, "apps/v1 Deployment"),
    "kubernetes:apps/v1:StatefulSet": _k8s(
        ("spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName",
         "spec.volumeClaimTemplates"), "apps/v1 StatefulSet", stateful="its volumes (volumeClaimTemplates)"),
    "kubernetes:batch/v1:Job": _k8s(("spec.completions", "spec.parallelism", "spec.selector", "spec.template"),
                                    "batch/v1 Job"),
    "kubernetes:batch/v1:CronJob": _k8s(),
    "kubernetes:core/v1:PersistentVolumeClaim": _k8s(
        ("spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"),
        "core/v1 PersistentVolumeClaim", stateful="the volume's data",
        immutable=("spec.dataSource", "spec.volumeMode"), immutable_source=f"{K8S_API} core ValidatePersistentVolumeClaimUpdate"),
    "kubernetes:core/v1:Service": _k8s(
        ("spec.clusterIP",), "core/v1 Service", immutable=("spec.clusterIPs",),
        immutable_source=f"{K8S_API} core ValidateServiceUpdate (clusterIPs may only be appended for dual-stack)"),
    "kubernetes:core/v1:ResourceQuota": _k8s(("spec.scopes",), "core/v1 ResourceQuota"),
    "kubernetes:core/v1:Secret": _k8s(
        ("type", "data", "stringData"), "core/v1 Secret (enableSecretMutable is off by default)",
        immutable=("data", "stringData"), immutable_source=f"{K8S_API}: `immutable: true` freezes data"),
    "kubernetes:core/v1:ConfigMap": _k8s(
        ("data", "binaryData"), "core/v1 ConfigMap (enableConfigMapMutable is off by default)",
        immutable=("data", "binaryData"), immutable_source=f"{K8S_API}: `immutable: true` freezes data"),
    "kubernetes:core/v1:Namespace": _k8s(stateful="every object in it, volumes included"),
    "kubernetes:core/v1:LimitRange": _k8s(),
    "kubernetes:core/v1:ServiceAccount": _k8s(),
    "kubernetes:core/v1:ServiceAccountPatch": _k8s(patch=True),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": _k8s(),
    "kubernetes:policy/v1:PodDisruptionBudget": _k8s(notes="the table has `.spec` only for policy/v1beta1"),
    "kubernetes:helm.sh/v3:Release": Rules(
        force_new=("name", "namespace"),
        source="pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go Diff (forceNewFields)", checked=True),
    "kubernetes:cert-manager.io/v1:Certificate": _k8s(),
    "kubernetes:cert-manager.io/v1:ClusterIssuer": _k8s(),
    "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy": _k8s(),
    "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy": _k8s(),
    "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy": _k8s(),
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": _k8s(),
    "kubernetes:gateway.networking.k8s.io/v1:GatewayClass": _k8s(
        immutable=("spec.controllerName",), immutable_source="Gateway API CRD gatewayclasses (x-kubernetes-validations: "
                                                             "controllerName is immutable)"),
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": _k8s(),
    "kubernetes:monitoring.coreos.com/v1:PrometheusRule": _k8s(),
    "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": _k8s(),
    "aws:eks/addon:Addon": _aws(("addonName", "clusterName"), "internal/service/eks/addon.go"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _aws(
        ("role", "policyArn"), "internal/service/iam/role_policy_attachment.go", regional=False),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": _k8s(),
    "kubernetes:storage.k8s.io/v1:StorageClass": Rules(
        force_new=(*K8S_META, "parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"),
        source=f"{K8S_DIFF} storage/v1 StorageClass", immutable=("parameters", "provisioner", "reclaimPolicy",
                                                                 "volumeBindingMode"),
        immutable_source=f"{K8S_API} storage ValidateStorageClassUpdate"),
}
"""Every resource type the staging, production and PR plans create (a test keeps it complete)."""

STATELESS_COMPONENT_PREFIX = "platform:"


def rules_for(type_: str) -> Rules | None:
    if type_.startswith(STATELESS_COMPONENT_PREFIX):
        return COMPONENT
    return TABLE.get(type_)
