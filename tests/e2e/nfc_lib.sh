# lsws-sim --nfc for the NFC tests (sourced after lib.sh): start_sim ARGS...
# starts the emulated reader and sets $dev (its URI), $PTY and $SIM_PID;
# stop_sim ends it. Skips the test (77) when lsws has no NFC transport.
SIM="${LSWS_BUILD_DIR:?}/lsws-sim"
unset LSWS_PASSWORD LSWS_DEVICE LIBNFC_DEVICE LIBNFC_DEFAULT_DEVICE LIBNFC_LOG_LEVEL
if "$LSWS" -d nfc: info 2>&1 | grep -q "unknown transport 'nfc'"; then
    echo "nfc: built without the NFC transport: skipped"
    exit 77
fi

SIM_PID=
start_sim() {
    : >"$TMP/sim.out" # not the last simulator's pty: the child truncates it only once it runs
    "$SIM" --nfc -v "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
    SIM_PID=$!
    for _ in $(seq 100); do
        PTY=$(head -1 "$TMP/sim.out" 2>/dev/null)
        if [ -n "$PTY" ]; then
            dev="nfc:pn532_uart:$PTY"
            return 0
        fi
        sleep 0.05
    done
    echo "FAIL: lsws-sim --nfc did not start: $(cat "$TMP/sim.err")"
    exit 1
}
stop_sim() {
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
    [ -n "$SIM_PID" ] && wait "$SIM_PID" 2>/dev/null
    SIM_PID=
}
now() { date +%s%N; }
# within MS START: less than MS milliseconds passed since START (from now).
within() { [ $((($(now) - $2) / 1000000)) -lt "$1" ]; }
# busy_while_get SIM_LOG WANT: a get runs on the slow simulator; once SIM_LOG
# is in its log, a second lsws gets exit 3 with WANT; the get finishes whole.
busy_while_get() {
    "$LSWS" -d "$dev" get >"$TMP/first.out" 2>&1 &
    local first=$!
    for _ in $(seq 100); do
        grep -q -- "$1" "$TMP/sim.err" && break
        sleep 0.05
    done
    expect 3 "$2" -- "$LSWS" -d "$dev" info
    wait "$first"
    ok "the first lsws finished undisturbed" grep -q "general.report_interval" "$TMP/first.out"
}
