# A private D-Bus bus and lsws-sim --ble on it, for the BLE tests (sourced
# after lib.sh). The bus is a dbus-daemon of our own on a socket in $TMP,
# and DBUS_SYSTEM_BUS_ADDRESS points at it, so lsws and lsws-sim never reach
# the machine's system bus; ble_check_bus refuses to go on otherwise.
BUILD=${LSWS_BUILD_DIR:?}
SIM="$BUILD/lsws-sim"
BUS_PID=
SIM_PID=

ble_skip_unless_built() {
    if ! command -v dbus-daemon >/dev/null 2>&1; then
        echo "ble: dbus-daemon is not installed (apt-get install dbus): skipped"
        exit 77
    fi
    if ! "$SIM" --help | grep -q -- '--ble' || "$LSWS" -d ble:x info 2>&1 | grep -q "unknown transport"; then
        echo "ble: built without the BLE transport (LSWS_BLE=OFF): skipped"
        exit 77
    fi
}

# The bus lets anyone own any name (org.bluez included) and activates nothing.
start_bus() {
    cat >"$TMP/bus.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
    # The address is printed once the daemon listens (the socket file alone
    # exists a moment earlier, when a connection is still refused).
    dbus-daemon --config-file="$TMP/bus.conf" --nofork --address="unix:path=$TMP/bus" --print-address \
        >"$TMP/bus.addr" 2>"$TMP/bus.err" &
    BUS_PID=$!
    for _ in $(seq 250); do
        [ -s "$TMP/bus.addr" ] && break
        sleep 0.02
    done
    if [ ! -s "$TMP/bus.addr" ]; then
        echo "FAIL: dbus-daemon did not start: $(cat "$TMP/bus.err")"
        exit 1
    fi
    export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$TMP/bus"
    unset DBUS_SESSION_BUS_ADDRESS
    ble_check_bus
}

# Never the machine's system bus.
ble_check_bus() {
    case "${DBUS_SYSTEM_BUS_ADDRESS:-}" in
        "unix:path=$TMP/"*) ;;
        *)
            echo "FAIL: DBUS_SYSTEM_BUS_ADDRESS is '${DBUS_SYSTEM_BUS_ADDRESS:-}', not a private bus in $TMP"
            exit 1
            ;;
    esac
}

stop_bus() {
    [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null && wait "$BUS_PID" 2>/dev/null
    BUS_PID=
}

# start_sim ARGS...: lsws-sim --ble ARGS on the private bus; sets ADDR and
# NAME of the first hub (HUBS: every "adapter address name" line).
start_sim() {
    ble_check_bus
    # Removed here, not by the redirection below: that happens in the child,
    # later, and the loop would read the previous simulator's lines.
    rm -f "$TMP/sim.out" "$TMP/sim.err"
    "$SIM" --ble -v "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
    SIM_PID=$!
    for _ in $(seq 200); do
        if [ -s "$TMP/sim.out" ]; then
            HUBS=$(cat "$TMP/sim.out")
            ADDR=$(awk 'NR == 1 { print $2 }' "$TMP/sim.out")
            NAME=$(awk 'NR == 1 { print $3 }' "$TMP/sim.out")
            return 0
        fi
        if ! kill -0 "$SIM_PID" 2>/dev/null; then
            break
        fi
        sleep 0.02
    done
    echo "FAIL: lsws-sim --ble $* did not start: $(cat "$TMP/sim.err")"
    exit 1
}

stop_sim() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
    fi
    SIM_PID=
}

# sim_log TEXT: the simulator logged TEXT.
sim_log() { grep -qF -- "$1" "$TMP/sim.err"; }
