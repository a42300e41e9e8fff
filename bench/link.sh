#!/bin/sh
# Runs bench_link with the pty shim preloaded (libserialport cannot open a
# pseudo-terminal by itself; docs/serial.md), then bench_ble (BLE rows: its
# own private dbus-daemon and lsws-sim --ble; docs/ble.md) when it was built.
# pseudo-terminal by itself; docs/serial.md), then bench_nfc (libnfc opens
# the pty itself: no shim) when the build has the NFC transport.
# Usage: bench/link.sh [BUILD_DIR [BYTES_PER_S [LATENCY_MS]]]
set -eu
build=${1:-build}
shift || true
rc=0
LD_PRELOAD="$build/liblsws_ptyshim.so" "$build/bench_link" "$build/lsws-sim" "$build/lsws" "$@" || rc=1
if [ -x "$build/bench_ble" ] && command -v dbus-daemon >/dev/null 2>&1; then
    "$build/bench_ble" "$build/lsws-sim" "$build/lsws" || rc=1
fi
if [ -x "$build/bench_nfc" ]; then
    # The NFC rows: the same UART rate to the reader, 106 kbit/s on air.
    "$build/bench_nfc" "$build/lsws-sim" "$build/lsws" "${1:-11520}" 106 "${2:-2}" || rc=1
fi
exit $rc
