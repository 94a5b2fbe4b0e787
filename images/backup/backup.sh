#!/bin/sh
# pg_dump | gzip | aws s3 cp to s3://$BACKUP_BUCKET/${BACKUP_PREFIX}<UTC timestamp>.sql.gz, SSE-KMS.
# Streams end to end: nothing is written to disk.
. /usr/local/bin/common.sh
write_pgpass

key="${BACKUP_PREFIX}$(date -u +%Y%m%dT%H%M%SZ).sql.gz"
log "dumping ${PGDATABASE}@${PGHOST} to s3://${BACKUP_BUCKET}/${key}"
pg_dump --format=plain --no-owner --no-privileges --clean --if-exists \
    | gzip -6 \
    | aws s3 cp - "s3://${BACKUP_BUCKET}/${key}" \
        --sse aws:kms --sse-kms-key-id "$BACKUP_KMS_KEY_ARN" --expected-size 50000000000 --only-show-errors
log "done: s3://${BACKUP_BUCKET}/${key}"
