#!/bin/bash
# lsws hold over the real NFC transport (libnfc's pn532_uart against
# lsws-sim --nfc): a holder keeps the reader open and serves other lsws
# commands, one at a time, each with a fresh card session (docs/nfc.md
# "lsws hold"). Checks: the socket and its directory are private; commands
# go through the holder and give what a direct command gives, the shared
# device checks included; a second client is busy; the card leaving in the
# middle of a multi-frame write, and the holder killed in the middle of a
# set, never leave a mix of old and new settings; tap after tap reaches each
# card; the idle time; LSWS_HOLD=0; one holder per device.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/device_checks.sh"
. "$(dirname "$0")/nfc_lib.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_RUNTIME_DIR="$TMP/run"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

HOLD_PID=
# start_hold ARGS...: lsws -v hold on $dev, in the background, until it is ready.
start_hold() {
    "$LSWS" -v -d "$dev" hold "$@" 2>"$TMP/hold.err" &
    HOLD_PID=$!
    for _ in $(seq 200); do
        grep -q "holding $dev" "$TMP/hold.err" && return 0
        kill -0 "$HOLD_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "FAIL: lsws hold did not start: $(cat "$TMP/hold.err")"
    failed=$((failed + 1))
}
stop_hold() {
    [ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
    [ -n "$HOLD_PID" ] && wait "$HOLD_PID" 2>/dev/null
    HOLD_PID=
}
trap 'stop_hold; stop_sim; rm -rf "$TMP"' EXIT
sock() { sed -n 's/.*; socket \(.*\); idle timeout.*/\1/p' "$TMP/hold.err"; }

# ---- 1. through the holder: the same answers; the socket is private ------------------
start_sim --state "$TMP/ws523.json"
"$LSWS" -d "$dev" get >"$TMP/direct.out" 2>/dev/null
start_hold --idle 0
ok "the ready line names the socket and the idle time" grep -q "; idle timeout 0 s" "$TMP/hold.err"
ok "socket mode 0600" test "$(stat -c %a "$(sock)")" = 600
ok "its directory: mode 0700" test "$(stat -c %a "$TMP/run/lsws")" = 700
expect 0 "via lsws hold (pid $HOLD_PID)" -- "$LSWS" -v -d "$dev" get
"$LSWS" -d "$dev" get >"$TMP/held.out" 2>/dev/null
ok "get through the holder prints what a direct get prints" cmp -s "$TMP/direct.out" "$TMP/held.out"
expect 0 "via lsws hold" -- "$LSWS" -v -d "$dev?timeout=800" info
device_checks ws523 "$dev"
ok "the holder ran every command ($(grep -c 'client (pid' "$TMP/hold.err") clients)" \
    test "$(grep -c ') done:' "$TMP/hold.err")" -ge 20
ok "the holder logs sizes, never contents" sh -c "! grep -qi 'abc_12\|123456\|5572404c' '$TMP/hold.err'"

# ---- 7. one holder per device -----------------------------------------------------------
expect 3 "is held already by lsws hold (pid $HOLD_PID)" -- "$LSWS" -d "$dev" hold

# ---- 6. LSWS_HOLD=0 ignores the holder (which has the port locked) ---------------------
expect 3 "busy: another program has the reader open" -- env LSWS_HOLD=0 "$LSWS" -d "$dev" info
stop_hold
ok "the holder removed its socket on SIGTERM" test ! -e "$(sock)"
expect 0 "model             ws523" -- "$LSWS" -d "$dev" info
# --idle: gone by itself after a second without a client, socket removed.
start_hold --idle 1
expect 0 "via lsws hold" -- "$LSWS" -v -d "$dev" info
t=$(now)
wait "$HOLD_PID"
rc=$?
HOLD_PID=
ok "--idle 1: the holder stops by itself (exit $rc)" sh -c "[ $rc -eq 0 ] && [ $((($(now) - t) / 1000000)) -lt 3000 ]"
ok "--idle: the socket is removed" test ! -e "$(sock)"
# A stale socket (a holder killed) is replaced by the next holder and ignored by commands.
start_hold
kill -KILL "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=
ok "a killed holder leaves its socket" test -S "$(sock)"
expect 0 "model             ws523" -- "$LSWS" -d "$dev" info
start_hold
expect 0 "via lsws hold" -- "$LSWS" -v -d "$dev" info
stop_hold
# A directory another user could have made is not used: lsws hold refuses it, a command
# opens the device itself.
chmod 755 "$TMP/run/lsws"
expect 1 "has mode 0755, not 0700: refused" -- "$LSWS" -d "$dev" hold
expect 0 "model             ws523" -- "$LSWS" -d "$dev" info
chmod 700 "$TMP/run/lsws"
stop_sim

# ---- 2. one client at a time ------------------------------------------------------------
start_sim --latency-ms 400
start_hold
busy_while_get " identify: " "busy: the reader is held by lsws hold (pid $HOLD_PID) and in use by another lsws"
expect 0 "model             ws523" -- "$LSWS" -d "$dev" info
stop_hold
stop_sim

# ---- 5. tap after tap: each client reaches the card in the field now -------------------
start_sim --state "$TMP/taps.json" --taps 1,2
start_hold
expect 0 "sn                6762d21130962038" -- "$LSWS" -d "$dev" info
kill -USR1 "$SIM_PID" # the first unit leaves
sleep 0.2
expect 3 "no card in the field" -- "$LSWS" -d "$dev" info
kill -USR1 "$SIM_PID" # the second unit is held to the reader
sleep 0.2
expect 0 "sn                6762d21130a62038" -- "$LSWS" -d "$dev" info
stop_hold
stop_sim

# ---- 3. the card leaves in the middle of a multi-frame write, through the holder -------
SETS=(general.report_interval=1980 lorawan.app_port=99 general.led=false lorawan.adr=false
    'lorawan.app_key=00112233445566778899aabbccddeeff' 'lorawan.nwk_skey=ffeeddccbbaa99887766554433221100'
    lorawan.dev_addr=01020304 general.power_restore=on
    'multicast.group[1].mc_app_skey=0102030405060708090a0b0c0d0e0f10')
KEYS=$(printf '%s\n' "${SETS[@]}" | sed 's/=.*//')
LIMITS=(--nfc-max-msg 64 --nfc-fragment 24)
rm -f "$TMP/unit.json"
start_sim --state "$TMP/unit.json" "${LIMITS[@]}"
"$LSWS" --json --show-secrets -d "$dev" get >"$TMP/old.json" 2>/dev/null
stop_sim
cp "$TMP/unit.json" "$TMP/pristine.json"
# A reference run through a holder: where the write's APDUs are.
start_sim --state "$TMP/unit.json" "${LIMITS[@]}"
start_hold
expect 0 "9 settings written to ws523" -- "$LSWS" -d "$dev" set "${SETS[@]}"
"$LSWS" --json --show-secrets -d "$dev" get >"$TMP/new.json" 2>/dev/null
stop_hold
stop_sim
read -r first_w commit < <(awk '
    /apdu [0-9]+:/ { match($0, /apdu [0-9]+/); k = substr($0, RSTART + 5, RLENGTH - 5) + 0 }
    /apdu [0-9]+:/ && !f && / write: / { f = 1; first = before + 1 }
    /apdu [0-9]+:/ && !f && (/ read: / || / auth: / || / identify: / || / 80 12 /) { before = k }
    / write: ok: applied/ { c = k }
    END { print first, c }' "$TMP/sim.err")
# classify: old, new, or MIXED, of the settings in $TMP/now.json.
classify() {
    /usr/bin/python3 - "$TMP/now.json" "$TMP/old.json" "$TMP/new.json" $KEYS <<'PY'
import json, sys
now, old, new = ({k: v for k, v in json.load(open(f)).items() if k in sys.argv[4:]} for f in sys.argv[1:4])
assert len(old) == len(sys.argv) - 4 and old != new
print("old" if now == old else "new" if now == new else "MIXED")
PY
}
# state: classify the unit as a get reads it now.
state() {
    "$LSWS" --timeout 5000 --wait 5 --json --show-secrets -d "$dev" get >"$TMP/now.json" 2>/dev/null
    classify
}
ok "the write spans several APDUs (APDUs $first_w-$commit)" test $((commit - first_w)) -ge 4
bad=0 repeated=0
for k in $first_w $((first_w + 2)) $(((first_w + commit) / 2)) $((commit - 1)) "$commit"; do
    cp "$TMP/pristine.json" "$TMP/unit.json"
    start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --card-leaves "$k" --card-returns 300
    start_hold
    "$LSWS" --timeout 5000 -d "$dev" set "${SETS[@]}" >"$TMP/cut.out" 2>&1
    grep -q "the card left the field" "$TMP/cut.out" || { echo "FAIL: APDU $k: no 'card left the field'"; failed=$((failed + 1)); }
    sleep 0.4 # the card is back
    # Through the same holder: a fresh card session (renew) reads the unit.
    "$LSWS" --json --show-secrets -d "$dev" get >"$TMP/now.json" 2>"$TMP/get.err" || {
        echo "FAIL: APDU $k: get through the holder after the card came back: $(cat "$TMP/get.err")"
        failed=$((failed + 1))
    }
    [ "$(classify)" = MIXED ] && bad=$((bad + 1))
    "$LSWS" -d "$dev" set "${SETS[@]}" >"$TMP/again.out" 2>&1 && repeated=$((repeated + 1))
    stop_hold
    [ "$(state)" = new ] || { echo "FAIL: APDU $k: repeated set did not leave the new settings"; failed=$((failed + 1)); }
    stop_sim
done
ok "card gone at each chosen APDU of the write: never a mix of old and new" test "$bad" -eq 0
ok "put back, the command repeated through the same holder works (5 times: $repeated)" test "$repeated" -eq 5

# ---- 4. the holder killed in the middle of a set -----------------------------------------
cp "$TMP/pristine.json" "$TMP/unit.json"
start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --latency-ms 150
start_hold
"$LSWS" --timeout 5000 -d "$dev" set "${SETS[@]}" >"$TMP/killed.out" 2>&1 &
client=$!
for _ in $(seq 200); do
    grep -q " write: " "$TMP/sim.err" && break
    sleep 0.02
done
kill -KILL "$HOLD_PID"
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=
wait "$client"
rc=$?
ok "the client says the holder went away (exit $rc)" grep -q "the lsws hold process went away" "$TMP/killed.out"
s=$(state)
ok "the holder killed during a set: the unit holds all old or all new ($s)" test "$s" = old -o "$s" = new
expect 0 "model             ws523" -- "$LSWS" -d "$dev" info
stop_sim

finish nfc-hold
