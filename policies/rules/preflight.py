"""Preflight: what AWS itself would refuse at ``pulumi up``, or a destroy that fails or loses data.

The mocks accept anything the SDK's types accept; these rules hold the plan to the service's own
rules, read from ``policies/constraints.py`` (botocore's API models plus cited tables): physical
names, parameter values per family, log retention values, partitions. And two teardown facts the
engine only learns at delete time: a final snapshot id reused by the next destroy, and a key or
bucket setting deleted while the data it makes readable is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ._core import as_list, by_type, is_unknown, resource_rule, stack_rule, unknown_msg

try:  # tools, tests and config.py: the repository root is on sys.path
    from policies import constraints
except ImportError:  # the engine runs the pack with policies/ as its root
    import constraints  # type: ignore[no-redef]

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BUCKET = "aws:s3/bucket:Bucket"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DATA_STORES = (RDS_INSTANCE, REPLICATION_GROUP, BUCKET)


@resource_rule(
    "aws-physical-names-valid", types=tuple(constraints.PHYSICAL_NAMES), severity="high", category="preflight",
    description="Every physical name meets its service's rules (botocore shape patterns and lengths, AWS's "
                "documented identifier rules).",
    anchors=("botocore:service-models", "terraform-provider-aws:validators"),
    fix="derive the name from the stack name through components/naming.py; shorten or rename the stack "
        "(config validation gives the length budget for the region)")
def physical_names_valid(props, ctx):
    for prop, kind in constraints.PHYSICAL_NAMES[ctx.type].items():
        value = props.get(prop)
        if value is None:
            continue  # auto-named by Pulumi from the logical name
        if is_unknown(value):
            # A final snapshot id ends in a random suffix unknown until it is created (first
            # preview); its fixed-length template is checked by config validation, its random
            # origin by aws-final-snapshot-unique.
            if prop != "finalSnapshotIdentifier":
                yield unknown_msg(prop)
        elif isinstance(value, str):
            for what in constraints.name_problems(kind, value):
                yield f"{prop} {value!r} {what}"


@resource_rule(
    "aws-rds-parameter-values-valid", types=(PARAMETER_GROUP,), severity="high", category="preflight",
    description="Every parameter a DB parameter group sets exists in its family and has a value the family accepts.",
    anchors=("rds:DescribeEngineDefaultParameters",),
    fix="set the value the family documents (postgres18 log_connections is a list such as "
        "'receipt,authentication,authorization'), or add the parameter with its source to policies/constraints.py")
def parameter_values_valid(props, ctx):
    family = props.get("family")
    if is_unknown(family):
        yield unknown_msg("family")
        return
    for param in as_list(props.get("parameters")):
        if not isinstance(param, dict):
            continue
        name, value = param.get("name"), param.get("value")
        if is_unknown(name) or is_unknown(value):
            yield unknown_msg("parameters")
            continue
        problem = constraints.parameter_problem(str(family), str(name), str(value))
        if problem is not None:
            yield problem


@resource_rule(
    "aws-log-retention-allowed", types=(LOG_GROUP,), severity="high", category="preflight",
    description="A log group's retention is one of the values CloudWatch Logs accepts.",
    anchors=("botocore:logs.PutRetentionPolicy.retentionInDays",),
    fix="round the retention up to an allowed value (config.BackupProfile.log_retention_days does)")
def log_retention_allowed(props, ctx):
    days = props.get("retentionInDays")
    if days is None:
        return
    if is_unknown(days):
        yield unknown_msg("retentionInDays")
    elif int(days) not in (0, *constraints.LOG_RETENTION_DAYS):
        yield (f"retentionInDays {int(days)} is refused by CloudWatch Logs; allowed: "
               f"{', '.join(map(str, constraints.LOG_RETENTION_DAYS))}")


_RANDOM = re.compile(r"^random:index/random(Id|String|Pet|Uuid|Bytes|Integer):")


@stack_rule(
    "aws-final-snapshot-unique", types=(RDS_INSTANCE, REPLICATION_GROUP), severity="high", category="preflight",
    description="A final snapshot identifier differs per incarnation of the data store (a random suffix kept in "
                "state), so the second destroy does not fail on the snapshot the first one left.",
    anchors=("rds:DBSnapshotAlreadyExists", "elasticache:SnapshotAlreadyExistsFault"),
    fix="build finalSnapshotIdentifier with Output.concat from the identifier and a random.RandomId whose "
        "keepers hold the identifier")
def final_snapshot_unique(resources, ctx):
    randoms = {r.urn for r in resources if _RANDOM.match(r.type)}
    for r in by_type(resources, RDS_INSTANCE, REPLICATION_GROUP):
        value = r.props.get("finalSnapshotIdentifier")
        if value in (None, "") or (r.type == RDS_INSTANCE and r.props.get("skipFinalSnapshot") is True):
            continue
        if not randoms & set(r.property_dependencies.get("finalSnapshotIdentifier", [])):
            shown = "a value unknown during preview" if is_unknown(value) else repr(value)
            yield r.urn, (f"finalSnapshotIdentifier is {shown}, not derived from a random suffix: once one "
                          f"destroy has left that snapshot, the next destroy of a re-created store fails")


@stack_rule(
    "aws-protected-data-dependencies-protected", types=(KMS_KEY, KMS_ALIAS, *DATA_STORES) + (
        "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"),
    severity="high", category="protection",
    description="Whatever a protected data store needs to stay readable and guarded (its KMS key and alias, a "
                "kept bucket's policy, public-access block, encryption, versioning, lifecycle) is protected too.",
    anchors=("kms:ScheduleKeyDeletion",),
    fix="give the KMS key and alias, and every setting resource of a kept bucket, the same protect and "
        "retain_on_delete as the data they serve")
def protected_data_dependencies(resources, ctx):
    kept = [r for r in by_type(resources, *DATA_STORES) if r.protect]
    keys = by_type(resources, KMS_KEY)
    settings: dict[str, list[str]] = {}  # setting urn -> kept buckets it governs
    encrypts: dict[str, list[str]] = {}  # key urn -> kept stores whose data (or settings) it encrypts
    for store in kept:
        users = [store]
        if store.type == BUCKET:
            for r in resources:
                if r.type.startswith("aws:s3/bucket") and r.type != BUCKET and r.depends_on(store):
                    settings.setdefault(r.urn, []).append(store.name)
                    users.append(r)
        for key in keys:
            if any(u.depends_on(key) for u in users):
                encrypts.setdefault(key.urn, []).append(store.name)
    aliases = {a.urn: [k.name for k in keys if k.urn in encrypts and a.depends_on(k)] for a in by_type(resources, KMS_ALIAS)}
    for r in resources:
        if r.protect:
            continue
        if r.urn in settings:
            yield r.urn, f"{r.name!r} is not `protect`ed although it governs the kept bucket {', '.join(settings[r.urn])}"
        elif r.urn in encrypts:
            yield r.urn, (f"{r.name!r} is not `protect`ed although it encrypts the kept {', '.join(encrypts[r.urn])}: "
                          "a destroy schedules its deletion and makes that data unreadable")
        elif aliases.get(r.urn):
            yield r.urn, (f"{r.name!r} is not `protect`ed although it names the key {', '.join(aliases[r.urn])} that "
                          "kept data depends on (policies and restores refer to the alias)")


IMAGE = "docker:index/image:Image"
REPOSITORY = "aws:ecr/repository:Repository"
SOURCE_DIGEST = "SOURCE_DIGEST"
"""The build argument carrying the SHA-256 of the build context (components/registry.py
``context_digest``): the build's identity, which the tag must name."""
SOURCE_TAG_HEX = 20
"""Hex digits of the digest the tag carries (``src-<20 hex>``: 80 bits, far from a collision)."""


