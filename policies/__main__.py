"""The platform policy pack: assembles the rules under rules/ and serves them to the engine.

Constructing the PolicyPack starts the analyzer server, so nothing else lives here.
Enforcement per environment: policies/config/<environment>.json (--policy-pack-config).
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import POLICIES

PolicyPack(
    name="platform-guardrails",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
    description="Security, protection, disposability and cost guardrails of the platform stacks.",
)
