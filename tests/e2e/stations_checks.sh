# Stations sharing one ledger and one pool of identities, the suite both
# ledger backends run (sourced by test_fleet_pg.sh and
# test_fleet_pool_sqlite.sh after lib.sh):
#
#   STATIONS lsws batch processes at once over UNITS simulated units, each
#   station taking the units in its own order (station k starts at unit
#   (k-1)*UNITS/STATIONS, as lines fed from one stock would meet), every
#   identity (AppKey, JoinEUI) from one pool file of UNITS rows. The last
#   station's first unit answers its write 5 s late: the station is killed
#   with SIGKILL once the unit applied the write, holding the claim. With
#   several stations another one takes the claim over when it comes to the
#   unit; with one, a restarted station does.
#
# Then: every unit written exactly once (the simulator counts the write
# transactions it applied, in the state file), one ok record per unit and
# none other, every identity of the pool used by exactly one unit, and every
# unit reads back the AppKey the ledger exports for it.
#
# Needs: LEDGER_URI, STATIONS, UNITS, and ledger_open_claims (a function
# printing the number of open records) from the caller.

PY=/usr/bin/python3
writes() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("writes", 0))' "$1"; }

stations_make_units() {
    mkdir -p "$TMP/f"
    UNIT_URIS=()
    for i in $(seq 0 $((UNITS - 1))); do
        n=$(printf %03d "$i")
        "$LSWS" -q -d "sim:ws523?state=$TMP/f/u$n.json&sn=$(printf 00000000000a%04x "$i")" info >/dev/null ||
            echo "FAIL: cannot make unit $n"
        UNIT_URIS+=("sim:ws523?state=$TMP/f/u$n.json")
    done
    {
        echo "app_key,join_eui"
        for i in $(seq 1 "$UNITS"); do printf '%032x,70b3d57ed00000%02x\n' $((0x5eed0000 + i)) $((i % 4)); done
    } >"$TMP/pool.csv"
    cat >"$TMP/tpl.json" <<'E'
{"lsws_template": 1, "model": "ws523",
 "settings": {"general.report_interval": 720, "lorawan.app_key": "${APP_KEY}", "lorawan.app_eui": "${JOIN_EUI}"}}
E
}

# station_uris K [SLOW]: the units in station K's order; SLOW: its first unit
# answers the write (frame 4: identify, auth, read, write) 5 s late.
station_uris() {
    local k=$1 slow=${2:-} start i j
    start=$(((k - 1) * UNITS / STATIONS))
    for j in $(seq 0 $((UNITS - 1))); do
        i=$(((start + j) % UNITS))
        if [ "$j" = 0 ] && [ -n "$slow" ]; then
            echo "${UNIT_URIS[$i]}&delay=4&delay_ms=5000"
        else
            echo "${UNIT_URIS[$i]}"
        fi
    done
}

# station NAME OUT [OPTION...]: lsws batch over "${URIS[@]}". Run in the
# background it replaces its subshell (exec), so that $! is lsws itself.
station() {
    local name=$1 out=$2
    shift 2
    exec "$LSWS" -q --json "$@" batch "$TMP/tpl.json" --pool "$TMP/pool.csv" --ledger "$LEDGER_URI" --station "$name" "${URIS[@]}" \
        >"$out.jsonl" 2>"$out.err"
}

