#!/bin/bash
# The device commands over the real serial transport: lsws (libserialport,
# with the test-only pty shim preloaded, docs/serial.md) against lsws-sim on
# a pseudo-terminal. Both models, every command, every setting, the state
# across simulator restarts, wrong passwords and rate limiting, and each
# injected fault.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serial_lib.sh"
. "$(dirname "$0")/device_checks.sh"
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
serial_shim serial

SIM_PID=
start_sim() {
    : >"$TMP/sim.out" # here, not in the child: the loop must not read the previous pty's name
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
    kill "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=
}
trap 'stop_sim; rm -rf "$TMP"' EXIT

# Every model at a 64-byte device limit first, then at the default.
for model in ws523 cth01; do
    start_sim --model "$model" --state "$TMP/$model-64.json" --max-msg 64
    device_checks "$model" "serial:$PTY"
    stop_sim
done
for model in ws523 cth01; do
    start_sim --model "$model" --state "$TMP/$model.json"
    dev="serial:$PTY"
    device_checks "$model" "$dev"
    expect 0 "written to $model" -- "$LSWS" -d "$dev" set general.report_interval=540
    # The simulator restarts: the write is still there.
    stop_sim
    start_sim --model "$model" --state "$TMP/$model.json"
    dev="serial:$PTY"
    expect 0 '"general.report_interval": 540' -- "$LSWS" --json -d "$dev" get general.report_interval
    # Wrong passwords: refused, then rate-limited, even for the right one.
    expect 0 "changed" -- env LSWS_NEW_PASSWORD=Sec_42 "$LSWS" -d "$dev" password
    for i in 1 2 3 4 5; do
        expect 4 "wrong password" -- env LSWS_PASSWORD=bad_0$i "$LSWS" -d "$dev" get general.report_interval
    done
    expect 4 "refuses logins for" -- env LSWS_PASSWORD=Sec_42 "$LSWS" -d "$dev" get general.report_interval
    stop_sim
done

# Faults, each on a fresh simulator (frames are counted from its start).
fault() {
    start_sim --model ws523 --state "$TMP/fault.json" "$@"
    dev="serial:$PTY"
}
fault --drop 1
expect 0 "retry 1" -- "$LSWS" -v -d "$dev" info
stop_sim
fault --corrupt 2
expect 0 "retry 1" -- "$LSWS" -v -d "$dev" get general.led
stop_sim
fault --drop 1,2,3
expect 3 "no answer to identify after 3 attempts" -- "$LSWS" --timeout 200 -d "$dev" info
stop_sim
fault --delay 1 --delay-ms 1500
expect 0 "retry 1" -- "$LSWS" -v --timeout 1000 -d "$dev" info
stop_sim
fault --refuse 2 --refuse-status busy
expect 1 "device busy" -- "$LSWS" -d "$dev" get general.led
stop_sim
fault --disconnect-after 40
expect 3 "link closed" -- "$LSWS" -d "$dev" get
stop_sim
# Frames of `set general.led=...`: identify, auth, the read pages, the write, the verify.
fault
n=$("$LSWS" -v -d "$dev" get 2>&1 | grep -c 'seq')
stop_sim
fault --drop $((n + 1))
expect 0 "verified" -- "$LSWS" -v -d "$dev" set general.led=false
expect 0 '"general.led": false' -- "$LSWS" --json -d "$dev" get general.led
stop_sim
fault --drop $((n + 1)),$((n + 2)),$((n + 3))
expect 3 "nothing was changed" -- "$LSWS" --timeout 200 -d "$dev" set general.led=true lorawan.app_port=99
"$LSWS" --json -d "$dev" get general.led lorawan.app_port >"$TMP/mix.json" 2>/dev/null
ok "no mix of old and new settings" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["general.led"], d["lorawan.app_port"]) in [(False, 85), (True, 99)] else 1)' "$TMP/mix.json"
stop_sim
# A port is opened exclusively: while one lsws waits on a slow unit, a
# second gets a clear "busy" instead of taking the first one's answers.
fault --latency-ms 400
"$LSWS" -d "$dev" get >"$TMP/first.out" 2>&1 &
first=$!
sleep 0.3
expect 3 "busy: another program has it open" -- "$LSWS" -d "$dev" info
wait "$first"
ok "the first lsws finished undisturbed" grep -q "general.report_interval" "$TMP/first.out"
stop_sim
# A total deadline: a unit that answers every exchange slowly is given up on.
fault --latency-ms 600
expect 3 "deadline of 1 s" -- "$LSWS" --deadline 1 -d "$dev" get
stop_sim
finish device-serial
