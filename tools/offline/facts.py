"""One door to a stack's facts: its engine config, its validated settings, its environment class.

Every caller (the plan, the policy check, the PR comment, golden files, tests, the Makefile and
the workflows through ``python -m tools facts``) asks here, never the stack file directly.

The ``pr-<n>`` rule: a stack named ``pr-<n>`` is ephemeral. Its config is the one
``python -m tools ephemeral config --pr <n>`` writes: the ephemeral profile plus the outside
inputs of the base stack (``staging``). Without a ``Pulumi.pr-<n>.yaml`` it is synthesized here,
deterministically (fixed expiry ``SNAPSHOT_EXPIRES_AT``, image tag ``pr-<n>``). With
``reproducible=True`` (tests, golden files) it is *always* synthesized, so a stray local
``Pulumi.pr-<n>.yaml`` never changes what ``make test`` or ``make golden`` produce.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools import cli
from tools.cli import ROOT, UsageError
from tools.offline import stackfile

PR_STACK = re.compile(r"pr-([1-9][0-9]{0,7})")
BASE_STACK = "staging"
"""PR environments run on the staging cluster and inherit staging's outside inputs."""
SNAPSHOT_EXPIRES_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
"""Expiry of a synthesized PR stack: fixed, so its plan and URNs do not depend on today's date."""
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

INHERITED = ("aws:region", "platform:vpcId", "platform:privateSubnetIds", "platform:kubeContext",
             "platform:domain", "platform:owner", "platform:costCenter")
"""Outside inputs copied from the base stack (plus every ``platform:cluster.*`` key). Profile
overrides (sizes) are deliberately not inherited: a PR environment gets the ephemeral profile.
``platform:kubeconfig`` is not either: it is ciphertext only the base stack can decrypt."""
INHERITED_PREFIXES = ("platform:cluster.",)


def pr_number(stack: str) -> int | None:
    match = PR_STACK.fullmatch(stack)
    return int(match.group(1)) if match else None


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime(TIME_FORMAT)


def _flatten(config: Mapping[str, Any]) -> dict[str, Any]:
    """``platform:cluster: {name: x}`` -> ``platform:cluster.name: x`` (both spellings are valid)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and set(value) != {"secure"}:
            flat.update(_flatten({f"{key}.{k}": v for k, v in value.items()}))
        else:
            flat[key] = value
    return flat


def inherited_inputs(base_config: Mapping[str, Any]) -> dict[str, Any]:
    """The outside inputs of a base stack, in a stable order."""
    flat = _flatten(base_config)
    picked = {k: flat[k] for k in INHERITED if k in flat}
    picked.update({k: flat[k] for k in sorted(flat) if k.startswith(INHERITED_PREFIXES)})
    return picked


def pr_config(*, pr: int, base_config: Mapping[str, Any], expires_at: datetime, image_tag: str | None = None,
              build_context: str | None = None) -> dict[str, Any]:
    """The ``config:`` mapping of ``Pulumi.pr-<pr>.yaml`` (pure)."""
    cfg: dict[str, Any] = {
        "platform:environment": "ephemeral",
        "platform:pr": pr,
        "platform:expiresAt": format_time(expires_at),
        "platform:imageTag": image_tag or f"pr-{pr}",
    }
    if build_context:
        cfg["platform:app.buildContext"] = build_context
    cfg.update(inherited_inputs(base_config))
    return cfg


def base_config(base: str = BASE_STACK, root: Path = ROOT) -> dict[str, Any]:
    """The ``config:`` mapping of a base stack's file, as YAML holds it."""
    path = root / f"Pulumi.{base}.yaml"
    config = stackfile.read_yaml(path).get("config") or {}
    if not isinstance(config, dict):
        raise UsageError(f"{path.name}: 'config' must be a mapping of key: value")
    return config


def engine_config(stack: str, root: Path = ROOT, *, reproducible: bool = False) -> stackfile.StackConfig:
    """The config the engine would hand the program for ``stack`` (see the module doc for pr-<n>)."""
    pr = pr_number(stack)
    path = root / f"Pulumi.{stack}.yaml"
    if pr is not None and (reproducible or not path.exists()):
        cfg = pr_config(pr=pr, base_config=base_config(BASE_STACK, root), expires_at=SNAPSHOT_EXPIRES_AT)
        return stackfile.from_mapping(stack, cfg, root, path)
    return stackfile.load(stack, root)


def settings(stack: str, root: Path = ROOT, *, reproducible: bool = False) -> Any:
    """``config.Settings`` of the stack, validated (``config.ConfigError`` lists every problem)."""
    import config

    cfg = engine_config(stack, root, reproducible=reproducible)
    return config.parse(cfg.config, stack=stack, project=cfg.project, secret_keys=cfg.secret_keys)


BOOTSTRAP_PROJECT = "platform-bootstrap"
"""bootstrap/: the account-level project; its stacks are judged by policies/config/bootstrap.json."""


def environment_of(stack: str, root: Path = ROOT) -> str:
    """The stack's environment class (its policy config): ``bootstrap`` for the bootstrap project's
    stacks, ``ephemeral`` for ``pr-<n>``, else ``platform:environment`` of its stack file. A stack file that contradicts the rule, or names no valid class, is an error."""
    from config import ENVIRONMENTS

    path = root / f"Pulumi.{stack}.yaml"
    if stackfile.project_name(root) == BOOTSTRAP_PROJECT:
        return "bootstrap"
    if pr_number(stack) is not None:
        if path.exists():
            declared = stackfile.load(stack, root).config.get("platform:environment")
            if declared != "ephemeral":
                raise UsageError(f"{path.name}: platform:environment is {declared!r}, but a pr-<n> stack is "
                                 f"ephemeral; regenerate it: python -m tools ephemeral config --pr {stack[3:]}")
        return "ephemeral"
    env = stackfile.load(stack, root).config.get("platform:environment")
    if env not in ENVIRONMENTS:
        raise UsageError(f"{path.name}: platform:environment is {env!r}, expected one of {', '.join(ENVIRONMENTS)}; "
                         f"fix: pulumi config set platform:environment staging --stack {stack}")
    return env


def workflow_facts(stack: str, root: Path = ROOT) -> dict[str, str]:
    """What the workflows act on (``python -m tools facts STACK`` >> $GITHUB_OUTPUT)."""
    s = settings(stack, root)
    return {
        "environment": s.environment,
        "region": s.region,
        "cluster": s.cluster.name,
        "context": s.kube_context or "",
        "host": s.app_host,
        "url": f"https://{s.app_host}",
        "health_path": s.app.health_path,
        "issuer": s.profile.certificates.issuer,
        "namespace": s.app_namespace,
    }


def main(argv: list[str]) -> int:
    parser = cli.ArgumentParser(prog="python -m tools facts",
                                description="A stack's facts, offline from its stack file through config.parse.")
    parser.add_argument("stack", help="stack name: staging, production or pr-<n>")
    parser.add_argument("key", nargs="?", help="print only this fact's value (e.g. environment)")
    parser.add_argument("-C", "--cwd", type=Path, default=ROOT, help="project folder (default: this repo)")
    args = parser.parse_args(argv)
    if args.key == "environment":  # the cheap path the Makefile takes
        print(environment_of(args.stack, args.cwd))
        return cli.EXIT_OK
    values = workflow_facts(args.stack, args.cwd)
    if args.key is not None:
        if args.key not in values:
            raise UsageError(f"unknown fact {args.key!r}: expected one of {', '.join(values)}")
        print(values[args.key])
        return cli.EXIT_OK
    for key, value in values.items():
        print(f"{key}={value}")
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
