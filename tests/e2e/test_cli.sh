#!/bin/bash
# The offline commands end to end: decode, encode, template, keys, help,
# exit codes and messages.
. "$(dirname "$0")/lib.sh"

# --- decode: guide examples (WS523 guide ch.6; CTH01 guide ch.5) ---
expect 0 "voltage  222.6 V" -- "$LSWS" decode 08700105816407c902000374b208068301000000048001000000
expect 0 '"voltage":222.6' -- "$LSWS" --json decode --model ws523 08700105816407c902000374b208068301000000048001000000
expect 0 '"socket_status":"on"' -- "$LSWS" decode --json --model ws523 087011
expect 0 "temperature" -- "$LSWS" decode --model cth01 30139e0a
expect 1 "odd number of hex digits" -- "$LSWS" decode 0874b
expect 1 "argument 1: '087':" -- "$LSWS" decode 087
expect 1 "not a hex digit" -- "$LSWS" decode zz
expect 2 "unknown model 'ws999'" -- "$LSWS" decode --model ws999 087001
# The guide's CTH01 periodic example is one hex digit short (DESIGN.md).
expect 1 "odd number of hex digits" -- "$LSWS" decode --model cth01 019d0a0229260c000802000df0300008f000000a1000000b80000007e0000000d0083050000b743010009010000cf010000450100002c000000
expect 0 '"temperature":27.17' -- "$LSWS" --json decode --model cth01 019d0a0229260c0008020000df0300008f000000a1000000b80000007e0000000d0083050000b743010009010000cf010000450100002c000000

# Replies and echoes, invalid readings, versions (guides 000 ch.6, 004 ch.5).
expect 0 '"report_interval":1200' -- "$LSWS" --json decode --model ws523 ff03b004
expect 0 '"current_alarm_config":{"enable":"disable","threshold":0}' -- "$LSWS" --json decode ff240000
expect 0 '"delay_time":60,"socket_status":"on"' -- "$LSWS" --json decode ff22003c0011
expect 0 '"socket_status":"on"' -- "$LSWS" --json decode --model ws523 0801ffff
expect 0 '"reporting_interval":{"minutes_of_time":10}' -- "$LSWS" --json decode --model cth01 61010a00
expect 0 '"tsl_version":"v10.11"' -- "$LSWS" --json decode --model cth01 df0a0b
expect 0 '{"argument":1,"voltage_unbalance":"error"}' -- "$LSWS" --json decode --model cth01 02ffff
expect 0 'voltage_unbalance  error' -- "$LSWS" decode --model cth01 02ffff
expect 0 '"ans":[{"result":0,"length":1,"id":"reporting_interval"' -- "$LSWS" --json decode --model cth01 ef0161

# decode --csv (the columns of lsws history): with --model as without it; it
# takes hex payloads only.
"$LSWS" decode --csv --model cth01 019d0a ed01a1b1856901360a >"$TMP/m.csv" 2>&1
ok "decode --csv --model cth01 writes the CSV (exit $?)" grep -q '"2026-02-06T09:17:21Z","1770369441","periodic","26.14"' "$TMP/m.csv"
"$LSWS" decode --csv 019d0a ed01a1b1856901360a >"$TMP/a.csv" 2>&1
ok "decode --csv: the same CSV with the model detected" cmp -s "$TMP/m.csv" "$TMP/a.csv"
expect 2 "--csv takes hex payloads: not with --base64" -- "$LSWS" decode --csv --base64 AZ0K

