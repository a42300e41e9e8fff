#!/bin/bash
# The command line around the device commands, against the in-process
# simulator: preconditions from the command table (usage errors send
# nothing), typed JSON and the JSON error object, warnings and -q, exact
# keys and patterns, "did you mean", passwords refused on the command line,
# empty values and keys given twice, and messages that name the right model.
. "$(dirname "$0")/lib.sh"
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_NEW_PASSWORD
ws="sim:ws523?state=$TMP/ws523.json"
cth="sim:cth01?state=$TMP/cth01.json"
py=/usr/bin/python3

# sends_nothing NAME ARGS...: lsws -v ARGS fails and shows no exchange.
sends_nothing() {
    local name=$1
    shift
    "$LSWS" -v "$@" >"$TMP/sn" 2>&1 </dev/null
    local rc=$?
    ok "$name fails (exit $rc)" [ "$rc" -ne 0 ]
    ok "$name sends nothing to the device" sh -c "! grep -q seq '$TMP/sn'"
}

# --- preconditions: what needs a device, and what is checked before it ---
expect 2 "no device: give -d URI" -- "$LSWS" get general.led
expect 0 "usage: lsws get" -- "$LSWS" get --help
expect 0 "needs a device (-d URI) and its password; changes the device" -- "$LSWS" help set
expect 0 "needs a device (-d URI); no password" -- "$LSWS" help info
expect 0 "general.led" -- "$LSWS" keys --model ws523 general.led
sends_nothing "info with an argument" -d "$ws" info extra
sends_nothing "get with an unknown option" -d "$ws" get --bogus
sends_nothing "set of an unknown key" -d "$ws" set general.colour=red
sends_nothing "set of a key twice" -d "$ws" set general.led=true general.led=false
sends_nothing "set of an empty value" -d "$cth" set time.zone=
sends_nothing "time sync --at ''" -d "$cth" time sync --at ''
sends_nothing "time sync with a bad --tz" -d "$cth" time sync --tz UTC+15
sends_nothing "time with another subcommand" -d "$cth" time sink
sends_nothing "reset without --yes or a terminal" -d "$ws" reset
sends_nothing "reboot with an argument" -d "$ws" reboot now
sends_nothing "password with a bad new one" env LSWS_NEW_PASSWORD=abc "$LSWS" -d "$ws" password
sends_nothing "get --password" -d "$ws" get --password 123456
expect 2 "'info' takes no arguments" -- "$LSWS" -d "$ws" info extra
expect 2 "general.led is given twice" -- "$LSWS" -d "$ws" set general.led=true general.led=false
expect 2 "time.zone: empty value" -- "$LSWS" -d "$cth" set time.zone=
expect 2 "option '--device' needs URI, not an empty value" -- "$LSWS" --device= info
expect 2 "option '-d' needs URI, not an empty value" -- "$LSWS" -d '' info
expect 2 "usage: lsws time sync" -- "$LSWS" -d "$cth" time sink

# --- the default-password warning: once per command, not on info, not with -q ---
"$LSWS" -d "$ws" set general.report_interval=11 general.led=false >/dev/null 2>"$TMP/err"
ok "set warns about the factory password once" [ "$(grep -c 'factory default password' "$TMP/err")" -eq 1 ]
"$LSWS" -d "$ws" info >"$TMP/out" 2>"$TMP/err"
ok "info shows the default password as a field" grep -q "default_password  yes" "$TMP/out"
ok "info does not warn" [ ! -s "$TMP/err" ]
"$LSWS" -q -d "$ws" set general.report_interval=12 >/dev/null 2>"$TMP/err"
ok "-q silences the warning and the backup note" [ ! -s "$TMP/err" ]
"$LSWS" -d "$ws" get general.led --quiet >/dev/null 2>"$TMP/err"
ok "--quiet among the command's options" [ ! -s "$TMP/err" ]
"$LSWS" -q -d "$ws" get lorawan.nope >/dev/null 2>"$TMP/err"
ok "-q keeps errors" grep -q "no readable setting 'lorawan.nope'" "$TMP/err"
printf '123456\n' >"$TMP/open-pw"
chmod 644 "$TMP/open-pw"
"$LSWS" -d "$ws" --password-file "$TMP/open-pw" get general.led >/dev/null 2>"$TMP/err"
ok "a password file others can read is warned about" grep -q "can be read by other users" "$TMP/err"
"$LSWS" -q -d "$ws" --password-file "$TMP/open-pw" get general.led >/dev/null 2>"$TMP/err"
ok "-q silences that warning too" [ ! -s "$TMP/err" ]

