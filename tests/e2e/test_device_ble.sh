#!/bin/bash
# The device commands over the real BLE transport: lsws (sd-bus, BlueZ's
# D-Bus API) against lsws-sim --ble, which owns org.bluez on a private
# dbus-daemon of this test's own (never the machine's system bus). The shared
# device checks at MTU 23 and 247 (every CTH01 setting written and read
# back), names and addresses, WriteValue/StartNotify as well as the acquired
# sockets, a lost notification, every failure the transport names, the
# 3-minute idle disconnect on a scaled clock during a long read, a second
# client held off, a link dropped mid-write, and the fleet sweep.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/device_checks.sh"
. "$(dirname "$0")/ble_lib.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE
ble_skip_unless_built
trap 'stop_sim; stop_bus; rm -rf "$TMP"' EXIT
start_bus

# ---- the device checks, at the smallest and a large MTU -------------------------
for mtu in 23 247; do
    start_sim --model cth01 --mtu "$mtu" --state "$TMP/cth01-$mtu.json"
    dev="ble:$ADDR"
    device_checks cth01 "$dev"
    ok "MTU $mtu: notifications through the acquired socket" sim_log "notifications through AcquireNotify"
    ok "MTU $mtu: writes through the acquired socket" sim_log "writes through AcquireWrite"
    ok "MTU $mtu: a reboot ends the connection" sim_log "link dropped: the unit reboots"
    # The fragments fit the MTU: 20 bytes at MTU 23.
    "$LSWS" --trace --show-secrets -d "$dev" info >"$TMP/trace" 2>&1
    longest=$(awk '$1 == "<" || $1 == ">" { n = length($2) / 2; if (n > m) m = n } END { print m + 0 }' "$TMP/trace")
    ok "MTU $mtu: no fragment longer than $((mtu - 3)) bytes (longest $longest)" test "$longest" -le $((mtu - 3)) -a "$longest" -gt 0
    stop_sim
done

# By name (discovered with a Pattern), and the WS523 as well.
start_sim --model cth01 --state "$TMP/name.json"
expect 0 "model             cth01" -- "$LSWS" -d "ble:$NAME" info
ok "a device bluetoothd did not know was discovered" sim_log "discovery started"
expect 0 "general.report_interval" -- "$LSWS" -d "ble:$NAME" get general.report_interval
stop_sim
start_sim --model ws523 --state "$TMP/ws523.json"
expect 0 "model             ws523" -- "$LSWS" -d "ble:$NAME" info
expect 0 "1 setting written to ws523" -- "$LSWS" -d "ble:$ADDR" set general.led=false
expect 0 '"general.led": false' -- "$LSWS" --json -d "ble:$ADDR" get general.led
stop_sim

# Without AcquireWrite/AcquireNotify: WriteValue and StartNotify with PropertiesChanged.
start_sim --model cth01 --mtu 23 --no-acquire --state "$TMP/plain.json"
expect 0 "model             cth01" -- "$LSWS" -d "ble:$ADDR" info
expect 0 "1 setting written to cth01" -- "$LSWS" -d "ble:$ADDR" set general.report_interval=12
expect 0 '"general.report_interval": 12' -- "$LSWS" --json -d "ble:$ADDR" get general.report_interval
expect 0 "lorawan.app_eui" -- "$LSWS" -d "ble:$ADDR" get
ok "no-acquire: notifications through PropertiesChanged" sim_log "notifications through StartNotify and PropertiesChanged"
ok "no-acquire: writes through WriteValue" sim_log "writes through WriteValue"
expect 0 "is rebooting" -- "$LSWS" -d "ble:$ADDR" reboot
ok "no-acquire: the answer to reboot came before the link ended" sim_log "link dropped: the unit reboots"
stop_sim

# A lost notification: the broken answer is dropped, the retry answered from the cache.
start_sim --model cth01 --mtu 23 --corrupt 2
expect 0 "retry 1" -- "$LSWS" -v -d "ble:$ADDR" get general.report_interval
ok "one notification of answer 2 was lost" sim_log "of the answer lost (fault)"
stop_sim
start_sim --model cth01 --mtu 23 --drop 1,2,3
expect 3 "no answer to identify after 3 attempts" -- "$LSWS" --timeout 300 -d "ble:$ADDR" info
stop_sim

