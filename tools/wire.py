"""The Pulumi wire format, once: the special signatures, and conversions between wire values
(what the mock monitor records), export values (``pulumi stack export``) and analyzer values.

The constants are the SDK's own (``pulumi.runtime.rpc``; a test holds them equal), written out so
the tools that never start the SDK (comment, check's reader) do not pay for importing it.
"""

from __future__ import annotations

import json
from typing import Any

SIG = "4dabf18193072939515e22adb298388d"
"""Key of the special-value signature in a wire object."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""A value unknown during preview (also the policy SDK's unknown string)."""
REDACTED = "[secret]"
"""What a secret looks like anywhere the tools show or write it. The plaintext never leaves."""


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG) == SECRET_SIG


def secret(value: Any) -> dict[str, Any]:
    """``value`` marked secret, as the wire carries it."""
    return {SIG: SECRET_SIG, "value": value}


def is_unknown(value: Any) -> bool:
    return value == UNKNOWN


def redact(value: Any) -> Any:
    """Wire value -> export value: secrets become ciphertext-only secret objects."""
    if is_secret(value):
        return {SIG: SECRET_SIG, "ciphertext": REDACTED}
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def plain(value: Any, *, secret: str = REDACTED) -> Any:
    """Wire value -> plain data for display/manifests: secrets replaced by ``secret``."""
    if is_secret(value):
        return secret
    if isinstance(value, dict):
        if value.get(SIG) == RESOURCE_SIG:
            return value.get("id") or value.get("urn")
        return {k: plain(v, secret=secret) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, secret=secret) for v in value]
    return value


def unsecret(value: Any) -> Any:
    """Secrets replaced by what they hold (tests that feed a rule the value it would see)."""
    if is_secret(value):
        return unsecret(value.get("value"))
    if isinstance(value, dict):
        return {k: unsecret(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v) for v in value]
    return value


def secret_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every secret inside ``value`` (``.`` for the value itself)."""
    if is_secret(value):
        return [path or "."]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in secret_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in secret_paths(v, f"{path}[{i}]")]
    return []


def to_analyzer_value(value: Any) -> Any:
    """Export value -> analyzer property: a secret (ciphertext only, or a plaintext/value the
    export still holds) stays an analyzer secret; ciphertext becomes the redacted value."""
    if isinstance(value, dict):
        if is_secret(value):
            if "plaintext" in value:
                try:
                    inner = json.loads(value["plaintext"])
                except (TypeError, ValueError):
                    inner = value["plaintext"]
                return secret(to_analyzer_value(inner))
            if "value" in value:
                return secret(to_analyzer_value(value["value"]))
            return secret(REDACTED)
        return {k: to_analyzer_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_analyzer_value(v) for v in value]
    return value


def integral(value: Any) -> Any:
    """The wire carries every number as a double; Kubernetes wants ``replicas: 2``, not 2.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
