#!/bin/sh
# restore.sh <object-key>: streams s3://$BACKUP_BUCKET/<object-key> | gunzip | psql, in one
# transaction (a failure leaves the database as it was). The dump was taken with --clean
# --if-exists, so the restored objects replace the current ones.
. /usr/local/bin/common.sh
key="${1:?usage: restore.sh postgres/<timestamp>.sql.gz}"
case "$key" in
    "${BACKUP_PREFIX}"*.sql.gz) ;;
    *) log "refusing ${key}: not a backup object under ${BACKUP_PREFIX}"; exit 2 ;;
esac
write_pgpass

log "restoring s3://${BACKUP_BUCKET}/${key} into ${PGDATABASE}@${PGHOST}"
aws s3 cp "s3://${BACKUP_BUCKET}/${key}" - --only-show-errors \
    | gunzip \
    | psql --no-psqlrc --single-transaction --set ON_ERROR_STOP=1 --quiet --dbname "$PGDATABASE"
log "restore complete"
