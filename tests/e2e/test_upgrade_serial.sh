#!/bin/bash
# lsws upgrade over the real serial transport: lsws (libserialport, with
# the test-only pty shim preloaded, docs/serial.md) against lsws-sim on a
# pseudo-terminal. Both models; the new version survives a simulator
# restart; refusals before anything is sent; the link dropped by the unit at
# several offsets (lsws-sim exits, as a unit that loses power would) and the
# transfer resumed by a new simulator on the same state; lsws-sim killed
# mid-transfer and restarted; lost and corrupted frames on the wire;
# corrupt chunks; a failed verification and a refused commit leave the unit
# reporting and running its old firmware.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serial_lib.sh"
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
serial_shim serial

SIM_PID=
start_sim() {
    : >"$TMP/sim.out"
    "$SIM" "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
    SIM_PID=$!
    for _ in $(seq 100); do
        PTY=$(head -1 "$TMP/sim.out" 2>/dev/null)
        [ -n "$PTY" ] && return 0
        sleep 0.05
    done
    echo "FAIL: lsws-sim did not start: $(cat "$TMP/sim.err")"
    exit 1
}
stop_sim() {
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && wait "$SIM_PID" 2>/dev/null
    SIM_PID=
}
trap 'stop_sim; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1

fw_of() { "$LSWS" --json -d "$1" info 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["firmware_version"])' 2>/dev/null; }
staged_ok() { # STATE IMAGE MAX: prints the staged bytes, which are the image's
    /usr/bin/python3 - "$@" <<'EOF'
import sys
state, image, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
staged = open(state + ".fw", "rb").read()
img = open(image, "rb").read()
assert staged[:4] == b"LSST" and img[128:].startswith(staged[64:]) and len(staged) - 64 <= most
print(len(staged) - 64)
EOF
}
wait_staged() { # STATE BYTES
    for _ in $(seq 200); do
        [ -e "$1.fw" ] && [ $(($(stat -c %s "$1.fw") - 64)) -gt "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

for model in ws523 cth01; do
    ok "make a $model image" "$SIM" --make-firmware "$model.bin" --model "$model" --size 60000
done
ok "make an older image" "$SIM" --make-firmware old.bin --model ws523 --fw-version 1.7 --size 2000
/usr/bin/python3 -c 'import sys; b=bytearray(open("ws523.bin","rb").read()); b[30000]^=1; open("bad.bin","wb").write(b)'

# ---- both models, and the new version survives a restart ---------------------------------------
for model in ws523 cth01; do
    start_sim --model "$model" --state "$TMP/$model.json"
    dev="serial:$PTY"
    old=$(fw_of "$dev")
    new=$([ "$model" = ws523 ] && echo v1.9 || echo v1.2)
    ok "$model runs its factory firmware ($old)" [ "$old" = "$([ "$model" = ws523 ] && echo v1.8 || echo v1.1)" ]
    expect 0 "upgraded from $old to $new (60000 bytes" -- "$LSWS" -d "$dev" upgrade "$model.bin"
    ok "$model reports $new" [ "$(fw_of "$dev")" = "$new" ]
    stop_sim
    start_sim --model "$model" --state "$TMP/$model.json"
    dev="serial:$PTY"
    ok "$model still reports $new after a simulator restart" [ "$(fw_of "$dev")" = "$new" ]
    expect 1 "which the unit already runs" -- "$LSWS" -d "$dev" upgrade "$model.bin"
    stop_sim
done

# ---- refused before anything is sent ---------------------------------------------------------
start_sim --model cth01 --state "$TMP/c2.json" -v
dev="serial:$PTY"
expect 1 "the image is built for a ws523, and the unit is a cth01" -- "$LSWS" -d "$dev" upgrade ws523.bin
expect 1 "payload CRC-32 is" -- "$LSWS" -d "$dev" upgrade bad.bin
expect 1 "older than the v1.1 the unit runs" -- "$LSWS" -d "$dev" upgrade "$("$SIM" --make-firmware o.bin --model cth01 --fw-version 1.0 --size 10; echo o.bin)"
stop_sim
ok "the simulator saw no firmware request" bash -c "! grep -q 'fw-' '$TMP/sim.err'"
ok "the bad image never reached the simulator (one session for the other two)" [ "$(grep -c 'a client opened the port' "$TMP/sim.err")" -eq 2 ]

# ---- the unit drops the link at several offsets; a new simulator resumes ---------------------------
state="$TMP/drop.json"
for at in 0 5000 30000 59999; do
    start_sim --model ws523 --state "$state" --fw-drop-at "$at"
    expect 3 "interrupted" -- "$LSWS" -d "serial:$PTY" upgrade ws523.bin
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=
    n=$(staged_ok "$state" ws523.bin "$at")
    ok "dropped at $at: the staged bytes are the image's ($n)" test "${n:-x}" = $((at / 1013 * 1013))
    start_sim --model ws523 --state "$state"
    ok "dropped at $at: the unit reports v1.8" [ "$(fw_of "serial:$PTY")" = v1.8 ]
    stop_sim
done
start_sim --model ws523 --state "$state"
expect 0 "resumed at byte $((59999 / 1013 * 1013))" -- "$LSWS" -d "serial:$PTY" upgrade ws523.bin
ok "resumed over serial: v1.9" [ "$(fw_of "serial:$PTY")" = v1.9 ]
stop_sim

# ---- lsws-sim killed mid-transfer, restarted ----------------------------------------------------
state="$TMP/kill.json"
start_sim --model cth01 --state "$state" --link-bps 30000
"$LSWS" -d "serial:$PTY" upgrade cth01.bin >"$TMP/killed.out" 2>&1 &
lsws_pid=$!
wait_staged "$state" 8000
kill -KILL "$SIM_PID"
wait "$SIM_PID" 2>/dev/null
SIM_PID=
wait "$lsws_pid"
rc=$?
ok "simulator killed: lsws exits 3 (got $rc)" [ "$rc" -eq 3 ]
ok "simulator killed: lsws says how much the unit holds" grep -q "holds [0-9]* of 60000 bytes of the image staged" "$TMP/killed.out"
n=$(staged_ok "$state" cth01.bin 60000)
ok "simulator killed: staged bytes are the image's ($n)" test "${n:-0}" -gt 8000 -a "${n:-0}" -lt 60000
start_sim --model cth01 --state "$state"
ok "restarted: the unit reports v1.1" [ "$(fw_of "serial:$PTY")" = v1.1 ]
expect 0 "resumed at byte $n" -- "$LSWS" -d "serial:$PTY" upgrade cth01.bin
ok "restarted and resumed: v1.2" [ "$(fw_of "serial:$PTY")" = v1.2 ]
stop_sim

# ---- the wire loses and corrupts frames; the unit finds chunks corrupt ----------------------------
# Frames: 1 IDENTIFY, 2 AUTH, 3 FW_BEGIN, then FW_DATA, three in flight.
# Frame 6 (the chunk at 2026) is lost: 7 behind it is refused as out of
# sequence, and 8 (FW_DATA request 4, corrupt) too, stale: lsws starts again
# at 2026. Frame 9's answer is lost while 10 and 11 are stored: its retry is
# answered from the unit's cache. Frame 24 (FW_DATA request 20) is corrupt:
# the one chunk resent because the unit found it corrupt.
start_sim --model ws523 --state "$TMP/wire.json" --drop 6 --corrupt 9 --fw-corrupt 4,20 -v
"$LSWS" --json -d "serial:$PTY" upgrade ws523.bin >"$TMP/r.json" 2>/dev/null
ok "lost and corrupted frames retried, corrupt chunks resent: done" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["resent"], d["firmware_version"], d["window"]) == ("done", 1, "v1.9", 3) else 1)' "$TMP/r.json"
stop_sim
ok "the corrupted answer's retry was answered from the unit's cache, not staged again" grep -q "fw-data: identical retry, previous answer resent" "$TMP/sim.err"
ok "the corrupt chunks were refused by their CRC" [ "$(grep -c 'fw-data: checksum mismatch' "$TMP/sim.err")" -eq 2 ]

