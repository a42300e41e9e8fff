#!/bin/sh
# The whole test suite: a normal build and an AddressSanitizer +
# UndefinedBehaviorSanitizer build, each running every unit and end-to-end
# test under ctest, then each libFuzzer target for a bounded time.
#   LSWS_FUZZ_SECONDS  seconds per fuzz target (default 60; 0 skips fuzzing)
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
fuzz_seconds=${LSWS_FUZZ_SECONDS:-60}

echo "== build (-Wall -Wextra -Werror) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== benchmarks (figures only: bench/README.md)"
build/bench_decode gen build/bench-payloads.txt 100000 10000
build/bench_decode run build/bench-payloads.txt >/dev/null
build/bench_decode cli build/lsws 100000 10000 1
[ -x build/bench_link ] && sh bench/link.sh build
build/bench_batch 200
bash bench/stations.sh build 200 # 1, 2, 4 stations on PostgreSQL, 1 on SQLite; fails if a unit is not provisioned once
[ -x build/bench_upgrade ] && sh bench/upgrade.sh build 32768
[ -x build/bench_upgrade ] && command -v dbus-daemon >/dev/null 2>&1 && sh bench/upgrade.sh build ble 65536
[ -x build/bench_history ] && sh bench/history.sh build 200
[ -x build/bench_history ] && command -v dbus-daemon >/dev/null 2>&1 && sh bench/history.sh build ble 200

echo "== build with ASan+UBSan and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLSWS_SANITIZE=ON -DLSWS_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"

if [ "$fuzz_seconds" -gt 0 ]; then
    echo "== fuzz each decoder for ${fuzz_seconds}s"
    cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DLSWS_FUZZ=ON -DLSWS_TESTS=OFF -DLSWS_BENCH=OFF >/dev/null
    cmake --build build-fuzz -j "$jobs"
    for target in build-fuzz/fuzz_*; do
        name=$(basename "$target" | sed 's/^fuzz_//')
        corpus=build-fuzz/corpus-$name
        mkdir -p "$corpus"
        seeds=""
        [ -d "fuzz/seeds/$name" ] && seeds="fuzz/seeds/$name"
        # shellcheck disable=SC2086
        "$target" -max_total_time="$fuzz_seconds" -print_final_stats=0 "$corpus" $seeds >"build-fuzz/$name.log" 2>&1 ||
            { tail -40 "build-fuzz/$name.log"; echo "fuzz: $name failed"; exit 1; }
        echo "fuzz: $name ran ${fuzz_seconds}s clean ($(grep -c . "build-fuzz/$name.log") log lines)"
    done
fi
echo "all tests passed"
