"""Secrets by class: what is a credential is decided by the provider schema and by the name, not
by a list of known properties, so a new resource type or chart value is covered the day it appears.

Two sources decide that an input is a credential:
- the provider schema (``secret: true``), extracted from the pinned SDKs into
  ``policies/secret_inputs.json`` by ``python -m tools secrets --write`` (top-level inputs only:
  that is all the SDKs mark);
- the name, at any depth (Helm values included): password, token, secret, private/API key,
  webhook URL, connection string ... (``credential_name``); and, whatever the name, a value that
  is itself a credential: a PEM private key, an AWS access key, a URL with a password in it, a
  chat webhook (``credential_value``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._core import EVERY_TYPE, is_unknown, resource_rule, under_secret
from .helm import CHART_TYPES

SCHEMA_SECRETS: dict[str, list[str]] = json.loads(
    (Path(__file__).resolve().parents[1] / "secret_inputs.json").read_text())["types"]
"""``{type token: [inputs the provider schema marks secret]}``."""

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_LAST = frozenset({"password", "passwd", "pwd", "passphrase", "token", "credential", "credentials",
                   "apikey", "dsn"})
_KEY_KINDS = frozenset({"api", "private", "secret", "access", "signing", "license", "routing",
                        "integration", "auth", "master", "encryption", "service"})
"""``<kind> key`` names a credential (apiKey, private_key, routing_key); a bare ``key`` or
``passwordKey`` names the key of a Secret that holds one."""
_SECRET_REFERENCES = frozenset({"existing", "config", "use", "tls", "env", "from", "kubernetes", "k8s"})
"""``existingSecret``, ``configSecret``: the name of a Secret, not a credential."""
_REFERENCES = frozenset({"existing", "ref", "file", "path", "name", "arn", "id", "ids", "enabled"})
_HELD = frozenset({"password", "token", "user", "username"})
"""``passwordSecretKey``, ``tokenKey``: the key under which a Secret holds the credential."""
_PLACEHOLDER = re.compile(r"^\$(\{|\(|__(file|env)\{)")
"""``${VAR}``, ``$(VAR)``, Grafana's ``$__file{...}``: resolved by the workload from elsewhere."""
_CREDENTIAL_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\b(AKIA|ASIA)[0-9A-Z]{16}\b|\bxox[abprs]-[0-9A-Za-z-]{10,}"
    r"|\bgh[pousr]_[0-9A-Za-z]{30,}|\bgithub_pat_\w{20,}"
    r"|hooks\.slack\.com/services/|discord(app)?\.com/api/webhooks/|webhook\.office\.com/|api\.telegram\.org/bot"
    r"|\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")


def words(key: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(key)]


def credential_name(key: str, ancestors: tuple[str, ...] = ()) -> bool:
    """Whether a property called ``key`` (under ``ancestors``) holds a credential by its name."""
    w = words(key)
    if not w:
        return False
    last, prev = w[-1], (w[-2] if len(w) > 1 else "")
    around = {x for a in ancestors for x in words(a)}
    if last in _LAST or last.endswith(("password", "passwd", "passphrase", "token")):  # PGPASSWORD
        return w[0] not in ("existing", "manage")
    if last == "secret":
        return bool(prev) and prev not in _SECRET_REFERENCES and not (set(w[:-1]) & _REFERENCES)
    if last == "key":
        return prev in _KEY_KINDS and not (set(w[:-2]) & (_REFERENCES | _HELD))
    if last == "url":
        return bool({"webhook", "hook", "slack"} & (set(w) | around))
    return w[-2:] == ["connection", "string"]


def credential_value(value: Any) -> bool:
    return isinstance(value, str) and bool(_CREDENTIAL_VALUE.search(value))


_OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _literal(value: Any, key: str = "") -> bool:
    """A written-out value, not a placeholder; under a ``..._SECRET`` / ``...Secret`` key a
    Kubernetes object name (``REDIS_AUTH_SECRET: redis-auth``) names the Secret, it is not one."""
    if not isinstance(value, str) or value.strip() == "" or _PLACEHOLDER.match(value):
        return False
    return not (words(key)[-1:] == ["secret"] and len(value) <= 63 and _OBJECT_NAME.match(value))


def credentials(value: Any, path: str = "", ancestors: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every credential in a property tree: a credential-named key with a
    string (or unknown) value, a ``{name, value}`` pair (env var, extraEnv) named like one, or
    a value that is a credential whatever its key."""
    if isinstance(value, dict):
        name = value.get("name")
        if isinstance(name, str) and "value" in value and credential_name(name, ancestors) and (
                _literal(value["value"], name) or is_unknown(value["value"])):
            yield f"{path}.value" if path else "value", value["value"]
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            if isinstance(v, (dict, list)):
                yield from credentials(v, sub, (*ancestors, str(k)))
            elif credential_name(str(k), ancestors) and (_literal(v, str(k)) or is_unknown(v)):
                yield sub, v
            elif credential_value(v):
                yield sub, v
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)):
                yield from credentials(v, f"{path}.{i}", ancestors)
            elif credential_value(v):
                yield f"{path}.{i}", v


@resource_rule(
    "secret-inputs-are-secrets", types=(EVERY_TYPE,), severity="critical",
    description="Every credential input (schema-secret or credential-named, at any depth, Helm values "
                "included) arrives as a Pulumi secret.",
    rows=("SEC-02",), anchors=("checkov:CKV_SECRET_6", "trivy:secret-scanning", "pulumi:secret-outputs"),
    fix="pass the value as a Pulumi secret (pulumi config set --secret ..., RandomPassword.result, "
        "pulumi.Output.secret(...)); in Kubernetes, a Secret referenced by name")
def inputs_are_secrets(props, ctx):
    # The inputs as the program wrote them (what `pulumi up` stores in the state and shows in a diff).
    plain_schema = [p for p in SCHEMA_SECRETS.get(ctx.type, ())
                    if props.get(p) not in (None, "") and not under_secret(ctx.secrets, p)]
    for prop in plain_schema:
        yield f"{prop}, which the provider schema marks secret, is set in plain text"
    for path, value in credentials(props):
        if not under_secret(ctx.secrets, path) and not under_secret(plain_schema, path):
            how = "a value known only after deployment" if is_unknown(value) else "plain text"
            yield f"credential {path} is set as {how}, not as a Pulumi secret"


@resource_rule(
    "helm-values-no-literal-credentials", types=CHART_TYPES, severity="high",
    description="Helm values hold no credential or webhook URL, even as a Pulumi secret: the chart "
                "reads it from a Secret (existingSecret) instead.",
    rows=("SEC-03",), anchors=("checkov:CKV_K8S_35", "kics:helm-values-hardcoded-secret"),
    fix="create a Kubernetes Secret (from a Pulumi secret) and point the chart at it: "
        "grafana.admin.existingSecret, alertmanager.alertmanagerSpec.configSecret, <chart>.existingSecret")
def helm_values_no_credentials(props, ctx):
    values = props.get("values")
    if isinstance(values, dict):
        for path, _ in credentials(values, "values"):
            yield f"chart values set {path} literally; the chart renders it into its own objects and release history"
