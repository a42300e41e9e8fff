#!/bin/bash
# Backup, restore and diff end to end against the in-process simulator,
# both models: backup then restore onto a factory-reset unit gives the
# same `get`; a file of another model or band is refused with nothing
# written; diff's exit status tells same (0) from different (5); partial
# templates (--only, --exclude); --no-secrets; --list and --last;
# read-only settings of a backup skipped; --dry-run writes nothing.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
export XDG_STATE_HOME="$TMP/state" LSWS_BACKUP_DIR="$TMP/backups"
unset LSWS_PASSWORD LSWS_DEVICE LSWS_LEDGER LSWS_SIM_DIR

# writes FILE: the simulated unit's count of applied write transactions.
writes() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("writes", 0))' "$1"; }
# get_all DEV OUT: every setting, secrets shown, as JSON.
get_all() { "$LSWS" -q --json --show-secrets -d "$1" get >"$2" 2>/dev/null; }

for model in ws523 cth01; do
    state="$TMP/$model.json"
    dev="sim:$model?state=$state"
    mapfile -t assignments < <("$PY" "$SRC/tests/e2e/every_setting.py" "$LSWS" "$model")
    expect 0 "written to $model" -- "$LSWS" -q -d "$dev" set "${assignments[@]}"
    get_all "$dev" "$TMP/before.json"

    # backup: the whole configuration, a header, mode 0600.
    expect 0 "secrets included, saved to $TMP/$model-backup.json (mode 0600)" -- "$LSWS" -q -d "$dev" backup -o "$TMP/$model-backup.json"
    ok "$model backup is mode 0600" [ "$(stat -c %a "$TMP/$model-backup.json")" = 600 ]
    ok "$model backup has its header" "$PY" - "$TMP/$model-backup.json" "$model" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
h = b["backup"]
assert b["lsws_template"] == 1 and b["model"] == sys.argv[2], b
assert h["format"] == 1 and h["model"] == sys.argv[2] and h["band"] == "EU868", h
assert len(h["sn"]) == 16 and len(h["dev_eui"]) == 16 and h["firmware_version"].startswith("v"), h
assert h["taken"].endswith("+00:00") and h["secrets"] is True and h["lsws_version"], h
assert "lorawan.work_mode" in b["settings"], "read-only settings are part of the whole configuration"
assert b["settings"]["lorawan.app_key"] != "(redacted)"
PY
    expect 0 "ok ($model," -- "$LSWS" template lint "$TMP/$model-backup.json"
    expect 0 "same: " -- "$LSWS" -q -d "$dev" diff "$TMP/$model-backup.json"

    # Reset, then restore: the same settings as before.
    expect 0 "reset to factory defaults" -- "$LSWS" -q -d "$dev" reset --yes
    expect 5 "settings differ" -- "$LSWS" -q -d "$dev" diff "$TMP/$model-backup.json"
    w=$(writes "$state")
    expect 0 "would be written to $model" -- "$LSWS" -q -d "$dev" restore --dry-run "$TMP/$model-backup.json"
    ok "$model --dry-run writes nothing" [ "$(writes "$state")" = "$w" ]
    expect 0 "lorawan.work_mode is read-only: skipped" -- "$LSWS" -d "$dev" restore "$TMP/$model-backup.json"
    ok "$model restore is one write transaction" [ "$(writes "$state")" = $((w + 1)) ]
    get_all "$dev" "$TMP/after.json"
    ok "$model backup + reset + restore gives the same get output" cmp -s "$TMP/before.json" "$TMP/after.json"
    expect 0 "same: " -- "$LSWS" -q -d "$dev" diff "$TMP/$model-backup.json"
    expect 0 "nothing to change" -- "$LSWS" -q -d "$dev" restore "$TMP/$model-backup.json"

    # --no-secrets: the keys are left out, and restoring keeps the unit's.
    expect 0 "secrets left out" -- "$LSWS" -q -d "$dev" backup -o "$TMP/$model-nosecrets.json" --no-secrets
    ok "$model --no-secrets backup holds no key" sh -c "! grep -q '_key\\|skey\\|password' '$TMP/$model-nosecrets.json'"
    expect 0 "the unit keeps its keys" -- "$LSWS" -d "$dev" restore "$TMP/$model-nosecrets.json"

    # --list and --last: the automatic backup before the restore is the newest.
    expect 0 "$model" -- "$LSWS" backup --list
    "$LSWS" -q --json backup --list >"$TMP/list.json"
    ok "$model backup --list is newest first, with SN and time" "$PY" - "$TMP/list.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert rows and all(r["sn"] and r["taken"] and r["file"] for r in rows), rows
assert [r["taken"] for r in rows] == sorted((r["taken"] for r in rows), reverse=True)
PY
    expect 0 "reset to factory defaults" -- "$LSWS" -q -d "$dev" reset --yes
    expect 0 "restoring $TMP/backups/$model-" -- "$LSWS" -d "$dev" restore --last
    get_all "$dev" "$TMP/after.json"
    ok "$model restore --last undoes the reset" cmp -s "$TMP/before.json" "$TMP/after.json"
done

