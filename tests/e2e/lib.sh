# Shared by the end-to-end tests: run the real lsws and check exit status
# and output. Each test script sources this and ends with `finish NAME`.
set -u
LSWS=${LSWS:?set LSWS to the lsws binary}
SRC=${LSWS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

# expect EXIT SUBSTRING -- COMMAND...: runs COMMAND, stdout+stderr to $TMP/out.
expect() {
    local want_rc=$1 want_text=$2
    shift 3
    "$@" >"$TMP/out" 2>&1 </dev/null
    local rc=$?
    if [ "$rc" -ne "$want_rc" ] || ! grep -qF -- "$want_text" "$TMP/out"; then
        echo "FAIL: $* (exit $rc, want $want_rc and '$want_text')"
        sed 's/^/    /' "$TMP/out" | head -20
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}

# ok NAME CONDITION...: a plain check.
ok() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAIL: $name"
        failed=$((failed + 1))
    fi
}

finish() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
