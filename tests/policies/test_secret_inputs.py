"""policies/secret_inputs.json against its source, the pinned provider SDKs (``python -m tools
secrets``), and the pack's secret marks: what the engine sends as a secret reaches the rules as one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pulumi_policy import Secret

from policies.rules._core import keep_secrets, plain, secret_paths, under_secret
from policies.rules.secrets import SCHEMA_SECRETS, credential_name
from tools.dev import secrets as generator
from tools.wire import secret


def sdk_file(module: str, relative: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / relative


def test_secret_inputs_file_is_current_with_the_installed_sdks():
    assert Path(generator.OUTPUT).read_text() == generator.render(), "regenerate: python -m tools secrets --write"


@pytest.mark.parametrize("type_,inputs", [
    ("aws:rds/instance:Instance", {"password", "passwordWo"}),
    ("aws:elasticache/replicationGroup:ReplicationGroup", {"authToken", "authTokenWo"}),
    ("kubernetes:core/v1:Secret", {"data", "stringData"}),
    ("tls:index/selfSignedCert:SelfSignedCert", {"privateKeyPem", "privateKeyPemWo"}),
])
def test_schema_secrets_of_the_stack_types(type_, inputs):
    assert set(SCHEMA_SECRETS[type_]) == inputs, SCHEMA_SECRETS.get(type_)


def test_extraction_reads_the_generated_constructor_and_the_wire_names():
    """The RDS module as the SDK ships it: its constructor wraps password/password_wo, whose
    getters name them password/passwordWo; a module with no secret input yields nothing."""
    assert generator.scan_file(sdk_file("pulumi_aws", "rds/instance.py")) == {
        "aws:rds/instance:Instance": ["password", "passwordWo"]}
    assert generator.scan_file(sdk_file("pulumi_aws", "rds/subnet_group.py")) == {}


def test_secret_marks_survive_the_pack_deserializer():
    raw = keep_secrets({"authToken": secret("t"), "registry": {"server": "s", "password": secret("p")},
                        "stringData": secret({"token": "x"})})
    assert isinstance(raw["authToken"], Secret)
    assert secret_paths(raw) == {"authToken", "registry.password", "stringData"}
    assert plain(raw) == {"authToken": "t", "registry": {"server": "s", "password": "p"}, "stringData": {"token": "x"}}
    assert under_secret(secret_paths(raw), "stringData.token") and not under_secret(secret_paths(raw), "registry.server")


@pytest.mark.parametrize("key,ancestors,expected", [
    ("adminPassword", (), True), ("POSTGRES_PASSWORD", (), True), ("authToken", (), True),
    ("clientSecret", (), True), ("apiKey", (), True), ("private_key", (), True), ("routing_key", (), True),
    ("slack_api_url", (), True), ("url", ("receivers", "webhook_configs"), True),
    ("api_url", ("slack_configs",), True), ("connectionString", (), True),
    ("PGPASSWORD", (), True), ("AWS_SECRET_ACCESS_KEY", (), True), ("passwordSecretKey", (), False),
    ("existingSecretKey", (), False),
    ("passwordKey", (), False), ("existingSecret", (), False), ("configSecret", (), False),
    ("passwordFile", (), False), ("kmsKeyId", (), False), ("masterUserSecretKmsKeyId", (), False),
    ("manageMasterUserPassword", (), False), ("root_url", ("server",), False), ("key", ("secret",), False),
])
def test_credential_names(key, ancestors, expected):
    assert credential_name(key, ancestors) is expected, key

