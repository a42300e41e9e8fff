#!/bin/bash
# lsws upgrade and lsws firmware info end to end against the in-process
# simulator (sim:), both models: images from lsws-sim --make-firmware, the
# checks before anything is sent (corrupt header and payload, wrong model,
# wrong hardware, downgrade and reinstall without --force), the happy path,
# transfers interrupted at several offsets and resumed (the unit's staged
# bytes are the file's), a corrupt chunk resent, a failed verification and a
# refused commit (the old firmware runs on), lsws killed and stopped with
# SIGTERM mid-transfer, --json, --dry-run and the progress bar.
. "$(dirname "$0")/lib.sh"
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
cd "$TMP" || exit 1

# fw VERSION of the unit of DEV, from lsws --json info.
fw_of() { "$LSWS" --json -d "$1" info 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["firmware_version"])' 2>/dev/null; }
# staged_ok STATE IMAGE MAX: the unit's staged bytes (after the 64-byte
# staging header of STATE.fw) are the start of IMAGE's payload, and there
# are at most MAX of them; prints how many.
staged_ok() {
    /usr/bin/python3 - "$@" <<'EOF'
import sys
state, image, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
staged = open(state + ".fw", "rb").read()
img = open(image, "rb").read()
assert staged[:4] == b"LSST", "not a staging file"
data = staged[64:]
assert img[128:].startswith(data), "staged bytes differ from the image"
assert len(data) <= most, "%d bytes staged, at most %d expected" % (len(data), most)
print(len(data))
EOF
}
# flip FILE OFFSET: one bit of the byte at OFFSET changed, into FILE.bad.
flip() { /usr/bin/python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[2])]^=0x04; open(sys.argv[1]+".bad","wb").write(b)' "$1" "$2"; }

# ---- images --------------------------------------------------------------------------
for model in ws523 cth01; do
    ok "make a $model image" "$SIM" --make-firmware "$model.bin" --model "$model" --size 40000
done
ok "make an older image" "$SIM" --make-firmware old.bin --model ws523 --fw-version 1.7 --size 3000
ok "make an image for other hardware" "$SIM" --make-firmware hw.bin --model ws523 --fw-version 2.0 --hw-min v1.0 --hw-max v1.1 --size 500
ok "make a larger image" "$SIM" --make-firmware big.bin --model ws523 --fw-version 2.1 --size 100000 --name "big test image"
ok "images are mode 0644" [ "$(stat -c %a big.bin)" = 644 ]
ok "the same arguments make the same image" bash -c "'$SIM' --make-firmware again.bin --model ws523 --size 40000 && cmp -s again.bin ws523.bin"
expect 2 "not a firmware version" -- "$SIM" --make-firmware x.bin --model ws523 --fw-version 1.x
expect 2 "--size takes 1 to 4194304 bytes" -- "$SIM" --make-firmware x.bin --model ws523 --size 0
expect 2 "go with --make-firmware" -- "$SIM" --model ws523 --size 10

# ---- lsws firmware info ----------------------------------------------------------------
expect 0 "firmware_version  v1.9" -- "$LSWS" firmware info ws523.bin
expect 0 "valid             yes (header checksum, length, CRC-32 and SHA-256 checked)" -- "$LSWS" firmware info ws523.bin
expect 0 "hardware_min      v1.0" -- "$LSWS" firmware info hw.bin
expect 0 "name              big test image" -- "$LSWS" firmware info big.bin
expect 0 '"model": "cth01"' -- "$LSWS" --json firmware info cth01.bin
expect 0 '"payload_length": 40000' -- "$LSWS" --json firmware info cth01.bin
flip ws523.bin 13      # the firmware version: the header checksum catches it
mv ws523.bin.bad bad-header.bin
flip ws523.bin 20000   # a payload byte: CRC-32
mv ws523.bin.bad bad-payload.bin
head -c 30000 ws523.bin >short.bin
echo "not firmware" >text.bin
expect 1 "'bad-header.bin': firmware header checksum is" -- "$LSWS" firmware info bad-header.bin
expect 1 "payload CRC-32 is" -- "$LSWS" firmware info bad-payload.bin
expect 1 "valid             no" -- "$LSWS" firmware info bad-payload.bin
expect 1 "the image is cut short" -- "$LSWS" firmware info short.bin
expect 1 "not an lsws firmware image" -- "$LSWS" firmware info text.bin
expect 1 "cannot open 'nope.bin'" -- "$LSWS" firmware info nope.bin
expect 2 "firmware needs a subcommand" -- "$LSWS" firmware
expect 2 "did you mean 'info'" -- "$LSWS" firmware inf ws523.bin
expect 2 "firmware info takes one FILE" -- "$LSWS" firmware info

