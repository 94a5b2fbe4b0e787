"""Print ``key=value`` facts of a stack for the workflows (append the output to $GITHUB_OUTPUT).

``python .github/scripts/stack_facts.py staging`` -> region, cluster, context, host, url,
health_path, issuer, namespace. Read offline from ``Pulumi.<stack>.yaml`` through ``config.parse``, so the
workflows act on exactly what the program will deploy and an invalid stack file stops them early.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import config  # noqa: E402
from tools import stackfile  # noqa: E402


def facts(stack: str, root: Path = ROOT) -> dict[str, str]:
    cfg = stackfile.load(stack, root)
    settings = config.parse(cfg.config, stack=stack, project=cfg.project, secret_keys=cfg.secret_keys)
    return {
        "region": settings.region,
        "cluster": settings.cluster.name,
        "context": settings.kube_context or "",
        "host": settings.app_host,
        "url": f"https://{settings.app_host}",
        "health_path": settings.app.health_path,
        "issuer": settings.profile.certificates.issuer,
        "namespace": settings.app_namespace,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: stack_facts.py STACK", file=sys.stderr)
        return 2
    try:
        values = facts(argv[0])
    except (stackfile.StackFileError, config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, value in values.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
