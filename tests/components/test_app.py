"""The application workload: restricted pod, probes, resources, replicas/PDB, config and secrets."""

from __future__ import annotations

import json

from helpers import environment_of, inputs

APP_NS = {"pr-7": "pr-7", "staging": "app", "production": "app"}
REPLICAS = {"pr-7": 1, "staging": 2, "production": 3}


def app_object(plan, type_: str, name: str = "app-blue") -> dict:
    """The active (blue) track's object, or the shared ServiceAccount ``app``."""
    found = [inputs(r) for r in plan.by_type(type_) if inputs(r)["metadata"].get("name") == name]
    assert len(found) == 1, f"{plan.stack}: expected one {type_} named {name}"
    return found[0]


def pod(plan) -> dict:
    return app_object(plan, "kubernetes:apps/v1:Deployment")["spec"]["template"]["spec"]


def test_container_is_restricted_with_probes_and_limits(plan, stack):
    (c,) = pod(plan)["containers"]
    sc = c["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"]
    assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["resources"]["limits"] and c["resources"]["requests"]
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert not c["image"].endswith(":latest")


def test_ports_and_service(plan, stack):
    (c,) = pod(plan)["containers"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"http": 8080, "metrics": 9090}
    svc = app_object(plan, "kubernetes:core/v1:Service")
    assert svc["metadata"]["namespace"] == APP_NS[stack]
    assert svc["metadata"]["labels"]["app.kubernetes.io/name"] == "app", "the ServiceMonitor selects on it"


def test_no_api_token(plan, stack):
    assert pod(plan)["automountServiceAccountToken"] is False
    assert app_object(plan, "kubernetes:core/v1:ServiceAccount", "app")["automountServiceAccountToken"] is False


def test_replicas_spread_and_disruption_budget(plan, stack):
    deployment = app_object(plan, "kubernetes:apps/v1:Deployment")
    assert deployment["spec"]["replicas"] == REPLICAS[stack]
    pdbs = [inputs(r) for r in plan.by_type("kubernetes:policy/v1:PodDisruptionBudget")
            if inputs(r)["metadata"]["name"] == "app-blue"]
    if environment_of(stack) == "ephemeral":
        assert pdbs == [] and "topologySpreadConstraints" not in pod(plan)
    else:
        assert pdbs[0]["spec"]["minAvailable"] == REPLICAS[stack] - 1
        keys = {t["topologyKey"] for t in pod(plan)["topologySpreadConstraints"]}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}


def test_config_from_configmaps_and_secrets_as_files(plan, stack):
    (c,) = pod(plan)["containers"]
    assert [e["configMapRef"]["name"] for e in c["envFrom"]] == ["postgres-connection", "redis-connection"]
    assert all("valueFrom" not in e for e in c["env"]), "secrets are files, never env values"
    secrets = {v["secret"]["secretName"] for v in pod(plan)["volumes"] if "secret" in v}
    expected = {"redis-auth"} | ({"postgres-credentials"} if environment_of(stack) == "ephemeral" else set())
    assert secrets == expected


def test_managed_postgres_password_through_irsa(plan, stack):
    sa = app_object(plan, "kubernetes:core/v1:ServiceAccount", "app")
    annotations = sa["metadata"].get("annotations") or {}
    if environment_of(stack) == "ephemeral":
        assert "eks.amazonaws.com/role-arn" not in annotations
    else:
        assert annotations["eks.amazonaws.com/role-arn"].endswith(f"platform-{stack}-app")


def test_managed_postgres_roles_read_only_their_instance_secret(plan, stack):
    if environment_of(stack) == "ephemeral":
        return
    for name in ("app-db-secret-policy", "monitoring-postgres-exporter-policy"):
        policy = plan.get("aws:iam/rolePolicy:RolePolicy", name)
        secret, key = json.loads(inputs(policy)["policy"])["Statement"]
        tag = secret["Condition"]["StringEquals"]["secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn"]
        assert secret["Action"] == "secretsmanager:GetSecretValue" and secret["Resource"].endswith(":secret:rds!db-*")
        assert tag.endswith(f":db:platform-{stack}-postgres"), (policy.urn, tag)
        assert key["Action"] == "kms:Decrypt" and key["Resource"].endswith(":key/*"), policy.urn
        assert key["Condition"] == {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/platform-{stack}"},
            "StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}, policy.urn
