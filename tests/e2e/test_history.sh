#!/bin/bash
# lsws history end to end against the in-process simulator (sim:): what the
# store holds, exports of every kind checked record by record against the
# simulator's own store (tests/e2e/history_check.py), --since/--until at
# the edges, a link that drops every few kilobytes (reconnects, same file),
# Ctrl-C and resume, the checkpoint of another export refused, storage
# disabled and clock unset, --clear then an empty export, --at, --json,
# --tz, the progress bar on a terminal only, and decode --csv giving the
# export's own CSV. The serial transport: test_history_serial.sh.
. "$(dirname "$0")/lib.sh"
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
CHECK="/usr/bin/python3 $(cd "$(dirname "$0")" && pwd)/history_check.py"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
cd "$TMP" || exit 1

# A hub that recorded 20,000 periodic reports (every report parameter, 12
# channels) from 2026-01-01 at its 10-minute interval.
S="$TMP/hub.json"
"$LSWS" -q -d "sim:cth01?state=$S" set $(for p in temperature current voltage power_factor active_power \
    reactive_power apparent_power import_active_energy export_active_energy import_reactive_energy \
    export_reactive_energy apparent_energy thdi thdv voltage_unbalance; do echo "report.$p=true"; done) >/dev/null
DEV="sim:cth01?state=$S&history_records=20000&history_start=2026-01-01"
T0=1767225600
expect 0 "periodic          20000    2026-01-01T00:00:00Z" -- "$LSWS" -q -d "$DEV" history
for k in periodic alarm monthly-energy monthly-extremes; do
    "$SIM" --model cth01 --state "$S" --history-dump "$k" >"$TMP/store-$k.txt"
done
ok "the simulator's store holds 20,000 periodic records" [ "$(wc -l <"$TMP/store-periodic.txt")" -eq 20000 ]
ok "the store's records are 518 bytes (every parameter, 12 channels)" \
    [ "$(head -1 "$TMP/store-periodic.txt" | tr -d '\n' | wc -c)" -eq 1036 ]
ok "the state file stays small (it holds no records)" [ "$(stat -c %s "$S")" -lt 40000 ]

# Every kind, record by record.
for k in periodic alarm monthly-energy monthly-extremes; do
    expect 0 "written to $k.csv" -- "$LSWS" -q -d "sim:cth01?state=$S" history --kind "$k" -o "$k.csv"
    ok "$k: every record of the store, in order, every value" $CHECK "$TMP/store-$k.txt" "$k.csv"
    ok "$k: the checkpoint is removed" [ ! -e "$k.csv.checkpoint" ]
done
expect 0 "20000 periodic records from 2026-01-01T00:00:00Z to 2026-05-19T21:10:00Z" -- \
    "$LSWS" -q -d "sim:cth01?state=$S" history -o again.csv
ok "an export of the same store is the same file" cmp -s periodic.csv again.csv
ok "the header carries units" grep -q '"current_ch1_A","current_ch2_A"' periodic.csv
ok "the header carries units (voltage, energy)" \
    grep -q '"voltage_l1_V".*"active_energy_import_ch1_Wh"' periodic.csv
# decode --csv of the store's records is the export's CSV.
"$LSWS" decode --csv <"$TMP/store-periodic.txt" >decoded.csv 2>/dev/null
ok "decode --csv of the records gives the export's CSV" cmp -s decoded.csv periodic.csv
"$LSWS" decode --csv <"$TMP/store-monthly-extremes.txt" >decoded.csv 2>/dev/null
ok "decode --csv: the same for monthly records" cmp -s decoded.csv monthly-extremes.csv

# --since and --until at the edges: a record exactly at either is in.
A=$((T0 + 100 * 600))
B=$((T0 + 199 * 600))
expect 0 "100 periodic records from 2026-01-01T16:40:00Z to 2026-01-02T09:10:00Z" -- \
    "$LSWS" -q -d "sim:cth01?state=$S" history --since $A --until $B -o edge.csv
ok "--since/--until: the first row is the record at --since" grep -q "\"$A\"" <(sed -n 2p edge.csv)
ok "--since/--until: the last row is the record at --until" grep -q "\"$B\"" <(tail -1 edge.csv)
expect 0 "98 periodic records" -- "$LSWS" -q -d "sim:cth01?state=$S" history --since $((A + 1)) \
    --until $((B - 1)) -o edge2.csv
expect 0 "100 periodic records" -- "$LSWS" -q -d "sim:cth01?state=$S" history \
    --since 2026-01-01T16:40:00Z --until 2026-01-02T10:10:00+01:00 -o edge3.csv
ok "ISO 8601 --since/--until select the same records" cmp -s edge.csv edge3.csv
expect 0 "no periodic records in the range" -- "$LSWS" -q -d "sim:cth01?state=$S" history \
    --since $((A + 1)) --until $((A + 599)) -o none.csv
