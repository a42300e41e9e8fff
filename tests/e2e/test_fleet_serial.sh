#!/bin/bash
# Backup, restore, diff and batch over the real serial transport: lsws
# (libserialport, with the test-only pty shim, docs/serial.md) against
# lsws-sim on pseudo-terminals. The same commands as test_fleet_backup.sh
# and test_fleet_batch.sh run over sim:, on another transport.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serial_lib.sh"
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
PY=/usr/bin/python3
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LSWS_SIM_DIR
serial_shim fleet-serial

PIDS=
# start_sim NAME ARGS...: lsws-sim in the background; PTY is its port.
start_sim() {
    local name=$1
    shift
    "$SIM" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS="$PIDS $!"
    PTY=
    for _ in $(seq 100); do
        PTY=$(head -1 "$TMP/$name.out" 2>/dev/null)
        [ -n "$PTY" ] && return 0
        sleep 0.05
    done
    echo "FAIL: lsws-sim did not start: $(cat "$TMP/$name.err")"
    exit 1
}
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"' EXIT

for model in ws523 cth01; do
    start_sim "$model" --model "$model" --state "$TMP/$model.json"
    dev="serial:$PTY"
    mapfile -t assignments < <("$PY" "$SRC/tests/e2e/every_setting.py" "$REAL_LSWS" "$model")
    expect 0 "written to $model" -- "$LSWS" -q -d "$dev" set "${assignments[@]}"
    "$LSWS" -q --json --show-secrets -d "$dev" get >"$TMP/before.json"
    expect 0 "secrets included" -- "$LSWS" -q -d "$dev" backup -o "$TMP/$model-backup.json"
    expect 0 "reset to factory defaults" -- "$LSWS" -q -d "$dev" reset --yes
    expect 5 "settings differ" -- "$LSWS" -q -d "$dev" diff "$TMP/$model-backup.json"
    expect 0 "and verified" -- "$LSWS" -q -d "$dev" restore "$TMP/$model-backup.json"
    "$LSWS" -q --json --show-secrets -d "$dev" get >"$TMP/after.json"
    ok "$model over serial: backup + reset + restore gives the same get output" cmp -s "$TMP/before.json" "$TMP/after.json"
    expect 0 "same: " -- "$LSWS" -q -d "$dev" diff "$TMP/$model-backup.json"
done
expect 1 "the file is for a ws523, but 'serial:" -- "$LSWS" -q -d "$dev" restore "$TMP/ws523-backup.json"

# A batch over three serial units, each its own lsws-sim.
uris=()
for i in 1 2 3; do
    start_sim "u$i" --model ws523 --sn "000000000000005$i" --state "$TMP/u$i.json"
    uris+=("serial:$PTY")
done
printf '{"lsws_template": 1, "model": "ws523", "settings": {"general.report_interval": 840, "lorawan.app_key": "${APP_KEY}"}}\n' >"$TMP/tpl.json"
expect 0 "3 units: 3 ok" -- "$LSWS" -q batch "$TMP/tpl.json" --generate app_key --ledger "$TMP/l.sqlite" "${uris[@]}"
expect 0 "3 units: 0 ok, 3 skipped" -- "$LSWS" -q batch "$TMP/tpl.json" --generate app_key --ledger "$TMP/l.sqlite" "${uris[@]}"
expect 0 "3 units exported" -- "$LSWS" -q ledger export --ledger "$TMP/l.sqlite" --format csv -o "$TMP/keys.csv"
for u in "${uris[@]}"; do
    "$LSWS" -q --json --show-secrets -d "$u" get lorawan.app_key | tr -d '\n'
    echo
done >"$TMP/read.jsonl"
ok "over serial: every unit holds the key the ledger exports" "$PY" -c '
import csv, json, sys
keys = [r["app_key"] for r in csv.DictReader(open(sys.argv[1]))]
read = [json.loads(l)["lorawan.app_key"] for l in open(sys.argv[2])]
assert sorted(keys) == sorted(read) and len(set(read)) == 3, (keys, read)' "$TMP/keys.csv" "$TMP/read.jsonl"

finish fleet-serial