# --- typed JSON everywhere ---
"$LSWS" --json -d "$ws" set general.report_interval=13 general.led=true lorawan.app_skey=000102030405060708090a0b0c0d0e0f \
    >"$TMP/set.json" 2>/dev/null
ok "set --json: old and new are typed, secrets redacted" $py - "$TMP/set.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["key"]: x for x in d["changed"]}
ok = (c["general.report_interval"] == {"key": "general.report_interval", "old": 12, "new": 13, "read_back": 13,
                                        "state": "verified"}
      and d["outcome"] == "verified" and d["backup"].endswith(".json")
      and c["general.led"]["old"] is False and c["general.led"]["new"] is True
      and c["lorawan.app_skey"]["new"] == "(redacted)" and d["verified"] is True)
sys.exit(0 if ok else 1)
PY
"$LSWS" --json -d "$cth" set calibration.temperature.value=-0.3 >"$TMP/set.json" 2>/dev/null
ok "set --json: a fixed-point value is a number" $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["changed"][0]["old"] == 0 and d["changed"][0]["new"] == -0.3 else 1)' "$TMP/set.json"
"$LSWS" --json -d "$cth" get calibration.temperature.value report.current >"$TMP/get.json" 2>/dev/null
ok "get --json is typed" $py -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d == {"calibration.temperature.value": -0.3, "report.current": False} else 1)' "$TMP/get.json"
"$LSWS" -d "$cth" time sync --at 1770369441 --tz UTC-04:30 >"$TMP/out" 2>/dev/null
ok "time sync prints ISO 8601 with the offset" grep -q "clock set to 2026-02-06T04:47:21-04:30" "$TMP/out"
"$LSWS" --json -d "$cth" time sync --at 1770369441 --tz UTC+05:30 >"$TMP/time.json" 2>/dev/null
"$LSWS" --json -d "$cth" info >"$TMP/info.json" 2>/dev/null
ok "info and time sync --json: one time format, typed fields" $py - "$TMP/time.json" "$TMP/info.json" <<'PY'
import json, re, sys
t, i = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
ok = (t["time"] == "2026-02-06T14:47:21+05:30" and t["time_zone"] == "UTC+05:30"
      and iso.match(i["time"]) and i["time"].endswith("+05:30") and i["time_zone"] == "UTC+05:30"
      and i["protocol_version"] == 1 and i["default_password"] is True)
sys.exit(0 if ok else 1)
PY

# --- the JSON error object: one, on stdout, whatever failed ---
json_error() { # EXIT CODE -- COMMAND...
    local want_rc=$1 want_code=$2
    shift 3
    "$@" >"$TMP/jout" 2>"$TMP/jerr" </dev/null
    local rc=$?
    ok "$* exits $want_rc (got $rc)" [ "$rc" -eq "$want_rc" ]
    ok "$* prints only its error object ($want_code)" $py - "$TMP/jout" "$want_rc" "$want_code" "$TMP/jerr" <<'PY'
import json, sys
out, rc, code, err = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3], open(sys.argv[4]).read()
e = json.loads(out)["error"]
assert e["code"] == code and e["exit_status"] == rc, e
assert ("lsws: " + e["message"]) in err, (e, err)
PY
}
json_error 3 LSWS_ERR_TIMEOUT -- "$LSWS" --json --timeout 100 -d "$ws&drop=1,2,3" info
json_error 3 LSWS_ERR_NODEV -- "$LSWS" --json -d "$ws&disconnect_after=40" get
json_error 1 LSWS_ERR_DEVICE -- "$LSWS" --json -d "$ws&refuse=2&refuse_status=7" get general.led
json_error 2 LSWS_ERR_UNKNOWN_KEY -- "$LSWS" --json -d "$ws" get lorawan.nope
json_error 2 LSWS_ERR_INVALID -- "$LSWS" --json -d "$ws" set general.led=true general.led=false
json_error 2 LSWS_ERR_INVALID -- "$LSWS" --json -d "$ws" get --password 123456
json_error 2 LSWS_ERR_INVALID -- "$LSWS" --json get general.led
json_error 1 LSWS_ERR_UNSUPPORTED -- "$LSWS" --json -d "$ws" time sync
json_error 2 LSWS_ERR_RANGE -- "$LSWS" --json -d "$cth" set lorawan.channels=0-40
expect 0 "password of ws523" -- env LSWS_NEW_PASSWORD=abc_12 "$LSWS" -d "$ws" password
json_error 4 LSWS_ERR_AUTH -- "$LSWS" --json -d "$ws" get general.led
json_error 4 LSWS_ERR_AUTH -- env LSWS_PASSWORD=abc_13 "$LSWS" --json -d "$ws" get general.led
expect 0 "default_password  no" -- "$LSWS" -d "$ws" info
expect 0 "reset to factory defaults" -- env LSWS_PASSWORD=abc_12 "$LSWS" -d "$ws" reset --yes

