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

# stdin: one payload per line, JSON Lines; a bad line is reported, the rest decoded.
printf '087001\n# comment\n\nff3fff\nzz\n087000\n' >"$TMP/payloads"
"$LSWS" --json decode --model ws523 <"$TMP/payloads" >"$TMP/jl" 2>"$TMP/err"
rc=$?
ok "stdin decode exits 1 on a bad line" [ "$rc" -eq 1 ]
ok "stdin decode keeps going after a bad line" [ "$(grep -vc '^{"error"' "$TMP/jl")" -eq 3 ]
ok "stdin decode names the bad line" grep -q "line 5: 'zz'" "$TMP/err"
ok "JSON Lines parse" /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$TMP/jl"
ok "stdin decode ends with one error object" /usr/bin/python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
errors = [l for l in lines if "error" in l]
sys.exit(0 if len(errors) == 1 and lines[-1] is errors[0] and errors[0]["error"]["exit_status"] == 1 else 1)' "$TMP/jl"

# --- encode: guide downlink examples ---
expect 0 "ff03b004" -- "$LSWS" encode --model ws523 general.report_interval=20
expect 0 "ff24010aff30010a" -- "$LSWS" encode --model ws523 general.overcurrent_alarm.enabled=true \
    general.overcurrent_alarm.threshold=10 general.overcurrent_protection.enabled=true general.overcurrent_protection.threshold=10
expect 0 "ff2f00" -- "$LSWS" encode --model ws523 general.led=false
expect 0 "61011400" -- "$LSWS" encode --model cth01 general.report_interval=20
expect 0 "64094d696c657369676874" -- "$LSWS" encode --model cth01 bluetooth.name=Milesight
expect 0 "c710ff" -- "$LSWS" encode --model cth01 time.zone=UTC-4
expect 0 "6d0f0900" -- "$LSWS" encode --model cth01 monthly.day=15 monthly.hour=9 monthly.minute=0
expect 0 "6b01e2ff" -- "$LSWS" encode --model cth01 calibration.temperature.enabled=true calibration.temperature.value=-0.3
expect 0 '"base64":"/wOwBA=="' -- "$LSWS" --json encode --model ws523 general.report_interval=20
expect 2 "general.report_interval: 1081 is out of range (allowed: 1..1080 min)" -- "$LSWS" encode --model ws523 general.report_interval=1081
expect 2 "unknown setting 'general.colour' for ws523" -- "$LSWS" encode --model ws523 general.colour=red
expect 2 "lorawan.app_eui has no LoRaWAN downlink command" -- "$LSWS" encode --model ws523 lorawan.app_eui=24e124c0002a0001
expect 2 "also carries general.overcurrent_alarm.enabled" -- "$LSWS" encode --model ws523 general.overcurrent_alarm.threshold=12
expect 2 "is not KEY=VALUE" -- "$LSWS" encode --model ws523 general.led
expect 2 "encode needs --model" -- "$LSWS" encode general.led=true
expect 2 "shorter than general.report_interval" -- "$LSWS" encode --model cth01 --base "$SRC/templates/cth01-EU868.json" alarm.interval=30
expect 0 "ff24000c" -- "$LSWS" encode --model ws523 --base "$SRC/templates/ws523-EU868.json" general.overcurrent_alarm.threshold=12

# --- template ---
expect 0 '"model": "cth01"' -- "$LSWS" template new --model cth01 --band US915
"$LSWS" template new --model ws523 --band AU915 -o "$TMP/t.json"
ok "template file is mode 0600" [ "$(stat -c %a "$TMP/t.json")" = 600 ]
expect 0 "ok (ws523," -- "$LSWS" template lint "$TMP/t.json"
expect 0 "(redacted)" -- "$LSWS" template show "$TMP/t.json"
expect 0 "5572404c696e6b4c6f52613230313823" -- "$LSWS" --show-secrets template show "$TMP/t.json"
ok "show redacts keys" sh -c "! '$LSWS' template show '$TMP/t.json' | grep -q 5572404c"
sed 's/"general.report_interval": 20/"general.report_interval": 2000/' "$TMP/t.json" >"$TMP/range.json"
expect 1 "range.json:$(grep -n report_interval "$TMP/range.json" | cut -d: -f1):5: general.report_interval: 2000 is out of range" -- "$LSWS" template lint "$TMP/range.json"
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

finish cli