# ---- the happy path, both models ---------------------------------------------------------
for model in ws523 cth01; do
    state="$TMP/$model.json"
    dev="sim:$model?state=$state"
    old=$(fw_of "$dev")
    new=$([ "$model" = ws523 ] && echo v1.9 || echo v1.2)
    expect 0 "$model" -- "$LSWS" -d "$dev" info
    expect 0 "upgraded from $old to $new (40000 bytes" -- "$LSWS" -d "$dev" upgrade "$model.bin"
    ok "$model reports $new after the upgrade" [ "$(fw_of "$dev")" = "$new" ]
    ok "$model: nothing staged after the commit" [ ! -e "$state.fw" ]
    ok "$model: the state file names the new firmware" grep -q '"firmware_version": "01' "$state"
    expect 1 "which the unit already runs; --force installs it anyway" -- "$LSWS" -d "$dev" upgrade "$model.bin"
    expect 0 "upgraded from $new to $new" -- "$LSWS" -d "$dev" upgrade --force "$model.bin"
    # Settings are not touched by an upgrade.
    expect 0 "general.report_interval" -- "$LSWS" -d "$dev" get general.report_interval
done

# ---- refused before anything is sent -------------------------------------------------------
dev="sim:cth01?state=$TMP/cth01.json"
expect 1 "the image is built for a ws523, and the unit is a cth01" -- "$LSWS" -d "$dev" upgrade ws523.bin
expect 1 "the image is built for a ws523, and the unit is a cth01" -- "$LSWS" -d "$dev" upgrade --force ws523.bin
"$LSWS" -v -d "$dev" upgrade ws523.bin >/dev/null 2>"$TMP/v.err"
ok "a wrong-model image sends no firmware request" bash -c "! grep -q 'fw-' '$TMP/v.err'"
dev="sim:ws523?state=$TMP/w2.json"
expect 1 "built for ws523 hardware v1.0 to v1.1, and the unit has hardware v1.2" -- "$LSWS" -d "$dev" upgrade --force hw.bin
for bad in bad-header.bin bad-payload.bin short.bin text.bin; do
    "$LSWS" -v -d "$dev" upgrade "$bad" >"$TMP/v.out" 2>&1
    rc=$?
    ok "$bad: refused (exit $rc)" [ "$rc" -eq 1 ]
    ok "$bad: nothing sent, not even IDENTIFY" bash -c "grep -q 'nothing was sent' '$TMP/v.out' && ! grep -q ' seq ' '$TMP/v.out'"
done
# Too large for the unit's 1 MiB slot: lsws takes it (up to 4 MiB), the unit refuses it.
ok "make a 2 MB image" "$SIM" --make-firmware huge.bin --model ws523 --fw-version 3.0 --size 2000000
expect 1 "refused the image: an image of 2000000 bytes does not fit the unit's 1048576-byte firmware slot" -- "$LSWS" -d "$dev" upgrade huge.bin
ok "refused by the unit: nothing staged" [ ! -e "$TMP/w2.json.fw" ]
expect 4 "wrong password" -- env LSWS_PASSWORD=bad_00 "$LSWS" -d "$dev" upgrade ws523.bin
expect 2 "upgrade takes one FIRMWARE file" -- "$LSWS" -d "$dev" upgrade
expect 0 "can be upgraded from v1.8 to v1.9 with 'ws523.bin' (dry run: nothing was sent)" -- "$LSWS" -d "$dev" upgrade --dry-run ws523.bin
ok "a dry run stages nothing" [ ! -e "$TMP/w2.json.fw" ]
expect 1 "the image holds firmware v1.7, older than the v1.8 the unit runs; --force installs it anyway" -- "$LSWS" -d "$dev" upgrade old.bin
expect 0 "upgraded from v1.8 to v1.7" -- "$LSWS" -d "$dev" upgrade --force old.bin
expect 0 "installing v1.7 anyway (--force)" -- "$LSWS" -d "$dev" upgrade --force old.bin

# ---- interrupted at several offsets, resumed -------------------------------------------------
# 100000 bytes in chunks of 1013 (1024-byte messages): the drop at byte B
# loses the chunk carrying B, so the unit holds B rounded down to a chunk.
state="$TMP/drop.json"
dev="sim:ws523?state=$state"
for at in 0 1012 1013 40000 99999; do
    expect 3 "interrupted" -- "$LSWS" -d "$dev&fw_drop_at=$at" upgrade big.bin
    ok "dropped at $at: the unit still runs v1.8" [ "$(fw_of "$dev")" = v1.8 ]
    n=$(staged_ok "$state" big.bin "$at")
    ok "dropped at $at: the staged bytes are the image's ($n)" [ -n "$n" ]
    ok "dropped at $at: staged up to the chunk before it ($n)" [ "$n" -eq $((at / 1013 * 1013)) ]
    grep -q "holds $n of 100000 bytes of the image staged" "$TMP/out"
    ok "dropped at $at: says how much the unit holds and how to resume" [ $? -eq 0 ]
