"""The pg_dump backup CronJob writes to this environment's own bucket with this environment's own
role, so a staging job can never write into (or read from) production's backups."""

from __future__ import annotations

from ._core import as_list, by_type, get, is_unknown, stack_rule
from .k8s_workloads import CRON_JOB, SERVICE_ACCOUNT, containers, pod_spec

BUCKET = "aws:s3/bucket:Bucket"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ROLE = "aws:iam/role:Role"
IRSA = "eks.amazonaws.com/role-arn"


def _bucket_refs(spec, config_maps) -> list:
    """Bucket names the job's containers get: env, s3:// arguments, envFrom ConfigMaps."""
    refs = []
    for _, c in containers(spec):
        for source in as_list(c.get("envFrom")):
            name = get(source, "configMapRef.name")
            for cm in config_maps:
                if get(cm.props, "metadata.name") == name and isinstance(cm.props.get("data"), dict):
                    refs += [v for k, v in cm.props["data"].items() if "BUCKET" in k.upper()]
        for env in as_list(c.get("env")):
            if isinstance(env, dict) and "BUCKET" in str(env.get("name", "")).upper():
                refs.append(env.get("value"))
        refs += [a for a in as_list(c.get("args")) + as_list(c.get("command"))
                 if isinstance(a, str) and a.startswith("s3://")]
    return refs


@stack_rule(
    "backup-job-own-bucket-and-role", types=(CRON_JOB, SERVICE_ACCOUNT, CONFIG_MAP, BUCKET, ROLE), severity="high",
    description="The backup CronJob targets this environment's own bucket through its own IAM role.",
    fix="point the CronJob's BUCKET env at the stack's backup bucket name and run it under the "
        "ServiceAccount annotated with the stack's backup role (IRSA)")
def own_bucket_and_role(resources, ctx):
    buckets, roles = by_type(resources, BUCKET), by_type(resources, ROLE)
    bucket_names = {get(b.props, "bucket") for b in buckets} - {None}
    role_names = {get(r.props, "name") for r in roles} - {None}
    for job in by_type(resources, CRON_JOB):
        if "backup" not in job.name:
            continue
        spec = pod_spec(job.type, job.props)
        namespace = get(job.props, "metadata.namespace")
        config_maps = [cm for cm in by_type(resources, CONFIG_MAP)
                       if get(cm.props, "metadata.namespace") == namespace]
        refs = _bucket_refs(spec, config_maps)
        if not refs:
            yield job.urn, f"backup job '{job.name}' names no bucket (env or envFrom ConfigMap *BUCKET*, or an s3:// argument)"
        for ref in refs:
            if is_unknown(ref) or ref is None:
                if not any(job.depends_on(b) for b in buckets):
                    yield job.urn, f"backup job '{job.name}' targets a bucket this stack does not create"
            elif str(ref).removeprefix("s3://").split("/", 1)[0] not in bucket_names:
                yield job.urn, f"backup job '{job.name}' targets bucket '{ref}', which is not this stack's"
        sa_name = get(spec, "serviceAccountName") if not is_unknown(spec) else None
        accounts = [sa for sa in by_type(resources, SERVICE_ACCOUNT)
                    if get(sa.props, "metadata.name") == sa_name or (is_unknown(sa_name) and job.depends_on(sa))]
        if not accounts:
            yield job.urn, f"backup job '{job.name}' does not run under a ServiceAccount of this stack"
        for sa in accounts:
            annotations = get(sa.props, "metadata.annotations") or {}
            arn = annotations if is_unknown(annotations) else annotations.get(IRSA)
            if arn is None:
                yield sa.urn, f"ServiceAccount '{sa.name}' has no {IRSA} annotation"
            elif is_unknown(arn):
                if not any(sa.depends_on(r) for r in roles):
                    yield sa.urn, f"ServiceAccount '{sa.name}' assumes a role this stack does not create"
            elif str(arn).rsplit("/", 1)[-1] not in role_names:
                yield sa.urn, f"ServiceAccount '{sa.name}' assumes role '{str(arn).rsplit('/', 1)[-1]}', which is not this stack's"