# ---- every failure the transport names --------------------------------------------
expect 3 "bluetoothd is not running (nothing owns org.bluez" -- "$LSWS" -d "ble:$ADDR" info
expect 3 "bluetoothd is not running (no D-Bus system bus" -- \
    env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TMP/no-such-bus" "$LSWS" -d "ble:$ADDR" info
start_sim --model cth01 --no-adapter
expect 3 "no Bluetooth adapter" -- "$LSWS" -d "ble:CTH01-F418093" info
stop_sim
start_sim --model cth01 --adapter hci1
expect 3 "no Bluetooth adapter 'hci0' (there is: hci1)" -- "$LSWS" -d "ble:$NAME?adapter=hci0" info
expect 0 "model             cth01" -- "$LSWS" -d "ble:$NAME?adapter=hci1" info
stop_sim
start_sim --model cth01 --powered-off
expect 3 "Bluetooth adapter hci0 is powered off" -- "$LSWS" -d "ble:$NAME" info
stop_sim
start_sim --model cth01
expect 3 "no device named 'CTH01-0000000' found within 1 s" -- "$LSWS" -d "ble:CTH01-0000000?scan_time=1" info
expect 3 "no device with address '24:E1:24:00:00:01' found within 1 s" -- "$LSWS" -d "ble:24:e1:24:00:00:01?scan_time=1" info
stop_sim
start_sim --model cth01 --refuse-connect
expect 3 "busy: the device refused the connection" -- "$LSWS" -d "ble:$NAME" info
stop_sim
start_sim --model cth01 --never-resolve
expect 3 "connected, but its GATT services were not resolved within 500 ms" -- \
    "$LSWS" -d "ble:$NAME?connect_timeout=500" info
ok "a connection that did not resolve is closed again" sim_log "link dropped: disconnected by the client"
stop_sim
# Bad URIs are usage errors, before anything is opened.
expect 2 "no device (ble:CTH01-F418093 or ble:AA:BB:CC:DD:EE:FF)" -- "$LSWS" -d "ble:" info
expect 2 "'24:E1:24:00:00:GG' is not a Bluetooth address" -- "$LSWS" -d "ble:24:E1:24:00:00:GG" info
expect 2 "scan_time=0 is not a number from 1 to 600" -- "$LSWS" -d "ble:x?scan_time=0" info
expect 2 "unknown option 'baud' for ble" -- "$LSWS" -d "ble:x?baud=9600" info
expect 2 "adapter=HCI0 is not an adapter name" -- "$LSWS" -d "ble:x?adapter=HCI0" info

# ---- one client at a time ------------------------------------------------------------
start_sim --model cth01 --mtu 23 --latency-ms 150
"$LSWS" -d "ble:$ADDR" get >"$TMP/first.out" 2>&1 &
first=$!
for _ in $(seq 100); do sim_log "frame 1:" && break; sleep 0.02; done
expect 3 "busy: the device refused the connection" -- "$LSWS" -d "ble:$ADDR" info
wait "$first"
rc=$?
ok "the first client finished undisturbed (exit $rc)" test "$rc" -eq 0
ok "the first client read every setting" grep -q "general.report_interval" "$TMP/first.out"
expect 0 "model             cth01" -- "$LSWS" -d "ble:$ADDR" info
stop_sim
# Two programs on one computer share bluetoothd's connection: the second sees
# the first's acquired (or notifying) characteristic and stays off.
for how in "" --no-acquire; do
    start_sim --model cth01 --mtu 23 --latency-ms 150 --shared-connection $how
    "$LSWS" -d "ble:$ADDR" get >"$TMP/first.out" 2>&1 &
    first=$!
    for _ in $(seq 100); do sim_log "frame 1:" && break; sleep 0.02; done
    expect 3 "busy: another program on this computer is connected to it" -- "$LSWS" -d "ble:$ADDR" info
    wait "$first"
    rc=$?
    ok "shared ${how:-acquired}: the first program finished undisturbed (exit $rc)" test "$rc" -eq 0
    ok "shared ${how:-acquired}: the first program read every setting" grep -q "general.report_interval" "$TMP/first.out"
    expect 0 "model             cth01" -- "$LSWS" -d "ble:$ADDR" info
    stop_sim
