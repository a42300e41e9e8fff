#!/bin/bash
# Several provisioning stations on one shared ledger in PostgreSQL, against
# a real server this test starts (tests/e2e/pg_server.sh: initdb and the
# server as an unprivileged user, a Unix socket in a temporary directory
# only, stopped at the end):
#   - lsws ledger init creates the schema, again changes nothing, and a
#     newer schema is refused; batch on a database without it says to init;
#   - libpq's conventions: PG* variables, a password file; a URI with a
#     password is refused and the password never printed;
#   - four lsws batch processes at once over 200 simulated units and one
#     pool of identities, one killed with SIGKILL mid-unit and its claim
#     taken over (tests/e2e/stations_checks.sh: every unit written once,
#     every identity used once, every record there);
#   - the server stopped (as a crash) and restarted while two stations run
#     another job: they wait, go on, and no unit is written twice or lost;
#   - a station whose server stays away gives up after --ledger-wait;
#   - lsws does not link libpq: it loads it for a PostgreSQL ledger only.
# Exit 77 (skipped) only when PostgreSQL's server binaries are absent.
#
# Env: STATIONS_UNITS (200).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_server.sh"
. "$(dirname "$0")/stations_checks.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_DATA_HOME="$TMP/data"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LSWS_SIM_DIR LSWS_OPERATOR LSWS_STATION
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE
export HOME="$TMP/home" # no ~/.pgpass of the machine's
mkdir -p "$HOME"
STATIONS=4
UNITS=${STATIONS_UNITS:-200}

if "$LSWS" ledger list --ledger postgresql:///x 2>&1 | grep -q "built without PostgreSQL"; then
    echo "SKIP: this lsws was built without the PostgreSQL ledger (-DLSWS_PG=OFF)"
    exit 77
fi
# libpq is loaded when a PostgreSQL ledger is opened, never linked: no other
# command pays for it and the twenty libraries it brings (lib/pq.h).
if command -v ldd >/dev/null; then
    ok "lsws does not link libpq" sh -c "! ldd '$LSWS' | grep -q libpq"
fi
pg_start
LEDGER_URI=$PG_URI
quiet() { "$@" >/dev/null 2>&1; }
ledger_open_claims() { pg_sql "SELECT count(*) FROM lsws_records WHERE state IN (0, 3)"; }

# ---- the schema ---------------------------------------------------------------------
cat >"$TMP/gen.json" <<'E'
{"lsws_template": 1, "model": "ws523", "settings": {"general.report_interval": 600}}
E
"$LSWS" -q -d "sim:ws523?state=$TMP/one.json&sn=00000000000b0001" info >/dev/null
expect 1 "has no lsws schema yet: run 'lsws ledger init --ledger URI' once" -- \
    "$LSWS" batch "$TMP/gen.json" --generate app_key --ledger "$PG_URI" "sim:ws523?state=$TMP/one.json"
ok "nothing was written without a ledger" [ "$(writes "$TMP/one.json")" = 0 ]
expect 0 "(postgresql): schema version 2, created" -- "$LSWS" ledger init --ledger "$PG_URI"
expect 0 "schema version 2, up to date" -- "$LSWS" ledger init --ledger "$PG_URI"
expect 0 '"from": 2' -- "$LSWS" --json ledger init --ledger "$PG_URI"
pg_sql "UPDATE lsws_schema SET version = 3"
expect 1 "has schema version 3, newer than this lsws knows (2): use a newer lsws" -- \
    "$LSWS" ledger init --ledger "$PG_URI"
expect 1 "newer than this lsws knows" -- "$LSWS" ledger list --ledger "$PG_URI"
pg_sql "UPDATE lsws_schema SET version = 2"
ok "ledger list on a migrated ledger" quiet "$LSWS" -q ledger list --ledger "$PG_URI"

# ---- connection settings as libpq takes them ---------------------------------------------
expect 0 "(postgresql): schema version 2, up to date" -- \
    env PGHOST="$PG_SOCK" PGUSER=lsws PGDATABASE=lsws "$LSWS" ledger init --ledger postgresql://
pg_sql "CREATE ROLE station LOGIN PASSWORD 'pw-Zq8s3cret'; GRANT SELECT, INSERT, UPDATE ON lsws_records, lsws_pool TO station; GRANT SELECT ON lsws_schema TO station"
STATION_URI="postgresql:///lsws?host=$PG_SOCK&user=station"
expect 1 "cannot connect to ledger '$STATION_URI'" -- "$LSWS" ledger list --ledger "$STATION_URI"
printf '*:*:*:station:pw-Zq8s3cret\n' >"$TMP/pgpass"
chmod 600 "$TMP/pgpass"
ok "a password file (PGPASSFILE)" quiet env PGPASSFILE="$TMP/pgpass" "$LSWS" -q ledger list --ledger "$STATION_URI"
cp "$TMP/pgpass" "$HOME/.pgpass"
expect 0 "1 unit: 1 ok" -- "$LSWS" batch "$TMP/gen.json" --generate app_key --ledger "$STATION_URI" \
    "sim:ws523?state=$TMP/one.json"
rm "$HOME/.pgpass"
ok "the password never shows in what lsws printed" sh -c "! grep -q Zq8s3cret '$TMP/out'"
ok "PGPASSWORD, and the ledger from LSWS_LEDGER" quiet env PGPASSWORD=pw-Zq8s3cret LSWS_LEDGER="$STATION_URI" "$LSWS" -q ledger list
expect 1 "the ledger URI carries a password: give it in PGPASSWORD, ~/.pgpass or the file PGPASSFILE names" -- \
    "$LSWS" ledger list --ledger "postgresql://station:pw-Zq8s3cret@/lsws?host=$PG_SOCK"
