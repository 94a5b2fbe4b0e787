"""Teardown profile: PR stacks destroy cleanly; production data needs a deliberate second step."""

from __future__ import annotations

from helpers import inputs

from tools.offline import mockrun

DATA = ("aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:s3/bucket:Bucket")


def test_ephemeral_nothing_protected_or_retained(plan_of) -> None:
    plan = plan_of("pr-7")
    held = [r.urn for r in plan.resources if "platform:data:" in r.urn and (r.protect or r.retain_on_delete)]
    assert held == [], held


def test_ephemeral_stores_delete_with_their_contents(plan_of) -> None:
    plan = plan_of("pr-7")
    assert inputs(plan.get("aws:s3/bucket:Bucket", "backups-bucket"))["forceDestroy"] is True
    assert all(inputs(r)["forceDelete"] is True for r in plan.by_type("aws:ecr/repository:Repository"))
    sts = inputs(plan.get("kubernetes:apps/v1:StatefulSet", "postgres-statefulset"))
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete", sts["metadata"]


def test_ephemeral_has_no_managed_data_stores(plan_of) -> None:
    plan = plan_of("pr-7")
    assert not plan.by_type(DATA[0]) and not plan.by_type(DATA[1]), "PR stacks run their data stores in-cluster"


def test_production_data_is_protected(plan_of) -> None:
    plan = plan_of("production")
    for type_ in DATA:
        for r in plan.by_type(type_):
            assert r.protect, f"{r.urn} is not protected"


def test_production_stores_refuse_a_quick_delete(plan_of) -> None:
    plan = plan_of("production")
    db = inputs(plan.get(DATA[0], "postgres-db"))
    bucket = plan.get(DATA[2], "backups-bucket")
    assert db["deletionProtection"] and not db["skipFinalSnapshot"] and db["finalSnapshotIdentifier"]
    assert bucket.retain_on_delete and inputs(bucket)["forceDestroy"] is False, bucket.urn
    assert inputs(plan.get("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
                           "backups-object-lock"))["rule"]["defaultRetention"]["mode"] == "GOVERNANCE"


def test_kms_key_outlives_a_mistaken_delete(plan: mockrun.Plan) -> None:
    key = inputs(plan.get("aws:kms/key:Key", "kms-key"))
    assert key["deletionWindowInDays"] >= 7, plan.stack


BUCKET_SETTINGS = ("BucketPolicy", "BucketPublicAccessBlock", "BucketServerSideEncryptionConfiguration",
                   "BucketVersioning", "BucketLifecycleConfiguration", "BucketOwnershipControls",
                   "BucketObjectLockConfiguration")


def test_kms_key_and_alias_are_kept_with_the_data(plan: mockrun.Plan) -> None:
    bucket = plan.get(DATA[2], "backups-bucket")
    kept = bucket.protect or bucket.retain_on_delete
    for r in (plan.get("aws:kms/key:Key", "kms-key"), plan.get("aws:kms/alias:Alias", "kms-alias")):
        assert (r.protect, r.retain_on_delete) == (bucket.protect, kept), r.urn


def test_bucket_settings_inherit_the_buckets_protect_and_retain(plan: mockrun.Plan) -> None:
    bucket = plan.get(DATA[2], "backups-bucket")
    settings = [r for r in plan.resources if r.type.split(":")[-1] in BUCKET_SETTINGS]
    assert len(settings) >= 6, [r.urn for r in settings]
    for r in settings:
        assert (r.protect, r.retain_on_delete) == (bucket.protect, bucket.retain_on_delete), r.urn


IDENTIFIER = {DATA[0]: "identifier", DATA[1]: "replicationGroupId"}


def test_final_snapshot_id_is_unique_per_incarnation(plan: mockrun.Plan) -> None:
    stores = [r for r in plan.resources if r.type in IDENTIFIER and inputs(r).get("finalSnapshotIdentifier")]
    assert len(stores) == {"production": 2, "staging": 0, "pr-7": 0}[plan.stack], [r.urn for r in stores]
    for store in stores:
        ident = inputs(store)[IDENTIFIER[store.type]]
        (suffix,) = [r for r in plan.by_type("random:index/randomId:RandomId") if r.parent == store.parent]
        assert inputs(store)["finalSnapshotIdentifier"] == f"{ident}-final-{suffix.outputs['hex']}", store.urn
        assert inputs(suffix)["keepers"] == {"identifier": ident}, f"{suffix.urn}: a new store draws a new suffix"