ok "an empty range: a header, no rows" [ "$(wc -l <none.csv)" -eq 1 ]
expect 2 "--since is after --until" -- "$LSWS" -d "sim:cth01?state=$S" history --since $B --until $A -o x.csv
expect 2 "--since: '2026-02-30': no such date" -- "$LSWS" -d "sim:cth01?state=$S" history --since 2026-02-30 -o x.csv
expect 2 "--kind: 'daily' is not a kind" -- "$LSWS" -d "sim:cth01?state=$S" history --kind daily

# The rest on a unit with 3000 records of the same kind (quicker).
S="$TMP/small.json"
cp "$TMP/hub.json" "$S"
"$LSWS" -q -d "sim:cth01?state=$S&history_records=3000&history_start=2026-01-01" history >/dev/null
"$SIM" --model cth01 --state "$S" --history-dump periodic >"$TMP/small-periodic.txt"
"$SIM" --model cth01 --state "$S" --history-dump alarm >"$TMP/small-alarm.txt"
NALARM=$(wc -l <"$TMP/small-alarm.txt")
ok "the small unit has alarms" [ "$NALARM" -gt 0 ]
expect 0 "3000 periodic records" -- "$LSWS" -q -d "sim:cth01?state=$S" history -o periodic.csv
ok "3000 records: every record of the store" $CHECK "$TMP/small-periodic.txt" periodic.csv

# A link that drops every 200 kB: the export reconnects and the file is the same.
expect 0 "reopened" -- "$LSWS" -d "sim:cth01?state=$S&disconnect_after=200000" history -o drops.csv
ok "link dropped and reopened: byte-identical to an uninterrupted export" cmp -s drops.csv periodic.csv
# Dropped at random points (the in-process link reopens at once; serial,
# where each run ends at the drop, is test_history_serial.sh).
for i in 1 2 3; do
    cut=$((20000 + RANDOM * 5))
    "$LSWS" -q -d "sim:cth01?state=$S&disconnect_after=$cut" history -o "rnd$i.csv" >/dev/null 2>&1
    ok "dropped every $cut bytes: byte-identical" cmp -s "rnd$i.csv" periodic.csv
done

# Ctrl-C: interrupted, the records kept, the next run continues.
"$LSWS" -d "sim:cth01?state=$S&latency_ms=2" history -o int.csv >/dev/null 2>"$TMP/int.err" &
pid=$!
for _ in $(seq 100); do
    [ -s int.csv.checkpoint ] && [ "$(wc -l <int.csv.checkpoint)" -gt 300 ] && break
    sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
ok "Ctrl-C: exit status 1 (got $rc)" [ $rc -eq 1 ]
ok "Ctrl-C: says how to continue" grep -q "interrupted: .* records kept in 'int.csv.checkpoint': run the same command again" "$TMP/int.err"
ok "Ctrl-C: no output file yet" [ ! -e int.csv ]
kept=$(($(wc -l <int.csv.checkpoint) - 1))
expect 0 "($kept of them from an earlier run's checkpoint)" -- "$LSWS" -d "sim:cth01?state=$S" history -o int.csv
ok "Ctrl-C then rerun: byte-identical" cmp -s int.csv periodic.csv

# A checkpoint of another export is refused, the file left alone.
"$LSWS" -q -d "sim:cth01?state=$S&latency_ms=2" history -o other.csv >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do
    [ -s other.csv.checkpoint ] && [ "$(wc -l <other.csv.checkpoint)" -gt 10 ] && break
    sleep 0.05
done
kill -KILL $pid
wait $pid 2>/dev/null
cp other.csv.checkpoint other.saved
expect 1 "is of an export from another kind of data" -- "$LSWS" -d "sim:cth01?state=$S" history --kind alarm -o other.csv
expect 1 "another start (--since)" -- "$LSWS" -d "sim:cth01?state=$S" history --since 5 -o other.csv
ok "a refused checkpoint is not touched" cmp -s other.csv.checkpoint other.saved
expect 0 "from an earlier run's checkpoint" -- "$LSWS" -d "sim:cth01?state=$S" history -o other.csv
ok "SIGKILL then rerun: byte-identical" cmp -s other.csv periodic.csv