ok "a refused URI's password is not repeated" sh -c "! grep -q Zq8s3cret '$TMP/out'"
expect 1 "carries a password" -- "$LSWS" --json ledger list --ledger "postgresql:///lsws?host=$PG_SOCK&password=pw-Zq8s3cret"
ok "nor in JSON" sh -c "! grep -q Zq8s3cret '$TMP/out'"
pg_sql "DELETE FROM lsws_records"

# ---- four stations, one pool, one killed mid-unit ----------------------------------------
stations_run
ok "the ledger's pool: every row used, by one unit and one record each" \
    [ "$(pg_sql "SELECT count(*), count(*) FILTER (WHERE state = 2), count(DISTINCT sn), count(DISTINCT record_id) FROM lsws_pool")" = "$UNITS|$UNITS|$UNITS|$UNITS" ]
ok "the units were shared out among the stations" \
    [ "$(pg_sql "SELECT count(DISTINCT station) FROM lsws_records")" -ge 3 ]

# ---- the server stopped and restarted mid-run --------------------------------------------
# Another job (another template: generated keys) over the same units, two
# stations; each exchange with a unit takes 3 ms, so the run lasts while the
# server is away.
JOB2=$(for f in "$TMP"/f/u*.json; do echo "sim:ws523?state=$f&latency_ms=3"; done)
mapfile -t J1 <<<"$JOB2"
mapfile -t J2 < <(printf '%s\n' "${J1[@]:$((UNITS / 2))}" "${J1[@]:0:$((UNITS / 2))}")
"$LSWS" --json batch "$TMP/gen.json" --generate app_key --ledger "$PG_URI" --station r1 "${J1[@]}" \
    >"$TMP/r1.jsonl" 2>"$TMP/r1.err" &
p1=$!
"$LSWS" --json batch "$TMP/gen.json" --generate app_key --ledger "$PG_URI" --station r2 "${J2[@]}" \
    >"$TMP/r2.jsonl" 2>"$TMP/r2.err" &
p2=$!
job2_ok() { pg_sql "SELECT count(*) FROM lsws_records WHERE station IN ('r1', 'r2') AND state = 1" 2>/dev/null || echo -1; }
for _ in $(seq 600); do
    [ "$(job2_ok)" -ge 20 ] && break
    sleep 0.1
done
before=$(job2_ok)
pg_stop immediate
sleep 3
ok "the stations wait while the server is away" kill -0 "$p1"
pg_restart_start
wait "$p1"
rc1=$?
wait "$p2"
rc2=$?
ok "both stations exit 0 after the restart ($rc1, $rc2)" [ "$rc1" = 0 ] && [ "$rc2" = 0 ]
ok "the server went away after $before units and before the end" [ "$before" -ge 20 ] && [ "$before" -lt "$UNITS" ]
ok "the stations said they waited and went on" \
    sh -c "cat '$TMP/r1.err' '$TMP/r2.err' | grep -q 'waiting for the ledger' && cat '$TMP/r1.err' '$TMP/r2.err' | grep -q 'is back'"
ok "the second job: one ok record per unit, none open" \
    [ "$(pg_sql "SELECT count(*), count(DISTINCT sn), count(*) FILTER (WHERE state = 1) FROM lsws_records WHERE station IN ('r1', 'r2')")" = "$UNITS|$UNITS|$UNITS" ] &&
    [ "$(ledger_open_claims)" = 0 ]
twice=""
for f in "$TMP"/f/u*.json; do [ "$(writes "$f")" = 2 ] || twice="$twice $(basename "$f"):$(writes "$f")"; done
ok "every unit written once by each job, not more:$twice" [ -z "$twice" ]
ok "the summaries add up to every unit" "$PY" - "$TMP/r1.jsonl" "$TMP/r2.jsonl" "$UNITS" <<'PY'
import json, sys
s = [json.loads(l)["summary"] for f in sys.argv[1:3] for l in open(f) if '"summary"' in l]
assert sum(x["ok"] for x in s) == int(sys.argv[3]) and sum(x["failed"] for x in s) == 0, s
PY

# ---- a server that stays away --------------------------------------------------------------
"$LSWS" -q -d "sim:ws523?state=$TMP/late.json&sn=00000000000b0002" info >/dev/null
"$LSWS" -q --timeout 10000 batch "$TMP/gen.json" --generate app_key --ledger "$PG_URI" --ledger-wait 2 \
    "sim:ws523?state=$TMP/late.json&delay=3&delay_ms=3000" >"$TMP/late.out" 2>&1 &
p=$!
sleep 1 # the unit's read (frame 3) answers 3 s late: the server goes away meanwhile
pg_stop fast
wait "$p"
rc=$?
ok "no server within --ledger-wait: exit 1 ($rc)" [ "$rc" = 1 ]
ok "the message says so" grep -q "did not come back within 2 s: stopping before the next unit" "$TMP/late.out"
ok "the unit that could not be recorded was not written" [ "$(writes "$TMP/late.json")" = 0 ]
pg_restart_start
expect 0 "1 unit: 1 ok" -- "$LSWS" -q batch "$TMP/gen.json" --generate app_key --ledger "$PG_URI" \
    "sim:ws523?state=$TMP/late.json"
if [ "$failed" -gt 0 ]; then # what the stations said
    for f in "$TMP"/*.err; do [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -5 "$f"; }; done
fi
finish fleet-pg
