#!/bin/bash
# A pool of identities on the SQLite ledger, one station: 200 simulated
# units, the station killed with SIGKILL mid-unit and restarted, which takes
# its claim over (tests/e2e/stations_checks.sh, the suite the PostgreSQL
# ledger runs with four stations in test_fleet_pg.sh).
#
# Env: STATIONS_UNITS (200).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stations_checks.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_DATA_HOME="$TMP/data"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LSWS_SIM_DIR LSWS_OPERATOR LSWS_STATION
LEDGER_URI="$TMP/ledger.sqlite"
STATIONS=1
UNITS=${STATIONS_UNITS:-200}
ledger_open_claims() {
    "$PY" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM records WHERE state IN (0, 3)").fetchone()[0])' "$LEDGER_URI"
}

expect 0 "schema version 2, created" -- "$LSWS" ledger init --ledger "$LEDGER_URI"
expect 0 "schema version 2, up to date" -- "$LSWS" ledger init --ledger "$LEDGER_URI"
ok "the ledger file is mode 0600" [ "$(stat -c %a "$LEDGER_URI")" = 600 ]
stations_run
pool_state() {
    "$PY" -c 'import sqlite3,sys; print("|".join(map(str, sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*), SUM(state = 2), COUNT(DISTINCT sn), COUNT(DISTINCT record_id) FROM pool").fetchone())))' "$LEDGER_URI"
}
ok "the ledger's pool: every row used, by one unit and one record each" [ "$(pool_state)" = "$UNITS|$UNITS|$UNITS|$UNITS" ]

# A pool that is used up stops the batch before a unit with no identity is written.
"$LSWS" -q -d "sim:ws523?state=$TMP/extra.json&sn=00000000000bffff" info >/dev/null
expect 1 "the pool has no free row left ($UNITS used, 0 reserved" -- \
    "$LSWS" -q batch "$TMP/tpl.json" --pool "$TMP/pool.csv" --ledger "$LEDGER_URI" "sim:ws523?state=$TMP/extra.json"
ok "the unit with no identity was not written" [ "$(writes "$TMP/extra.json")" = 0 ]
# Bad pools are refused with line and column before anything is done.
printf 'app_key,sn\naa,0000000000000001\n' >"$TMP/keyed.csv"
expect 1 "keyed.csv:1:9: a pool has no 'SN' column" -- \
    "$LSWS" -q batch "$TMP/tpl.json" --pool "$TMP/keyed.csv" --ledger "$LEDGER_URI" "sim:ws523?state=$TMP/extra.json"
printf 'app_key,join_eui\naa,bb\ncc,dd\naa,bb\n' >"$TMP/twice.csv"
expect 1 "twice.csv:4:1: this row repeats the row on line 2" -- \
    "$LSWS" -q batch "$TMP/tpl.json" --pool "$TMP/twice.csv" --ledger "$LEDGER_URI" "sim:ws523?state=$TMP/extra.json"
printf 'app_key\n%032x\n' 7 >"$TMP/nojoin.csv"
expect 2 'placeholder ${JOIN_EUI}' -- \
    "$LSWS" -q batch "$TMP/tpl.json" --pool "$TMP/nojoin.csv" --ledger "$LEDGER_URI" "sim:ws523?state=$TMP/extra.json"
finish fleet-pool-sqlite
