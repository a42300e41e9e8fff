#!/bin/sh
# Runs bench_link with the pty shim preloaded (libserialport cannot open a
# pseudo-terminal by itself; docs/serial.md), then bench_ble (BLE rows: its
# own private dbus-daemon and lsws-sim --ble; docs/ble.md) when it was built.
# Usage: bench/link.sh [BUILD_DIR [BYTES_PER_S [LATENCY_MS]]]
set -eu
build=${1:-build}
shift || true
LD_PRELOAD="$build/liblsws_ptyshim.so" "$build/bench_link" "$build/lsws-sim" "$build/lsws" "$@"
if [ -x "$build/bench_ble" ] && command -v dbus-daemon >/dev/null 2>&1; then
    "$build/bench_ble" "$build/lsws-sim" "$build/lsws"
fi
