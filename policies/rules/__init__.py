"""Every rule of the pack, by area. Importing this package builds the policies; it does not start
the analyzer (``policies/__main__.py`` does), so tools and tests import it freely."""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    backups,
    cost,
    docker,
    ecr,
    elasticache,
    helm,
    iam,
    k8s_gateway,
    k8s_namespaces,
    k8s_services,
    k8s_workloads,
    kms,
    logs,
    network,
    preflight,
    rds,
    s3,
    secrets,
    suppressions,
    tags,
    teardown,
)
from ._core import POLICIES, REGISTRY, VALIDATORS, Context, Meta, Res

__all__ = ["POLICIES", "REGISTRY", "VALIDATORS", "Context", "Meta", "Res"]