def _repository_of(image_name: str) -> str:
    """``<host>/<repository>:<tag>`` -> ``<repository>``."""
    path = image_name.split("@", 1)[0].split("/", 1)[-1]
    return path.rsplit(":", 1)[0] if ":" in path.rsplit("/", 1)[-1] else path


@stack_rule(
    "aws-ecr-immutable-tag-per-build", types=(IMAGE,), severity="high", category="preflight",
    description="An image built into an immutable repository is tagged from its build's content, so a changed build "
                "gets a new tag: ECR refuses to push an existing tag again (ImageTagAlreadyExistsException).",
    anchors=("ecr:ImageTagAlreadyExistsException", "botocore:ecr.Repository.imageTagMutability"),
    fix="tag the image src-<first 20 hex of the build context's SHA-256> and pass that digest as build arg "
        "SOURCE_DIGEST (components/registry.py context_digest), never a tag from the stack file")
def immutable_tag_per_build(resources, ctx):
    immutable = {r.props.get("name") for r in by_type(resources, REPOSITORY)
                 if r.props.get("imageTagMutability") in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION")}
    pushed: dict[str, tuple[str, str]] = {}  # image name -> (urn, digest) of the first build pushing it
    for r in by_type(resources, IMAGE):
        name = r.props.get("imageName")
        if is_unknown(name):
            yield r.urn, unknown_msg("imageName")
            continue
        if not isinstance(name, str) or r.props.get("skipPush") is True or _repository_of(name) not in immutable:
            continue
        digest = ((r.props.get("build") or {}).get("args") or {}).get(SOURCE_DIGEST)
        tag = name.rsplit(":", 1)[-1] if ":" in name.rsplit("/", 1)[-1] else ""
        if is_unknown(digest):
            yield r.urn, unknown_msg(f"build.args.{SOURCE_DIGEST}")
            continue
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            yield r.urn, (f"{name} is pushed to the immutable repository {_repository_of(name)} with no content digest "
                          f"(build arg {SOURCE_DIGEST}): its tag {tag!r} stays the same when the build changes, and the "
                          "next push of a changed build is refused")
            continue
        if digest[:SOURCE_TAG_HEX] not in tag:
            yield r.urn, (f"tag {tag!r} of {name} does not name its build's content ({SOURCE_DIGEST} "
                          f"{digest[:SOURCE_TAG_HEX]}...): a changed build would be pushed under the same tag and refused")
        first = pushed.setdefault(name, (r.urn, digest))
        if first[1] != digest:
            yield r.urn, f"{name} is also pushed by {first[0]} from a different build: the second push is refused"


_ARN = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):")
_HOST = re.compile(r"\.([a-z]{2,5}(?:-[a-z]+)+-\d+)\.(amazonaws\.com(?:\.cn)?|amazonaws\.eu|c2s\.ic\.gov|"
                   r"sc2s\.sgov\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)\b")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