done

# bluetoothd stops in the middle of a command: the link is gone, said plainly.
start_sim --model cth01 --mtu 23 --latency-ms 300
"$LSWS" -d "ble:$ADDR" get >"$TMP/gone.out" 2>&1 &
gone=$!
for _ in $(seq 100); do sim_log "frame 1:" && break; sleep 0.02; done
stop_sim
wait "$gone"
rc=$?
ok "bluetoothd stopping mid-command: exit 3 (got $rc: $(cat "$TMP/gone.out"))" test "$rc" -eq 3
ok "bluetoothd stopping mid-command: link closed" grep -q "link closed" "$TMP/gone.out"

# ---- the CTH01 ends a connection after 3 minutes without data ---------------------------
# Clock scaled 1000 times: 3 minutes are 180 ms. The unit takes 400 ms (400 s
# on its clock) to answer the read of `lsws get`: it ends the connection
# first; lsws reconnects, logs in again and reads once more.
start_sim --model cth01 --mtu 23 --clock-scale 1000 --delay 2 --delay-ms 400
expect 0 "lorawan.app_eui" -- env LSWS_PASSWORD=123456 "$LSWS" -v -d "ble:$ADDR" get
ok "the unit ended an idle connection" sim_log "3 minutes without data: the hub ended the connection"
ok "lsws logged in again on a new connection and read again" test "$(grep -c ' read ' "$TMP/out")" -eq 1 -a \
    "$(grep -c 'frame .*: seq .* auth: ok' "$TMP/sim.err")" -eq 2
stop_sim
# The client pauses (SIGSTOP) in the middle of a long read, for longer than
# 3 minutes of the unit's clock: the same recovery, and every setting arrives.
start_sim --model cth01 --mtu 23 --clock-scale 1000 --latency-ms 60
LSWS_PASSWORD=123456 "$LSWS" --json -d "ble:$ADDR" get >"$TMP/long.json" 2>"$TMP/long.err" &
long=$!
for _ in $(seq 200); do sim_log "frame 1:" && break; sleep 0.01; done
kill -STOP "$long"
sleep 0.5
kill -CONT "$long"
wait "$long"
rc=$?
ok "a read paused past the idle timeout finishes (exit $rc: $(head -2 "$TMP/long.err"))" test "$rc" -eq 0
ok "the paused read has every setting" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if len(d) > 100 else 1)' "$TMP/long.json"
ok "the unit ended the idle connection of the paused client" sim_log "3 minutes without data: the hub ended the connection"
stop_sim
# At the unit's own pace nothing is dropped.
start_sim --model cth01 --mtu 23 --delay 2 --delay-ms 400
expect 0 "lorawan.app_eui" -- env LSWS_PASSWORD=123456 "$LSWS" -d "ble:$ADDR" get
ok "no idle disconnect within 3 minutes" sh -c "! grep -q '3 minutes without data' '$TMP/sim.err'"
stop_sim

