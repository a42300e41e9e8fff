#!/bin/bash
# The batch process killed with SIGKILL and restarted: no unit is written
# twice (each simulated unit counts the write transactions it applied), no
# ledger record is lost, and every unit holds the key its record says,
# checked by reading every unit back. First one crash at a known point
# (the unit has applied its write, the answer is still on its way), then
# kills at random points over a batch of 60 units until a run completes.
#
# Env: CRASH_UNITS (60), CRASH_RUNS (at most 60 runs).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_DATA_HOME="$TMP/data"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LSWS_SIM_DIR
UNITS=${CRASH_UNITS:-60}
RUNS=${CRASH_RUNS:-60}
LEDGER="$TMP/ledger.sqlite"

writes() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("writes", 0))' "$1"; }
sql() { "$PY" -c 'import sqlite3,sys; [print("|".join(map(str, r))) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]' "$LEDGER" "$1"; }
cat >"$TMP/tpl.json" <<'E'
{"lsws_template": 1, "model": "ws523",
 "settings": {"general.report_interval": 12, "lorawan.app_key": "${APP_KEY}", "general.led": false}}
E

# ---- a crash after the unit applied its write, before the record is finished ----
dev="sim:ws523?state=$TMP/one.json&sn=0000000000000c01"
"$LSWS" -q -d "$dev" info >/dev/null
# Frames: identify 1, auth 2, read 3, write 4: the write runs, its answer waits 5 s.
"$LSWS" -q --json batch "$TMP/tpl.json" --generate app_key --ledger "$LEDGER" "$dev&delay=4&delay_ms=5000" >"$TMP/one.jsonl" 2>&1 &
pid=$!
for _ in $(seq 100); do
    [ "$(writes "$TMP/one.json")" = 1 ] && break
    sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
ok "killed after the write: the unit applied it once" [ "$(writes "$TMP/one.json")" = 1 ]
ok "killed after the write: the record is durable and still pending" [ "$(sql "SELECT state, settings IS NOT NULL FROM records")" = "0|1" ]
key=$(sql "SELECT json_extract(settings, '\$.settings.\"lorawan.app_key\"') FROM records")
expect 0 "held these settings already: the interrupted write had been applied" -- "$LSWS" -q batch "$TMP/tpl.json" --generate app_key --ledger "$LEDGER" "$dev"
ok "the restart writes nothing" [ "$(writes "$TMP/one.json")" = 1 ]
ok "the restart finishes the same record" [ "$(sql "SELECT id, state, outcome FROM records")" = "1|1|nothing" ]
ok "the unit holds the key recorded before the crash" \
    sh -c "'$LSWS' -q --show-secrets -d '$dev' get lorawan.app_key | grep -q 'lorawan.app_key  $key'"

# ---- Ctrl-C: the unit under way is finished, then the batch stops ----------------------
# Slow units (50 ms per exchange) so that the signal comes in the middle of one.
mkdir -p "$TMP/slow"
slow=()
for i in $(seq 1 10); do
    n=$(printf %02d "$i")
    "$LSWS" -q -d "sim:ws523?state=$TMP/slow/u$n.json&sn=0000000000000d$n" info >/dev/null
    slow+=("sim:ws523?state=$TMP/slow/u$n.json&latency_ms=50")
done
"$LSWS" -q --json batch "$TMP/tpl.json" --generate app_key --ledger "$LEDGER" "${slow[@]}" >"$TMP/int.jsonl" 2>"$TMP/int.err" &
pid=$!
sleep 0.7
kill -INT "$pid"
wait "$pid"
rc=$?
ok "Ctrl-C: exit 6 (interrupted)" [ "$rc" = 6 ]
ok "Ctrl-C: the summary says interrupted, after some units and before the rest" "$PY" - "$TMP/int.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = [l["summary"] for l in lines if "summary" in l][0]
units = [l for l in lines if "status" in l]
assert s["interrupted"] is True and 0 < s["units"] < 10 and s["units"] == len(units) == s["ok"], s
PY
done_units=$(sql "SELECT COUNT(*) FROM records WHERE sn LIKE '0000000000000d%' AND state = 1")
ok "Ctrl-C: every unit begun was finished and recorded, none left open" \
    [ "$(sql "SELECT COUNT(*) FROM records WHERE sn LIKE '0000000000000d%' AND state != 1")" = 0 ] && [ "$done_units" -gt 0 ]
