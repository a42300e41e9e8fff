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
ok = (keys["general.report_interval"]["default"] == 20 and keys["general.led"]["default"] is True
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
json_error 2 LSWS_ERR_RANGE "general.report_interval: 1081 is out of range" -- "$LSWS" --json encode --model ws523 general.report_interval=1081
json_error 2 LSWS_ERR_UNKNOWN_KEY "no setting 'nothing' on ws523" -- "$LSWS" keys --json --model ws523 nothing
json_error 1 LSWS_ERR_SYNTAX "invalid token" -- "$LSWS" --json template lint "$TMP/t.json" "$TMP/syntax.json"
ok "template lint --json keeps one record per file before the error" [ "$(grep -c '"file"' "$TMP/jout")" -eq 2 ]
json_error 1 LSWS_ERR_IO "cannot open" -- "$LSWS" --json template show "$TMP/missing.json"
json_error 1 LSWS_ERR_IO "refusing to write" -- "$LSWS" --json template new --model ws523 -o "$TMP/fifo"
"$LSWS" --json encode --model ws523 general.report_interval=20 >"$TMP/out"
ok "encode --json is typed" /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["bytes"] == 4 and d["hex"] == "ff03b004" else 1)' "$TMP/out"

finish cli
