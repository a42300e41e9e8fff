#!/bin/bash
# Batch over a Bluetooth LE sweep: lsws batch --all finds each CTH01 hub in
# range through the BLE transport's discovery (BlueZ's D-Bus API, answered
# by lsws-sim --ble --count on a private dbus-daemon, never the machine's
# system bus) beside the sim: units of LSWS_SIM_DIR, provisions each once
# with its own generated key, and a second sweep skips them all; the
# ledger and every hub are read back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ble_lib.sh"
ble_skip_unless_built
PY=/usr/bin/python3
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_DATA_HOME="$TMP/data"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LIBNFC_DEVICE LIBNFC_DEFAULT_DEVICE
export LSWS_SIM_DIR="$TMP/fleet"
LEDGER="$TMP/ledger.sqlite"
trap 'stop_sim; stop_bus; rm -rf "$TMP"' EXIT
mkdir -p "$LSWS_SIM_DIR"
# One simulated CTH01 in the sim: fleet directory, beside the hubs on the air.
"$LSWS" -q -d "sim:cth01?state=$LSWS_SIM_DIR/c1.json&sn=00000000000000c1" info >/dev/null ||
    echo "FAIL: cannot make the sim: unit"

cat >"$TMP/tpl.json" <<'E'
{"lsws_template": 1, "model": "cth01", "settings": {"general.report_interval": 7}}
E
expect 2 "--scan-time goes with --all" -- "$LSWS" batch "$TMP/tpl.json" --scan-time 1 --ledger "$LEDGER" sim:cth01
expect 2 "--scan-time takes seconds from 1 to 600, not '0'" -- \
    "$LSWS" batch "$TMP/tpl.json" --all --scan-time 0 --ledger "$LEDGER"

start_bus
start_sim --model cth01 --count 3 --state "$TMP/hub.json"
"$LSWS" --json batch "$TMP/tpl.json" --generate app_key --all --scan-time 1 --ledger "$LEDGER" \
    >"$TMP/run.jsonl" 2>"$TMP/run.err"
rc=$?
ok "batch --all over three hubs and a sim: unit: status 0 (got $rc)" test "$rc" -eq 0
ok "each hub in range and the sim: unit, provisioned once" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
units, summary = rows[:-1], rows[-1]["summary"]
ble = [u for u in units if u["device"].startswith("ble:")]
sim = [u for u in units if u["device"].startswith("sim:")]
assert len(ble) == 3 and len(sim) == 1, units
assert all(u["status"] == "ok" and u["model"] == "cth01" and u["outcome"] == "verified" for u in units), units
assert len({u["sn"] for u in units}) == 4, units
assert summary["units"] == 4 and summary["ok"] == 4 and summary["failed"] == 0, summary
' "$TMP/run.jsonl" || cat "$TMP/run.jsonl" "$TMP/run.err"
ok "no warning about the sweep" sh -c "! grep -q warning '$TMP/run.err'"

# Every hub read back over BLE: the template and the key its record holds.
mapfile -t HUB_URIS < <("$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    u = json.loads(l)
    if u.get("device", "").startswith("ble:"):
        print(u["device"], u["sn"])' "$TMP/run.jsonl")
for line in "${HUB_URIS[@]}"; do
    uri=${line% *} sn=${line#* }
    "$LSWS" -q --json --show-secrets -d "$uri" get lorawan.app_key general.report_interval >"$TMP/g.json" 2>&1
    ok "hub $sn holds the template and its recorded key" "$PY" -c '
import json, sqlite3, sys
got = json.load(open(sys.argv[1]))
(settings,) = sqlite3.connect(sys.argv[2]).execute("select settings from records where sn = ? and state = 1",
                                                   (sys.argv[3],)).fetchone()
want = json.loads(settings)["settings"]
assert got["general.report_interval"] == 7, got
assert got["lorawan.app_key"] == want["lorawan.app_key"] and len(want["lorawan.app_key"]) == 32, (got, want)
' "$TMP/g.json" "$LEDGER" "$sn"
done

# A second sweep: every unit is done with this template, none written again.
expect 0 "4 units: 0 ok, 4 skipped" -- "$LSWS" batch "$TMP/tpl.json" --generate app_key --all --scan-time 1 \
    --ledger "$LEDGER"
ok "the second sweep skipped the three hubs" test "$(grep -c '^skipped  cth01 .* ble:' "$TMP/out")" -eq 3
stop_sim
ok "each hub's state was written once" "$PY" -c '
import json, sys
for f in sys.argv[1:]:
    assert json.load(open(f))["writes"] == 1, f
' "$TMP/hub.json" "$TMP/hub.json.2" "$TMP/hub.json.3"
ok "the ledger: four ok records, three over BLE" "$PY" -c '
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("select sn, state, uri from records").fetchall()
assert len(rows) == 4 and all(r[1] == 1 for r in rows), rows
assert sum(r[2].startswith("ble:") for r in rows) == 3, rows
' "$LEDGER"

# No hub in range and an empty fleet: --all finds nothing (status 3).
rm -f "$LSWS_SIM_DIR"/*
expect 3 "--all found no units" -- "$LSWS" batch "$TMP/tpl.json" --all --scan-time 1 --ledger "$LEDGER"

finish fleet_ble
