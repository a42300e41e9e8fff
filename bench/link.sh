#!/bin/sh
# Runs bench_link with the pty shim preloaded (libserialport cannot open a
# pseudo-terminal by itself; docs/serial.md). Usage: bench/link.sh [BUILD_DIR [BYTES_PER_S [LATENCY_MS]]]
set -eu
build=${1:-build}
shift || true
LD_PRELOAD="$build/liblsws_ptyshim.so" exec "$build/bench_link" "$build/lsws-sim" "$build/lsws" "$@"