# ---- chunks in flight: a corrupt chunk inside a window, then the link dropped with chunks out ----
# Three chunks of 1013 bytes in flight. FW_DATA request 5 arrives corrupt: refused by its CRC,
# the two behind it as out of sequence; later the unit loses power at the chunk carrying byte
# 40000, with more sent behind it.
state="$TMP/window.json"
start_sim --model ws523 --state "$state" --fw-corrupt 5 --fw-drop-at 40000 -v
expect 3 "interrupted" -- "$LSWS" -d "serial:$PTY" upgrade ws523.bin
wait "$SIM_PID" 2>/dev/null # it exits when it drops the link
SIM_PID=
ok "window: the corrupt chunk was refused by its CRC" [ "$(grep -c 'fw-data: checksum mismatch' "$TMP/sim.err")" -eq 1 ]
ok "window: the chunks behind it were refused, not stored" grep -q "fw-data: out of sequence" "$TMP/sim.err"
n=$(staged_ok "$state" ws523.bin 60000)
ok "window: the staged bytes are the image's, up to the lost chunk ($n)" [ "${n:-0}" -eq $((40000 / 1013 * 1013)) ]
start_sim --model ws523 --state "$state"
"$LSWS" --json -d "serial:$PTY" upgrade ws523.bin >"$TMP/r.json" 2>/dev/null
ok "window: resumed at the offset the unit held, 3 chunks in flight, done" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["resumed_at"], d["chunk_size"], d["window"], d["firmware_version"]) == ("done", int(sys.argv[2]), 1013, 3, "v1.9") else 1)' "$TMP/r.json" "$n"
stop_sim

# ---- a failed verification and a refused commit ------------------------------------------------
state="$TMP/end.json"
start_sim --model ws523 --state "$state" --fw-bad-checksum
expect 5 "found its checksum wrong" -- "$LSWS" -d "serial:$PTY" upgrade ws523.bin
ok "failed verification: the unit reports v1.8" [ "$(fw_of "serial:$PTY")" = v1.8 ]
stop_sim
start_sim --model ws523 --state "$state" --fw-refuse-commit
expect 1 "did not commit it" -- "$LSWS" -d "serial:$PTY" upgrade ws523.bin
ok "refused commit: the unit reports v1.8" [ "$(fw_of "serial:$PTY")" = v1.8 ]
stop_sim
start_sim --model ws523 --state "$state"
ok "refused commit: after a restart it still reports v1.8" [ "$(fw_of "serial:$PTY")" = v1.8 ]
expect 0 "resumed at byte 60000" -- "$LSWS" -d "serial:$PTY" upgrade ws523.bin
ok "then committed: v1.9" [ "$(fw_of "serial:$PTY")" = v1.9 ]
stop_sim

finish upgrade-serial
