#!/bin/sh
# drill.sh: restore drill. Restores the newest verified backup into a throw-away Postgres server
# in this pod and proves it usable; measures RTO and RPO.
#   1. newest ${BACKUP_PREFIX}<UTC>.manifest.json (written only after a dump was verified);
#   2. fetch its dump into $DRILL_DIR, check the SHA-256 against the object metadata and the
#      manifest, read the table of contents;
#   3. initdb + pg_ctl start in $DRILL_DIR (Unix socket only, mode 0700: nothing else can connect),
#      pg_restore exactly as restore.sh does (single transaction, no owner, no privileges);
#   4. checks: every schema in the manifest exists; every table with data exists and has exactly
#      the row count the backup read from the dump (0 included); the manifest and the dump's own
#      table of contents agree on how many tables have data;
#   5. report ${DRILL_REPORT_PREFIX}<UTC>.json (status, RTO, RPO, per-table results) and push
#      restore_drill_* metrics. Any failure: exit 1, a "failed" report and restore_drill_last_run_success 0.
# RTO = fetch + verification + restore (what a recovery of this backup takes; the throw-away
# server's start and the checks are not part of it); RPO = restore end - the backup's snapshot time (the data a recovery from
# it would lose). The server is stopped and $DRILL_DIR emptied whatever happens.
. "$(dirname "$0")/common.sh"
require BACKUP_BUCKET BACKUP_PREFIX BACKUP_KMS_KEY_ARN DRILL_DIR DRILL_REPORT_PREFIX

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work="$DRILL_DIR/drill-$stamp"
data="$work/data"
run="$work/run"
dump="$work/backup.dump"
report="$work/report.json"
metrics="$work/metrics.prom"
step="finding the newest verified backup"
reason=""

fail() { reason=$1; log "error: $1"; exit 1; }

# note KEY JSON: add a field to the report being built.
note() { jq --arg k "$1" --argjson v "$2" '. + {($k): $v}' "$report.partial" > "$report.tmp" && mv "$report.tmp" "$report.partial"; }

stop_server() {
    if [ -f "$data/postmaster.pid" ]; then
        pg_ctl --pgdata="$data" --mode=immediate --wait stop > /dev/null 2>&1 || log "error: could not stop the drill server"
    fi
}

finish() {
    rc=$1
    trap - EXIT
    stop_server
    if [ "$rc" -ne 0 ]; then
        [ -n "$reason" ] || reason="failed while ${step} (exit ${rc})"
        log "drill FAILED: ${reason}"
        jq --arg r "$reason" --arg s "$stamp" '{drill_version: 1, status: "failed", reason: $r, started_at: $s} + .' \
            "$report.partial" > "$report" 2> /dev/null || printf '{"status":"failed"}' > "$report"
        put_object "$report" "${DRILL_REPORT_PREFIX}${stamp}.json" --content-type application/json \
            || log "error: could not upload the failure report"
        { gauge restore_drill_last_run_success "1 if the last restore drill passed" 0
          gauge restore_drill_last_run_timestamp_seconds "end of the last restore drill" "$(date -u +%s)"; } > "$metrics"
        push_metrics postgres-restore-drill "$metrics" || log "error: metrics push failed too"
    fi
    rm -rf "$work"
    exit "$rc"
}
trap 'finish $?' EXIT
trap 'exit 143' TERM INT

mkdir -p "$work"
printf '{}' > "$report.partial"
manifest_key=$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$BACKUP_PREFIX" --output json \
    | jq -r --arg p "$BACKUP_PREFIX" '[.Contents[]?.Key | select(startswith($p))
        | select(ltrimstr($p) | test("^[0-9]{8}T[0-9]{6}Z\\.manifest\\.json$"))] | sort | last // empty')
[ -n "$manifest_key" ] || fail "no verified backup (no ${BACKUP_PREFIX}<UTC>.manifest.json) in s3://${BACKUP_BUCKET}"
aws s3 cp "s3://${BACKUP_BUCKET}/${manifest_key}" "$work/manifest.json" --only-show-errors
key=$(jq -r '.key' "$work/manifest.json")
created_epoch=$(jq -r '.created_epoch' "$work/manifest.json")
note backup_key "$(jq '.key' "$work/manifest.json")"
note backup_created_epoch "$created_epoch"
log "drilling ${key} (manifest ${manifest_key})"

step="fetching and verifying ${key}"
t0=$(uptime_s)
recorded=$(aws s3api head-object --bucket "$BACKUP_BUCKET" --key "$key" --output json | jq -r '.Metadata.sha256 // empty')
[ "$recorded" = "$(jq -r '.sha256' "$work/manifest.json")" ] \
    || fail "${key}: object metadata sha256 '${recorded}' does not match the manifest's"
aws s3 cp "s3://${BACKUP_BUCKET}/${key}" "$dump" --only-show-errors
actual=$(sha256sum "$dump" | cut -d' ' -f1)
[ "$actual" = "$recorded" ] || fail "${key}: SHA-256 ${actual} does not match the recorded ${recorded} (corrupted)"
pg_restore --list "$dump" > "$dump.toc" || fail "${key}: unreadable table of contents"
t1=$(uptime_s)

