#!/bin/bash
# The device commands over the real NFC transport: lsws with Debian's
# libnfc (its pn532_uart driver, unmodified) against lsws-sim --nfc, a PN532
# reader emulated on a pseudo-terminal with the simulated WS523 in its
# field (docs/nfc.md). nfc-list (libnfc-bin) lists the emulated card; the
# shared device checks run over NFC, every setting included; then no card,
# a foreign card, no reader, a busy reader, a reader that stalls or is
# unplugged, each message fault, and the card taken away at every APDU of a
# multi-frame write (the unit's state is then read back in a new session:
# all old or all new), put back, and the command repeated.
# LIBNFC_INTRUSIVE_SCAN is never set: every reader is named.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/device_checks.sh"
. "$(dirname "$0")/nfc_lib.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"

trap 'stop_sim; rm -rf "$TMP"' EXIT

# ---- libnfc's own tools see the emulated reader and card --------------------------
start_sim --state "$TMP/ws523.json"
if command -v nfc-list >/dev/null 2>&1; then
    expect 0 "1 ISO14443A passive target(s) found" -- env LIBNFC_DEVICE="pn532_uart:$PTY" nfc-list -v
    ok "nfc-list shows the WS523's UID and ATS" sh -c "grep -q 'UID (NFCID1): 04  d2  11  30  96  20  38' '$TMP/out' &&
        grep -q 'ATS: 78  80  71  02  4c  53  57  53' '$TMP/out' && grep -q 'Compliant with ISO/IEC 14443-4' '$TMP/out'"
else
    echo "nfc-list (libnfc-bin) not installed: not checked"
fi

# ---- discovery: the reader and the card in its field, identified ------------------
listed() { grep -qE "^$(sed 's/[][\.*^$/]/\\&/g' <<<"$dev") +ws523 +6762d21130962038 " "$TMP/out"; }
expect 0 "ws523" -- env LIBNFC_DEVICE="pn532_uart:$PTY" "$LSWS" list
ok "lsws list shows the reader's card, identified" listed
expect 0 '"address": "04d21130962038"' -- env LIBNFC_DEVICE="pn532_uart:$PTY" "$LSWS" --json list
expect 0 "ws523" -- env LIBNFC_DEVICE="pn532_uart:$PTY" "$LSWS"
ok "lsws alone shows it too" listed
# nfc: alone is the reader LIBNFC_DEVICE names, as for every libnfc program.
expect 0 "sn                6762d21130962038" -- env LIBNFC_DEVICE="pn532_uart:$PTY" "$LSWS" -d nfc: info
expect 0 "> 00a4040006f04c53575301" -- "$LSWS" --trace --show-secrets -d "$dev" info

# ---- the shared device checks over NFC (every setting written and read back) ------
device_checks ws523 "$dev"
expect 0 "written to ws523" -- "$LSWS" -d "$dev" set general.report_interval=540
stop_sim
start_sim --state "$TMP/ws523.json"
expect 0 '"general.report_interval": 540' -- "$LSWS" --json -d "$dev" get general.report_interval
stop_sim

# ---- no card, a foreign card, no reader, a busy reader -----------------------------
start_sim --card-away
t=$(now)
expect 3 "no card in the field of reader 'pn532_uart:$PTY': hold the WS523 to the reader (or use --wait)" -- \
    "$LSWS" -d "$dev" info
ok "no card: said at once" within 1500 "$t"
t=$(now)
expect 3 "(waited for it in vain)" -- "$LSWS" --wait 1 -d "$dev" info
ok "--wait 1 waits about 1 s" sh -c "[ $((($(now) - t) / 1000000)) -ge 1000 ] && [ $((($(now) - t) / 1000000)) -lt 4000 ]"
expect 0 "no card" -- env LIBNFC_DEVICE="pn532_uart:$PTY" "$LSWS" list
# Tapped (SIGUSR1 puts the card in the field): found at once.
kill -USR1 "$SIM_PID"
sleep 0.3
expect 0 "model             ws523" -- "$LSWS" -d "$dev" info
stop_sim
# --wait: the card is held to the reader 0.8 s later.
start_sim --card-away --card-returns 800
t=$(now)
expect 0 "model             ws523" -- "$LSWS" --wait 10 -d "$dev" info
ok "--wait returns once the card is there" within 3000 "$t"
stop_sim
start_sim --card-away --card-returns 600
expect 0 "model             ws523" -- "$LSWS" --wait -d "$dev" info
stop_sim

