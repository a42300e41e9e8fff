#!/bin/bash
# Processes sharing one simulated unit through its state file: parallel lsws
# runs on one sim: URI, two lsws-sim serving one --state file (each on its
# own pty, lsws over the serial transport with the pty shim), and both at
# once. No change may be lost, the file must parse at every moment, and
# wrong passwords must count across processes (5 -> logins refused).
#
# Env: LSWS (the built lsws), LSWS_BUILD_DIR (lsws-sim and the pty shim),
# LSWS_SOURCE_DIR. Without the serial transport the lsws-sim parts are
# skipped. Output: "FAIL: ..." per failed check, then
# "sim_concurrency: N passed, M failed".
. "$(dirname "$0")/lib.sh"
BUILD=${LSWS_BUILD_DIR:?set LSWS_BUILD_DIR to the build directory}
SIM="$BUILD/lsws-sim"
SHIM="$BUILD/liblsws_ptyshim.so"
PY=/usr/bin/python3
PAIRS=${PAIRS:-20}
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_NEW_PASSWORD

SIM_PIDS=
stop_sims() {
    for p in $SIM_PIDS; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    SIM_PIDS=
}
trap 'stop_sims; rm -rf "$TMP"' EXIT

# lsws over serial gets the shim (and, in an ASan build, libasan first), as
# in test_device_serial.sh; lsws for sim: runs as it is.
SERIAL=
if [ -e "$SHIM" ] && [ -x "$SIM" ]; then
    preload=$SHIM
    asan=$(ldd "$LSWS" | awk '/libasan/ {print $3}')
    [ -n "$asan" ] && preload="$asan:$SHIM"
    SERIAL="$TMP/lsws-serial"
    printf '#!/bin/sh\nLD_PRELOAD="%s" exec "%s" "$@"\n' "$preload" "$LSWS" >"$SERIAL"
    chmod +x "$SERIAL"
else
    echo "sim_concurrency: built without the serial transport: lsws-sim parts skipped"
fi

# start_sim NAME ARGS...: lsws-sim in the background; PORT is its pty.
start_sim() {
    local name=$1
    shift
    : >"$TMP/sim-$name.out" # not the port of an earlier run
    "$SIM" "$@" >"$TMP/sim-$name.out" 2>"$TMP/sim-$name.err" &
    SIM_PIDS="$SIM_PIDS $!"
    PORT=
    for _ in $(seq 100); do
        PORT=$(head -1 "$TMP/sim-$name.out" 2>/dev/null)
        [ -n "$PORT" ] && return 0
        sleep 0.05
    done
    echo "FAIL: lsws-sim did not start: $(cat "$TMP/sim-$name.err")"
    failed=$((failed + 1))
    return 1
}

# lsws_for DEV: the lsws binary that reaches DEV.
lsws_for() {
    case $1 in
    serial:*) echo "$SERIAL" ;;
    *) echo "$LSWS" ;;
    esac
}

# holds DEV KEY=VALUE...: the unit read through DEV holds every KEY=VALUE
# (JSON values as lsws --json prints them: 30, true, ...).
holds() {
    local dev=$1
    shift
    local keys=()
    for kv in "$@"; do keys+=("${kv%%=*}"); done
    "$(lsws_for "$dev")" --json -d "$dev" get "${keys[@]}" >"$TMP/got.json" 2>"$TMP/got.err" || return 1
    "$PY" - "$TMP/got.json" "$@" <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
want = dict(kv.split("=", 1) for kv in sys.argv[2:])
sys.exit(0 if all(json.dumps(got.get(k)) == v for k, v in want.items()) else 1)
EOF
}

# pairs NAME DEV_A DEV_B: PAIRS rounds of two lsws set at once, of two
# different keys, one through each device URI; after each round the unit
# must hold both new values.
pairs() {
    local name=$1 a=$2 b=$3 runs_failed=0 lost=0
    for i in $(seq "$PAIRS"); do
        local ri=$((i + 1)) port=$((i + 100))
        "$(lsws_for "$a")" -d "$a" set general.report_interval=$ri >"$TMP/a.out" 2>&1 &
        local pa=$!
        "$(lsws_for "$b")" -d "$b" set lorawan.app_port=$port >"$TMP/b.out" 2>&1 &
        local pb=$!
        wait "$pa" || runs_failed=$((runs_failed + 1))
        wait "$pb" || runs_failed=$((runs_failed + 1))
        if ! holds "$a" general.report_interval=$ri lorawan.app_port=$port; then
            [ "$lost" -eq 0 ] && { echo "    round $i: $(tr -d '\n' <"$TMP/got.json")"; sed 's/^/    /' "$TMP/a.out" "$TMP/b.out"; }
            lost=$((lost + 1))
        fi
    done
    ok "$name: every one of $((2 * PAIRS)) sets succeeded ($runs_failed failed)" [ "$runs_failed" -eq 0 ]
    ok "$name: both values there after each of $PAIRS concurrent pairs ($lost rounds lost one)" [ "$lost" -eq 0 ]
}

# ---- parallel lsws runs on one sim: state file ------------------------------------
F=$TMP/unit.json
dev="sim:ws523?state=$F"
expect 0 "verified" -- "$LSWS" -d "$dev" set general.led=false
pairs "sim: x2" "$dev" "$dev"
ok "the lock file is beside the state file, mode 600" [ "$(stat -c %a "$F.lock" 2>/dev/null)" = 600 ]
ok "the state file is still mode 600" [ "$(stat -c %a "$F")" = 600 ]

