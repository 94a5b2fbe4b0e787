"""IAM: least privilege in every policy document, specific and pinned trust policies, no users.

Documents are JSON strings of plain dicts (STYLE habit 7). A document unknown during preview is a
violation that names the property: these rules are mandatory and cannot pass on what they cannot
read. Build documents from names known at plan time, or check the offline plan.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ._core import Accepted, Context, as_list, get, parse_json, resource_rule, unknown_msg
from ._docs import action_matches, actions, allows, document_state, principals, resources, statements

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment"
PERMISSION_TYPES = (ROLE, ROLE_POLICY, POLICY)


def _documents(type_: str, props: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(property path, document) for every permission document of the resource."""
    if type_ == ROLE:
        for i, inline in enumerate(as_list(props.get("inlinePolicies"))):
            yield f"inlinePolicies[{i}].policy", get(inline, "policy")
    else:
        yield "policy", props.get("policy")


@dataclass(frozen=True)
class PublishedDocument:
    """A vendor's published IAM policy, accepted as a whole where it needs ``Resource: "*"``.

    Matched by the sha256 of its content (``document_hash``), so only the reviewed document passes:
    one more statement, action or resource and it is judged like any policy of ours. The entry is
    changed only together with the pin of what the document belongs to."""

    title: str
    source: str
    sha256: str
    waives: tuple[str, ...]
    """Rule ids the document may break; every other rule still applies to it."""
    reason: str


PUBLISHED_DOCUMENTS: tuple[PublishedDocument, ...] = (
    PublishedDocument(
        title="AWS Load Balancer Controller v3.5.0 IAM policy",
        source="kubernetes-sigs/aws-load-balancer-controller @ v3.5.0 (11eb202c), docs/install/iam_policy.json; "
               "components/data/aws-load-balancer-controller-v3.5.0-iam-policy.json",
        sha256="bb9e48240ace4258c78d152ce98175ee6a118f0715faad4ff5a3e394c9d66171",
        waives=("aws-iam-no-wildcard-resource",),
        reason="the controller's published policy: the load balancers, target groups and security groups it "
               "creates have no ARN before they exist, so it grants Resource '*' and bounds the mutating calls by "
               "the elbv2.k8s.aws/cluster tag (and the service-linked role by name); kept verbatim so an upgrade "
               "is a diff against the vendor's file"),
)

_PARTITION = re.compile(r"^arn:aws(-[a-z]+)*:")