start_sim --card iso14443-4
expect 1 "the card in the field (UID 083c915e) is not a WS523: it has no lsws application (SELECT: 6a82, application not found)" -- \
    "$LSWS" -d "$dev" info
expect 0 "not a WS523" -- env LIBNFC_DEVICE="pn532_uart:$PTY" "$LSWS" list
stop_sim
start_sim --card mifare
expect 1 "the card in the field (UID 5e3f11a0) is not a WS523: it is not an ISO 14443-4 card (SAK 08)" -- \
    "$LSWS" -d "$dev" get
stop_sim

expect 3 "cannot open 'nfc:pn532_uart:$TMP/ttyNONE': no reader: $TMP/ttyNONE: No such file or directory" -- \
    "$LSWS" -d "nfc:pn532_uart:$TMP/ttyNONE" info
expect 3 "no reader answers on /dev/null" -- "$LSWS" -d nfc:pn532_uart:/dev/null info
expect 3 "libnfc finds no reader 'nosuchdriver'" -- "$LSWS" -d nfc:nosuchdriver info
expect 2 "unknown option 'baud' for nfc" -- "$LSWS" -d "nfc:pn532_uart:/dev/ttyUSB0?baud=9600" info

# A reader is used by one program at a time (libnfc claims its port).
# Once the first lsws talks to the reader (it holds the port from before
# its first byte until it exits, 4 messages of 500 ms later):
start_sim --latency-ms 500
busy_while_get "apdu 1:" "busy: another program has the reader open"
stop_sim

# ---- a reader that stops answering, or is unplugged ---------------------------------
# APDUs of `get`: SELECT, IDENTIFY, AUTH... the reader stalls after the third.
start_sim --stall-after 3
t=$(now)
expect 3 "the reader stopped answering (no answer within 500 ms)" -- "$LSWS" --timeout 500 -d "$dev" get
ok "a stalled reader: given up within the timeout and a short check" within 3500 "$t"
t=$(now)
expect 3 "no reader answers on $PTY" -- "$LSWS" --timeout 500 -d "$dev" info
ok "a stalled reader on open: no hang" within 4500 "$t"
stop_sim
start_sim --disconnect-after 400
expect 3 "the reader went away" -- "$LSWS" -d "$dev" get
stop_sim

# ---- message faults, as on every transport (frames are messages) -------------------
start_sim --drop 1
expect 0 "retry 1" -- "$LSWS" -v -d "$dev" info
stop_sim
start_sim --corrupt 2
expect 0 "retry 1" -- "$LSWS" -v -d "$dev" get general.led
stop_sim
start_sim --drop 1,2,3
expect 3 "no answer to identify after 3 attempts" -- "$LSWS" --timeout 200 -d "$dev" info
stop_sim
start_sim --delay 1 --delay-ms 1500
expect 0 "retry 1" -- "$LSWS" -v --timeout 1000 -d "$dev" info
stop_sim
start_sim --refuse 2 --refuse-status busy
expect 1 "device busy" -- "$LSWS" -d "$dev" get general.led
stop_sim

