#!/bin/sh
# Runs bench_history: over the serial link model with the pty shim preloaded
# for lsws (libserialport cannot open a pseudo-terminal by itself;
# docs/serial.md), or with "ble" over the BLE link model (lsws-sim --ble on a
# private dbus-daemon).
# Usage: bench/history.sh [BUILD_DIR [RECORDS [BYTES_PER_S [LATENCY_MS]]]]
#        bench/history.sh BUILD_DIR ble [RECORDS [MTU [INTERVAL_MS]]]
set -eu
build=${1:-build}
shift || true
if [ "${1:-}" = ble ]; then
    shift
    exec "$build/bench_history" --ble "$build/lsws-sim" "$build/lsws" "$@"
fi
LD_PRELOAD="$build/liblsws_ptyshim.so" exec "$build/bench_history" "$build/lsws-sim" "$build/lsws" "$@"
