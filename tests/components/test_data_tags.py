"""Every taggable AWS resource of the data plane carries the one tag model; current types only."""

from __future__ import annotations

import importlib
import inspect

from helpers import inputs

from tools.offline import mockrun

REQUIRED = {"environment", "project", "stack", "owner", "cost-center", "managed-by"}


def _taggable(type_: str) -> bool:
    module, cls = type_.split(":")[1], type_.split(":")[2]
    resource = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), cls)
    return "tags" in inspect.signature(resource._internal_init).parameters


def _data_plane_aws(plan: mockrun.Plan) -> list[mockrun.Recorded]:
    return [r for r in plan.resources if r.type.startswith("aws:") and "platform:data:" in r.urn]


def test_every_taggable_resource_is_tagged(plan: mockrun.Plan) -> None:
    for r in _data_plane_aws(plan):
        if _taggable(r.type):
            tags = inputs(r).get("tags") or {}
            assert REQUIRED <= set(tags), f"{r.urn}: missing tags {sorted(REQUIRED - set(tags))}"


def test_tags_name_the_stack(plan: mockrun.Plan) -> None:
    for r in _data_plane_aws(plan):
        tags = inputs(r).get("tags")
        if tags:
            assert tags["stack"] == plan.stack and tags["managed-by"] == "pulumi", r.urn


def test_ephemeral_tags_carry_pr_and_expiry(plan_of) -> None:
    bucket = plan_of("pr-7").get("aws:s3/bucket:Bucket", "backups-bucket")
    tags = inputs(bucket)["tags"]
    assert tags["pr"] == "7" and tags["expires-at"], bucket.urn


def test_no_deprecation_warnings(plan: mockrun.Plan) -> None:
    deprecated = [w for w in plan.warnings if "deprecat" in w.lower()]
    assert deprecated == [], f"{plan.stack}: {deprecated}"


def test_no_deprecated_s3_v2_types(plan: mockrun.Plan) -> None:
    v2 = [r.urn for r in plan.resources if r.type.startswith("aws:s3/") and r.type.lower().endswith("v2")]
    assert v2 == [], v2