w=0
for f in "$TMP"/slow/u*.json; do w=$((w + $(writes "$f"))); done
ok "Ctrl-C: the units written are the units recorded ($w)" [ "$w" = "$done_units" ]

# ---- random kills over a batch ------------------------------------------------------
mkdir -p "$TMP/f"
uris=()
for i in $(seq 1 "$UNITS"); do
    n=$(printf %02d "$i") # SNs 00000000000000NN (and ...c01 above)
    "$LSWS" -q -d "sim:ws523?state=$TMP/f/u$n.json&sn=00000000000000$n" info >/dev/null
    uris+=("sim:ws523?state=$TMP/f/u$n.json")
done
killed=0
done_run=0
for run in $(seq 1 "$RUNS"); do
    "$LSWS" -q --json batch "$TMP/tpl.json" --generate app_key --ledger "$LEDGER" "${uris[@]}" >"$TMP/run-$run.jsonl" 2>"$TMP/run-$run.err" &
    pid=$!
    # Kill at a random point in the first 80 ms (a whole run of 60 units
    # takes longer), except every 10th run, which is left to finish.
    if [ $((run % 10)) -ne 0 ]; then
        sleep "0.0$(printf %02d $((RANDOM % 80)))"
        kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" = 0 ]; then
        done_run=$run
        break
    fi
done
echo "crash: $killed runs killed, run $done_run completed"
ok "a run completes after the kills (runs: $run)" [ "$done_run" -gt 0 ]
ok "runs were killed on the way ($killed)" [ "$killed" -ge 2 ]
total=0
twice=""
for f in "$TMP"/f/u*.json; do
    w=$(writes "$f")
    total=$((total + w))
    [ "$w" = 1 ] || twice="$twice $(basename "$f"):$w"
done
ok "every unit written exactly once:$twice" [ -z "$twice" ] && [ "$total" = "$UNITS" ]
ok "one record per unit, every one ok: none lost, none left open" \
    [ "$(sql "SELECT COUNT(*), COUNT(DISTINCT sn), SUM(state = 1) FROM records WHERE sn LIKE '00000000000000%'")" = "$UNITS|$UNITS|$UNITS" ]
expect 0 "$((UNITS + 1 + done_units)) units exported" -- "$LSWS" -q ledger export --ledger "$LEDGER" --format csv -o "$TMP/keys.csv"
for u in "${uris[@]}"; do
    "$LSWS" -q --json --show-secrets -d "$u" get lorawan.app_key general.report_interval | tr -d '\n'
    echo
done >"$TMP/read.jsonl"
ok "every unit reads back with the key the ledger exports" "$PY" - "$TMP/keys.csv" "$TMP/read.jsonl" "$UNITS" <<'PY'
import csv, json, sys
keys = {r["sn"]: r["app_key"] for r in csv.DictReader(open(sys.argv[1])) if r["sn"].startswith("00000000000000")}
read = [json.loads(l) for l in open(sys.argv[2])]
assert len(read) == int(sys.argv[3]) == len(keys), (len(read), len(keys))
for i, g in enumerate(read, 1):
    assert g["general.report_interval"] == 12, g
    assert g["lorawan.app_key"] == keys["00000000000000%02d" % i], (i, g)
assert len(set(keys.values())) == len(keys), "every unit has its own key"
PY
expect 0 "$UNITS units: 0 ok, $UNITS skipped" -- "$LSWS" -q batch "$TMP/tpl.json" --generate app_key --ledger "$LEDGER" "${uris[@]}"

finish fleet-crash
