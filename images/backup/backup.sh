#!/bin/sh
# backup.sh: one verified logical backup of $PGDATABASE.
#   1. pg_dump --format=custom into a spool file ($BACKUP_SPOOL_DIR, default /tmp);
#   2. verify it (verify_dump: table of contents + every data block, rows counted per table);
#   3. upload s3://$BACKUP_BUCKET/${BACKUP_PREFIX}<UTC>.dump, SSE-KMS, with its size, dump duration
#      and SHA-256 as object metadata;
#   4. upload ${BACKUP_PREFIX}<UTC>.manifest.json next to it (the same figures, schemas, per-table
#      row counts): its presence marks the dump verified, and the restore drill checks against it;
#   5. push backup_* metrics (Pushgateway, METRICS_URL); a failed run pushes backup_last_run_success 0.
# Spooled, not streamed: object metadata is fixed at upload, and the size and checksum are known
# only after the dump; an unverified dump is never uploaded.
. "$(dirname "$0")/common.sh"
require BACKUP_BUCKET BACKUP_PREFIX BACKUP_KMS_KEY_ARN PGHOST PGPORT PGDATABASE PGUSER PGPASSFILE

stamp=$(date -u +%Y%m%dT%H%M%SZ)
started_epoch=$(date -u +%s)
key="${BACKUP_PREFIX}${stamp}.dump"
work="${BACKUP_SPOOL_DIR:-/tmp}/backup-${stamp}"
metrics="$work/metrics.prom"

finish() {
    rc=$1
    trap - EXIT
    if [ "$rc" -ne 0 ]; then
        log "backup FAILED (exit $rc): nothing was recorded as verified"
        mkdir -p "$work"
        { gauge backup_last_run_success "1 if the last backup run produced a verified dump" 0
          gauge backup_last_run_timestamp_seconds "end of the last backup run" "$(date -u +%s)"; } > "$metrics"
        push_metrics postgres-backup "$metrics" || log "error: metrics push failed too"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap 'finish $?' EXIT
trap 'exit 143' TERM INT

mkdir -p "$work"
dump="$work/${stamp}.dump"
write_pgpass

# The previous verified backup's size, for the "dump shrank by more than half" alert.
previous_size=$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX" --output json \
    | jq -r --arg p "$BACKUP_PREFIX" '[.Contents[]? | select(.Key | startswith($p))
        | select(.Key | ltrimstr($p) | test("^[0-9]{8}T[0-9]{6}Z\\.dump$"))] | sort_by(.Key) | last | .Size // empty')

log "dumping ${PGDATABASE}@${PGHOST} (custom format) to ${dump}"
t0=$(uptime_s)
# --no-owner/--no-privileges: the restoring user owns what it restores (another account, a drill).
pg_dump --format=custom --no-owner --no-privileges --file="$dump"
t1=$(uptime_s)
verify_dump "$dump" "$work/tables.tsv"
t2=$(uptime_s)
size=$(wc -c < "$dump" | tr -d ' ')
sha256=$(sha256sum "$dump" | cut -d' ' -f1)
dump_seconds=$(elapsed "$t0" "$t1")
verify_seconds=$(elapsed "$t1" "$t2")
server_version=$(psql --no-psqlrc --tuples-only --no-align --command 'SHOW server_version_num')
tables=$(wc -l < "$work/tables.tsv" | tr -d ' ')
log "verified: ${size} bytes, ${tables} tables with data, sha256 ${sha256}, dump ${dump_seconds} s, verify ${verify_seconds} s"

put_object "$dump" "$key" --content-type application/octet-stream \
    --metadata "sha256=${sha256},size-bytes=${size},dump-seconds=${dump_seconds},verify-seconds=${verify_seconds},created-epoch=${started_epoch},format=custom,verified=true"

tables_json "$work/tables.tsv" "$dump.toc" | jq \
    --arg key "$key" --arg stamp "$stamp" --arg db "$PGDATABASE" --arg sha "$sha256" \
    --argjson created "$started_epoch" --argjson size "$size" --argjson dump_s "$dump_seconds" \
    --argjson verify_s "$verify_seconds" --argjson server "$server_version" \
    '{manifest_version: 1, key: $key, created_at: $stamp, created_epoch: $created, database: $db, format: "custom",
      server_version_num: $server, size_bytes: $size, sha256: $sha, dump_seconds: $dump_s,
      verify_seconds: $verify_s, verified: true} + .' > "$work/manifest.json"
put_object "$work/manifest.json" "${BACKUP_PREFIX}${stamp}.manifest.json" --content-type application/json \
    --metadata "sha256=${sha256},dump-key=${stamp}.dump"
log "done: s3://${BACKUP_BUCKET}/${key} (+ manifest)"

now=$(date -u +%s)
{ gauge backup_last_run_success "1 if the last backup run produced a verified dump" 1
  gauge backup_last_run_timestamp_seconds "end of the last backup run" "$now"
  gauge backup_last_success_timestamp_seconds "end of the last verified backup" "$now"
  gauge backup_last_started_timestamp_seconds "snapshot time of the last verified backup" "$started_epoch"
  gauge backup_last_size_bytes "size of the last verified dump" "$size"
  gauge backup_previous_size_bytes "size of the verified dump before it (0: none)" "${previous_size:-0}"
  gauge backup_last_duration_seconds "pg_dump duration of the last verified backup" "$dump_seconds"
  gauge backup_last_verify_duration_seconds "verification duration of the last verified backup" "$verify_seconds"
  gauge backup_last_tables "tables with data in the last verified dump" "$tables"; } > "$metrics"
push_metrics postgres-backup "$metrics"