step="starting the throw-away server"
initdb --pgdata="$data" --username=drill --auth=trust --encoding=UTF8 --locale=C --no-sync --no-instructions > /dev/null
mkdir -p "$run"
chmod 0700 "$run"
pg_ctl --pgdata="$data" --log="$work/postgres.log" --wait --timeout=120 start \
    --options="-c listen_addresses='' -c unix_socket_directories='$run' -c unix_socket_permissions=0700" > /dev/null \
    || fail "the throw-away server did not start: $(tail -n 5 "$work/postgres.log" 2> /dev/null | tr '\n' ' ')"
export PGHOST="$run" PGUSER=drill PGDATABASE=restored
unset PGPASSFILE PGSSLMODE PGSSLROOTCERT PGPORT
psql --no-psqlrc --quiet --dbname=postgres --command 'CREATE DATABASE restored'

step="restoring ${key}"
t2=$(uptime_s)
pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname=restored "$dump" \
    2> "$work/restore.err" || fail "pg_restore failed: $(head -c 500 "$work/restore.err" | tr '\n' ' ')"
t3=$(uptime_s)
restored_epoch=$(date -u +%s)

step="checking the restored database"
jq -r '.schemas[]' "$work/manifest.json" | sort > "$work/schemas-expected.tsv"
psql --no-psqlrc --tuples-only --no-align --command 'SELECT nspname FROM pg_namespace' | sort > "$work/schemas-restored.tsv"
missing=$(comm -23 "$work/schemas-expected.tsv" "$work/schemas-restored.tsv" | tr '\n' ' ')
[ -z "$missing" ] || fail "schemas missing after the restore: ${missing}"
listed=$(grep -c '^[0-9]*; [0-9]* [0-9]* TABLE DATA ' "$dump.toc" || true)
[ "$listed" = "$(jq '.tables | length' "$work/manifest.json")" ] \
    || fail "the dump lists ${listed} tables with data, the manifest $(jq '.tables | length' "$work/manifest.json")"
jq -r --arg q "'" '.tables[] | "SELECT \($q + (.qualified | gsub($q; $q + $q)) + $q), count(*) FROM \(.qualified);"' \
    "$work/manifest.json" > "$work/counts.sql"
psql --no-psqlrc --tuples-only --no-align --field-separator="$(printf '\t')" --set ON_ERROR_STOP=1 \
    --file="$work/counts.sql" > "$work/counts.tsv" 2> "$work/counts.err" \
    || fail "a table of the dump is missing after the restore: $(head -c 300 "$work/counts.err" | tr '\n' ' ')"
jq -R -s --slurpfile m "$work/manifest.json" '
    (split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: (.[1] | tonumber)}) | from_entries) as $got
    | [$m[0].tables[] | {table: .qualified, expected: .rows, restored: $got[.qualified]}]' \
    "$work/counts.tsv" > "$work/tables.json"
note tables "$(cat "$work/tables.json")"
wrong=$(jq -r '[.[] | select(.restored != .expected) | "\(.table): \(.restored) rows, expected \(.expected)"] | join("; ")' \
    "$work/tables.json")
[ -z "$wrong" ] || fail "row counts differ from the dump: ${wrong}"
t4=$(uptime_s)

rto=$(awk -v f="$(elapsed "$t0" "$t1")" -v r="$(elapsed "$t2" "$t3")" 'BEGIN { printf "%.2f", f + r }')
rpo=$((restored_epoch - created_epoch))
jq --arg s "$stamp" --argjson rto "$rto" --argjson rpo "$rpo" --argjson fetch "$(elapsed "$t0" "$t1")" \
    --argjson restore "$(elapsed "$t2" "$t3")" --argjson check "$(elapsed "$t3" "$t4")" \
    --argjson restored "$restored_epoch" --slurpfile m "$work/manifest.json" \
    '{drill_version: 1, status: "passed", started_at: $s, restored_epoch: $restored, rto_seconds: $rto,
      rpo_seconds: $rpo, fetch_seconds: $fetch, restore_seconds: $restore, check_seconds: $check,
      size_bytes: $m[0].size_bytes, tables_checked: (.tables | length)} + .' "$report.partial" > "$report"
put_object "$report" "${DRILL_REPORT_PREFIX}${stamp}.json" --content-type application/json
log "drill passed: ${key} restored in ${rto} s (RTO), ${rpo} s old (RPO), $(jq '.tables_checked' "$report") tables checked"

now=$(date -u +%s)
{ gauge restore_drill_last_run_success "1 if the last restore drill passed" 1
  gauge restore_drill_last_run_timestamp_seconds "end of the last restore drill" "$now"
  gauge restore_drill_last_success_timestamp_seconds "end of the last passed restore drill" "$now"
  gauge restore_drill_rto_seconds "fetch + verification + restore of the last passed drill" "$rto"
  gauge restore_drill_rpo_seconds "age of the backup the last passed drill restored" "$rpo"
  gauge restore_drill_restore_seconds "pg_restore duration of the last passed drill" "$(elapsed "$t2" "$t3")"
  gauge restore_drill_backup_timestamp_seconds "snapshot time of the backup the last passed drill restored" "$created_epoch"
  gauge restore_drill_tables_checked "tables whose row counts the last passed drill checked" "$(jq '.tables_checked' "$report")"; } > "$metrics"
push_metrics postgres-restore-drill "$metrics"