stations_run() {
    stations_make_units
    local slow_index=$(((STATIONS - 1) * UNITS / STATIONS)) k pids=() rcs=""
    SLOW_STATE="$TMP/f/u$(printf %03d "$slow_index").json"
    SLOW_SN=$(printf 00000000000a%04x "$slow_index")
    for k in $(seq 1 "$STATIONS"); do
        mapfile -t URIS < <(station_uris "$k" $([ "$k" = "$STATIONS" ] && echo slow))
        if [ "$k" = "$STATIONS" ]; then
            station "s$k" "$TMP/s$k" --timeout 20000 & # the late answer is awaited, not retried
        else
            station "s$k" "$TMP/s$k" &
        fi
        pids+=($!)
    done
    # The last station: killed once its first unit applied the write, its answer still on the way.
    for _ in $(seq 1200); do
        grep -q '"writes": 1' "$SLOW_STATE" && break
        sleep 0.05
    done
    kill -9 "${pids[$((STATIONS - 1))]}"
    ok "the killed station's unit had applied its write" [ "$(writes "$SLOW_STATE")" = 1 ]
    for k in $(seq 1 "$STATIONS"); do
        wait "${pids[$((k - 1))]}"
        rc=$?
        rcs="$rcs $rc"
        [ "$k" = "$STATIONS" ] || ok "station s$k exits 0 (exit $rc)" [ "$rc" = 0 ]
    done
    echo "stations: exit statuses$rcs (the last one killed)"
    if [ "$STATIONS" = 1 ]; then
        # One station: the killed one restarted takes its claim over.
        mapfile -t URIS < <(station_uris 1)
        (station "s1-restarted" "$TMP/s1r")
        ok "the restarted station exits 0" [ $? = 0 ]
    fi
    stations_check
}

stations_check() {
    local total=0 twice="" f w
    for f in "$TMP"/f/u*.json; do
        w=$(writes "$f")
        total=$((total + w))
        [ "$w" = 1 ] || twice="$twice $(basename "$f"):$w"
    done
    ok "every unit written exactly once:$twice" [ -z "$twice" ] && [ "$total" = "$UNITS" ]
    ok "no claim left open" [ "$(ledger_open_claims)" = 0 ]
    expect 0 "" -- "$LSWS" -q --json ledger list --ledger "$LEDGER_URI"
    cp "$TMP/out" "$TMP/list.json"
    expect 0 "$UNITS units exported" -- "$LSWS" -q ledger export --ledger "$LEDGER_URI" --format csv -o "$TMP/keys.csv"
    ok "one ok record per unit, none other; the pool's identities used once each; the stations' summaries add up" \
        "$PY" - "$TMP/list.json" "$TMP/keys.csv" "$TMP/pool.csv" "$UNITS" "$SLOW_SN" "$STATIONS" "$TMP" <<'PY'
import csv, glob, json, sys
records = json.load(open(sys.argv[1]))
units, slow, stations, tmp = int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), sys.argv[7]
assert len(records) == units, ("records", len(records))
assert all(r["state"] == "ok" for r in records), [r for r in records if r["state"] != "ok"][:3]
assert len({r["sn"] for r in records}) == units
keys = list(csv.DictReader(open(sys.argv[2])))
pool = {(r["app_key"], r["join_eui"]) for r in csv.DictReader(open(sys.argv[3]))}
used = [(k["app_key"], k["join_eui"]) for k in keys]
assert len(used) == units and set(used) == pool, "every identity of the pool used by exactly one unit"
# The killed station's unit: finished by another station, from its record, writing nothing.
lines = [json.loads(l) for f in glob.glob(tmp + "/s*.jsonl") for l in open(f) if l.strip()]
done = [l for l in lines if l.get("sn") == slow and l.get("status") == "ok"]
assert len(done) == 1 and done[0]["resumed"] and done[0]["outcome"] == "nothing", done
ok = sum(l["summary"]["ok"] for l in lines if "summary" in l)
assert ok == units, ("ok in the summaries", ok)
PY
    for u in "${UNIT_URIS[@]}"; do
        "$LSWS" -q --json --show-secrets -d "$u" get lorawan.app_key | tr -d '\n'
        echo
    done >"$TMP/read.jsonl"
    ok "every unit reads back the AppKey the ledger exports for it" "$PY" - "$TMP/keys.csv" "$TMP/read.jsonl" <<'PY'
import csv, json, sys
keys = {r["sn"]: r["app_key"] for r in csv.DictReader(open(sys.argv[1]))}
for i, line in enumerate(open(sys.argv[2])):
    sn = "00000000000a%04x" % i
    assert json.loads(line)["lorawan.app_key"] == keys[sn], sn
PY
}