# ---- the card taken away in the middle of a multi-frame write ------------------------
# A card that takes 64-byte messages in 24-byte APDUs: the write below is
# several WRITE frames of several APDUs each.
SETS=(general.report_interval=1980 lorawan.app_port=99 general.led=false lorawan.adr=false
    'lorawan.app_key=00112233445566778899aabbccddeeff' 'lorawan.nwk_skey=ffeeddccbbaa99887766554433221100'
    lorawan.dev_addr=01020304 general.power_restore=on
    'multicast.group[1].mc_app_skey=0102030405060708090a0b0c0d0e0f10'
    'multicast.group[2].mc_app_skey=1102030405060708090a0b0c0d0e0f10'
    'multicast.group[3].mc_app_skey=2102030405060708090a0b0c0d0e0f10')
KEYS=$(printf '%s\n' "${SETS[@]}" | sed 's/=.*//')
LIMITS=(--nfc-max-msg 64 --nfc-fragment 24)
rm -f "$TMP/fresh.json"
start_sim --state "$TMP/fresh.json" "${LIMITS[@]}"
"$LSWS" --json --show-secrets -d "$dev" get >"$TMP/old.json" 2>/dev/null
stop_sim
cp "$TMP/fresh.json" "$TMP/pristine.json"
start_sim --state "$TMP/fresh.json" "${LIMITS[@]}"
expect 0 "11 settings written to ws523" -- "$LSWS" -d "$dev" set "${SETS[@]}"
"$LSWS" --json --show-secrets -d "$dev" get >"$TMP/new.json" 2>/dev/null
stop_sim
# The APDUs of that write, from the simulator's log: the first fragment of
# the first WRITE message follows the last APDU of what came before it (the
# plan's reads); the commit is the APDU of the write that applied.
read -r first_w w1 commit < <(awk '
    /apdu [0-9]+:/ { match($0, /apdu [0-9]+/); k = substr($0, RSTART + 5, RLENGTH - 5) + 0 }
    /apdu [0-9]+:/ && !w && / write: / { w = k; first = before + 1 }
    /apdu [0-9]+:/ && !w && (/ read: / || / auth: / || / identify: / || / 80 12 /) { before = k }
    / write: ok: applied/ { c = k }
    END { print first, w, c }' "$TMP/sim.err")
writes=$(grep -c " write: " "$TMP/sim.err")
ok "the write takes several frames ($writes) of several APDUs (APDUs $first_w-$commit)" \
    sh -c "[ '$writes' -ge 3 ] && [ $((commit - first_w)) -ge $((writes + 2)) ]"
# state_is FILE: the unit's settings, read back in a new session, are all
# old (prints old) or all new (prints new); anything else fails.
state_is() {
    start_sim --state "$TMP/unit.json" "${LIMITS[@]}"
    "$LSWS" --timeout 5000 --json --show-secrets -d "$dev" get >"$TMP/now.json" 2>/dev/null
    stop_sim
    /usr/bin/python3 - "$TMP/now.json" "$TMP/old.json" "$TMP/new.json" $KEYS <<'PY'
import json, sys
now, old, new = ({k: v for k, v in json.load(open(f)).items() if k in sys.argv[4:]} for f in sys.argv[1:4])
assert len(old) == len(sys.argv) - 4 and old != new
print("old" if now == old else "new" if now == new else "MIXED")
sys.exit(0 if now in (old, new) else 1)
PY
}
uncommitted=0 unverified=0 unknown=0 bad=0
for ((k = first_w; k <= commit + 1; k++)); do
    cp "$TMP/pristine.json" "$TMP/unit.json"
    start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --card-leaves "$k"
    "$LSWS" --timeout 5000 -d "$dev" set "${SETS[@]}" >"$TMP/cut.out" 2>&1
    rc=$?
    stop_sim
    state=$(state_is) || bad=$((bad + 1))
    if grep -q "frames; nothing was committed" "$TMP/cut.out"; then
        uncommitted=$((uncommitted + 1))
        [ "$state" = old ] && [ "$rc" -eq 3 ] && grep -q "nothing was changed" "$TMP/cut.out" || {
            echo "FAIL: card gone after APDU $k: 'nothing was committed' but state $state, exit $rc"
            failed=$((failed + 1))
        }
    elif grep -q "could not be verified" "$TMP/cut.out"; then
        unverified=$((unverified + 1))
        [ "$state" = new ] || { echo "FAIL: card gone after APDU $k: confirmed write, state $state"; failed=$((failed + 1)); }
    elif [ "$k" -eq $((commit - 1)) ] && grep -q "during the commit" "$TMP/cut.out" &&
        grep -q "may hold the new settings (all of them or none)" "$TMP/cut.out"; then
        : # gone as the commit's last APDU went out: whether it arrived, only the card knows
    else
        echo "FAIL: card gone after APDU $k: unexpected outcome (exit $rc, state $state):"
        sed 's/^/    /' "$TMP/cut.out" | head -5
        failed=$((failed + 1))
    fi
    grep -q "the card left the field" "$TMP/cut.out" || { echo "FAIL: APDU $k: no 'card left the field'"; failed=$((failed + 1)); }
done
ok "card gone after each APDU of the write: never a mix of old and new" test "$bad" -eq 0
ok "card gone before the commit: nothing committed ($uncommitted times)" test "$uncommitted" -ge $((commit - first_w - 1))
ok "card gone after the commit: written but unverified ($unverified times)" test "$unverified" -ge 1
# The message says how far the transaction got.
cp "$TMP/pristine.json" "$TMP/unit.json"
start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --card-leaves "$w1"
expect 3 "the card left the field after 1 of $writes frames; nothing was committed" -- \
    "$LSWS" -d "$dev" set "${SETS[@]}"
stop_sim

# The card leaves while the device answers an APDU: for the commit the
# device has acted, and lsws cannot know it without the card.
for ((k = first_w; k <= commit; k++)); do
    cp "$TMP/pristine.json" "$TMP/unit.json"
    start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --card-leaves-during "$k"
    "$LSWS" --timeout 5000 -d "$dev" set "${SETS[@]}" >"$TMP/cut.out" 2>&1
    rc=$?
    stop_sim
    state=$(state_is) || bad=$((bad + 1))
    if [ "$k" -lt "$commit" ]; then
        grep -q "nothing was committed" "$TMP/cut.out" && [ "$state" = old ] || {
            echo "FAIL: card gone during APDU $k (before the commit): state $state"
            sed 's/^/    /' "$TMP/cut.out" | head -5
            failed=$((failed + 1))
        }
    else
        grep -q "may hold the new settings" "$TMP/cut.out" && [ "$state" = new ] && unknown=1 || {
            echo "FAIL: card gone during the commit: state $state"
            sed 's/^/    /' "$TMP/cut.out" | head -5
            failed=$((failed + 1))
        }
    fi
done
ok "card gone during each APDU of the write: never a mix" test "$bad" -eq 0
ok "card gone during the commit: lsws says the unit may hold the new settings" test "$unknown" -eq 1

# Put back: with --wait, lsws waits for the card after it left during the
# commit, reads back and finds the write applied.
cp "$TMP/pristine.json" "$TMP/unit.json"
start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --card-leaves-during "$commit" --card-returns 500
expect 0 "reading back shows it was applied" -- "$LSWS" --wait 10 -d "$dev" set "${SETS[@]}"
stop_sim
ok "put back during the commit: the unit holds the new settings" test "$(state_is)" = new
# Taken away before the commit, put back, and the command repeated.
cp "$TMP/pristine.json" "$TMP/unit.json"
start_sim --state "$TMP/unit.json" "${LIMITS[@]}" --card-leaves $((first_w + 1)) --card-returns 300
expect 3 "nothing was committed" -- "$LSWS" -d "$dev" set "${SETS[@]}"
expect 0 "11 settings written to ws523" -- "$LSWS" --wait 10 -d "$dev" set "${SETS[@]}"
stop_sim
ok "repeated after the card came back: all new" test "$(state_is)" = new

finish device-nfc
