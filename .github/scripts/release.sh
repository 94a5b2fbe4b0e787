#!/usr/bin/env bash
# A blue/green release of $STACK to $IMAGE (<repository>@sha256:<digest>), driven by
# `python -m tools release` (stack config) and `pulumi up` (the cluster):
#   prepare (idle track gets the image, 0 % traffic) -> up -> smoke check through the idle
#   track's header route -> per step: promote, up, watch the error-rate alert for the window.
# A failed smoke check or a firing alert: rollback, up, and the job fails. The old track stays
# warm with the previous image, so a later `tools release rollback` is instant.
set -euo pipefail

: "${STACK:?}" "${IMAGE:?}" "${ENVIRONMENT:?}" "${HOST:?}" "${ISSUER:?}" "${APP_NAMESPACE:?}"
window="${WINDOW_MINUTES:-10}"
poll="${POLL_SECONDS:-60}"
release=(.venv/bin/python -m tools release)

up() {
  pulumi up --yes --refresh --stack "$STACK" --policy-pack policies \
    --policy-pack-config "policies/config/${ENVIRONMENT}.json" --message "release ${IMAGE##*@} ($1)"
}

rollback() {
  echo "::error::$1: rolling back ${STACK}"
  "${release[@]}" rollback --stack "$STACK"
  up rollback
  exit 1
}

# Smoke checks and alerts, every $poll seconds, until `tools release decide` says done or rollback.
observe() {
  local started track="$1" smoke alert decision
  started="$(date +%s)"
  while :; do
    if TRACK="$track" ATTEMPTS=3 .github/scripts/smoke-check.sh; then smoke=pass; else smoke=fail; fi
    alert="$(.github/scripts/alert-firing.sh)"
    decision="$("${release[@]}" decide --smoke "$smoke" --alert "$alert" \
      --elapsed-minutes "$(( ($(date +%s) - started) / 60 ))" --window-minutes "$2")"
    case "$decision" in
      decision=done) return 0 ;;
      decision=rollback) rollback "smoke check ${smoke}, error-rate alert ${alert}" ;;
    esac
    sleep "$poll"
  done
}

"${release[@]}" prepare --stack "$STACK" --image "$IMAGE"
up "prepare"
idle="$("${release[@]}" status --stack "$STACK" --json | jq -r .idleTrack)"
TRACK="$idle" .github/scripts/smoke-check.sh || rollback "smoke check of the idle track ${idle} failed"
while [ "$("${release[@]}" status --stack "$STACK" --json | jq -r .activeTrack)" != "$idle" ]; do
  "${release[@]}" promote --stack "$STACK"
  up "promote"
  observe "$idle" "$window"
done
"${release[@]}" status --stack "$STACK"
