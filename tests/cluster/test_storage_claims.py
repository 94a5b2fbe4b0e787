"""Every volume claim of the cluster (the program's and the charts' as Helm renders them) names the
encrypted StorageClass explicitly: none relies on a default class (EKS 1.30+ marks none)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from components.kubernetes import ENCRYPTED_STORAGE_CLASS
from tools.offline import cluster


def _claims(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    spec = body.get("spec") or {}
    kind = body.get("kind")
    if kind == "PersistentVolumeClaim":
        yield spec
    elif kind == "StatefulSet":
        yield from ((t.get("spec") or {}) for t in spec.get("volumeClaimTemplates") or [])
    elif kind in ("Prometheus", "Alertmanager", "ThanosRuler"):
        template = (spec.get("storage") or {}).get("volumeClaimTemplate")
        if template:
            yield template.get("spec") or {}


@pytest.mark.parametrize("stack", ["pr-7", "staging", "production"])
def test_every_volume_claim_names_the_encrypted_class(plan_of, platform_charts, stack):
    objects = cluster.judge_stack(plan_of(stack), stack, "ephemeral" if stack.startswith("pr-") else stack).objects
    claims = [(o.describe(), c) for o in objects for c in _claims(o.body)]
    assert claims, f"{stack}: no volume claim found (the test would pass vacuously)"
    wrong = [(what, c.get("storageClassName")) for what, c in claims if c.get("storageClassName") != ENCRYPTED_STORAGE_CLASS]
    assert wrong == [], f"{stack}: claims not naming {ENCRYPTED_STORAGE_CLASS}: {wrong}"