# Another model: refused, naming both, nothing written.
w=$(writes "$TMP/cth01.json")
expect 1 "the file is for a ws523, but 'sim:cth01?state=$TMP/cth01.json' is a cth01" -- "$LSWS" -q -d "sim:cth01?state=$TMP/cth01.json" restore "$TMP/ws523-backup.json"
ok "wrong model: nothing written" [ "$(writes "$TMP/cth01.json")" = "$w" ]
expect 1 "is a ws523 file, but" -- "$LSWS" -q -d "sim:cth01?state=$TMP/cth01.json" diff "$TMP/ws523-backup.json"
# Another band: a US915 unit refuses an EU868 backup, and a template that names EU868.
us="sim:ws523?state=$TMP/us.json&band=US915&sn=0123456789abcdef"
"$LSWS" -q -d "$us" info >/dev/null
w=$(writes "$TMP/us.json")
expect 1 "the file is for EU868, but 'sim:ws523?state=$TMP/us.json&band=US915&sn=0123456789abcdef' is on US915" -- "$LSWS" -q -d "$us" restore "$TMP/ws523-backup.json"
printf '{"lsws_template": 1, "model": "ws523", "settings": {"lorawan.band": "EU868", "general.led": false}}\n' >"$TMP/eu.json"
expect 1 "is on US915" -- "$LSWS" -q -d "$us" restore "$TMP/eu.json"
ok "wrong band: nothing written" [ "$(writes "$TMP/us.json")" = "$w" ]
expect 0 "1 setting written" -- "$LSWS" -q -d "$us" restore --only general.led "$TMP/eu.json"

# Partial templates: --only and --exclude select what is applied.
dev="sim:ws523?state=$TMP/p.json"
"$LSWS" -q -d "$dev" info >/dev/null
cat >"$TMP/part.json" <<'E'
{"lsws_template": 1, "model": "ws523",
 "settings": {"general.report_interval": 33, "general.led": false,
              "lorawan.app_key": "00112233445566778899aabbccddeeff", "lorawan.nwk_skey": "ffeeddccbbaa99887766554433221100",
              "lorawan.app_port": 77}}
E
expect 0 "2 settings written" -- "$LSWS" -q -d "$dev" restore --only 'general.*' "$TMP/part.json"
expect 0 '"general.report_interval": 33' -- "$LSWS" -q --json -d "$dev" get general.report_interval
expect 0 '"lorawan.app_port": 85' -- "$LSWS" -q --json -d "$dev" get lorawan.app_port
expect 0 "1 setting written" -- "$LSWS" -q -d "$dev" restore --exclude 'lorawan.*_key' --exclude 'lorawan.*skey' --exclude 'general.*' "$TMP/part.json"
expect 0 '"lorawan.app_port": 77' -- "$LSWS" -q --json -d "$dev" get lorawan.app_port
expect 0 "lorawan.app_key  24e1241130962038" -- "$LSWS" -q --show-secrets -d "$dev" get lorawan.app_key
expect 2 "--exclude 'lorawan.*_kye' matches no setting of ws523" -- "$LSWS" -q -d "$dev" restore --exclude 'lorawan.*_kye' "$TMP/part.json"
expect 2 "--only 'general.reprt_interval' matches no setting of ws523; did you mean 'general.report_interval'?" -- "$LSWS" -q -d "$dev" restore --only general.reprt_interval "$TMP/part.json"
expect 2 "leave none of the file's 5 settings" -- "$LSWS" -q -d "$dev" restore --only 'lorawan.rx2*' --exclude 'general.*' "$TMP/part.json"
expect 0 "same: 2 settings compared" -- "$LSWS" -q -d "$dev" diff --only 'general.*' "$TMP/part.json"

# diff of two files, offline: exit 0 same, 5 different, JSON says which keys.
cp "$TMP/part.json" "$TMP/part2.json"
expect 0 "same: 5 settings compared" -- "$LSWS" diff "$TMP/part.json" "$TMP/part2.json"
sed 's/"general.led": false/"general.led": true/' "$TMP/part.json" >"$TMP/part3.json"
expect 5 "1 of 5 settings differ" -- "$LSWS" diff "$TMP/part.json" "$TMP/part3.json"
"$LSWS" --json diff "$TMP/part.json" "$TMP/part3.json" >"$TMP/d.json"
ok "diff --json names the key and both values" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["same"] is False and d["compared"] == 5 and d["different"] == 1, d
[x] = d["differences"]
assert x == {"key": "general.led", "a": False, "b": True, "state": "different"}, x' "$TMP/d.json"
expect 5 "(redacted)" -- "$LSWS" diff "$TMP/part.json" "$TMP/eu.json"
expect 1 "cannot compare" -- "$LSWS" diff "$TMP/part.json" "$TMP/cth01-backup.json"
expect 0 "same" -- "$LSWS" diff --exclude 'general.led' "$TMP/part.json" "$TMP/part3.json"

# Bad input: line and column, nothing written, nothing sent.
printf '{"lsws_template": 1, "model": "ws523",\n "settings": {"general.led": tru}}\n' >"$TMP/bad.json"
w=$(writes "$TMP/p.json")
expect 1 "bad.json:2:32: invalid token" -- "$LSWS" -q -d "$dev" restore "$TMP/bad.json"
ok "bad file: nothing sent to the unit" sh -c "! '$LSWS' -v -d '$dev' restore '$TMP/bad.json' 2>&1 | grep -q seq"
printf '{"lsws_template": 1, "model": "ws523", "settings": {"lorawan.app_key": "${APP_KEY}"}}\n' >"$TMP/ph.json"
expect 1 "restore fills only \${SN} and \${DEV_EUI}" -- "$LSWS" -q -d "$dev" restore "$TMP/ph.json"
ok "bad files: nothing written" [ "$(writes "$TMP/p.json")" = "$w" ]
expect 2 "restore needs a FILE or --last" -- "$LSWS" -q -d "$dev" restore
expect 2 "backup needs -o FILE" -- "$LSWS" -q -d "$dev" backup
expect 2 "--list takes no other options" -- "$LSWS" backup --list -o x.json

finish fleet-backup
