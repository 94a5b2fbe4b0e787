"""No password, token or key material in plain text: not in inputs, outputs, ConfigMaps or the export."""

from __future__ import annotations

import json
import re

from helpers import inputs

from tools import wire
from tools.offline import mockrun
from tools.offline import plan as plan_cli

PASSWORDY = re.compile(r"pass|secret_?value|token|auth_?token|private", re.I)


def _generated_secrets(plan: mockrun.Plan) -> list[str]:
    values = []
    for r in plan.by_type("random:index/randomPassword:RandomPassword"):
        result = r.outputs["result"]
        values.append(result["value"] if wire.is_secret(result) else result)
    return values + ["mock-ecr-token"]


def test_generated_passwords_never_appear_in_the_export(plan: mockrun.Plan) -> None:
    exported = json.dumps(plan_cli.export(plan))
    for value in _generated_secrets(plan):
        assert value not in exported, f"{plan.stack}: a generated secret leaks into the exported plan"


def test_generated_passwords_never_appear_in_stack_outputs(plan: mockrun.Plan) -> None:
    outputs = json.dumps(plan.stack_outputs)
    assert not [v for v in _generated_secrets(plan) if v in outputs], plan.stack


def test_secrets_are_marked_secret_at_every_sink(plan: mockrun.Plan) -> None:
    for name in ("redis-auth",) + (("postgres-credentials",) if plan.stack == "pr-7" else ()):
        secret = plan.get("kubernetes:core/v1:Secret", name)
        assert wire.is_secret(secret.inputs["stringData"]), secret.urn
    for group in plan.by_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        assert wire.is_secret(group.inputs["authToken"]), group.urn


def test_rds_gets_no_password_input(plan: mockrun.Plan) -> None:
    for db in plan.by_type("aws:rds/instance:Instance"):
        assert not {"password", "passwordWo"} & set(db.inputs), db.urn


def test_data_plane_configmaps_hold_no_password_like_keys_or_values(plan: mockrun.Plan) -> None:
    secrets = _generated_secrets(plan)
    for name in ("postgres-connection", "redis-connection", "backup-config"):
        cm = plan.get("kubernetes:core/v1:ConfigMap", name)
        data = inputs(cm)["data"]
        allowed = {"PGPASSFILE", "PGPASSWORD_FILE", "PG_SECRET_ARN", "REDIS_AUTH_SECRET"}  # locations, not secrets
        assert not [k for k in data if PASSWORDY.search(k) and k not in allowed], f"{cm.urn}: {sorted(data)}"
        assert not [v for v in data.values() if v in secrets or wire.is_secret(v)], cm.urn


def test_no_container_env_value_holds_a_secret(plan: mockrun.Plan) -> None:
    secrets = _generated_secrets(plan)
    for r in plan.resources:
        if "platform:data:" in r.urn and (r.type.startswith("kubernetes:apps/") or r.type.endswith(":CronJob")):
            text = json.dumps(wire.plain(r.inputs, secret="<secret>"))
            assert "<secret>" not in text and not [v for v in secrets if v in text], r.urn
