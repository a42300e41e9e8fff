#!/bin/bash
# lsws upgrade over the real BLE transport: lsws (BlueZ's D-Bus API) against
# lsws-sim --ble on a private dbus-daemon (never the machine's system bus).
# The happy path (the new version survives a simulator restart), and the
# hub dropping the link mid-transfer (lsws-sim exits, as a unit losing power
# would): the staged bytes are the image's, the hub runs its old firmware,
# and the same command against a new simulator on the same state resumes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ble_lib.sh"
ble_skip_unless_built
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
trap 'stop_sim; stop_bus; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fw_of() { "$LSWS" --json -d "$1" info 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["firmware_version"])' 2>/dev/null; }
staged() { # STATE IMAGE: the staged bytes' count, which are the image's
    /usr/bin/python3 - "$@" <<'PY'
import sys
staged = open(sys.argv[1] + ".fw", "rb").read()
img = open(sys.argv[2], "rb").read()
assert staged[:4] == b"LSST" and img[128:].startswith(staged[64:])
print(len(staged) - 64)
PY
}
ok "make a cth01 image" "$SIM" --make-firmware cth01.bin --model cth01 --size 60000
start_bus

# ---- the happy path ----------------------------------------------------------------------
start_sim --model cth01 --state "$TMP/a.json"
expect 0 "upgraded from v1.1 to v1.2 (60000 bytes" -- "$LSWS" -d "ble:$NAME" upgrade cth01.bin
ok "the hub reports v1.2" [ "$(fw_of "ble:$NAME")" = v1.2 ]
stop_sim
start_sim --model cth01 --state "$TMP/a.json"
ok "...and after a simulator restart" [ "$(fw_of "ble:$ADDR")" = v1.2 ]
stop_sim

# ---- the hub drops the link at byte 30000; a new simulator on the same state resumes ---------
start_sim --model cth01 --state "$TMP/b.json" --fw-drop-at 30000
expect 3 "interrupted" -- "$LSWS" -d "ble:$ADDR" upgrade cth01.bin
ok "lsws says how much the hub holds" grep -q "holds [0-9]* of 60000 bytes of the image staged" "$TMP/out"
stop_sim
n=$(staged "$TMP/b.json" cth01.bin)
ok "dropped at 30000: the staged bytes are the image's ($n)" test "${n:-0}" -gt 25000 -a "${n:-0}" -le 30000
start_sim --model cth01 --state "$TMP/b.json"
ok "the hub runs its old firmware" [ "$(fw_of "ble:$ADDR")" = v1.1 ]
expect 0 "resumed at byte $n" -- "$LSWS" -d "ble:$ADDR" upgrade cth01.bin
ok "resumed over BLE: v1.2" [ "$(fw_of "ble:$ADDR")" = v1.2 ]
stop_sim

finish upgrade-ble
