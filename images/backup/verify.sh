#!/bin/sh
# verify.sh DUMP: verify a custom-format dump file (verify_dump in common.sh) and print its
# schemas and per-table row counts as JSON. Exit 1 when it is truncated or corrupted.
. "$(dirname "$0")/common.sh"
dump="${1:?usage: verify.sh <file>.dump}"
work=$(mktemp -d)
trap 'rm -rf "$work" "$dump.toc"' EXIT
verify_dump "$dump" "$work/tables.tsv"
tables_json "$work/tables.tsv" "$dump.toc"
