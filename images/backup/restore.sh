#!/bin/sh
# restore.sh <object-key>: restores one backup into $PGDATABASE in a single transaction (a failure
# leaves the database as it was); restored objects replace the current ones (--clean --if-exists)
# and are owned by the restoring user.
#   postgres/<UTC>.dump    custom format (backup.sh): downloaded to $BACKUP_SPOOL_DIR (default
#                          /tmp), its SHA-256 checked against the object's metadata, then pg_restore.
#   postgres/<UTC>.sql.gz  plain format (before verified backups; until they expire): gunzip | psql.
. "$(dirname "$0")/common.sh"
require BACKUP_BUCKET BACKUP_PREFIX PGHOST PGPORT PGDATABASE PGUSER PGPASSFILE
key="${1:?usage: restore.sh postgres/<timestamp>.dump}"
case "$key" in
    "${BACKUP_PREFIX}"*.dump | "${BACKUP_PREFIX}"*.sql.gz) ;;
    *) log "error: refusing ${key}: not a backup object under ${BACKUP_PREFIX} (.dump or .sql.gz)"; exit 2 ;;
esac
write_pgpass

log "restoring s3://${BACKUP_BUCKET}/${key} into ${PGDATABASE}@${PGHOST}"
case "$key" in
    *.sql.gz)
        aws s3 cp "s3://${BACKUP_BUCKET}/${key}" - --only-show-errors \
            | gunzip \
            | psql --no-psqlrc --single-transaction --set ON_ERROR_STOP=1 --quiet --dbname "$PGDATABASE"
        ;;
    *.dump)
        dump=$(mktemp "${BACKUP_SPOOL_DIR:-/tmp}/restore-XXXXXX")
        trap 'rm -f "$dump"' EXIT
        expected=$(aws s3api head-object --bucket "$BACKUP_BUCKET" --key "$key" --output json | jq -r '.Metadata.sha256 // empty')
        [ -n "$expected" ] || { log "error: ${key} has no sha256 metadata: not a verified backup"; exit 1; }
        aws s3 cp "s3://${BACKUP_BUCKET}/${key}" "$dump" --only-show-errors
        actual=$(sha256sum "$dump" | cut -d' ' -f1)
        [ "$actual" = "$expected" ] || { log "error: ${key}: SHA-256 ${actual} != recorded ${expected}"; exit 1; }
        pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error \
            --dbname "$PGDATABASE" "$dump"
        ;;
esac
log "restore complete"
