#!/usr/bin/env bash
# Prints `firing` when the stack's error-rate alert fires in the cluster's Prometheus, `quiet`
# otherwise. Reads the alerts API through the API server's service proxy (the job's kubeconfig),
# so no port is exposed. A Prometheus that cannot be asked counts as firing: never roll forward blind.
set -euo pipefail

namespace="${APP_NAMESPACE:?APP_NAMESPACE is required}"
alert="${ALERT:-HighErrorRate}"
if ! alerts="$(kubectl get --raw "/api/v1/namespaces/monitoring/services/prometheus-operated:web/proxy/api/v1/alerts")"; then
  echo "::warning::Prometheus did not answer; treating ${alert} as firing" >&2
  echo firing
  exit 0
fi
count="$(jq --arg a "$alert" --arg ns "$namespace" \
  '[.data.alerts[] | select(.labels.alertname == $a and .state == "firing" and (.labels.namespace // $ns) == $ns)] | length' \
  <<<"$alerts")"
if [ "$count" -gt 0 ]; then echo firing; else echo quiet; fi