# ---- two lsws-sim serving one state file --------------------------------------------
if [ -n "$SERIAL" ]; then
    start_sim a --model ws523 --state "$F" && PA=$PORT
    start_sim b --model ws523 --state "$F" && PB=$PORT
    pairs "lsws-sim x2" "serial:$PA" "serial:$PB"
    # sim: and lsws-sim together: each sees the others' writes.
    expect 0 "verified" -- "$SERIAL" -d "serial:$PA" set general.overcurrent_alarm.threshold=17
    ok "a write through one lsws-sim is read through the other" holds "serial:$PB" general.overcurrent_alarm.threshold=17
    ok "... and through sim:" holds "$dev" general.overcurrent_alarm.threshold=17
    expect 0 "verified" -- "$LSWS" -d "$dev" set general.overcurrent_alarm.threshold=18
    ok "a write through sim: is read through lsws-sim" holds "serial:$PA" general.overcurrent_alarm.threshold=18
fi

# ---- the state file parses at every moment --------------------------------------------
# Writers of different keys at once (four through sim:, one through each
# lsws-sim), ten rounds each, while a reader parses the file over and over.
cat >"$TMP/reader.py" <<'EOF'
"""reader.py FILE READY STOP: parses FILE over and over, creating READY after
the first read, until STOP exists; prints 'reads N bad M' and what the first
bad read saw."""
import json, os, sys, time
path, ready, stop = sys.argv[1:4]
reads = bad = 0
first = None
while not os.path.exists(stop):
    try:
        with open(path) as f:
            text = f.read()
        json.loads(text)
    except (OSError, ValueError) as e:
        bad += 1
        first = first or repr(e)
    reads += 1
    if reads == 1:
        open(ready, "w").close()
    time.sleep(0.001)
print(f"reads {reads} bad {bad}")
if first:
    print(first)
EOF
# writer DEV KEY VALUE...: sets KEY to each VALUE in turn; failures are
# appended to $TMP/writers.failed.
writer() {
    local dev=$1 key=$2
    shift 2
    for v in "$@"; do
        "$(lsws_for "$dev")" -d "$dev" set "$key=$v" >"$TMP/w.$key.out" 2>&1 ||
            echo "$key=$v: $(cat "$TMP/w.$key.out")" >>"$TMP/writers.failed"
    done
}
: >"$TMP/writers.failed"
"$PY" "$TMP/reader.py" "$F" "$TMP/ready" "$TMP/stop" >"$TMP/reader.out" 2>&1 &
reader=$!
for _ in $(seq 100); do
    [ -e "$TMP/ready" ] && break
    sleep 0.05
done
flips="true false true false true false true false true false"
pids=
writer "$dev" general.report_interval $(seq 31 40) & pids="$pids $!"
writer "$dev" lorawan.app_port $(seq 41 50) & pids="$pids $!"
writer "$dev" general.led $flips & pids="$pids $!"
writer "$dev" general.overcurrent_protection.threshold $(seq 21 30) & pids="$pids $!"
want="general.report_interval=40 lorawan.app_port=50 general.led=false general.overcurrent_protection.threshold=30"
if [ -n "$SERIAL" ]; then
    writer "serial:$PA" general.overcurrent_alarm.threshold $(seq 11 20) & pids="$pids $!"
    writer "serial:$PB" general.power_consumption $flips & pids="$pids $!"
    want="$want general.overcurrent_alarm.threshold=20 general.power_consumption=false"
fi
for p in $pids; do wait "$p"; done
touch "$TMP/stop"
wait "$reader"
ok "every concurrent write succeeded: $(tr '\n' ' ' <"$TMP/writers.failed")" [ ! -s "$TMP/writers.failed" ]
ok "the file parsed at every read ($(head -1 "$TMP/reader.out"))" grep -q " bad 0$" "$TMP/reader.out"
ok "the reader read it while they wrote" grep -q "^reads [1-9][0-9]" "$TMP/reader.out"
ok "the file parses after the writers" "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$F"
# shellcheck disable=SC2086 # want is a list of KEY=VALUE words
ok "every writer's last value is there" holds "$dev" $want
ok "no temporary file left beside it" [ -z "$(find "$TMP" -maxdepth 1 -name 'unit.json.??????')" ]
expect 0 "general.report_interval" -- "$LSWS" -d "$dev" get general.report_interval
stop_sims

# ---- wrong passwords count across processes ---------------------------------------
# Each attempt is its own lsws run, so its own in-process simulator: the
# count lives in the state file.
dev="sim:ws523?state=$TMP/login.json"
expect 0 "changed" -- env LSWS_NEW_PASSWORD=Sec_42 "$LSWS" -d "$dev" password
for i in 1 2 3 4 5; do
    expect 4 "wrong password" -- env LSWS_PASSWORD=wrong$i "$LSWS" -d "$dev" get general.led
done
expect 4 "refuses logins for" -- env LSWS_PASSWORD=Sec_42 "$LSWS" -d "$dev" get general.led
ok "the count is in the state file" grep -q '"login_failures": 5' "$TMP/login.json"
ok "... with the end of the lockout" grep -q '"lockout_until_ms": [0-9]' "$TMP/login.json"

# Two lsws-sim on one file: wrong passwords through either count for the unit.
if [ -n "$SERIAL" ]; then
    start_sim a --model ws523 --state "$TMP/login2.json" && PA=$PORT
    start_sim b --model ws523 --state "$TMP/login2.json" && PB=$PORT
    for i in 1 2 3 4 5; do
        port=$PA
        [ $((i % 2)) -eq 0 ] && port=$PB
        expect 4 "wrong password" -- env LSWS_PASSWORD=wrong$i "$SERIAL" -d "serial:$port" get general.led
    done
    expect 4 "refuses logins for" -- "$SERIAL" -d "serial:$PA" get general.led
    expect 4 "refuses logins for" -- "$SERIAL" -d "serial:$PB" get general.led
    stop_sims
fi

finish sim_concurrency