# --- keys: exact first (brackets included), then the pattern; suggestions ---
expect 0 "interface.current[1].range  100a" -- "$LSWS" -d "$cth" get 'interface.current[1].range'
ok "get of an exact bracketed key reads that one setting" \
    [ "$("$LSWS" --json -d "$cth" get 'alarm.current[5].max' 2>/dev/null)" = '{
  "alarm.current[5].max": 0
}' ]
ok "get of an escaped bracket pattern reads channels 10-12" \
    [ "$("$LSWS" --json -d "$cth" get 'alarm.current\[1?\].max' 2>/dev/null | grep -c 'alarm.current')" -eq 3 ]
expect 2 "no readable setting 'alarm.current[13].max' on cth01" -- "$LSWS" -d "$cth" get 'alarm.current[13].max'
expect 2 "no readable setting 'general.password' on ws523" -- "$LSWS" -d "$ws" get general.password
expect 2 "no readable setting 'general.report_intervall' on ws523; did you mean 'general.report_interval'?" -- \
    "$LSWS" -d "$ws" get general.report_intervall
expect 2 "unknown setting 'general.report_intervall'; did you mean 'general.report_interval'?" -- \
    "$LSWS" -d "$ws" set general.report_intervall=5
expect 2 "unknown setting 'lorawan.app_kee'; did you mean 'lorawan.app_key'?" -- "$LSWS" -d "$cth" set lorawan.app_kee=00

# --- messages: the device's model, secrets kept, numbers bounded ---
"$LSWS" -d "$cth" set general.report_interval=1441 >"$TMP/out" 2>&1
ok "a CTH01 range error gives the CTH01 range as the CTH01's" grep -q "on cth01, 1441 is out of range (allowed: 1..1440 min)" "$TMP/out"
ok "... and never a WS523 range unnamed" sh -c "! grep -q ': 1441 is out of range (allowed: 1..1080 min)' '$TMP/out'"
expect 2 "general.report_interval: 1200 is out of range (allowed: 1..1080 min)" -- "$LSWS" -d "$ws" set general.report_interval=1200
expect 0 "general.report_interval  10   1200" -- "$LSWS" -d "$cth" set general.report_interval=1200
"$LSWS" -d "$ws" set lorawan.app_key=5572404c696e6b4c6f5261323031382 >"$TMP/out" 2>&1
ok "set does not repeat a near-miss key" sh -c "grep -q 'lorawan.app_key: 31 hex digits' '$TMP/out' && ! grep -q 5572404c '$TMP/out'"
"$LSWS" -d "$ws" set lorawan.app_key=5572404c696e6b4c6f5261323031382z >"$TMP/out" 2>&1
ok "set does not repeat a key with a bad digit" sh -c "grep -q 'character 32 is not a hex digit' '$TMP/out' && ! grep -q 5572404c '$TMP/out'"
"$LSWS" -d "$ws" set 'lorawan.channels=1-99999999999999999999' >"$TMP/out" 2>&1
ok "set bounds a huge channel number" sh -c "grep -q 'channel 99999999... is not within 0-95' '$TMP/out' && ! grep -q 9223372036854775807 '$TMP/out'"
expect 2 "is out of range" -- "$LSWS" -d "$cth" set calibration.temperature.value=123456789012345678901234

finish cli-sim
