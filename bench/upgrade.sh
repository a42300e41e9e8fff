#!/bin/sh
# Runs bench_upgrade: over the serial link model with the pty shim preloaded
# (libserialport cannot open a pseudo-terminal by itself; docs/serial.md), or
# with "ble" over the BLE link model (lsws-sim --ble on a private dbus-daemon).
# Usage: bench/upgrade.sh [BUILD_DIR [PAYLOAD_BYTES [BYTES_PER_S [LATENCY_MS]]]]
#        bench/upgrade.sh BUILD_DIR ble [PAYLOAD_BYTES [MTU [INTERVAL_MS]]]
set -eu
build=${1:-build}
shift || true
if [ "${1:-}" = ble ]; then
    shift
    exec "$build/bench_upgrade" --ble "$build/lsws-sim" "$@"
fi
LD_PRELOAD="$build/liblsws_ptyshim.so" exec "$build/bench_upgrade" "$build/lsws-sim" "$@"
