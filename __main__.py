"""platform: a complete, secure environment on AWS and Kubernetes, per environment class.

``config.load()`` decides (profile + outside inputs, validated once); components build;
this file only composes them and exports a few outputs.
"""

import pulumi

import config
from components.kubernetes import cluster_provider

settings = config.load()
profile = settings.profile
k8s_provider = cluster_provider(settings)
k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": k8s_provider})

# --- namespaces (components/namespaces.py) ------------------------------------------------
# --- AWS data plane (components/kms.py, registry.py, postgres.py, redis.py, backups.py) ---
# --- Kubernetes platform (components/ingress.py, monitoring.py, app.py) --------------------

pulumi.export("environment", settings.environment)
pulumi.export("appUrl", f"https://{settings.app_host}")
