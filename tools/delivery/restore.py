"""``python -m tools restore --stack <stack> (--from postgres/<timestamp>.dump | --drill) [--out FILE] [--image REF]``

Renders the one-off Kubernetes Job that restores a logical Postgres backup into the stack's
database, or (``--drill``) a restore drill on demand. Offline: it reads only the stack file; apply
the output with ``kubectl apply -f``.

The Job runs the backup image's ``restore.sh`` with the same pod spec as the nightly CronJob
(components/backups.py ``backup_pod_spec``): ServiceAccount ``backup`` (IRSA: read the object,
decrypt it, read the database secret), settings from the ``backup-config`` ConfigMap, the
restricted security floor, and the password as a file, never an env var. See docs/restore.md.

``--drill`` renders the weekly drill CronJob's Job from the same function as its ``jobTemplate``
(components/drills.py ``drill_job_spec``): drill.sh restores the newest verified backup into a
throw-away server in the pod, checks it, writes ``drills/postgres/<UTC>.json`` and pushes RTO/RPO.
It needs the ``restore-drill`` ServiceAccount and ConfigMap the stack creates, so a stack whose
profile has no drills (PR stacks) is refused.

Exit codes: 0 rendered, 2 bad input (unknown stack, invalid configuration, malformed key, a drill
for a stack without drills).
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from tools import cli
from tools.cli import EXIT_OK, UsageError
from tools.offline import facts

KEY = re.compile(r"postgres/(?P<stamp>\d{8}T\d{6}Z)\.(?:dump|sql\.gz)")
"""What backup.sh writes: ``postgres/<UTC %Y%m%dT%H%M%SZ>.dump`` (custom format, verified); ``.sql.gz``
(plain, from before verified backups) until the last of those expires."""


def default_image(settings: Any) -> str:
    """The backup image the CronJob runs when this checkout is the one deployed: tagged from the
    content of ``images/backup`` (components/registry.py; tags are immutable in every repository)."""
    from components.registry import BACKUP_BUILD_CONTEXT, ImageBuild  # deferred: provider SDK imports are slow
    return (f"{settings.account_id_hint}.dkr.ecr.{settings.region}.amazonaws.com/"
            f"{settings.name}/backup:{ImageBuild.of(BACKUP_BUILD_CONTEXT).tag}")


def restore_job(settings: Any, key: str, image: str) -> dict[str, Any]:
    from components import backups, postgres  # deferred: provider SDK imports are slow
    from components.connections import InKubernetesSecret

    match = KEY.fullmatch(key)
    if match is None:
        raise UsageError(f"--from {key!r} is not a backup object key: expected "
                         f"postgres/<YYYYMMDDTHHMMSSZ>.dump, e.g. postgres/20260301T020000Z.dump "
                         f"(list them: aws s3 ls s3://<backup bucket>/postgres/)")
    in_cluster = settings.profile.postgres.mode == "in-cluster"
    labels = {**settings.labels, "app.kubernetes.io/instance": "restore"}
    template = backups.backup_pod_spec(
        image=image,
        command=["/usr/local/bin/restore.sh", key],
        credentials=InKubernetesSecret(name=postgres.CREDENTIALS_SECRET) if in_cluster else None,
        spool_gib=settings.profile.backups.spool_gib,
        labels=labels,
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"postgres-restore-{match['stamp'].lower()}",
            "namespace": settings.app_namespace,
            "labels": {**labels, **backups.POD_LABELS},
            "annotations": {"platform.example.com/restore-from": key},
        },
        "spec": {
            "backoffLimit": 0,  # a half-applied restore is rolled back; retrying blindly is not wanted
            "activeDeadlineSeconds": 6 * 3600,
            "ttlSecondsAfterFinished": 7 * 24 * 3600,
            "template": template,
        },
    }


def drill_job(settings: Any, image: str, now: datetime.datetime) -> dict[str, Any]:
    from components import drills  # deferred: provider SDK imports are slow

    b = settings.profile.backups
    if not b.drills:
        raise UsageError(f"--drill: stack {settings.stack} ({settings.environment} profile) has no restore drills: "
                         f"no restore-drill ServiceAccount, role or ConfigMap to run under (BackupProfile.drill_schedule "
                         f"in config.py); drill staging or production, or restore with --from postgres/<stamp>.dump")
    labels = {**settings.labels, **drills.POD_LABELS}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{drills.CRONJOB}-{now:%Y%m%dt%H%M%Sz}",
            "namespace": settings.app_namespace,
            "labels": labels,
            "annotations": {"platform.example.com/restore-drill": "on demand"},
        },
        "spec": drills.drill_job_spec(image=image, drill_gib=b.drill_gib, labels=settings.labels),
    }


def _parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m tools restore", description=(__doc__ or "").split("\n\n")[1])
    p.add_argument("--stack", required=True, help="stack name: staging, production or pr-<n>")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--from", dest="key", help="object key, e.g. postgres/20260301T020000Z.dump")
    what.add_argument("--drill", action="store_true",
                      help="a restore drill of the newest verified backup (the weekly CronJob's Job, now)")
    p.add_argument("--out", type=Path, help="write the Job here instead of stdout")
    p.add_argument("--image", help="backup image (default: <account>.dkr.ecr.<region>.amazonaws.com/"
                                   "platform-<stack>/backup:src-<digest of images/backup>, the image the "
                                   "CronJob of this checkout runs; see `pulumi stack output images`)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.out is not None:
        cli.output_file(args.out, "--out")
    settings = facts.settings(args.stack)
    image = args.image or default_image(settings)
    if "@sha256:" not in image and image.rsplit(":", 1)[-1] == "latest":
        raise UsageError("--image must not use the 'latest' tag; use the digest or the deployed tag")
    if "@sha256:" not in image and ":" not in image.rsplit("/", 1)[-1]:
        # No tag means 'latest' to every container runtime: the same moving target, unnamed.
        raise UsageError(f"--image {image}: no tag (that means 'latest'); give the deployed tag or the digest, "
                         f"e.g. {image}:<deployed tag> or {image}@sha256:<digest>")
    if args.drill:
        job = drill_job(settings, image, datetime.datetime.now(datetime.UTC))
    else:
        job = restore_job(settings, args.key, image)

    text = yaml.safe_dump(job, sort_keys=False)
    if args.out:
        cli.write_text(args.out, text, "--out")
        print(f"Wrote {args.out}. Apply with: kubectl apply -f {args.out} "
              f"&& kubectl -n {settings.app_namespace} logs -f job/{job['metadata']['name']}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main, sys.argv[1:]))
