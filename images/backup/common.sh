#!/bin/sh
# Shared by backup.sh, verify.sh, restore.sh and drill.sh (sourced; busybox ash in the image).
# Fail fast; the password goes into a PGPASSFILE on a memory-backed volume, never an env var or
# an argument: from the mounted Secret file (in-cluster Postgres) or the RDS-managed master
# secret in Secrets Manager (read with the pod's IRSA role).
set -eu
set -o pipefail

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# require VAR...: exit 2 naming the first unset variable (they come from the job's ConfigMap).
require() {
    for var in "$@"; do
        eval "value=\${$var:-}"
        [ -n "$value" ] || { log "error: $var is not set (it comes from the job's ConfigMap)"; exit 2; }
    done
}

# Monotonic seconds with centisecond resolution: durations must not jump with the wall clock,
# and a small database dumps in well under a second.
uptime_s() { cut -d' ' -f1 /proc/uptime; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

write_pgpass() {
    umask 077
    if [ -n "${PG_SECRET_ARN:-}" ]; then
        aws secretsmanager get-secret-value --secret-id "$PG_SECRET_ARN" \
            --query SecretString --output text | jq -r '.password'
    elif [ -n "${PGPASSWORD_FILE:-}" ]; then
        cat "$PGPASSWORD_FILE"
    else
        log "error: neither PG_SECRET_ARN nor PGPASSWORD_FILE is set"; exit 2
    fi | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' \
       | { IFS= read -r password || [ -n "$password" ]; printf '%s:%s:%s:%s:%s\n' "$PGHOST" "$PGPORT" "$PGDATABASE" "$PGUSER" "$password"; } \
       > "$PGPASSFILE"
}

# verify_dump FILE TABLES_OUT: proves a custom-format dump restorable without a server.
# `pg_restore --list` reads only the header and the table of contents: a truncated or bit-flipped
# data section passes it. So every data block is also decompressed (zlib checks each block's
# checksum; a short file ends in "end of file") and its COPY rows are counted. TABLES_OUT gets
# one line per table with data: schema, table, qualified name (as SQL), rows (tab-separated).
# Limit: a schema or table name containing "; " is not parsed (pg_restore prints it unquoted).
verify_dump() {
    dump=$1 tables=$2
    pg_restore --list "$dump" > "$dump.toc" || { log "error: $dump: unreadable table of contents"; return 1; }
    pg_restore --data-only --file=- "$dump" | awk '
        /^-- Data for Name: .*; Type: TABLE DATA; Schema: .*; Owner: / {
            s = $0; sub(/^-- Data for Name: /, "", s)
            name = s; sub(/; Type: TABLE DATA; Schema: .*$/, "", name)
            schema = s; sub(/^.*; Type: TABLE DATA; Schema: /, "", schema); sub(/; Owner: .*$/, "", schema)
            next
        }
        /^COPY .* FROM stdin;$/ {
            q = $0; sub(/^COPY /, "", q); sub(/ FROM stdin;$/, "", q); sub(/ \(.*$/, "", q)
            copying = 1; rows = 0; next
        }
        copying && $0 == "\\." { printf "%s\t%s\t%s\t%d\n", schema, name, q, rows; copying = 0; next }
        copying { rows++ }
        END { if (copying) { print "unterminated COPY of " q > "/dev/stderr"; exit 1 } }
    ' > "$tables" || { log "error: $dump: a data block is unreadable (truncated or corrupted)"; return 1; }
    listed=$(grep -c '^[0-9]*; [0-9]* [0-9]* TABLE DATA ' "$dump.toc" || true)
    counted=$(wc -l < "$tables" | tr -d ' ')
    [ "$listed" = "$counted" ] || {
        log "error: $dump: the table of contents lists $listed TABLE DATA entries, $counted were read"; return 1; }
}

# tables_json TABLES_FILE TOC_FILE: the manifest's "schemas" and "tables" from verify_dump's output.
tables_json() {
    awk '/^[0-9]+; [0-9]+ [0-9]+ SCHEMA - / { s = $0; sub(/^[0-9]+; [0-9]+ [0-9]+ SCHEMA - /, "", s);
                                             sub(/ [^ ]*$/, "", s); print s }' "$2" \
        | jq -R -s --rawfile t "$1" '
            ($t | split("\n") | map(select(length > 0) | split("\t")
                | {schema: .[0], table: .[1], qualified: .[2], rows: (.[3] | tonumber)})) as $tables
            | {schemas: ((split("\n") | map(select(length > 0))) + ($tables | map(.schema)) | unique),
               tables: $tables}'
}

# push_metrics GROUP FILE: POST a Prometheus text exposition to the Pushgateway under
# job=GROUP, namespace=POD_NAMESPACE. POST replaces only the metrics named in FILE, so a failed
# run's push keeps the last success's timestamp and size. Unset METRICS_URL: logged, not pushed
# (the object in the bucket is the durable record either way).
push_metrics() {
    if [ -z "${METRICS_URL:-}" ]; then
        log "METRICS_URL is not set: metrics not pushed"; return 0
    fi
    require POD_NAMESPACE
    curl --fail --silent --show-error --retry 3 --max-time 10 --data-binary "@$2" \
        -H 'Content-Type: text/plain; version=0.0.4' \
        "${METRICS_URL%/}/metrics/job/$1/namespace/${POD_NAMESPACE}"
}

# gauge NAME HELP VALUE: one gauge in the text exposition format.
gauge() { printf '# HELP %s %s\n# TYPE %s gauge\n%s %s\n' "$1" "$2" "$1" "$1" "$3"; }

# put_object FILE KEY [aws s3 cp options...]: SSE-KMS with the environment key, S3 checks a SHA-256.
put_object() {
    file=$1 key=$2; shift 2
    aws s3 cp "$file" "s3://${BACKUP_BUCKET}/${key}" --sse aws:kms --sse-kms-key-id "$BACKUP_KMS_KEY_ARN" \
        --checksum-algorithm SHA256 --only-show-errors "$@"
}