# JSON Lines, with the names of lsws decode --json.
expect 0 "\"records\": $NALARM" -- "$LSWS" -q --json -d "sim:cth01?state=$S" history --kind alarm -o alarm.jsonl
ok "--json: one JSON object per record, decode names, ISO time" /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == int(sys.argv[2])
assert all(r["time"].endswith("Z") and r["mode"] == "periodic" and "current_alarm" in r for r in rows)
' alarm.jsonl "$NALARM"
expect 0 "" -- "$LSWS" -q --json -d "sim:cth01?state=$TMP/hub.json" history --kind monthly-extremes -o mx.jsonl
ok "--json: a monthly summary is one object (its ed records merged)" /usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["history_type"] for r in rows[:2]] == ["monthly_min", "monthly_max"]
assert len(rows[0]["current"]) == 12 and len(rows[0]["voltage"]) == 3 and "temperature" in rows[0]
' mx.jsonl
# --tz: the device's zone, or an offset.
"$LSWS" -q -d "sim:cth01?state=$S" time sync --at 1790000000 --tz UTC+01:00 >/dev/null
expect 0 "from 2026-01-01T01:00:00+01:00" -- "$LSWS" -q -d "sim:cth01?state=$S" history --until 2026-01-01T00:10:00Z --tz device -o tz.csv
ok "--tz device: times in the device's zone" grep -q '"2026-01-01T01:10:00+01:00","1767226200"' tz.csv
expect 0 "" -- "$LSWS" -q -d "sim:cth01?state=$S" history --until 2026-01-01T00:10:00Z --tz UTC-04:30 -o tz.csv
ok "--tz UTC-04:30" grep -q '"2025-12-31T19:40:00-04:30"' tz.csv
expect 2 "--tz: 'Mars' is not UTC, device or UTC+HH:MM" -- "$LSWS" -d "sim:cth01?state=$S" history --tz Mars

# --at: the record nearest a time, within one reporting interval.
expect 0 "history[1]  periodic 1767226200" -- "$LSWS" -q -d "sim:cth01?state=$S" history --at $((T0 + 600 + 250))
expect 1 "has no periodic record within one reporting interval" -- "$LSWS" -q -d "sim:cth01?state=$S" history --at $((T0 - 601))

# The progress bar: on a terminal only.
script -qec "\"$LSWS\" -d 'sim:cth01?state=$S' history -o tty.csv" /dev/null >"$TMP/tty.out" 2>&1
ok "a progress bar on a terminal" grep -q 'records .*%' "$TMP/tty.out"
"$LSWS" -d "sim:cth01?state=$S" history -o pipe.csv 2>"$TMP/pipe.err" | cat >/dev/null
ok "no progress bar when stderr is not a terminal" sh -c "! grep -q '%' '$TMP/pipe.err'"
script -qec "\"$LSWS\" --json -d 'sim:cth01?state=$S' history -o tty.jsonl" /dev/null >"$TMP/tty.out" 2>&1
ok "no progress bar with --json" sh -c "! grep -q 'records .*%' '$TMP/tty.out'"

# --clear: asks, or --yes; then the export is empty.
expect 2 "--clear needs --yes when there is no terminal" -- "$LSWS" -d "sim:cth01?state=$S" history --clear --kind periodic
expect 0 "periodic records of cth01 6527f41809380000 deleted" -- "$LSWS" -y -d "sim:cth01?state=$S" history --clear --kind periodic
expect 0 "no periodic records in the range: empty.csv written with none" -- "$LSWS" -q -d "sim:cth01?state=$S" history -o empty.csv
ok "after --clear: the export is a header alone" [ "$(wc -l <empty.csv)" -eq 1 ]
expect 0 "$(printf 'alarm             %-8s' "$NALARM")" -- "$LSWS" -q -d "sim:cth01?state=$S" history
# Export then clear, in one command: cleared only once the file is written.
expect 0 "$NALARM alarm records" -- "$LSWS" -y -d "sim:cth01?state=$S" history --kind alarm -o last.csv --clear
ok "export --clear: the file has every alarm" $CHECK "$TMP/small-alarm.txt" last.csv
expect 0 "alarm             0" -- "$LSWS" -q -d "sim:cth01?state=$S" history

# Storage disabled, clock never set, a WS523: clear errors.
"$LSWS" -q -d "sim:cth01?state=$S" set storage.enabled=false >/dev/null
expect 1 "has data storage disabled (storage.enabled is false)" -- "$LSWS" -q -d "sim:cth01?state=$S" history -o off.csv
ok "storage disabled: no output, no checkpoint" [ ! -e off.csv ] && [ ! -e off.csv.checkpoint ]
"$LSWS" -q -d "sim:cth01?state=$TMP/new.json" set storage.enabled=true >/dev/null
expect 1 "was never set, and stored records need it: set it with 'lsws time sync'" -- \
    "$LSWS" -q -d "sim:cth01?state=$TMP/new.json" history
"$LSWS" -q -d "sim:cth01?state=$TMP/new.json" time sync >/dev/null
expect 0 "periodic          0" -- "$LSWS" -q -d "sim:cth01?state=$TMP/new.json" history
expect 1 "it stores no history" -- "$LSWS" -q -d "sim:ws523?state=$TMP/ws.json" history

# The column reference needs no device, and names every quantity.
expect 0 "current_chN_A" -- "$LSWS" history --columns
expect 0 '"column": "active_energy_import_chN_Wh"' -- "$LSWS" --json history --columns
finish history
