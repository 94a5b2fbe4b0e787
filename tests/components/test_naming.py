"""components/naming.py is the truth about physical names: every name a plan gives an AWS resource
is one of its templates (so config validation checks the names the stack really creates), and in
production, which creates every kind, every template is used."""

from __future__ import annotations

import re

from helpers import inputs

from components.naming import FINAL_SNAPSHOT_SUFFIX_BYTES, physical_names
from policies.constraints import PHYSICAL_NAMES
from tools.offline import facts, mockrun

_FINAL = re.compile(rf"(-final-)[0-9a-f]{{{2 * FINAL_SNAPSHOT_SUFFIX_BYTES}}}$")


def _plan_names(plan: mockrun.Plan) -> dict[tuple[str, str], str]:
    # The random hex of a final snapshot id is the template's fixed-length {suffix}.
    zeros = "0" * 2 * FINAL_SNAPSHOT_SUFFIX_BYTES
    return {(kind, _FINAL.sub(r"\g<1>" + zeros, inputs(r)[prop])): r.urn for r in plan.resources if r.type in PHYSICAL_NAMES
            for prop, kind in PHYSICAL_NAMES[r.type].items() if isinstance(inputs(r).get(prop), str)}


def _template_names(plan: mockrun.Plan) -> set[tuple[str, str]]:
    config = facts.engine_config(plan.stack, reproducible=True).config
    account = config["platform:cluster.oidcProviderArn"].split(":")[4]
    services = [r.name.removeprefix("registry-") for r in plan.by_type("aws:ecr/repository:Repository")]
    return set(physical_names(prefix=f"platform-{plan.stack}", account=account, region=config["aws:region"],
                              services=services, replica_region=config.get("platform:backups.replicaRegion")))


def test_every_physical_name_in_the_plan_has_a_template(plan: mockrun.Plan) -> None:
    unknown = {name: urn for name, urn in _plan_names(plan).items() if name not in _template_names(plan)}
    assert not unknown, f"names no template in components/naming.py produces: {unknown}"


def test_production_uses_every_template(plan_of) -> None:
    plan = plan_of("production")
    unused = _template_names(plan) - set(_plan_names(plan))
    assert not unused, f"templates production never produces (stale?): {sorted(unused)}"
