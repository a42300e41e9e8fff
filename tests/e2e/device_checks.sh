# The device commands against one device (sourced by test_device_*.sh):
# device_checks MODEL URI runs get, set (one setting, every setting),
# verify, backups, bad input, passwords, reset and reboot. Needs lib.sh.

device_checks() {
    local model=$1 dev=$2
    expect 0 "model             $model" -- "$LSWS" -d "$dev" info
    expect 0 "lorawan.app_eui" -- "$LSWS" -d "$dev" get
    expect 0 "factory default password" -- "$LSWS" -d "$dev" get general.report_interval
    expect 0 '"lorawan.app_key": "(redacted)"' -- "$LSWS" --json -d "$dev" get 'lorawan.app_*'
    expect 0 "lorawan.app_skey  5572404c" -- "$LSWS" -d "$dev" --show-secrets get lorawan.app_skey
    expect 2 "no readable setting 'lorawan.nope'" -- "$LSWS" -d "$dev" get lorawan.nope

    # A change is backed up, written, verified, and survives a new process.
    expect 0 "general.report_interval  " -- "$LSWS" -d "$dev" set general.report_interval=7
    expect 0 "1 setting written to $model" -- "$LSWS" -d "$dev" set lorawan.app_port=86
    expect 0 '"general.report_interval": 7' -- "$LSWS" --json -d "$dev" get general.report_interval
    ok "$model backups are mode 0600" sh -c "[ \"\$(stat -c %a '$TMP'/backups/$model-*.json | sort -u)\" = 600 ]"
    backup=$(ls -t "$TMP"/backups/$model-*.json | head -1)
    expect 0 "ok ($model," -- "$LSWS" template lint "$backup"
    expect 0 "nothing to change" -- "$LSWS" -d "$dev" set lorawan.app_port=86

    # Bad input: nothing is written; a value no model accepts is not even sent.
    ok "$model out-of-range value sends nothing" sh -c "! '$LSWS' -v -d '$dev' set general.report_interval=0 2>&1 | grep -q seq"
    expect 2 "out of range" -- "$LSWS" -d "$dev" set general.report_interval=0
    expect 2 "unknown setting 'general.colour'" -- "$LSWS" -d "$dev" set general.colour=red
    expect 2 "lorawan.work_mode is read-only" -- "$LSWS" -d "$dev" set lorawan.work_mode=class_a
    expect 2 "use 'lsws password'" -- "$LSWS" -d "$dev" set general.password=abcdef
    expect 2 "channel 40 does not exist in EU868 (channels 0-15) (nothing was written)" -- "$LSWS" -d "$dev" set lorawan.channels=0-40
    expect 0 '"general.report_interval": 7' -- "$LSWS" --json -d "$dev" get general.report_interval

    # Every writable setting, written at once, then read back.
    mapfile -t assignments < <(/usr/bin/python3 "$SRC/tests/e2e/every_setting.py" "$LSWS" "$model")
    expect 0 "written to $model" -- "$LSWS" -d "$dev" set "${assignments[@]}"
    "$LSWS" --json --show-secrets -d "$dev" get >"$TMP/all.json" 2>/dev/null
    ok "$model every setting reads back as written" /usr/bin/python3 - "$TMP/all.json" "${assignments[@]}" <<'PY'
import json, sys
got = json.load(open(sys.argv[1]))
bad = []
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    g = got.get(k)
    s = ("true" if g else "false") if isinstance(g, bool) else str(g)
    if isinstance(g, float):
        s = "%g" % g
        v = "%g" % float(v)
    if s.lower() != v.lower():
        bad.append(f"{k}: wrote {v}, read {g}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

    # Passwords: change, wrong, right; never on the command line.
    expect 0 "password of $model" -- env LSWS_NEW_PASSWORD=abc_12 "$LSWS" -d "$dev" password
    expect 4 "needs its password" -- "$LSWS" -d "$dev" get general.report_interval
    expect 4 "wrong password" -- env LSWS_PASSWORD=abc_13 "$LSWS" -d "$dev" get general.report_interval
    expect 0 "general.report_interval" -- env LSWS_PASSWORD=abc_12 "$LSWS" -d "$dev" get general.report_interval
    printf 'abc_12\n' >"$TMP/pw"; chmod 600 "$TMP/pw"
    expect 0 "general.report_interval" -- "$LSWS" -d "$dev" --password-file "$TMP/pw" get general.report_interval
    expect 2 "6 characters" -- env LSWS_NEW_PASSWORD=abc "$LSWS" -d "$dev" password

    # Reset: asks unless --yes; restores defaults and the password.
    expect 2 "reset needs --yes" -- env LSWS_PASSWORD=abc_12 "$LSWS" -d "$dev" reset
    expect 0 "reset to factory defaults" -- env LSWS_PASSWORD=abc_12 "$LSWS" -d "$dev" reset --yes
    expect 0 "default_password  yes" -- "$LSWS" -d "$dev" info
    expect 0 '"lorawan.app_port": 85' -- "$LSWS" --json -d "$dev" get lorawan.app_port
    expect 0 "is rebooting" -- "$LSWS" -d "$dev" reboot
}
