#!/bin/sh
# Shared by backup.sh and restore.sh: fail fast, and write the password into a PGPASSFILE on a
# memory-backed volume. The password comes from the mounted Secret file (in-cluster Postgres) or
# the RDS-managed master secret in Secrets Manager (read with the pod's IRSA role); it is never
# put in an environment variable or on a command line.
set -eu
set -o pipefail

: "${BACKUP_BUCKET:?}" "${BACKUP_PREFIX:?}" "${BACKUP_KMS_KEY_ARN:?}"
: "${PGHOST:?}" "${PGPORT:?}" "${PGDATABASE:?}" "${PGUSER:?}" "${PGPASSFILE:?}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

write_pgpass() {
    umask 077
    if [ -n "${PG_SECRET_ARN:-}" ]; then
        aws secretsmanager get-secret-value --secret-id "$PG_SECRET_ARN" \
            --query SecretString --output text | jq -r '.password'
    elif [ -n "${PGPASSWORD_FILE:-}" ]; then
        cat "$PGPASSWORD_FILE"
    else
        log "neither PG_SECRET_ARN nor PGPASSWORD_FILE is set"; exit 2
    fi | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' \
       | { IFS= read -r password; printf '%s:%s:%s:%s:%s\n' "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER" "$password"; } \
       > "$PGPASSFILE"
}