done
expect 0 "resumed at byte $((99999 / 1013 * 1013))" -- "$LSWS" -d "$dev" upgrade big.bin
ok "resumed: the unit runs v2.1" [ "$(fw_of "$dev")" = v2.1 ]
# The same at a 64-byte device message (53-byte chunks), one drop, then a
# resume that sends only the rest.
state="$TMP/drop64.json"
dev="sim:ws523?state=$state&max_msg=64"
expect 3 "interrupted" -- "$LSWS" -d "$dev&fw_drop_at=777" upgrade ws523.bin
ok "64-byte messages: staged up to chunk 14" [ "$(staged_ok "$state" ws523.bin 777)" -eq 742 ]
"$LSWS" --json -d "$dev" upgrade ws523.bin >"$TMP/r.json" 2>/dev/null
ok "64-byte messages: resumed at 742 and done" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["resumed_at"], d["chunk_size"], d["chunks"]) == ("done", 742, 53, (40000-742+52)//53) else 1)' "$TMP/r.json"

# ---- corrupt chunks, failed verification, refused commit ---------------------------------------
state="$TMP/faults.json"
dev="sim:ws523?state=$state"
"$LSWS" --json -d "$dev&fw_corrupt=2,5,6" upgrade ws523.bin >"$TMP/r.json" 2>/dev/null
# FW_DATA requests 2, 5 and 6 arrive corrupt. Three chunks are in flight
# (sim: reports no fragments; 3 KiB of 1024-byte messages): 2 is refused
# as corrupt, 3 and 4 behind it as out of sequence; from 2's offset again,
# 5 is refused as corrupt, and 6 (the chunk after it) with it; from there
# again 7 on are stored. So two chunks were resent because corrupt.
ok "corrupt chunks: resent, then done" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["resent"], d["firmware_version"], d["window"]) == ("done", 2, "v1.9", 3) else 1)' "$TMP/r.json"
expect 5 "found its checksum wrong: it discarded it and committed nothing; it reports firmware v1.9" -- "$LSWS" -d "$dev&fw_bad_checksum=1" upgrade big.bin
ok "failed verification: the unit runs v1.9" [ "$(fw_of "$dev")" = v1.9 ]
ok "failed verification: nothing left staged" [ ! -e "$state.fw" ]
expect 1 "verified the image but did not commit it" -- "$LSWS" -d "$dev&fw_refuse_commit=1" upgrade big.bin
ok "refused commit: the unit runs v1.9" [ "$(fw_of "$dev")" = v1.9 ]
ok "refused commit: the whole image stays staged" [ "$(staged_ok "$state" big.bin 100000)" -eq 100000 ]
"$LSWS" --json -d "$dev" upgrade big.bin >"$TMP/r.json" 2>/dev/null
ok "after a refused commit: committed without sending the image again" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["resumed_at"], d["chunks"], d["firmware_version"]) == ("done", 100000, 0, "v2.1") else 1)' "$TMP/r.json"
expect 2 "fw_drop_at: 'x' is not a number" -- "$LSWS" -d "$dev&fw_drop_at=x" info
expect 2 "fw_bad_checksum: '2' is not a number from 0 to 1" -- "$LSWS" -d "$dev&fw_bad_checksum=2" info

