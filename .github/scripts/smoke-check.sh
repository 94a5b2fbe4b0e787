#!/usr/bin/env bash
# Post-deploy smoke check: https://$HOST$HEALTH_PATH answers 2xx over TLS, and the certificate
# verifies for $HOST and is valid for at least 7 more days.
# ISSUER=letsencrypt-staging verifies against Let's Encrypt's staging roots (staging certificates
# are deliberately not publicly trusted); preview-wildcard (PR environments: staging's Let's Encrypt
# production wildcard) verifies like production: every environment's certificate is checked.
# TRACK=blue|green sends `x-platform-track: $TRACK`, which the HTTPRoute matches to that track
# only: the idle track of a blue/green release is checked before any user traffic reaches it.
set -euo pipefail

host="${HOST:?HOST is required}"
path="${HEALTH_PATH:-/}"
issuer="${ISSUER:-letsencrypt-production}"
attempts="${ATTEMPTS:-20}"
headers=()
if [ -n "${TRACK:-}" ]; then
  case "$TRACK" in blue|green) headers=(--header "x-platform-track: ${TRACK}") ;;
    *) echo "::error::TRACK must be blue or green, not '$TRACK'"; exit 2 ;; esac
fi

tls=()
case "$issuer" in
  letsencrypt-production|preview-wildcard) ;;
  letsencrypt-staging)
    ca="$(mktemp)"
    for root in letsencrypt-stg-root-x1 letsencrypt-stg-root-x2; do
      curl --fail --silent --show-error --proto '=https' --tlsv1.2 \
        "https://letsencrypt.org/certs/staging/${root}.pem" >> "$ca"
    done
    tls=(--cacert "$ca")
    ;;
  *) echo "::error::unknown certificate issuer '$issuer'"; exit 2 ;;
esac

# DNS, the load balancer and the certificate can take minutes after a first deploy.
for attempt in $(seq 1 "$attempts"); do
  if code="$(curl --silent --show-error --max-time 10 --proto '=https' "${tls[@]}" "${headers[@]}" \
      --output /dev/null --write-out '%{http_code}' "https://${host}${path}")" \
      && [[ "$code" =~ ^2 ]]; then
    echo "https://${host}${path} answered ${code} (attempt ${attempt})"
    break
  fi
  if [ "$attempt" -eq "$attempts" ]; then
    echo "::error::https://${host}${path} did not answer 2xx after ${attempts} attempts (last: ${code:-no response})"
    exit 1
  fi
  sleep 15
done

ca_args=()
if [ -n "${ca:-}" ]; then ca_args=(-CAfile "$ca"); fi
cert="$(openssl s_client -connect "${host}:443" -servername "$host" -verify_hostname "$host" \
  -verify_return_error "${ca_args[@]}" < /dev/null 2>/dev/null)" \
  || { echo "::error::certificate of ${host} does not verify (chain or hostname)"; exit 1; }
echo "$cert" | openssl x509 -noout -subject -issuer -enddate
echo "$cert" | openssl x509 -noout -checkend 604800 > /dev/null \
  || { echo "::error::certificate of ${host} expires within 7 days"; exit 1; }
echo "certificate of ${host} is valid"