def _canonical(value: Any) -> Any:
    """The document with every ARN in partition ``aws``: the partition never widens a grant, and the
    program sets it per region (upstream's per-partition copies hold the same statements)."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return _PARTITION.sub("arn:aws:", value) if isinstance(value, str) else value


def document_hash(doc: Any) -> str | None:
    """sha256 of the document's canonical JSON (sorted keys, no whitespace, partition ``aws``)."""
    parsed = parse_json(doc)
    if not isinstance(parsed, dict):
        return None
    text = json.dumps(_canonical(parsed), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def published(doc: Any) -> PublishedDocument | None:
    digest = document_hash(doc)
    return next((p for p in PUBLISHED_DOCUMENTS if p.sha256 == digest), None)


def _each_allow_statement(check: Callable[[dict[str, Any]], Iterable[str]] | None = None, *,
                          rule: str | None = None):
    """A permissions rule read statement by statement: ``check(st)`` yields what is wrong with one
    Allow statement, reported as ``<path>: statement '<Sid>' <what>``. A document the rule cannot
    read (unknown during preview, or not JSON) is itself a violation naming its property. With
    ``rule``, a published document that waives it (``PUBLISHED_DOCUMENTS``) is accepted, with its
    reason, when it would break the rule."""
    if check is None:
        return functools.partial(_each_allow_statement, rule=rule)

    @functools.wraps(check)
    def validate(props: dict[str, Any], ctx: Context) -> Iterator[str]:
        for path, doc in _documents(ctx.type, props):
            if document_state(doc) in ("unknown", "invalid"):
                yield unknown_msg(path)
                continue
            vendor = published(doc) if rule is not None else None
            if vendor is not None and rule in vendor.waives:
                if any(allows(st) and any(True for _ in check(st)) for st in statements(doc)):
                    yield Accepted(f"{path}: {vendor.title}, sha256 {vendor.sha256[:12]}: "
                                   f"{vendor.reason}")
                continue
            for st in statements(doc):
                if allows(st):
                    yield from (f"{path}: statement '{st.get('Sid', '?')}' {what}" for what in check(st))
    return validate


def _star(values: list[str]) -> bool:
    return any(v in ("*", "arn:aws:*:*:*:*") for v in values)


@resource_rule(
    "aws-iam-no-admin-statement", types=PERMISSION_TYPES, severity="critical",
    description="No IAM policy allows every action on every resource.",
    rows=("IAM-01",), anchors=("checkov:CKV_AWS_62", "trivy:AWS-0057", "fsbp:IAM.1", "cis-aws:1.16"),
    fix="list the actions and the resources the role needs instead of Action '*' on Resource '*'")
@_each_allow_statement
def no_admin(st):
    if "*" in actions(st) and _star(resources(st)):
        yield "allows '*' on '*' (full admin)"


@resource_rule(
    "aws-iam-no-wildcard-actions", types=PERMISSION_TYPES, severity="high",
    description="No IAM policy allows wildcard actions ('*' or 'service:*') or uses NotAction.",
    rows=("IAM-02",), anchors=("checkov:CKV_AWS_63", "trivy:AWS-0057", "fsbp:IAM.21"),
    fix="replace 'service:*' with the specific actions needed (e.g. s3:PutObject)")
@_each_allow_statement
def no_wildcard_actions(st):
    wild = [a for a in actions(st) if a == "*" or a.endswith(":*")]
    if wild:
        yield f"allows wildcard action(s) {wild}"
    if st.get("NotAction"):
        yield "allows NotAction (everything else)"


# Actions that AWS does not let you scope to a resource ARN; '*' is the only valid Resource
# (Service Authorization Reference: no resource type listed; kms:CreateKey included).
_UNSCOPABLE = ("ecr:GetAuthorizationToken", "sts:GetCallerIdentity", "kms:ListAliases", "kms:CreateKey",
               "kms:ListKeys", "s3:ListAllMyBuckets", "cloudwatch:PutMetricData",
               "logs:DescribeLogGroups", "ec2:Describe*", "rds:Describe*", "elasticache:Describe*",
               # No resource-level permission exists for these (Service Authorization Reference, Route 53).
               "route53:ListHostedZones", "route53:ListHostedZonesByName")


@resource_rule(
    "aws-iam-no-wildcard-resource", types=PERMISSION_TYPES, severity="medium",
    description="IAM actions that can be scoped to a resource are not granted on Resource '*'.",
    rows=("IAM-03",), anchors=("checkov:CKV_AWS_355",),
    fix="grant the action on the ARNs of the stack's own resources (bucket, key, repository)")
@_each_allow_statement(rule="aws-iam-no-wildcard-resource")
def no_wildcard_resource(st):
    if not _star(resources(st)):
        return
    scoped = [a for a in actions(st) if not any(action_matches(a, u) for u in _UNSCOPABLE)
              or a.endswith("*")]
    if scoped:
        yield f"grants {scoped} on Resource '*'"


_ESCALATION = ("iam:PassRole", "iam:CreatePolicy*", "iam:PutRolePolicy", "iam:PutUserPolicy",
               "iam:PutGroupPolicy", "iam:AttachRolePolicy", "iam:AttachUserPolicy",
               "iam:AttachGroupPolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile",
               "iam:UpdateLoginProfile", "iam:UpdateAssumeRolePolicy", "iam:SetDefaultPolicyVersion",
               "iam:CreateRole", "iam:AddUserToGroup", "sts:AssumeRole", "lambda:UpdateFunctionCode",
               "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "kms:PutKeyPolicy", "kms:CreateGrant")


@resource_rule(
    "aws-iam-no-privilege-escalation", types=PERMISSION_TYPES, severity="high",
    description="No IAM policy grants privilege-escalation or permissions-management actions "
                "without a resource and condition constraint.",
    rows=("IAM-04",), anchors=("checkov:CKV_AWS_286", "checkov:CKV_AWS_289", "trivy:AWS-0342"),
    fix="drop the permissions-management action; if iam:PassRole is needed, scope it to one role "
        "ARN with a Condition on iam:PassedToService")
@_each_allow_statement
def no_escalation(st):
    risky = sorted({p for a in actions(st) for p in _ESCALATION if action_matches(a, p)})
    if risky and (_star(resources(st)) or not st.get("Condition")):
        yield f"grants {risky} without a resource and condition constraint"


_EXPOSURE = ("secretsmanager:GetSecretValue", "ssm:GetParameter*", "s3:GetObject*",
             "kms:Decrypt", "rds:CopyDBSnapshot", "rds:ModifyDBSnapshotAttribute",
             "ec2:ModifySnapshotAttribute", "ecr:BatchGetImage", "s3:PutObject*", "s3:DeleteObject*",
             "dynamodb:Scan", "logs:GetLogEvents", "sts:GetSessionToken", "iam:UploadSSHPublicKey")


@resource_rule(
    "aws-iam-no-exposure-on-star", types=PERMISSION_TYPES, severity="medium",
    description="No credentials-exposure, data-exfiltration or write actions on Resource '*'.",
    rows=("IAM-05",), anchors=("checkov:CKV_AWS_287", "checkov:CKV_AWS_288", "checkov:CKV_AWS_290"),
    fix="grant data and secret access on the specific bucket/key/secret ARNs only")
@_each_allow_statement
def no_exposure(st):
    if not _star(resources(st)):
        return
    risky = sorted({p for a in actions(st) for p in _EXPOSURE if action_matches(a, p)})
    if risky:
        yield f"grants {risky} on Resource '*'"


_S3_ADMIN = ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl", "s3:PutObjectAcl",
             "s3:PutBucketPublicAccessBlock", "s3:PutLifecycleConfiguration", "s3:DeleteBucket",
             "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:BypassGovernanceRetention")


@resource_rule(
    "aws-iam-s3-least-privilege", types=(ROLE_POLICY, POLICY, ROLE), severity="medium",
    description="S3 permissions are object-level on named buckets: no s3:*, no S3 action on every "
                "bucket, no bucket-administration actions.",
    rows=("IAM-09",), anchors=("trivy:AWS-0345",),
    fix="grant s3:PutObject (backups) / s3:GetObject+s3:ListBucket (restore) on "
        "arn:aws:s3:::<the stack's bucket>[/*] only")
@_each_allow_statement
def s3_least_privilege(st):
    s3_actions = [a for a in actions(st) if a.lower().startswith("s3:") or a == "*"]
    if not s3_actions:
        return
    if any(a in ("*", "s3:*") for a in s3_actions):
        yield "grants s3:*"
    if any(r in ("*", "arn:aws:s3:::*", "arn:aws:s3:::*/*") for r in resources(st)):
        yield "grants S3 actions on every bucket"
    admin = sorted({p for a in s3_actions for p in _S3_ADMIN if action_matches(a, p)} - {"*"})
    if admin and "s3:*" not in s3_actions:
        yield f"grants bucket-administration action(s) {admin}"


_ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")


@resource_rule(
    "aws-iam-no-admin-managed-policies", types=(ROLE, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT),
    severity="high",
    description="No role gets AdministratorAccess, IAMFullAccess or PowerUserAccess.",
    rows=("IAM-06",), anchors=("checkov:CKV_AWS_274", "checkov:CKV2_AWS_56", "checkov:CKV2_AWS_40"),
    fix="replace the managed admin policy with an inline policy listing the actions needed")
def no_admin_managed(props, ctx):
    arns = as_list(props.get("managedPolicyArns")) + as_list(props.get("policyArn"))
    for arn in arns:
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in _ADMIN_POLICIES:
            yield f"the managed policy {arn.rsplit('/', 1)[-1]} is attached"


@resource_rule(
    "aws-iam-trust-specific-principals", types=(ROLE,), severity="critical",
    description="Role trust policies name specific principals; never Principal '*'.",
    rows=("IAM-07",), anchors=("checkov:CKV_AWS_60", "checkov:CKV_AWS_61"),
    fix="trust only the cluster's OIDC provider (IRSA) or a named AWS service/role")
def trust_specific(props, ctx):
    doc = props.get("assumeRolePolicy")
    state = document_state(doc)
    if state == "unknown":
        yield unknown_msg("assumeRolePolicy")
    elif state != "ok":
        yield "assumeRolePolicy is missing or not a JSON document"
    for st in statements(doc):
        if allows(st) and "*" in principals(st):
            yield f"trust statement '{st.get('Sid', '?')}' allows Principal '*'"


def _condition_values(st: dict[str, Any], suffix: str) -> list[Any]:
    values: list[Any] = []
    for operator in ("StringEquals", "StringLike", "ForAnyValue:StringEquals", "ForAnyValue:StringLike"):
        block = get(st, f"Condition.{operator}")
        if isinstance(block, dict):
            values += [v for key, value in block.items() if key.endswith(suffix) for v in as_list(value)]
    return values


def _loose_subject(subject: Any) -> bool:
    # A pattern in 'sub' widens trust to identities nobody listed: any service account of a
    # namespace (IRSA), or any branch, PR or environment of a repository (GitHub Actions).
    if not isinstance(subject, str) or subject in ("", "*"):
        return True
    return "*" in subject or "?" in subject


@resource_rule(
    "aws-iam-oidc-trust-pinned", types=(ROLE,), severity="high",
    description="Web-identity trust (EKS IRSA, CI) pins the token's 'sub' and 'aud'.",
    rows=("IAM-08",), anchors=("checkov:CKV_AWS_393",),
    fix="add Condition StringEquals '<issuer>:sub' = 'system:serviceaccount:<ns>:<sa>' (IRSA) or "
        "'repo:<owner>/<repo>:environment:<name>' (GitHub Actions) and '<issuer>:aud' = 'sts.amazonaws.com'")
def oidc_pinned(props, ctx):
    for st in statements(props.get("assumeRolePolicy")):
        if not allows(st) or not any(action_matches(a, "sts:AssumeRoleWithWebIdentity")
                                     for a in actions(st)):
            continue
        subs, auds = _condition_values(st, ":sub"), _condition_values(st, ":aud")
        if not subs:
            yield f"trust statement '{st.get('Sid', '?')}' does not pin the token subject (':sub')"
        elif any(_loose_subject(s) for s in subs):
            yield f"trust statement '{st.get('Sid', '?')}' pins ':sub' with a wildcard"
        if not auds:
            yield f"trust statement '{st.get('Sid', '?')}' does not pin the token audience (':aud')"


@resource_rule(
    "aws-iam-no-users", types=("aws:iam/user:User", "aws:iam/accessKey:AccessKey",
                               "aws:iam/userLoginProfile:UserLoginProfile",
                               "aws:iam/userPolicy:UserPolicy",
                               "aws:iam/userPolicyAttachment:UserPolicyAttachment"),
    severity="medium",
    description="No IAM users or long-lived access keys; workloads use roles (IRSA, OIDC).",
    rows=("IAM-11", "IAM-12"), anchors=("checkov:CKV_AWS_273", "trivy:AWS-0146", "checkov:CKV_AWS_40"),
    fix="delete the user/key and give the workload an IAM role through IRSA or OIDC")
def no_users(props, ctx):
    yield f"{ctx.type.rsplit(':', 1)[-1]} '{ctx.name}' creates long-lived IAM user credentials"
