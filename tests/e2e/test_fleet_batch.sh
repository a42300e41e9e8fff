#!/bin/bash
# Batch provisioning end to end against the in-process simulator: CSV
# manifests and placeholders (and every kind of bad manifest, refused with
# line and column before anything is written), generated keys, a batch of
# 50 units with one failing mid-write (reported, the batch continues, the
# ledger says exactly what happened), resuming, --all over a fleet
# directory, and the network-server exports parsed back field by field.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups" XDG_DATA_HOME="$TMP/data"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LSWS_SIM_DIR LSWS_OPERATOR LSWS_STATION
LEDGER="$TMP/ledger.sqlite"

writes() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("writes", 0))' "$1"; }
# total_writes DIR: writes of every unit in DIR.
total_writes() { local n=0 f; for f in "$1"/*.json; do n=$((n + $(writes "$f"))); done; echo $n; }
# make_units DIR COUNT MODEL PREFIX [BAND]: simulated units DIR/uNN.json with
# SN PREFIX (14 hex digits) and NN, so each group has SNs of its own.
make_units() {
    mkdir -p "$1"
    for i in $(seq 1 "$2"); do
        i=$(printf %02d "$i")
        "$LSWS" -q -d "sim:$3?state=$1/u$i.json&sn=$4$i${5:+&band=$5}" info >/dev/null || echo "FAIL: cannot make unit $i"
    done
}
uris() { for f in "$1"/u*.json; do echo "sim:$2?state=$f"; done; }
sql() { "$PY" -c 'import sqlite3,sys; [print("|".join(map(str, r))) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]' "$LEDGER" "$1"; }

# ---- manifests and placeholders --------------------------------------------------
make_units "$TMP/m" 4 ws523 00000000000000
mapfile -t M < <(uris "$TMP/m" ws523)
cat >"$TMP/tpl.json" <<'E'
{"lsws_template": 1, "model": "ws523", "comment": "a fleet template",
 "settings": {"general.report_interval": 900, "lorawan.app_key": "${APP_KEY}", "lorawan.app_eui": "${JOIN_EUI}"}}
E
key() { printf '%032x' "$1"; }
{
    echo "sn,dev_eui,app_key,join_eui"
    echo "0000000000000001,,$(key 1),70b3d57ed0000001"
    echo "0000000000000002,,$(key 2),70b3d57ed0000002"
    echo ",24E1240000000003,$(key 3),70b3d57ed0000003"
    echo "0000000000000004,24e1240000000004,$(key 4),70b3d57ed0000004"
} >"$TMP/m.csv"
# Placeholders: their syntax, and a source for each one, are checked first.
tpl_with() { # FILE EXTRA-SETTING
    printf '{"lsws_template": 1, "model": "ws523", "settings": {"general.report_interval": 900, "lorawan.app_key": "${APP_KEY}", "lorawan.app_eui": "${JOIN_EUI}"%s}}\n' "$2" >"$1"
}
tpl_with "$TMP/t1.json" ', "lorawan.dev_addr": "ab${1X}"'
expect 1 "t1.json:1:152: lorawan.dev_addr: bad placeholder at character 5" -- "$LSWS" template lint "$TMP/t1.json"
tpl_with "$TMP/t1.json" ', "lorawan.dev_addr": "${DEV}"'
expect 2 "placeholder \${DEV} of lorawan.dev_addr has no value: add a manifest column 'DEV' or --generate dev" -- \
    "$LSWS" -q batch "$TMP/t1.json" --manifest "$TMP/m.csv" --ledger "$LEDGER" "${M[@]}"
expect 0 "ok (ws523, 3 settings, 2 placeholders)" -- "$LSWS" template lint "$TMP/tpl.json"
expect 1 "restore fills only" -- "$LSWS" -q -d "${M[0]}" restore "$TMP/tpl.json"
expect 1 "holds a placeholder" -- "$LSWS" encode --model ws523 --base "$TMP/tpl.json" general.led=true

# Bad manifests: line and column, nothing written to any unit.
bad_manifest() { # WANT-TEXT CSV-TEXT
    printf '%b' "$2" >"$TMP/bad.csv"
    expect 1 "$1" -- "$LSWS" -q batch "$TMP/tpl.json" --manifest "$TMP/bad.csv" --ledger "$LEDGER" "${M[@]}"
}
bad_manifest 'bad.csv:2:20: ' 'sn,app_key,join_eui\n0000000000000001,ab"cd,70b3d57ed0000001\n'
bad_manifest 'bad.csv:3:53: this row has 4 fields, the header 3' "sn,app_key,join_eui\n0000000000000001,$(key 1),1\n0000000000000002,$(key 2),2,3\n"
bad_manifest 'bad.csv:3:1: serial number 0000000000000001 is on line 2 already' "sn,app_key,join_eui\n0000000000000001,$(key 1),1\n0000000000000001,$(key 2),2\n"
bad_manifest "bad.csv:1:1: no 'sn' or 'dev_eui' column" "serial,app_key,join_eui\n1,2,3\n"
bad_manifest "bad.csv:2:1: serial number '00000001' is not 16 hex digits" "sn,app_key,join_eui\n00000001,$(key 1),1\n"
bad_manifest 'bad.csv:3:18: APP_KEY is empty in this row' "sn,app_key,join_eui\n0000000000000001,$(key 1),1\n0000000000000002,,2\n"
bad_manifest "bad.csv:1:4: column name 'APP KEY' is not a name" 'sn,app key,join_eui\n1,2,3\n'
bad_manifest 'bad.csv:2:18: this quoted field is not closed before the file ends' "sn,app_key,join_eui\n0000000000000001,\"$(key 1),1\n"
# A row that matches two units (SN of unit 1, DevEUI of unit 2) and a unit with no row.
bad_manifest 'the manifest row on line 2 matches two units' "sn,dev_eui,app_key,join_eui\n0000000000000001,24e1240000000002,$(key 1),70b3d57ed0000001\n0000000000000003,,$(key 3),70b3d57ed0000003\n0000000000000004,,$(key 4),70b3d57ed0000004\n"
ok "a row matching two units is refused before anything is written" grep -q "nothing was written" "$TMP/out"
bad_manifest 'no manifest row for the unit with SN 0000000000000004' "sn,app_key,join_eui\n0000000000000001,$(key 1),1\n0000000000000002,$(key 2),2\n0000000000000003,$(key 3),3\n"
expect 2 "\${APP_KEY} (lorawan.app_key) would come from both the manifest and --generate: choose one" -- "$LSWS" -q batch "$TMP/tpl.json" --manifest "$TMP/m.csv" --generate app_key --ledger "$LEDGER" "${M[@]}"
printf '{"lsws_template": 1, "model": "ws523", "settings": {"lorawan.nwk_skey": "00112233445566778899aabbccddeeff"}}\n' >"$TMP/t2.json"
expect 2 "--generate nwk_skey: the template gives lorawan.nwk_skey already" -- "$LSWS" -q batch "$TMP/t2.json" --generate nwk_skey --ledger "$LEDGER" "${M[@]}"
expect 2 "--generate frob: the template has no \${FROB} and ws523 has no 16-byte key 'frob'" -- "$LSWS" -q batch "$TMP/tpl.json" --manifest "$TMP/m.csv" --generate frob --ledger "$LEDGER" "${M[@]}"
ok "bad manifests and options wrote nothing" [ "$(total_writes "$TMP/m")" = 0 ]
ok "bad manifests and options recorded nothing" [ "$(sql 'SELECT COUNT(*) FROM records')" = 0 ]

# A good manifest: each unit gets its row's values (by SN, or by DevEUI in any case).
expect 0 "4 units: 4 ok, 0 skipped, 0 held elsewhere, 0 failed" -- "$LSWS" -q batch "$TMP/tpl.json" --manifest "$TMP/m.csv" --ledger "$LEDGER" "${M[@]}"
for i in 1 2 3 4; do
    "$LSWS" -q --json --show-secrets -d "${M[$((i - 1))]}" get lorawan.app_key lorawan.app_eui general.report_interval >"$TMP/g.json"
    ok "manifest values reach unit $i" "$PY" -c '
import json, sys
g = json.load(open(sys.argv[1])); i = int(sys.argv[2])
assert g == {"lorawan.app_eui": "70b3d57ed000000%d" % i, "lorawan.app_key": "%032x" % i, "general.report_interval": 900}, g' "$TMP/g.json" "$i"
done
expect 0 "provisioned with this template already" -- "$LSWS" -q batch "$TMP/tpl.json" --manifest "$TMP/m.csv" --ledger "$LEDGER" "${M[@]}"
ok "a second run writes nothing" [ "$(total_writes "$TMP/m")" = 4 ]
# A unit given twice in one run is flagged, not written twice.
expect 0 "again    ws523 0000000000000001  this run provisioned it already" -- "$LSWS" -q batch "$TMP/tpl.json" --manifest "$TMP/m.csv" --ledger "$LEDGER" --force "${M[0]}" "${M[0]}"
ok "--force rewrites once; the repeat is flagged" [ "$(total_writes "$TMP/m")" = 4 ]
# A unit of another model in the batch fails; the others go on.
"$LSWS" -q -d "sim:cth01?state=$TMP/c1.json&sn=00000000000000c1" info >/dev/null
expect 6 "cth01 00000000000000c1  the file is for a ws523" -- "$LSWS" -q batch "$TMP/tpl.json" --generate app_key --ledger "$LEDGER" --only 'general.*' "sim:cth01?state=$TMP/c1.json" "${M[1]}"
ok "a failed unit exits 6" grep -q "1 of 2 units failed" "$TMP/out"

# ---- 50 units, one failing mid-write ---------------------------------------------------
make_units "$TMP/f" 50 ws523 0000000000000f
cat >"$TMP/fleet.json" <<'E'
{"lsws_template": 1, "model": "ws523",
 "settings": {"general.report_interval": 720, "lorawan.app_key": "${APP_KEY}", "lorawan.app_port": 90,
              "general.led": false, "lorawan.nwk_skey": "00112233445566778899aabbccddeeff",
              "lorawan.app_skey": "00112233445566778899aabbccddeeff", "lorawan.app_eui": "0011223344556677"}}
E
# Unit 17 breaks the link in the middle of its write: with 64-byte messages
# the write takes two frames, and the link closes on the answer to the
# first (the byte count from a twin unit, as -v shows it).
"$LSWS" -q -d "sim:ws523?state=$TMP/twin.json&sn=0000000000000099" info >/dev/null
"$LSWS" -v batch "$TMP/fleet.json" --generate app_key --ledger "$TMP/twin.sqlite" "sim:ws523?state=$TMP/twin.json&max_msg=64" >/dev/null 2>"$TMP/twin.err"
cut=$(awk '/: write / { print n + 2; exit } / in, / { for (i = 1; i < NF; i++) if ($(i + 1) == "in,") n += $i }' "$TMP/twin.err")
ok "the twin's write takes two frames" [ "$(grep -c ': write ' "$TMP/twin.err")" -ge 2 ]
mapfile -t F < <(uris "$TMP/f" ws523)
F[16]="${F[16]}&max_msg=64&disconnect_after=$cut"
"$LSWS" --json batch "$TMP/fleet.json" --generate app_key --ledger "$LEDGER" --station line-1 --operator tester "${F[@]}" >"$TMP/run.jsonl" 2>"$TMP/run.err"
ok "50 units, one failed: exit 6" [ $? = 6 ]
ok "the batch reports each unit and a summary (JSON Lines)" "$PY" - "$TMP/run.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
units, summary = lines[:-2], lines[-2]
assert lines[-1]["error"]["exit_status"] == 6, lines[-1]
assert summary == {"summary": {"units": 50, "ok": 49, "skipped": 0, "again": 0, "held": 0, "failed": 1, "interrupted": False,
                               "ledger": summary["summary"]["ledger"]}}, summary
assert len(units) == 50
bad = [u for u in units if u["status"] != "ok"]
assert len(bad) == 1 and bad[0]["sn"] == "0000000000000f17" and bad[0]["outcome"] == "unchanged", bad
assert "link closed" in bad[0]["error"], bad[0]
assert all(u["outcome"] == "verified" and len(u["changed"]) == 7 and u["record"] for u in units if u["status"] == "ok")
PY
ok "unit f17 holds its old settings" sh -c "'$LSWS' -q --json -d '${F[16]%%&*}' get general.report_interval | grep -q '\"general.report_interval\": 1200'"
ok "each unit written once, unit f17 never" [ "$(total_writes "$TMP/f")" = 49 ]
ok "the ledger says what happened: 49 ok, 1 failed (unchanged, link closed)" [ \
    "$(sql "SELECT state, outcome, COUNT(*) FROM records WHERE sn LIKE '0000000000000f%' GROUP BY state, outcome ORDER BY state")" \
    = $'1|verified|49\n2|unchanged|1' ]
ok "the failed record names the error and the station" [ "$(sql "SELECT station, operator, error LIKE '%link closed%', settings IS NOT NULL FROM records WHERE sn='0000000000000f17'")" = "line-1|tester|1|1" ]
# The run again, without the fault: 49 skipped, unit f17 provisioned.
"$LSWS" -q batch "$TMP/fleet.json" --generate app_key --ledger "$LEDGER" "${F[@]%%&max_msg*}" >"$TMP/out" 2>&1
ok "the rerun: exit 0" [ $? = 0 ]
ok "the rerun: 1 ok, 49 skipped" grep -q "50 units: 1 ok, 49 skipped, 0 held elsewhere, 0 failed" "$TMP/out"
ok "every unit written once" [ "$(total_writes "$TMP/f")" = 50 ]

# ---- --all over a fleet directory; US915 units on sub-band 2 -------------------------
make_units "$TMP/us" 3 ws523 000000000000a0 US915
printf '{"lsws_template": 1, "model": "ws523", "settings": {"lorawan.band": "US915", "lorawan.channels": "8-15,65", "general.led": false}}\n' >"$TMP/us.json"
expect 0 "3 units: 3 ok" -- env LSWS_SIM_DIR="$TMP/us" "$LSWS" -q batch "$TMP/us.json" --all --generate app_key --ledger "$LEDGER"
expect 3 "--all found no units" -- env LSWS_SIM_DIR="$TMP/empty-dir-that-is-missing" "$LSWS" -q batch "$TMP/us.json" --all --ledger "$LEDGER"

# ---- exports, parsed back and checked field by field -----------------------------------
for f in tts-csv tts-json chirpstack csv; do
    expect 0 "exported as $f" -- "$LSWS" -q ledger export --ledger "$LEDGER" --format "$f" -o "$TMP/export.$f"
    ok "$f export is mode 0600" [ "$(stat -c %a "$TMP/export.$f")" = 600 ]
done
# What the units hold now, read back from each of them.
for f in "$TMP"/m/u*.json "$TMP"/f/u*.json "$TMP"/us/u*.json; do
    dev="sim:ws523?state=$f"
    "$LSWS" -q --json --show-secrets -d "$dev" get lorawan.app_key lorawan.app_eui lorawan.band lorawan.version |
        "$PY" -c 'import json,sys; g=json.load(sys.stdin); i=json.loads(sys.argv[1]); g["sn"]=i["sn"]; g["dev_eui"]=i["dev_eui"]; print(json.dumps(g))' \
            "$("$LSWS" -q --json -d "$dev" info)"
done >"$TMP/units.jsonl"
ok "every export holds every unit, field by field as the units hold them" "$PY" - "$TMP" <<'PY'
import csv, json, sys
d = sys.argv[1]
units = {u["dev_eui"]: u for u in map(json.loads, open(d + "/units.jsonl"))}
assert len(units) == 57, len(units)
plan = {"EU868": "EU_863_870", "US915": "US_902_928_FSB_2"}
# The Things Stack CSV: semicolons, a header row.
rows = list(csv.DictReader(open(d + "/export.tts-csv", newline=""), delimiter=";"))
assert len(rows) == 57
for r in rows:
    u = units[r["dev_eui"]]
    assert r["app_key"] == u["lorawan.app_key"] and r["join_eui"] == u["lorawan.app_eui"], (r, u)
    assert r["frequency_plan_id"] == plan[u["lorawan.band"]], r
    assert (r["lorawan_version"], r["lorawan_phy_version"]) == ("MAC_V1_0_3", "PHY_V1_0_3_REV_A"), r
    assert (r["brand_id"], r["model_id"]) == ("milesight-iot", "ws52x") and r["id"] == "ws523-" + u["sn"], r
# The Things Stack JSON: a stream of end-device objects.
text, dec, objs, i = open(d + "/export.tts-json").read(), json.JSONDecoder(), [], 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    o, i = dec.raw_decode(text, i)
    objs.append(o)
assert len(objs) == 57
for o in objs:
    u = units[o["ids"]["dev_eui"]]
    assert o["ids"]["join_eui"] == u["lorawan.app_eui"] and o["root_keys"]["app_key"]["key"] == u["lorawan.app_key"], o
    assert o["frequency_plan_id"] == plan[u["lorawan.band"]] and o["supports_join"] is True, o
    assert o["lorawan_version"] == "MAC_V1_0_3" and o["version_ids"] == {"brand_id": "milesight-iot", "model_id": "ws52x"}, o
# ChirpStack v4: LoRaWAN 1.0.x, so the AppKey is nwk_key.
cs = json.load(open(d + "/export.chirpstack"))
assert len(cs) == 57
for c in cs:
    u = units[c["device"]["dev_eui"]]
    assert c["device_keys"] == {"dev_eui": c["device"]["dev_eui"], "nwk_key": u["lorawan.app_key"]}, c
    assert c["device"]["join_eui"] == u["lorawan.app_eui"] and c["device"]["tags"]["sn"] == u["sn"], c
# Plain CSV.
rows = list(csv.DictReader(open(d + "/export.csv", newline="")))
assert len(rows) == 57
for r in rows:
    u = units[r["dev_eui"]]
    assert (r["sn"], r["app_key"], r["join_eui"], r["band"]) == (u["sn"], u["lorawan.app_key"], u["lorawan.app_eui"], u["lorawan.band"]), r
PY
# A band whose channels are no one sub-band: refused, unless a plan is given.
make_units "$TMP/all" 1 ws523 000000000000b0 US915
expect 0 "1 unit: 1 ok" -- env LSWS_SIM_DIR="$TMP/all" "$LSWS" -q batch "$TMP/tpl.json" --all --only 'general.*' --ledger "$LEDGER"
expect 1 "are not one sub-band of 8, so no frequency plan follows from them: give --frequency-plan" -- "$LSWS" -q ledger export --ledger "$LEDGER" --format tts-csv -o "$TMP/x.csv"
ok "a refused export writes no file" [ ! -e "$TMP/x.csv" ]
expect 0 "58 units exported" -- "$LSWS" -q ledger export --ledger "$LEDGER" --format tts-csv -o "$TMP/x.csv" --frequency-plan US_902_928_FSB_1
expect 2 "unknown export format 'ttn'" -- "$LSWS" ledger export --ledger "$LEDGER" --format ttn -o "$TMP/x.csv"

# ---- ledger list and show ----------------------------------------------------------------
expect 0 "0000000000000f17" -- "$LSWS" ledger list --ledger "$LEDGER" 0000000000000f17
"$LSWS" --json ledger list --ledger "$LEDGER" 0000000000000f17 >"$TMP/l.json"
ok "ledger list --json: unit f17 failed then ok" "$PY" -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["state"] for r in rows] == ["failed", "ok"], rows' "$TMP/l.json"
expect 0 "lorawan.app_key          (redacted)" -- "$LSWS" ledger show --ledger "$LEDGER" 0000000000000f17
"$LSWS" --json --show-secrets ledger show --ledger "$LEDGER" 0000000000000001 >"$TMP/s.json"
ok "ledger show --show-secrets: the settings written, key included" "$PY" -c '
import json, sys
recs = json.load(open(sys.argv[1]))
assert any(r["state"] == "ok" and {"key": "lorawan.app_key", "value": "%032x" % 1} in r["settings"] for r in recs), recs' "$TMP/s.json"
expect 2 "neither a record ID nor a serial number" -- "$LSWS" ledger show --ledger "$LEDGER" xyz
expect 1 "no record 99999" -- "$LSWS" ledger show --ledger "$LEDGER" 99999
ok "the ledger is mode 0600" [ "$(stat -c %a "$LEDGER")" = 600 ]

finish fleet-batch
