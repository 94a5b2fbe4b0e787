"""Cluster add-ons (components/addons.py): external-dns scoped to one hosted zone, a record source
for every served host, and nothing of it in a PR stack."""

from __future__ import annotations

import json

import pytest

from tests.helpers import inputs
from tools.offline import stackfile

PLATFORM_STACKS = ["staging", "production"]


def _one(plan, type_: str, name: str) -> dict:
    found = [inputs(r) for r in plan.resources if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{plan.stack}: expected one {type_} {name}, found {len(found)}"
    return found[0]


def _zone_id(stack: str) -> str:
    return stackfile.load(stack).config["platform:dns.hostedZoneId"]


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_external_dns_may_change_records_only_in_the_configured_zone(plan_of, stack):
    policy = json.loads(_one(plan_of(stack), "aws:iam/rolePolicy:RolePolicy", "addons-external-dns-policy")["policy"])
    zone = f"arn:aws:route53:::hostedzone/{_zone_id(stack)}"
    for st in policy["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert all("*" not in a for a in actions), f"{stack}: addons-external-dns-policy wildcard action {st}"
        if st["Resource"] != [zone]:
            assert actions == ["route53:ListHostedZones"], f"{stack}: {actions} granted beyond {zone}"
    assert any("route53:ChangeResourceRecordSets" in st["Action"] for st in policy["Statement"])


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_external_dns_role_is_assumable_only_by_its_service_account(plan_of, stack):
    trust = json.loads(_one(plan_of(stack), "aws:iam/role:Role", "addons-external-dns-role")["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert sorted(condition.values()) == ["sts.amazonaws.com", "system:serviceaccount:gateway:external-dns"], condition


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_external_dns_watches_routes_for_this_cluster_zone_and_domain(plan_of, stack):
    cfg = stackfile.load(stack).config
    values = _one(plan_of(stack), "kubernetes:helm.sh/v3:Release", "addons-external-dns")["values"]
    assert values["provider"] == {"name": "aws"} and values["sources"] == ["gateway-httproute"], values
    assert values["txtOwnerId"] == cfg["platform:cluster.name"] and values["policy"] == "sync", values
    assert values["domainFilters"] == [cfg["platform:domain"]], values
    assert f"--zone-id-filter={_zone_id(stack)}" in values["extraArgs"], values


def _listener_hosts(plan) -> dict[tuple[str, str, str], str]:
    """(Gateway namespace, name, listener) -> the listener's hostname, for the Gateways of this plan."""
    return {(g["metadata"]["namespace"], g["metadata"]["name"], li["name"]): li.get("hostname", "")
            for g in (inputs(r) for r in plan.resources if r.type.endswith(":Gateway")) for li in g["spec"]["listeners"]}


def _served(host: str, listener_host: str) -> bool:
    return host == listener_host or (listener_host.startswith("*.") and host.endswith(listener_host[1:]))


def _routed_hosts(plan, cluster_plan) -> dict[str, list]:
    """HTTPRoute hostnames -> the listeners serving them, on a Gateway of the cluster's platform stack."""
    listeners = _listener_hosts(cluster_plan)
    hosts: dict[str, list] = {}
    for route in (inputs(r) for r in plan.resources if r.type.endswith(":HTTPRoute")):
        for host in route["spec"].get("hostnames", []):
            hosts.setdefault(host, []).extend(
                key for p in route["spec"]["parentRefs"]
                if _served(host, listeners.get(key := (p["namespace"], p["name"], p["sectionName"]), "")))
    return hosts


@pytest.mark.parametrize("stack", ["pr-7", *PLATFORM_STACKS])
def test_every_served_host_has_a_record_source(plan_of, stack):
    """A host external-dns can see (an HTTPRoute on a listener of a Gateway that serves it) inside
    the domain filter of the add-on serving the cluster (a PR stack runs on staging's Gateway)."""
    plan = plan_of(stack)
    owner = stack if stack in PLATFORM_STACKS else "staging"
    values = _one(plan_of(owner), "kubernetes:helm.sh/v3:Release", "addons-external-dns")["values"]
    assert not values.get("namespaced") and not values.get("sourceNamespace"), values
    outputs = {k: v for k, v in plan.stack_outputs.items() if k in ("appUrl", "grafanaUrl")}
    hosts = _routed_hosts(plan, plan_of(owner))
    assert "appUrl" in outputs, plan.stack_outputs
    for url in outputs.values():
        host = url.removeprefix("https://")
        assert hosts.get(host), f"{stack}: {host} has no HTTPRoute on a Gateway listener serving it (no DNS record)"
        assert any(host.endswith("." + d) for d in values["domainFilters"]), (host, values["domainFilters"])


def test_a_pr_stack_installs_no_cluster_addon(plan_of):
    found = [r.name for r in plan_of("pr-7").resources if r.type == "platform:kubernetes:ClusterAddons"
             or r.name.startswith("addons-")]
    assert found == [], f"pr-7 installs cluster add-ons: {found}"


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_storage_class_is_encrypted_gp3_with_the_stacks_key(plan_of, stack):
    plan = plan_of(stack)
    sc = _one(plan, "kubernetes:storage.k8s.io/v1:StorageClass", "addons-storage-class")
    key = next(r for r in plan.resources if r.type == "aws:kms/key:Key")
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["volumeBindingMode"] == "WaitForFirstConsumer", sc
    assert sc["parameters"]["type"] == "gp3" and sc["parameters"]["encrypted"] == "true", sc
    assert sc["allowVolumeExpansion"] is True, sc
    assert sc["parameters"]["kmsKeyId"] == key.outputs["arn"], f"addons-storage-class: kmsKeyId is not {key.urn}"


@pytest.mark.parametrize("stack", PLATFORM_STACKS)
def test_ebs_csi_addon_is_pinned_with_its_own_narrow_role(plan_of, stack):
    plan = plan_of(stack)
    addon = _one(plan, "aws:eks/addon:Addon", "addons-ebs-csi")
    assert addon["addonName"] == "aws-ebs-csi-driver" and addon["addonVersion"].startswith("v"), addon
    assert addon["serviceAccountRoleArn"].endswith(f":role/platform-{stack}-ebs-csi"), addon
    trust = json.loads(_one(plan, "aws:iam/role:Role", "addons-ebs-csi-role")["assumeRolePolicy"])
    assert sorted(trust["Statement"][0]["Condition"]["StringEquals"].values()) == [
        "sts.amazonaws.com", "system:serviceaccount:kube-system:ebs-csi-controller-sa"], trust
    managed = _one(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "addons-ebs-csi-managed")
    assert managed["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy", managed
    grants = [s for s in json.loads(_one(plan, "aws:iam/rolePolicy:RolePolicy", "addons-ebs-csi-policy")["policy"])[
        "Statement"] if "kms:CreateGrant" in s["Action"]]
    assert grants and all(s["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"} for s in grants), grants
