#!/bin/bash
# lsws upgrade over the real NFC transport: lsws (libnfc's pn532_uart
# driver) against lsws-sim --nfc, a PN532 emulated on a pty with the WS523
# in its field. The happy path (the new version survives a simulator
# restart); the card taken away mid-transfer (lsws stops, the staged bytes
# are the image's, the unit runs its old firmware; held to the reader again,
# the same command resumes); the card taken away and put back during one
# command with --wait (it resumes by itself).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nfc_lib.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
trap 'stop_sim; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fw_of() { "$LSWS" --json -d "$1" info 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["firmware_version"])' 2>/dev/null; }
staged() { # STATE IMAGE: prints the staged bytes' count, which are the image's
    /usr/bin/python3 - "$@" <<'EOF'
import sys
staged = open(sys.argv[1] + ".fw", "rb").read()
img = open(sys.argv[2], "rb").read()
assert staged[:4] == b"LSST" and img[128:].startswith(staged[64:])
print(len(staged) - 64)
EOF
}
ok "make a ws523 image" "$SIM" --make-firmware ws523.bin --model ws523 --size 60000

# ---- the happy path ----------------------------------------------------------------------
start_sim --state "$TMP/a.json"
expect 0 "upgraded from v1.8 to v1.9 (60000 bytes" -- "$LSWS" -d "$dev" upgrade ws523.bin
ok "the unit reports v1.9" [ "$(fw_of "$dev")" = v1.9 ]
stop_sim
start_sim --state "$TMP/a.json"
ok "...and after a simulator restart" [ "$(fw_of "$dev")" = v1.9 ]
stop_sim

# ---- the card taken away mid-transfer; held to the reader again, the command resumes ----------
# APDUs: SELECT, IDENTIFY, AUTH, FW_BEGIN, then FW_DATA chunks of a few APDUs each.
start_sim --state "$TMP/b.json" --card-leaves 120 -v
expect 3 "interrupted" -- "$LSWS" -d "$dev" upgrade ws523.bin
ok "the card left: lsws says how much the unit holds" grep -q "holds [0-9]* of 60000 bytes of the image staged" "$TMP/out"
n=$(staged "$TMP/b.json" ws523.bin)
ok "the staged bytes are the image's ($n of 60000)" test "${n:-0}" -gt 0 -a "${n:-0}" -lt 60000
kill -USR1 "$SIM_PID" # the card is held to the reader again
ok "the unit runs its old firmware" [ "$(fw_of "$dev")" = v1.8 ]
expect 0 "resumed at byte $n" -- "$LSWS" -d "$dev" upgrade ws523.bin
ok "resumed over NFC: v1.9" [ "$(fw_of "$dev")" = v1.9 ]
stop_sim

# ---- taken away and put back within one command (--wait): it resumes by itself -----------------
start_sim --state "$TMP/c.json" --card-leaves 120 --card-returns 400 -v
"$LSWS" --json --wait 10 -d "$dev" upgrade ws523.bin >"$TMP/r.json" 2>"$TMP/r.err"
rc=$?
ok "card away for 400 ms with --wait: done (status $rc)" [ "$rc" -eq 0 ]
ok "...after a reconnect, resumed where the unit stood" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["outcome"] == "done" and d["firmware_version"] == "v1.9", d
assert d["reconnects"] >= 1, d
' "$TMP/r.json"
ok "the simulator saw the card leave and come back" sh -c "grep -q 'the card left the field' '$TMP/sim.err' && grep -q 'back in the field' '$TMP/sim.err'"
stop_sim

finish upgrade-nfc
