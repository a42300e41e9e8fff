#!/bin/bash
# lsws history over the real serial transport (libserialport with the
# test-only pty shim, docs/serial.md) against lsws-sim on a pseudo-terminal:
# 20,000 full records checked record by record against the simulator's
# store and byte-identical to the in-process export; the link dropped at
# random points (lsws-sim closes the port and exits: each lsws run keeps
# what it fetched, the next continues) and a SIGKILL mid-export, both
# byte-identical to an uninterrupted export; storage disabled and clock
# unset; --clear then an empty export.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serial_lib.sh"
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
CHECK="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/history_check.py"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
serial_shim history-serial
cd "$TMP" || exit 1

SIM_PID=
start_sim() {
    "$SIM" --model cth01 --state "$S" "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
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
    wait "$SIM_PID" 2>/dev/null
    SIM_PID=
}
trap 'stop_sim; rm -rf "$TMP"' EXIT

# A hub that recorded 20,000 reports with every report parameter on.
S="$TMP/hub.json"
"$REAL_LSWS" -q -d "sim:cth01?state=$S" set $(for p in temperature current voltage power_factor active_power \
    reactive_power apparent_power import_active_energy export_active_energy import_reactive_energy \
    export_reactive_energy apparent_energy thdi thdv voltage_unbalance; do echo "report.$p=true"; done) >/dev/null
"$SIM" --model cth01 --state "$S" --history-records 20000 --history-start 2026-01-01 --history-dump periodic \
    >"$TMP/store.txt"
"$REAL_LSWS" -q -d "sim:cth01?state=$S" history -o inproc.csv >/dev/null

start_sim
expect 0 "20000 periodic records from 2026-01-01T00:00:00Z" -- "$LSWS" -q -d "serial:$PTY" history -o whole.csv
ok "serial: every record of the store, in order, every value" $CHECK "$TMP/store.txt" whole.csv
ok "serial: byte-identical to the in-process export" cmp -s whole.csv inproc.csv
stop_sim

# Dropped at random points: lsws-sim closes the link after a random number
# of bytes and exits; lsws keeps what it has and says how to go on.
runs=0
drops=0
while [ $runs -lt 40 ]; do
    runs=$((runs + 1))
    start_sim --disconnect-after $((200000 + RANDOM * 40))
    "$LSWS" -d "serial:$PTY" --timeout 300 history -o dropped.csv >"$TMP/run.out" 2>&1
    rc=$?
    stop_sim
    [ $rc -eq 0 ] && break
    drops=$((drops + 1))
    if [ $drops -eq 1 ]; then
        ok "a dropped link: device unavailable (exit 3, got $rc)" [ $rc -eq 3 ]
        ok "a dropped link: the records are kept" grep -q "records kept in 'dropped.csv.checkpoint': run the same command again" "$TMP/run.out"
    fi
done
ok "random drops: finished ($drops drops in $runs runs)" [ -s dropped.csv ] && [ $drops -ge 2 ]
ok "random drops then reruns: byte-identical" cmp -s dropped.csv whole.csv
ok "the last run says it resumed" grep -q "from an earlier run's checkpoint" "$TMP/run.out"

# SIGKILL mid-export (a slow link, so that it is mid-way), then rerun.
start_sim --link-bps 400000
"$LSWS" -q -d "serial:$PTY" history -o killed.csv >/dev/null 2>"$TMP/killed.err" &
pid=$!
for _ in $(seq 200); do
    [ -s killed.csv.checkpoint ] && [ "$(wc -l <killed.csv.checkpoint)" -gt 1500 ] && break
    sleep 0.05
done
kill -KILL $pid
wait $pid 2>/dev/null
stop_sim
lines=$(wc -l <killed.csv.checkpoint 2>/dev/null || echo 0)
[ "$lines" -gt 0 ] || { echo "debug: sim: $(cat "$TMP/sim.err"), lsws: $(cat "$TMP/killed.err")"; ls -la; }
ok "SIGKILL: the checkpoint holds what was fetched ($lines lines)" [ "$lines" -gt 1500 ] && [ "$lines" -lt 20001 ]
ok "SIGKILL: no output file" [ ! -e killed.csv ]
start_sim
expect 0 "from an earlier run's checkpoint" -- "$LSWS" -d "serial:$PTY" history -o killed.csv
ok "SIGKILL then rerun: byte-identical" cmp -s killed.csv whole.csv
ok "SIGKILL then rerun: the checkpoint is gone" [ ! -e killed.csv.checkpoint ]

# --clear over serial, then an empty export; storage off; clock unset.
expect 0 "deleted" -- "$LSWS" -y -d "serial:$PTY" history --clear --kind periodic
expect 0 "no periodic records in the range" -- "$LSWS" -q -d "serial:$PTY" history -o empty.csv
ok "after --clear: a header alone" [ "$(wc -l <empty.csv)" -eq 1 ]
expect 0 "verified" -- "$LSWS" -q -d "serial:$PTY" set storage.enabled=false
expect 1 "has data storage disabled" -- "$LSWS" -q -d "serial:$PTY" history
stop_sim
S="$TMP/new.json"
"$REAL_LSWS" -q -d "sim:cth01?state=$S" set storage.enabled=true >/dev/null
start_sim
expect 1 "was never set" -- "$LSWS" -q -d "serial:$PTY" history -o new.csv
stop_sim
finish history-serial