# ---- a link dropped in the middle of a write --------------------------------------------
# Frames of `lsws set` with the password given: auth, read (plan, backup), write, read back.
# The link drops while the write's fragments arrive: nothing was applied.
start_sim --model cth01 --mtu 23 --state "$TMP/drop.json"
LSWS_PASSWORD=123456 "$LSWS" --trace --show-secrets -d "ble:$ADDR" get >/dev/null 2>"$TMP/frags"
before=$(grep -c '^>' "$TMP/frags")
stop_sim
start_sim --model cth01 --mtu 23 --state "$TMP/drop.json" --drop-link-fragment $((before + 2))
mapfile -t many < <(/usr/bin/python3 "$SRC/tests/e2e/every_setting.py" "$LSWS" cth01)
expect 3 "nothing was changed" -- env LSWS_PASSWORD=123456 "$LSWS" -d "ble:$ADDR" set "${many[@]}"
ok "the link dropped in the middle of the write" sim_log "this fragment from the client is lost"
ok "the unit saw no write" sh -c "! grep -q 'seq .* write:' '$TMP/sim.err'"
expect 0 '"general.report_interval": 10' -- env LSWS_PASSWORD=123456 "$LSWS" --json -d "ble:$ADDR" get general.report_interval
stop_sim
# The link drops after the unit applied the write, before it answered: lsws
# reconnects and reads back to find out, and says so.
start_sim --model cth01 --mtu 23 --state "$TMP/drop.json" --drop-link-after 3
expect 0 "verified" -- env LSWS_PASSWORD=123456 "$LSWS" -d "ble:$ADDR" set general.report_interval=13 lorawan.app_port=99
ok "the link dropped after the write was applied" sim_log "after executing this request, before answering"
"$LSWS" --json -d "ble:$ADDR" get general.report_interval lorawan.app_port >"$TMP/mix.json" 2>/dev/null
ok "both settings of the write read back" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if (d["general.report_interval"], d["lorawan.app_port"]) == (13, 99) else 1)' "$TMP/mix.json"
stop_sim

# ---- the fleet sweep ---------------------------------------------------------------------
start_sim --model cth01 --count 5
expect 0 "CTH01-F418097" -- "$LSWS" list --ble --scan-time 1
ok "lsws list --ble shows five hubs" test "$(grep -c '^ble:24:E1:24:' "$TMP/out")" -eq 5
ok "the strongest hub first" sh -c "sed -n 2p '$TMP/out' | grep -q CTH01-F418093"
"$LSWS" --json list --ble --scan-time 1 >"$TMP/list.json" 2>&1
ok "lsws --json list --ble: name, address, RSSI and model of each hub" /usr/bin/python3 - "$TMP/list.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
names = [h["name"] for h in d]
want = ["CTH01-F41809%d" % i for i in range(3, 8)]
ok = names == want and all(h["transport"] == "ble" and h["model"] == "cth01" and h["address"].startswith("24:E1:24:")
                           and h["device"] == "ble:" + h["address"] for h in d)
ok = ok and [h["rssi"] for h in d] == [-48, -54, -60, -66, -72]
print(d if not ok else "")
sys.exit(0 if ok else 1)
PY
# Each hub of the sweep is a unit of its own.
addr3=$(awk 'NR == 3 { print $2 }' "$TMP/sim.out")
expect 0 "sn                6527f41809580000" -- "$LSWS" -d "ble:$addr3" info
# Without --identify nothing connects, so no SN; with it each hub is identified in turn.
ok "lsws list --ble knows no SN without connecting" /usr/bin/python3 -c \
    'import json, sys; sys.exit(0 if all(h["sn"] is None for h in json.load(open(sys.argv[1]))) else 1)' "$TMP/list.json"
"$LSWS" --json list --ble --identify --scan-time 1 >"$TMP/list.json" 2>&1
ok "lsws list --ble --identify: the SN, firmware and band of each hub" /usr/bin/python3 - "$TMP/list.json" "$addr3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
by_addr = {h["address"]: h for h in d}
ok = len(d) == 5 and len({h["sn"] for h in d}) == 5 and all(h["sn"] and h["firmware_version"] and h["band"] for h in d)
ok = ok and by_addr[sys.argv[2]]["sn"] == "6527f41809580000"
print(d if not ok else "")
sys.exit(0 if ok else 1)
PY
stop_sim
# A hub that will not take the connection stays listed, with a warning.
start_sim --model cth01 --refuse-connect
expect 0 "warning: ble:$ADDR:" -- "$LSWS" list --ble --identify --scan-time 1
ok "the refusing hub is still listed" grep -q "^ble:$ADDR" "$TMP/out"
stop_sim
expect 3 "cannot scan 'ble:': bluetoothd is not running" -- "$LSWS" list --ble --scan-time 1
expect 0 "" -- "$LSWS" list
ok "lsws list is quiet about a machine without bluetoothd" sh -c "! grep -q 'ble' '$TMP/out'"
expect 2 "--scan-time takes seconds" -- "$LSWS" list --ble --scan-time 0

finish device-ble
