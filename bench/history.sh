#!/bin/sh
# Runs bench_history with the pty shim preloaded for lsws (libserialport
# cannot open a pseudo-terminal by itself; docs/serial.md).
# Usage: bench/history.sh [BUILD_DIR [RECORDS [BYTES_PER_S [LATENCY_MS]]]]
set -eu
build=${1:-build}
shift || true
LD_PRELOAD="$build/liblsws_ptyshim.so" exec "$build/bench_history" "$build/lsws-sim" "$build/lsws" "$@"
