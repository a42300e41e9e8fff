#!/bin/sh
# Runs bench_upgrade with the pty shim preloaded (libserialport cannot open a
# pseudo-terminal by itself; docs/serial.md).
# Usage: bench/upgrade.sh [BUILD_DIR [PAYLOAD_BYTES [BYTES_PER_S [LATENCY_MS]]]]
set -eu
build=${1:-build}
shift || true
LD_PRELOAD="$build/liblsws_ptyshim.so" exec "$build/bench_upgrade" "$build/lsws-sim" "$@"