# stdin: one payload per line, JSON Lines; each output line names its input
# line; a bad line gives an error object in its place, and the rest decode.
printf '087001\n# comment\n\nff3fff\nzz\n087000\n' >"$TMP/payloads"
"$LSWS" --json decode --model ws523 <"$TMP/payloads" >"$TMP/jl" 2>"$TMP/err"
rc=$?
ok "stdin decode exits 1 on a bad line" [ "$rc" -eq 1 ]
ok "stdin decode names the bad line" grep -q "line 5: 'zz'" "$TMP/err"
ok "stdin decode: one JSON line per payload line, in order, with its position" /usr/bin/python3 - "$TMP/jl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["line"] for l in lines] == [1, 4, 5, 6], lines
assert lines[0]["socket_status"] == "on" and lines[1]["power_outage"] == "yes", lines
e = lines[2]["error"]
assert set(e) == {"code", "exit_status", "message"} and e["exit_status"] == 1, e
assert e["code"] == "LSWS_ERR_SYNTAX" and "line 5: 'zz'" in e["message"], e
assert lines[3]["socket_status"] == "off" and "error" not in lines[3], lines
PY
"$LSWS" --json decode --with-input --model ws523 087001 zz >"$TMP/jl" 2>/dev/null
ok "--with-input gives the payload; arguments carry their position" /usr/bin/python3 - "$TMP/jl" <<'PY'
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1])]
assert a == {"argument": 1, "hex": "087001", "socket_status": "on", "socket_change": "command"}, a
assert b["argument"] == 2 and b["error"]["code"] == "LSWS_ERR_SYNTAX", b
PY
# Line numbers across carries (9, 99, 999) and after skipped lines.
/usr/bin/python3 -c 'import sys
for i in range(1, 1201): print("# comment" if i in (50, 51, 1000) else "" if i == 120 else "087001")' >"$TMP/many"
"$LSWS" --json decode --model ws523 <"$TMP/many" >"$TMP/jl" 2>&1
ok "line numbers count every input line" /usr/bin/python3 - "$TMP/jl" <<'PY'
import json, sys
got = [json.loads(l)["line"] for l in open(sys.argv[1])]
assert got == [i for i in range(1, 1201) if i not in (50, 51, 120, 1000)], got[:20]
PY
# A NUL byte on a line is an error, not the end of the line.
printf '087001\n0870\00001\n087000\n' >"$TMP/nul"
"$LSWS" --json decode --model ws523 <"$TMP/nul" >"$TMP/jl" 2>"$TMP/err"
rc=$?
ok "a NUL byte makes the line an error (exit $rc)" [ "$rc" -eq 1 ]
ok "the NUL byte is named with its column" grep -q "line 2: a NUL byte at column 5" "$TMP/err"
ok "the lines around it decode" [ "$(grep -c socket_status "$TMP/jl")" -eq 2 ]
# Also in a comment, and in base64 (the hex fast path is not what finds it).
printf '# a\000b\n' | "$LSWS" decode --model ws523 >/dev/null 2>"$TMP/err"
ok "a NUL byte in a comment line is an error" grep -q "line 1: a NUL byte at column 4" "$TMP/err"
printf 'CHAB\000\n' | "$LSWS" decode --base64 --model ws523 >/dev/null 2>"$TMP/err"
ok "a NUL byte in a base64 line is an error" grep -q "line 1: a NUL byte at column 5" "$TMP/err"
# Bytes that are no printable UTF-8 (a stray 0xc1, a control byte) are
# quoted as \xNN in the message: every error line is valid JSON.
printf '01\xc10203\nab\x01cd\n0102030405060708\xff90a0b0c0d0e0f10\n' >"$TMP/bin"
"$LSWS" --json decode --model cth01 <"$TMP/bin" >"$TMP/jl" 2>"$TMP/err"
ok "bad bytes are quoted as \\xNN in messages" /usr/bin/python3 - "$TMP/jl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
msgs = [l["error"]["message"] for l in lines]
assert [l["line"] for l in lines] == [1, 2, 3], lines
assert "'01\\xc10203': '\\xc1' at character 3" in msgs[0], msgs
assert "'ab\\x01cd'" in msgs[1] and "'\\xff' at character 17" in msgs[2], msgs
PY
ok "and so on standard error" grep -qF "line 2: 'ab\x01cd'" "$TMP/err"
# Lines longer than any message: an error each (within one read, and
# longer than the input buffer), and the next line still decodes.
{ head -c 600000 /dev/zero | tr '\0' 'a'; printf '\n'; head -c 2000000 /dev/zero | tr '\0' 'b';
  printf '\n087001\n'; } >"$TMP/long"
"$LSWS" --json decode --model ws523 <"$TMP/long" >"$TMP/jl" 2>"$TMP/err"
ok "an over-long line is an error" grep -q "line 1: longer than 524288 characters" "$TMP/err"
ok "a line longer than the input buffer is an error" grep -q "line 2: longer than 524288 characters" "$TMP/err"
ok "the line after them decodes" grep -q '"line":3,"socket_status":"on"' "$TMP/jl"
ok "one output line per input line" [ "$(wc -l <"$TMP/jl")" -eq 3 ]
# CRLF line ends and a last line without a newline.
printf '087001\r\n087000' | "$LSWS" --json decode --model ws523 >"$TMP/jl" 2>&1
ok "CRLF and a last line without newline" [ "$(grep -c socket_status "$TMP/jl")" -eq 2 ]

# Output reaches a pipe line by line, while input is still open.
mkfifo "$TMP/fifo_in"
"$LSWS" --json decode --model ws523 <"$TMP/fifo_in" >"$TMP/live" 2>&1 &
dpid=$!
exec 3>"$TMP/fifo_in"
echo 087001 >&3
for _ in $(seq 100); do
    [ -s "$TMP/live" ] && break
    sleep 0.05
