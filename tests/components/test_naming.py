"""components/naming.py is the truth about physical names: every name a plan gives an AWS resource
is one of its templates (so config validation checks the names the stack really creates), and
every template is used: production creates every kind but the preview wildcard's DNS-01 role,
which only staging (hosting the PR environments) has."""

from __future__ import annotations

import re

from helpers import inputs

from components.naming import FINAL_SNAPSHOT_SUFFIX_BYTES, TEMPLATES, physical_names
from policies.constraints import PHYSICAL_NAMES
from tools.offline import facts, mockrun

_FINAL = re.compile(rf"(-final-)[0-9a-f]{{{2 * FINAL_SNAPSHOT_SUFFIX_BYTES}}}$")


def _plan_names(plan: mockrun.Plan) -> dict[tuple[str, str], str]:
    # The random hex of a final snapshot id is the template's fixed-length {suffix}.
    zeros = "0" * 2 * FINAL_SNAPSHOT_SUFFIX_BYTES
    return {(kind, _FINAL.sub(r"\g<1>" + zeros, inputs(r)[prop])): r.urn for r in plan.resources if r.type in PHYSICAL_NAMES
            for prop, kind in PHYSICAL_NAMES[r.type].items() if isinstance(inputs(r).get(prop), str)}


def _template_names(plan: mockrun.Plan, templates=TEMPLATES) -> set[tuple[str, str]]:
    config = facts.engine_config(plan.stack, reproducible=True).config
    account = config["platform:cluster.oidcProviderArn"].split(":")[4]
    services = [r.name.removeprefix("registry-") for r in plan.by_type("aws:ecr/repository:Repository")]
    return set(physical_names(prefix=f"platform-{plan.stack}", account=account, region=config["aws:region"],
                              services=services, templates=templates,
                              replica_region=config.get("platform:backups.replicaRegion")))


def test_every_physical_name_in_the_plan_has_a_template(plan: mockrun.Plan) -> None:
    unknown = {name: urn for name, urn in _plan_names(plan).items() if name not in _template_names(plan)}
    assert not unknown, f"names no template in components/naming.py produces: {unknown}"


def test_every_template_is_used_by_production_or_staging(plan_of) -> None:
    plans = [plan_of("production"), plan_of("staging")]
    unused = [t for t in TEMPLATES if not any(_template_names(p, [t]) & set(_plan_names(p)) for p in plans)]
    assert not unused, f"templates no platform stack produces (stale?): {unused}"
