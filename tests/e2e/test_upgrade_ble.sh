#!/bin/bash
# lsws upgrade over the real BLE transport: lsws (BlueZ's D-Bus API) against
# lsws-sim --ble on a private dbus-daemon (never the machine's system bus).
# The happy path (the new version survives a simulator restart), and the
# hub dropping the link mid-transfer (lsws-sim exits, as a unit losing power
# would): the staged bytes are the image's, the hub runs its old firmware,
# and the same command against a new simulator on the same state resumes.
# Then the failure paths of several chunks in flight: a corrupt one inside
# a window, and the link dropped with chunks out.
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

# ---- chunks in flight: a corrupt chunk inside a window, then the link dropped with chunks out ----
# Three chunks of 959 bytes are in flight (970-byte messages fill 4 fragments at MTU 247).
# FW_DATA request 5 arrives corrupt: refused by its CRC, and the chunks behind it as out of
# sequence; later the hub loses power at the chunk carrying byte 30000, with more sent behind it.
start_sim --model cth01 --state "$TMP/c.json" --fw-corrupt 5 --fw-drop-at 30000
expect 3 "interrupted" -- "$LSWS" -d "ble:$ADDR" upgrade cth01.bin
wait "$SIM_PID" 2>/dev/null # it exits when it drops the link
SIM_PID=
ok "window: the corrupt chunk was refused by its CRC" [ "$(grep -c 'fw-data: checksum mismatch' "$TMP/sim.err")" -eq 1 ]
ok "window: the chunks behind it were refused, not stored" grep -q "fw-data: out of sequence" "$TMP/sim.err"
n=$(staged "$TMP/c.json" cth01.bin)
ok "window: the staged bytes are the image's, up to the lost chunk ($n)" [ "${n:-0}" -eq $((30000 / 959 * 959)) ]
start_sim --model cth01 --state "$TMP/c.json"
"$LSWS" --json -d "ble:$ADDR" upgrade cth01.bin >"$TMP/r.json" 2>/dev/null
ok "window: resumed at the offset the hub held, 3 chunks of 959 in flight, done" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["resumed_at"], d["chunk_size"], d["window"], d["firmware_version"]) == ("done", int(sys.argv[2]), 959, 3, "v1.2") else 1)' "$TMP/r.json" "$n"
stop_sim

finish upgrade-ble