# ---- lsws killed, or stopped, mid-transfer -----------------------------------------------------
# 99 chunks at 15 ms each: about 1.5 s. Each signal comes once the unit has
# staged some more (polled), so a slow machine cannot make it come too early.
# wait_staged STATE BYTES: until STATE.fw holds more than BYTES of payload (10 s at most).
wait_staged() {
    for _ in $(seq 200); do
        [ -e "$1.fw" ] && [ $(($(stat -c %s "$1.fw") - 64)) -gt "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
state="$TMP/kill.json"
dev="sim:cth01?state=$state&latency_ms=15"
"$SIM" --make-firmware cbig.bin --model cth01 --size 100000 >/dev/null
"$LSWS" -d "$dev" upgrade cbig.bin >/dev/null 2>&1 &
pid=$!
wait_staged "$state" 10000
kill -KILL "$pid"
wait "$pid" 2>/dev/null
n=$(staged_ok "$state" cbig.bin 100000)
ok "killed: some, not all, of the image staged ($n)" test "${n:-0}" -gt 10000 -a "${n:-0}" -lt 100000
ok "killed: the unit still runs v1.1" [ "$(fw_of "$dev")" = v1.1 ]
"$LSWS" -d "$dev" upgrade cbig.bin >"$TMP/term.out" 2>&1 &
pid=$!
wait_staged "$state" $((n + 10000))
kill -TERM "$pid"
wait "$pid"
rc=$?
ok "SIGTERM: exit 1 (got $rc)" [ "$rc" -eq 1 ]
ok "SIGTERM: says it was interrupted" grep -q "upgrade of '.*' interrupted$" "$TMP/term.out"
ok "SIGTERM: resumed at the byte the kill left" grep -q "holds $n of 100000 bytes of this image from an earlier transfer: resuming there" "$TMP/term.out"
ok "SIGTERM: run the same command again" grep -q "run the same command again to resume" "$TMP/term.out"
m=$(staged_ok "$state" cbig.bin 100000)
ok "SIGTERM: went further, not to the end ($n -> $m)" test "${m:-0}" -gt $((n + 10000)) -a "${m:-0}" -lt 100000
ok "SIGTERM: the unit still runs v1.1" [ "$(fw_of "$dev")" = v1.1 ]
# Ctrl-C: SIGINT, sent from Python (a shell's background job ignores it,
# and lsws keeps a SIGINT it was started ignoring ignored).
/usr/bin/python3 - "$LSWS" "$dev" "$state.fw" $((m + 10000)) >"$TMP/int.out" 2>&1 <<'EOF'
import os, signal, subprocess, sys, time
lsws, dev, staged, want = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = subprocess.Popen([lsws, "-d", dev, "upgrade", "cbig.bin"], stderr=subprocess.PIPE, text=True)
for _ in range(200):
    if os.path.getsize(staged) - 64 > want:
        break
    time.sleep(0.05)
p.send_signal(signal.SIGINT)
err = p.communicate()[1]
print("exit", p.returncode)
print(err)
EOF
ok "Ctrl-C: exit 1" grep -q "^exit 1$" "$TMP/int.out"
ok "Ctrl-C: interrupted, and how to resume" grep -q "run the same command again to resume" "$TMP/int.out"
k=$(staged_ok "$state" cbig.bin 100000)
ok "Ctrl-C: stopped after the chunk in flight ($m -> $k)" test "${k:-0}" -gt $((m + 10000)) -a "${k:-0}" -lt 100000
m=$k
expect 0 "resumed at byte $m" -- "$LSWS" -d "$dev" upgrade cbig.bin
ok "after the kill and the stop: v1.2" [ "$(fw_of "$dev")" = v1.2 ]

# ---- output -----------------------------------------------------------------------------------
state="$TMP/out.json"
dev="sim:ws523?state=$state"
"$LSWS" --json -d "$dev" upgrade ws523.bin >"$TMP/r.json" 2>"$TMP/r.err"
ok "--json: one typed object" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["outcome"], d["from"], d["to"], d["firmware_version"], d["payload_length"], d["forced"]) == ("done", "v1.8", "v1.9", "v1.9", 40000, False) else 1)' "$TMP/r.json"
ok "--json: no progress bar" bash -c "! grep -q 'KiB/s' '$TMP/r.err'"
"$LSWS" --json -d "$dev" upgrade old.bin >"$TMP/r.json" 2>/dev/null
ok "--json refusal: the record, then the error object" /usr/bin/python3 -c '
import json,sys
docs=[json.loads(l) for l in open(sys.argv[1]).read().replace("}\n{", "}\x00{").split("\x00")]
sys.exit(0 if docs[0]["outcome"] == "refused" and docs[-1]["error"]["exit_status"] == 1 else 1)' "$TMP/r.json"
"$LSWS" -d "sim:ws523?state=$TMP/pipe.json&latency_ms=2" upgrade big.bin 2>"$TMP/pipe.err" >/dev/null
ok "stderr piped: no progress bar" bash -c "! grep -q 'KiB/s' '$TMP/pipe.err'"
if command -v script >/dev/null 2>&1; then
    script -qec "'$LSWS' -d 'sim:ws523?state=$TMP/tty.json&latency_ms=10' upgrade big.bin" /dev/null </dev/null >"$TMP/tty.out" 2>&1
    ok "stderr a terminal: a progress bar with bytes, rate and time left" grep -q '% \[#*\.*\] .* KiB of 97.7 KiB .*KiB/s.* left' "$TMP/tty.out"
    script -qec "'$LSWS' -q -d 'sim:ws523?state=$TMP/tty2.json' upgrade big.bin" /dev/null </dev/null >"$TMP/tty.out" 2>&1
    ok "-q: no progress bar" bash -c "! grep -q 'KiB/s' '$TMP/tty.out'"
else
    echo "skip: script(1) not installed: the progress bar on a terminal is not checked"
fi

finish upgrade
