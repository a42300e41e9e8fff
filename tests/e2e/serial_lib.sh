# The serial tests' lsws (sourced after lib.sh): libserialport needs the
# test-only pty shim (docs/serial.md) to take a pseudo-terminal for a port.
# serial_shim NAME: skips the test (exit 77) when this build has no serial
# transport; otherwise LSWS becomes a wrapper that preloads the shim into
# lsws alone (and, in an ASan build, libasan first), REAL_LSWS the binary.
serial_shim() {
    SHIM="${LSWS_BUILD_DIR:?}/liblsws_ptyshim.so"
    if [ ! -e "$SHIM" ]; then
        echo "$1: built without the serial transport: skipped"
        exit 77
    fi
    local preload=$SHIM asan
    asan=$(ldd "$LSWS" | awk '/libasan/ {print $3}')
    [ -n "$asan" ] && preload="$asan:$SHIM"
    REAL_LSWS=$LSWS
    LSWS="$TMP/lsws"
    printf '#!/bin/sh\nLD_PRELOAD="%s" exec "%s" "$@"\n' "$preload" "$REAL_LSWS" >"$LSWS"
    chmod +x "$LSWS"
}
