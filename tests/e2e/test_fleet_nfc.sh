#!/bin/bash
# The NFC tap loop end to end: lsws batch --loop over libnfc's pn532_uart
# driver against lsws-sim --nfc --taps, a PN532 reader emulated on a pty
# with several WS523s held to it in turn (SIGUSR1 takes the card away, and
# puts the next tap's unit in the field). Three units, the first tapped
# twice: each is provisioned once, the second tap is flagged and not
# written, a card left on the reader is not taken again, Ctrl-C while the
# loop waits for a card ends it cleanly; then the ledger and every unit
# read back (over the sim: transport, on the same state files).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nfc_lib.sh"
PY=/usr/bin/python3
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_DATA_HOME="$TMP/data"
unset LSWS_LEDGER
LEDGER="$TMP/ledger.sqlite"
LOOP_PID=
cleanup() {
    [ -n "$LOOP_PID" ] && kill -9 "$LOOP_PID" 2>/dev/null
    stop_sim
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
# lines N: wait (up to 30 s) until the loop has reported N units.
lines() {
    for _ in $(seq 300); do
        [ "$(grep -c '"device"' "$TMP/run.jsonl" 2>/dev/null)" -ge "$1" ] && return 0
        sleep 0.1
    done
    echo "FAIL: the loop did not report unit $1"; cat "$TMP/run.err"
    return 1
}
# tap: the card in the field leaves, and the next tap's unit is held to the reader.
tap() { kill -USR1 "$SIM_PID"; sleep 0.4; kill -USR1 "$SIM_PID"; }

cat >"$TMP/tpl.json" <<'E'
{"lsws_template": 1, "model": "ws523", "settings": {"general.report_interval": 1020}}
E

# ---- what --loop takes ---------------------------------------------------------------
expect 2 "--loop needs a transport that sees a unit come and go (nfc:), not 'sim:ws523'" -- \
    "$LSWS" batch "$TMP/tpl.json" --loop --ledger "$LEDGER" sim:ws523
expect 2 "--loop and --all: choose one" -- "$LSWS" batch "$TMP/tpl.json" --loop --all --ledger "$LEDGER"
expect 2 "--loop needs the reader" -- "$LSWS" batch "$TMP/tpl.json" --loop --ledger "$LEDGER"
ok "nothing was recorded" test ! -e "$LEDGER"

# ---- four taps of three units: 1, 2, 1 again, 3 ----------------------------------------
start_sim --state "$TMP/u.json" --taps 1,2,1,3
"$LSWS" --json batch "$TMP/tpl.json" --generate app_key --loop --ledger "$LEDGER" -d "$dev" \
    >"$TMP/run.jsonl" 2>"$TMP/run.err" &
LOOP_PID=$!
lines 1
# The card stays on the reader: it is not taken for the next tap.
sleep 1.5
ok "a card left on the reader is not provisioned again" test "$(grep -c '"device"' "$TMP/run.jsonl")" -eq 1
tap; lines 2
tap; lines 3
tap; lines 4
tap # the last unit leaves; no more come: the loop waits for a card
sleep 0.5
ok "the loop still runs, waiting for a card" kill -0 "$LOOP_PID"
kill -INT "$LOOP_PID"
wait "$LOOP_PID"
rc=$?
LOOP_PID=
ok "Ctrl-C while waiting for a card ends the loop with status 0 (got $rc)" test "$rc" -eq 0
ok "no progress line when stderr is not a terminal" sh -c "! grep -q \"$(printf '\r')\" '$TMP/run.err'"
ok "the loop's JSON: 3 ok, then the first unit flagged as tapped twice, not written" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
units, summary = rows[:-1], rows[-1]["summary"]
assert [u["status"] for u in units] == ["ok", "ok", "skipped", "ok"], units
assert [u["again"] for u in units] == [False, False, True, False], units
assert units[2]["sn"] == units[0]["sn"] and units[2]["record"] == units[0]["record"], units
assert len({units[i]["sn"] for i in (0, 1, 3)}) == 3, units
assert units[2]["outcome"] is None and units[2]["changed"] == [], units[2]
assert summary["units"] == 4 and summary["ok"] == 3 and summary["again"] == 1 and summary["failed"] == 0, summary
assert summary["interrupted"] is False, summary
' "$TMP/run.jsonl"
stop_sim

# ---- the ledger, and every unit read back ------------------------------------------------
ok "the ledger: one ok record per unit, none for the second tap" "$PY" -c '
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("select sn, state, outcome, uri from records order by id").fetchall()
assert len(rows) == 3, rows
assert len({r[0] for r in rows}) == 3, rows
assert all(r[1] == 1 and r[2] == "verified" and r[3].startswith("nfc:pn532_uart:") for r in rows), rows
' "$LEDGER"
n=0
for f in "$TMP/u.json" "$TMP/u.json.2" "$TMP/u.json.3"; do
    n=$((n + 1))
    sn=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sn"])' "$f")
    writes=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["writes"])' "$f")
    ok "unit $n ($sn) was written once (writes $writes)" test "$writes" -eq 1
    "$LSWS" -q --json --show-secrets -d "sim:ws523?state=$f" get lorawan.app_key general.report_interval >"$TMP/g.json"
    ok "unit $n holds the template and the key its record has" "$PY" -c '
import json, sqlite3, sys
got = json.load(open(sys.argv[1]))
(settings,) = sqlite3.connect(sys.argv[2]).execute("select settings from records where sn = ? and state = 1",
                                                   (sys.argv[3],)).fetchone()
want = json.loads(settings)["settings"]
assert got["general.report_interval"] == 1020, got
assert got["lorawan.app_key"] == want["lorawan.app_key"] and len(want["lorawan.app_key"]) == 32, (got, want)
' "$TMP/g.json" "$LEDGER" "$sn"
done

# ---- a new loop over units the ledger has: each is skipped, not written --------------------
start_sim --state "$TMP/u.json" --taps 2
"$LSWS" batch "$TMP/tpl.json" --generate app_key --loop --wait 2 --ledger "$LEDGER" -d "$dev" >"$TMP/run2.out" 2>&1 &
LOOP_PID=$!
for _ in $(seq 300); do grep -q "^skipped" "$TMP/run2.out" && break; sleep 0.1; done
kill -USR1 "$SIM_PID" # taken away; no other card comes
wait "$LOOP_PID"
rc=$?
LOOP_PID=
ok "--wait 2 ends the loop when no other card comes within 2 s (status $rc)" test "$rc" -eq 0
ok "a unit done in an earlier run is skipped" grep -q "^skipped .*provisioned with this template already" "$TMP/run2.out"
ok "...and counted" grep -q "^1 unit: 0 ok, 1 skipped, 0 held elsewhere, 0 failed" "$TMP/run2.out"
stop_sim
ok "unit 2 still written once" "$PY" -c 'import json,sys; assert json.load(open(sys.argv[1]))["writes"] == 1' "$TMP/u.json.2"

finish fleet_nfc