done
ok "decode writes a line's result before its input ends" grep -q '"line":1,"socket_status":"on"' "$TMP/live"
echo 087000 >&3
exec 3>&-
wait "$dpid"
ok "and the next one after it" grep -q '"line":2,"socket_status":"off"' "$TMP/live"

# Base64 payloads (as network servers deliver them).
expect 0 '"voltage":222.6' -- "$LSWS" --json decode --base64 --model ws523 CHABBYFkB8kCAAN0sggGgwEAAAAEgAEAAAA=
expect 0 '"socket_status":"on"' -- "$LSWS" --json decode --base64 CHAB
expect 1 "not base64 at character 3" -- "$LSWS" decode --base64 'CH*B'
expect 1 "not base64" -- "$LSWS" decode --base64 C

# The Things Stack and ChirpStack v4 uplink messages, with the device's
# identity and the model from a DevEUI map.
cat >"$TMP/map" <<'MAP'
# DevEUI -> model
24E124136B261600 ws523
24e1241234567890,cth01
MAP
cat >"$TMP/ns.jsonl" <<'NS'
{"end_device_ids":{"device_id":"socket-1","application_ids":{"application_id":"plant"},"dev_eui":"24E124136B261600"},"received_at":"2026-02-01T10:00:00Z","uplink_message":{"f_port":85,"f_cnt":7,"frm_payload":"CHAB"}}
{"deviceInfo":{"deviceName":"hub-1","applicationName":"plant","devEui":"24e1241234567890"},"time":"2026-02-01T10:00:01Z","fPort":85,"fCnt":9,"data":"AuIB"}
{"deviceInfo":{"deviceName":"hub-2","devEui":"24e1240000000000"},"fPort":85,"data":"NA=="}
{"end_device_ids":{"device_id":"x"},"uplink_message":{"f_port":0}}
{"something":"else"}
{"broken":
NS
"$LSWS" --json decode --model-map "$TMP/map" <"$TMP/ns.jsonl" >"$TMP/jl" 2>"$TMP/err"
rc=$?
ok "network server messages: exit 1 for the bad ones (got $rc)" [ "$rc" -eq 1 ]
ok "network server messages decode with their identity" /usr/bin/python3 - "$TMP/jl" <<'PY'
import json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
assert len(l) == 6, l
assert l[0] == {"line": 1, "dev_eui": "24e124136b261600", "device_id": "socket-1", "application_id": "plant",
                "received_at": "2026-02-01T10:00:00Z", "f_port": 85, "f_cnt": 7, "model": "ws523",
                "socket_status": "on", "socket_change": "command"}, l[0]
assert l[1]["model"] == "cth01" and l[1]["device_id"] == "hub-1" and l[1]["f_cnt"] == 9, l[1]
assert l[1]["voltage_unbalance"] == 4.82, l[1]
# 34 (a THDv alarm) needs 4 bytes: an error, with the device named.
assert l[2]["dev_eui"] == "24e1240000000000" and "error" in l[2], l[2]
assert "frm_payload" in l[3]["error"]["message"], l[3]
assert "no The Things Stack uplink" in l[4]["error"]["message"], l[4]
assert l[5]["error"]["code"] == "LSWS_ERR_SYNTAX" and "JSON" in l[5]["error"]["message"], l[5]
PY
printf '{"deviceInfo":{"devEui":"24e1240000000001"},"fPort":85,"data":"Ng=="}\n' |
    "$LSWS" --json decode >"$TMP/jl" 2>&1
ok "a device not in the map is detected" grep -q '"model":"cth01","power_loss_alarm":"yes"' "$TMP/jl"
printf 'nothex ws523\n' >"$TMP/badmap"
expect 2 "badmap:1: expected 'DEVEUI MODEL'" -- "$LSWS" decode --model-map "$TMP/badmap" 087001
printf '24e1241234567890 ws523\n24E1241234567890 cth01\n' >"$TMP/twice"
expect 2 "twice:2: DevEUI 24e1241234567890 is given another model before" -- "$LSWS" decode --model-map "$TMP/twice" 087001
expect 1 "cannot open" -- "$LSWS" decode --model-map "$TMP/none" 087001

# --- encode: every downlink example of the guides ---
# WS523 guide v1.3 ch.6 Downlink Command (Socket Control, General Settings),
# Task Settings; WS52x guide 4.4 ex.6 (reset power consumption).
expect 0 "080100ff" -- "$LSWS" encode --model ws523 socket on
expect 0 "080100ff" -- "$LSWS" encode --model ws523 socket open
expect 0 "080000ff" -- "$LSWS" encode --model ws523 socket off
expect 0 "ff10ff" -- "$LSWS" encode --model ws523 reboot
expect 0 "ff03b004" -- "$LSWS" encode --model ws523 general.report_interval=20min
expect 0 "ff03b004" -- "$LSWS" encode --model ws523 general.report_interval=1200
expect 0 "ff035a00" -- "$LSWS" encode --model ws523 general.report_interval=90s
expect 0 "ff24010aff30010a" -- "$LSWS" encode --model ws523 general.overcurrent_alarm.enabled=true \
    general.overcurrent_alarm.threshold=10 general.overcurrent_protection.enabled=true general.overcurrent_protection.threshold=10
expect 0 "ff2f00" -- "$LSWS" encode --model ws523 general.led=false
expect 0 "ff22003c0011" -- "$LSWS" encode --model ws523 delay 60s open
expect 0 "ff22003c0011" -- "$LSWS" encode --model ws523 delay 1min on
expect 0 "ff22001c0210" -- "$LSWS" encode --model ws523 delay 9m off
expect 0 "ff2300ff" -- "$LSWS" encode --model ws523 delay cancel
expect 0 "ff27ff" -- "$LSWS" encode --model ws523 energy reset
expect 0 "ff28ff" -- "$LSWS" encode --model ws523 query status
# CTH01 guide ch.5 Downlink Commands.
expect 0 "61011400" -- "$LSWS" encode --model cth01 general.report_interval=20
expect 0 "be" -- "$LSWS" encode --model cth01 reboot
expect 0 "64094d696c657369676874" -- "$LSWS" encode --model cth01 bluetooth.name=Milesight
expect 0 "b9" -- "$LSWS" encode --model cth01 query interval
expect 0 "b6" -- "$LSWS" encode --model cth01 rejoin
expect 0 "b8" -- "$LSWS" encode --model cth01 time sync
expect 0 "c710ff" -- "$LSWS" encode --model cth01 time.zone=UTC-4
expect 0 "c6013c03573c000a573c00" -- "$LSWS" encode --model cth01 --base "$SRC/templates/cth01-EU868.json" time.dst.enabled=true
expect 0 "6d0f0900" -- "$LSWS" encode --model cth01 monthly.day=15 monthly.hour=9 monthly.minute=0
expect 0 "6b01e2ff" -- "$LSWS" encode --model cth01 calibration.temperature.enabled=true calibration.temperature.value=-0.3
expect 0 "7601020000c409" -- "$LSWS" encode --model cth01 alarm.temperature.enabled=true \
    alarm.temperature.condition=above alarm.temperature.min=0 alarm.temperature.max=25
expect 0 "7704010200007803" -- "$LSWS" encode --model cth01 'alarm.current[5].enabled=true' \
    'alarm.current[5].condition=above' 'alarm.current[5].min=0' 'alarm.current[5].max=888'
expect 0 "770a0104de009a02" -- "$LSWS" encode --model cth01 'alarm.current[11].enabled=true' \
    'alarm.current[11].condition=outside' 'alarm.current[11].min=222' 'alarm.current[11].max=666'
# The guide's own 7c0a00020000, against the factory defaults (no alarm on).
expect 0 "7c0a00020000" -- "$LSWS" encode --model cth01 --base "$SRC/templates/cth01-EU868.json" \
    alarm.interval=10 alarm.times=2 alarm.dismiss_report=false
expect 0 "6801010400010200000100" -- "$LSWS" encode --model cth01 'interface.group[b].type=three' \
    'interface.current[4].direction=reverse' 'interface.current[4].range=1000a' \
    'interface.current[5].direction=reverse' 'interface.current[5].range=300a' \
    'interface.current[6].direction=forward' 'interface.current[6].range=100a'
expect 0 "5800" -- "$LSWS" encode --model cth01 query temperature
expect 0 "5805" -- "$LSWS" encode --model cth01 query unbalance
expect 0 "5c0100847b6980048a69" -- "$LSWS" encode --model cth01 history range periodic 1769702400 1770652800
expect 0 "5c0100847b6980048a69" -- "$LSWS" encode --model cth01 history range periodic 2026-01-29T16:00:00Z 2026-02-10T00:00:00+08:00
expect 0 "5b0300277e69" -- "$LSWS" encode --model cth01 history point monthly_minmax 2026-01-31T16:00Z
expect 0 "5d01" -- "$LSWS" encode --model cth01 history stop periodic
expect 0 "5e02" -- "$LSWS" encode --model cth01 history clear monthly_energy
expect 0 "5f00" -- "$LSWS" encode --model cth01 energy clear all
expect 0 "5f0c" -- "$LSWS" encode --model cth01 energy clear 12
# Settings and actions in one downlink: the settings first.
expect 0 "ff2f00ff10ff" -- "$LSWS" encode --model ws523 reboot general.led=false
# Every output names the port: 85, or the template's lorawan.app_port.
expect 0 "port 85, base64 CAEA/w==" -- "$LSWS" encode --model ws523 socket on
sed 's/"lorawan.app_port": 85/"lorawan.app_port": 86/' "$SRC/templates/ws523-EU868.json" >"$TMP/port86.json"
expect 0 '"port":86' -- "$LSWS" --json encode --model ws523 --base "$TMP/port86.json" socket off
expect 0 '"base64":"/wOwBA==","bytes":4,"port":85' -- "$LSWS" --json encode --model ws523 general.report_interval=20min
# What the actions are, for people and scripts.
expect 0 "delay DURATION on|off" -- "$LSWS" encode --list --model ws523
expect 0 "history range TYPE START END" -- "$LSWS" encode --list
"$LSWS" --json encode --list >"$TMP/list.json"
ok "encode --list --json lists both models' actions with sources and examples" /usr/bin/python3 - "$TMP/list.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
names = {(r["model"], r["action"]) for r in rows}
assert ("ws523", "socket") in names and ("cth01", "history range") in names, names
assert all(r["source"] and r["code"] and r["example"].startswith("lsws encode --model ") for r in rows), rows
PY
# Every listed example encodes, and decodes back to a reading.
/usr/bin/python3 -c 'import json,sys
for r in json.load(open(sys.argv[1])): print(r["model"], r["example"][len("lsws encode --model ") + len(r["model"]) + 1:])' \
    "$TMP/list.json" >"$TMP/examples"
while read -r model args; do
    # shellcheck disable=SC2086
    hex=$("$LSWS" encode --model "$model" $args 2>&1 | head -1)
    expect 0 '"argument":1' -- "$LSWS" --json decode --model "$model" "$hex"
done <"$TMP/examples"
expect 2 "'sockt' is no ws523 action and not KEY=VALUE; did you mean 'socket'?" -- "$LSWS" encode --model ws523 sockt on
expect 2 "'socket' needs on|off" -- "$LSWS" encode --model ws523 socket
expect 2 "socket: 'maybe' is not one of: off, on" -- "$LSWS" encode --model ws523 socket maybe
expect 2 "delay: 65536s is 65536 s: at most 65535 s" -- "$LSWS" encode --model ws523 delay 65536s on
expect 2 "delay: 'soon' is not a duration" -- "$LSWS" encode --model ws523 delay soon on
expect 2 "history range: the range ends (1) before it starts (2)" -- "$LSWS" encode --model cth01 history range alarm 2 1
expect 2 "is not a time" -- "$LSWS" encode --model cth01 history point alarm 2026-02-30T00:00Z
expect 2 "is not a time" -- "$LSWS" encode --model cth01 history point alarm 2026-02-01T10:00
expect 2 "energy clear: '13' is not all or a channel 1-12" -- "$LSWS" encode --model cth01 energy clear 13
expect 2 "'rejoin' is no ws523 action" -- "$LSWS" encode --model ws523 rejoin
expect 2 "--list takes no operands" -- "$LSWS" encode --list reboot
expect 2 "general.report_interval: 64801 is out of range (allowed: 60..64800 s)" -- "$LSWS" encode --model ws523 general.report_interval=64801
expect 2 "unknown setting 'general.colour' for ws523" -- "$LSWS" encode --model ws523 general.colour=red
expect 2 "lorawan.app_eui has no LoRaWAN downlink command" -- "$LSWS" encode --model ws523 lorawan.app_eui=24e124c0002a0001
expect 2 "also carries general.overcurrent_alarm.enabled" -- "$LSWS" encode --model ws523 general.overcurrent_alarm.threshold=12
expect 2 "'general.led' is no ws523 action and not KEY=VALUE" -- "$LSWS" encode --model ws523 general.led
expect 2 "encode needs --model" -- "$LSWS" encode general.led=true
# The alarm interval rule binds while an alarm is enabled.
expect 2 "shorter than general.report_interval" -- "$LSWS" encode --model cth01 --base "$SRC/templates/cth01-EU868.json" \
    alarm.interval=30 alarm.temperature.enabled=true alarm.temperature.condition=above alarm.temperature.min=0 alarm.temperature.max=25
expect 0 "ff24000c" -- "$LSWS" encode --model ws523 --base "$SRC/templates/ws523-EU868.json" general.overcurrent_alarm.threshold=12
expect 2 "0 A with general.overcurrent_alarm.enabled=true" -- "$LSWS" encode --model ws523 --base "$SRC/templates/ws523-EU868.json" general.overcurrent_alarm.enabled=true

# --- template ---
expect 0 '"model": "cth01"' -- "$LSWS" template new --model cth01 --band US915
"$LSWS" template new --model ws523 --band AU915 -o "$TMP/t.json"
ok "template file is mode 0600" [ "$(stat -c %a "$TMP/t.json")" = 600 ]
expect 0 "ok (ws523," -- "$LSWS" template lint "$TMP/t.json"
expect 0 "(redacted)" -- "$LSWS" template show "$TMP/t.json"
expect 0 "5572404c696e6b4c6f52613230313823" -- "$LSWS" --show-secrets template show "$TMP/t.json"
ok "show redacts keys" sh -c "! '$LSWS' template show '$TMP/t.json' | grep -q 5572404c"
sed 's/"general.report_interval": 1200/"general.report_interval": 70000/' "$TMP/t.json" >"$TMP/range.json"
expect 1 "range.json:$(grep -n report_interval "$TMP/range.json" | cut -d: -f1):5: general.report_interval: 70000 is out of range" -- "$LSWS" template lint "$TMP/range.json"
printf '{"lsws_template": 1,\n "model": "ws523",\n "settings": {"general.led": tru}}\n' >"$TMP/syntax.json"
expect 1 "syntax.json:3:32: invalid token" -- "$LSWS" template lint "$TMP/syntax.json"
expect 1 '"line":3' -- "$LSWS" --json template lint "$TMP/syntax.json"
expect 1 "cannot open" -- "$LSWS" template lint "$TMP/missing.json"
expect 2 "unknown band 'EU867'" -- "$LSWS" template new --model ws523 --band EU867
expect 2 "template needs new, lint or show" -- "$LSWS" template

# --- keys, help, version, usage ---
expect 0 "general.report_interval" -- "$LSWS" keys --model ws523
expect 0 "alarm.current[12].max" -- "$LSWS" keys --model cth01 'alarm.current*'
expect 0 '"code_owner": "vendor"' -- "$LSWS" --json keys --model cth01 general.report_interval
expect 0 "usage: lsws" -- "$LSWS" --help
expect 0 "usage: lsws decode" -- "$LSWS" help decode
expect 0 "lsws 0." -- "$LSWS" --version
expect 2 "'frobnicate' is not an lsws command" -- "$LSWS" frobnicate
expect 2 "unknown option '--nope'" -- "$LSWS" decode --nope

# --- the command line: full option names only, no password, no empty values ---
expect 2 "unknown option '--mod' for 'keys'" -- "$LSWS" keys --mod ws523
expect 2 "unknown option '--jso' for 'keys'" -- "$LSWS" keys --model ws523 --jso
expect 2 "unknown option '--password-f'" -- "$LSWS" --password-f "$TMP/none" keys --model ws523
# A password on the command line is refused wherever it is, and never repeated.
for args in "get --password 123456" "get --password=123456" "get -p 123456" "get -p123456" "--password 123456 get" \
    "-p 123456 info" "keys --model ws523 --password 123456"; do
    # shellcheck disable=SC2086
    "$LSWS" $args >"$TMP/out" 2>&1
    rc=$?
    ok "'$args' is refused (exit $rc)" [ "$rc" -eq 2 ]
    ok "'$args' says where a password goes" grep -qF "use --password-file FILE, LSWS_PASSWORD or the prompt" "$TMP/out"
    ok "'$args' does not repeat the password" sh -c "! grep -q 123456 '$TMP/out'"
done
"$LSWS" get --pass=123456 >"$TMP/out" 2>&1
ok "an unknown option's value is not repeated" sh -c "grep -q \"unknown option '--pass'\" '$TMP/out' && ! grep -q 123456 '$TMP/out'"
expect 2 "option '--model' needs MODEL, not an empty value" -- "$LSWS" keys --model ''
expect 2 "option '--model' needs MODEL, not an empty value" -- "$LSWS" keys --model=
expect 2 "option '-m' needs MODEL, not an empty value" -- "$LSWS" encode -m '' general.led=true
expect 2 "option '--at' needs UNIX, not an empty value" -- "$LSWS" time sync --at ''
expect 2 "option '--json' takes no value" -- "$LSWS" keys --model ws523 --json=yes
expect 2 "option '--model' needs MODEL" -- "$LSWS" keys --model
expect 2 "time.zone: empty value" -- "$LSWS" encode --model cth01 time.zone=
expect 2 "general.led: empty value (allowed: true, false)" -- "$LSWS" encode --model ws523 general.led=
expect 2 "general.led is given twice" -- "$LSWS" encode --model ws523 general.led=true general.led=false
expect 2 "general.led is given twice" -- "$LSWS" encode --model ws523 general.led=true general.led=true
expect 2 "'keys' takes at most 1 argument" -- "$LSWS" keys --model ws523 general.led general.led
expect 2 "'list' takes no arguments" -- "$LSWS" list now

# --- did you mean ---
expect 2 "'gett' is not an lsws command; did you mean 'get'?" -- "$LSWS" gett
expect 2 "'templat' is not an lsws command; did you mean 'template'?" -- "$LSWS" help templat
expect 2 "unknown option '--jsn' for 'decode'; did you mean '--json'?" -- "$LSWS" decode --jsn 087001
expect 2 "unknown option '--modle' for 'encode'; did you mean '--model'?" -- "$LSWS" encode --modle ws523 general.led=true
expect 2 "unknown template command 'nwe'; did you mean 'new'?" -- "$LSWS" template nwe
expect 2 "unknown setting 'general.report_intervall' for ws523; did you mean 'general.report_interval'?" -- \
    "$LSWS" encode --model ws523 general.report_intervall=5
expect 2 "no setting 'general.report_intervall' on cth01; did you mean 'general.report_interval'?" -- \
    "$LSWS" keys --model cth01 general.report_intervall
printf '{"lsws_template": 1, "model": "ws523",\n "settings": {"general.lde": true}}\n' >"$TMP/typo.json"
expect 1 "typo.json:2:15: unknown setting 'general.lde' for ws523; did you mean 'general.led'?" -- "$LSWS" template lint "$TMP/typo.json"

# --- keys: an exact key matches, brackets included; nothing matched is an error ---
expect 0 "alarm.current[5].max" -- "$LSWS" keys --model cth01 'alarm.current[5].max'
ok "keys with an exact bracketed key lists that one setting" \
    [ "$("$LSWS" --json keys --model cth01 'interface.current[1].range' | grep -c '"key"')" -eq 1 ]
ok "keys with an escaped bracket pattern lists channels 10-12" \
    [ "$("$LSWS" --json keys --model cth01 'alarm.current\[1?\].max' | grep -c '"key"')" -eq 3 ]
expect 2 "no setting 'alarm.current[13].max' on cth01" -- "$LSWS" keys --model cth01 'alarm.current[13].max'
expect 2 "no setting 'nothing*' on ws523" -- "$LSWS" keys --model ws523 'nothing*'
expect 2 "no setting 'alarm.current[5].max' on ws523" -- "$LSWS" keys --model ws523 'alarm.current[5].max'
"$LSWS" --json keys --model ws523 >"$TMP/keys.json"
ok "keys --json types the defaults" /usr/bin/python3 - "$TMP/keys.json" <<'PY'
import json, sys
keys = {k["key"]: k for k in json.load(open(sys.argv[1]))}
ok = (keys["general.report_interval"]["default"] == 1200 and keys["general.report_interval"]["unit"] == "s" and keys["general.led"]["default"] is True
      and keys["lorawan.band"]["default"] is None and keys["lorawan.band"]["default_from"] == "band"
      and keys["lorawan.app_key"]["default_from"] == "unit"
      and keys["lorawan.nwk_skey"]["default"] == "(redacted)" and keys["general.led"]["secret"] is False)
sys.exit(0 if ok else 1)
PY

# --- messages name the right model's rule, bound numbers, and keep secrets ---
expect 2 "general.report_interval: 1441 is out of range (allowed: 1..1440 min)" -- \
    "$LSWS" encode --model cth01 general.report_interval=1441
expect 2 "calibration.temperature.value: '1e300' is not a number" -- "$LSWS" encode --model cth01 calibration.temperature.value=1e300
expect 2 "general.report_interval: 99999999999999999999 is out of range" -- "$LSWS" encode --model cth01 general.report_interval=99999999999999999999
sed 's/"calibration.temperature.value": 0.0/"calibration.temperature.value": 1e300/' \
    "$SRC/templates/cth01-EU868.json" >"$TMP/huge.json"
expect 1 "calibration.temperature.value: 1e+300 is out of range (allowed: -120.00..120.00 C)" -- "$LSWS" template lint "$TMP/huge.json"
"$LSWS" encode --model ws523 'lorawan.channels=99999999999999999999-3' >"$TMP/out" 2>&1
ok "a huge channel number is bounded in the message" sh -c "grep -q 'channel 99999999... is not within 0-95' '$TMP/out' && ! grep -q 9223372036854775807 '$TMP/out'"
"$LSWS" encode --model ws523 lorawan.app_key=5572404c696e6b4c6f5261323031382 >"$TMP/out" 2>&1
ok "a near-miss key is not repeated (encode)" sh -c "grep -q '31 hex digits (an odd number), not 32' '$TMP/out' && ! grep -q 5572404c '$TMP/out'"
sed 's/"lorawan.nwk_skey": "5572404c696e6b4c6f52613230313823"/"lorawan.nwk_skey": "5572404c696e6b4c6f5261323031382"/' \
    "$SRC/templates/ws523-EU868.json" >"$TMP/short-key.json"
"$LSWS" template lint "$TMP/short-key.json" >"$TMP/out" 2>&1
ok "a near-miss key is not repeated (template)" sh -c "grep -q 'lorawan.nwk_skey: 31 hex digits' '$TMP/out' && ! grep -q 5572404c '$TMP/out'"

# --- -o writes regular files only, never through a link ---
echo keep >"$TMP/target"
ln -s "$TMP/target" "$TMP/link"
expect 1 "refusing to write '$TMP/link': it is a symbolic link, not a regular file" -- "$LSWS" template new --model ws523 -o "$TMP/link"
ok "-o leaves the symlink and its target alone" sh -c "[ -L '$TMP/link' ] && [ \"\$(cat '$TMP/target')\" = keep ]"
ln -s "$TMP/nowhere" "$TMP/dangling"
expect 1 "it is a symbolic link" -- "$LSWS" template new --model ws523 -o "$TMP/dangling"
ok "-o does not create a dangling symlink's target" [ ! -e "$TMP/nowhere" ]
mkfifo "$TMP/fifo"
expect 1 "it is a FIFO, not a regular file" -- timeout 10 "$LSWS" template new --model ws523 -o "$TMP/fifo"
ok "-o leaves a FIFO a FIFO" [ -p "$TMP/fifo" ]
# A device node: our own copy of the null device, never /dev/null itself (a
# binary with the bug, run as root, would replace the system's).
if mknod "$TMP/null" c 1 3 2>/dev/null; then
    expect 1 "refusing to write '$TMP/null': it is a device" -- "$LSWS" template new --model ws523 -o "$TMP/null"
    ok "-o leaves a device node a device" [ -c "$TMP/null" ]
else
    echo "skip: cannot make a device node (not root): -o on a device not checked"
fi
mkdir "$TMP/dir"
expect 1 "it is a directory" -- "$LSWS" template new --model ws523 -o "$TMP/dir"
echo old >"$TMP/regular"
ok "-o replaces a regular file" sh -c "'$LSWS' template new --model ws523 -o '$TMP/regular' && grep -q '\"model\": \"ws523\"' '$TMP/regular'"
ok "no temporary files are left" [ -z "$(ls "$TMP" | grep '\.tmp\.')" ]

# --- --json: typed output, and one error object on stdout after a failure ---
# json_error EXIT CODE MESSAGE -- COMMAND...: stdout ends with the one error
# object {"error": {code, exit_status, message}}; stderr has the message.
json_error() {
    local want_rc=$1 want_code=$2 want_msg=$3
    shift 4
    "$@" >"$TMP/jout" 2>"$TMP/jerr" </dev/null
    local rc=$?
    ok "$* exits $want_rc (got $rc)" [ "$rc" -eq "$want_rc" ]
    ok "$* prints one error object ($want_code)" /usr/bin/python3 - "$TMP/jout" "$want_rc" "$want_code" "$want_msg" <<'PY'
import json, sys
path, rc, code, msg = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
text = open(path).read()
last = text.rstrip("\n").split("\n")[-1]
err = json.loads(last)["error"]
assert text.count('{"error"') == 1, text
assert set(err) == {"code", "exit_status", "message"}, err
assert err["code"] == code and err["exit_status"] == rc and msg in err["message"], err
PY
    ok "$* still says it on stderr" grep -qF -- "$want_msg" "$TMP/jerr"
}
json_error 2 LSWS_ERR_MODEL "unknown model 'ws999'" -- "$LSWS" --json keys --model ws999
json_error 2 LSWS_ERR_INVALID "'frobnicate' is not an lsws command" -- "$LSWS" --json frobnicate
json_error 2 LSWS_ERR_INVALID "unknown option '--nope'" -- "$LSWS" --nope --json
json_error 2 LSWS_ERR_RANGE "general.report_interval: 64801 is out of range" -- "$LSWS" --json encode --model ws523 general.report_interval=64801
json_error 2 LSWS_ERR_UNKNOWN_KEY "no setting 'nothing' on ws523" -- "$LSWS" keys --json --model ws523 nothing
json_error 1 LSWS_ERR_SYNTAX "invalid token" -- "$LSWS" --json template lint "$TMP/t.json" "$TMP/syntax.json"
ok "template lint --json keeps one record per file before the error" [ "$(grep -c '"file"' "$TMP/jout")" -eq 2 ]
json_error 1 LSWS_ERR_IO "cannot open" -- "$LSWS" --json template show "$TMP/missing.json"
json_error 1 LSWS_ERR_IO "refusing to write" -- "$LSWS" --json template new --model ws523 -o "$TMP/fifo"
"$LSWS" --json encode --model ws523 general.report_interval=20min >"$TMP/out"
ok "encode --json is typed" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["bytes"] == 4 and d["hex"] == "ff03b004" and d["port"] == 85 else 1)' "$TMP/out"

finish cli