@stack_rule(
    "aws-arn-partition", types=(), severity="high", category="preflight",
    description="Every ARN and service host uses the partition of the stack's region (aws-cn, aws-us-gov, ...), "
                "never a hard-coded arn:aws: or amazonaws.com.",
    anchors=("botocore:partitions.json",),
    fix="build ARNs from aws.get_partition() (partition, dns_suffix) instead of the literal arn:aws:")
def arn_partition(resources, ctx):
    found: list[tuple[Any, str, str, str]] = []  # (resource, text, partition it uses, region it names)
    for r in resources:
        for text in _strings(r.props):
            found += [(r, m.group(0), m.group(1), m.group(3)) for m in _ARN.finditer(text)]
            found += [(r, m.group(0), _suffix_partition(m.group(1), m.group(2)), m.group(1))
                      for m in _HOST.finditer(text)]
    regions = {region for _, _, _, region in found if region}
    expected = {constraints.partition_of(region) for region in regions}
    reported: set[tuple[str, str]] = set()
    for r, text, used, region in found:
        want = constraints.partition_of(region) if region else (next(iter(expected)) if len(expected) == 1 else used)
        if used != want and (r.urn, text) not in reported:
            reported.add((r.urn, text))
            yield r.urn, f"{text!r} is in partition {used}, but the stack's region{'s' if len(regions) > 1 else ''} " \
                         f"({', '.join(sorted(regions))}) are in {want}"


def _suffix_partition(region: str, suffix: str) -> str:
    """The partition a host's DNS suffix belongs to (amazonaws.com is shared by aws and aws-us-gov)."""
    wanted = constraints.partition_of(region)
    return wanted if constraints.PARTITIONS[wanted]["dnsSuffix"] == suffix else next(
        (pid for pid, p in constraints.PARTITIONS.items() if p["dnsSuffix"] == suffix), "aws")
