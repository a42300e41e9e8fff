#!/bin/bash
# Runs bench_stations: 1, 2 and 4 stations on PostgreSQL (a private server
# started here as tests/e2e/pg_server.sh does, with fsync on, as a station's
# server would have; a fresh database for each configuration), then 1
# station on SQLite. Without PostgreSQL's server binaries, only SQLite.
# Usage: bench/stations.sh [BUILD_DIR [N [LATENCY_MS [BYTES_PER_S]]]]
set -u
build=${1:-build}
n=${2:-1000}
latency=${3:-10}
bps=${4:-11520}
src=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-stations.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
configs=()
# shellcheck source=../tests/e2e/pg_server.sh
. "$src/tests/e2e/pg_server.sh"
if pg_find_bin >/dev/null; then
    PG_FSYNC=on
    # it sets PG_SOCK and the trap that stops the server and removes it and $TMP
    pg_start >/dev/null
    for k in 1 2 4; do
        "$PG_BIN/psql" -X -q -h "$PG_SOCK" -U lsws -d postgres -c "CREATE DATABASE bench$k" || exit 1
        configs+=("$k=postgresql:///bench$k?host=$PG_SOCK&user=lsws")
    done
else
    echo "bench/stations.sh: no PostgreSQL server binaries: SQLite only"
fi
configs+=("1=$TMP/ledger.sqlite")
"$build/bench_stations" "$n" "$TMP/units" --latency-ms "$latency" --link-bps "$bps" "${configs[@]}"
