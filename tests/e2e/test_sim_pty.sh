#!/bin/bash
# lsws-sim on a pseudo-terminal: the serial framing, sessions that end when
# the client closes the port, the state file across restarts, every fault
# option, signals and exit statuses. The client is a small Python program
# (Debian's /usr/bin/python3, standard library only) so that this test does
# not depend on the lsws serial transport.
#
# Env: LSWS_SIM (the built lsws-sim) or LSWS_BUILD_DIR; LSWS_SOURCE_DIR.
# Output: "FAIL: ..." for each failed check, then "sim_pty: N passed, M failed".
. "$(dirname "$0")/lib.sh"
SIM=${LSWS_SIM:-${LSWS_BUILD_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/build}/lsws-sim}
PY=/usr/bin/python3
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
if [ ! -x "$SIM" ] || [ ! -x "$PY" ]; then
    echo "FAIL: needs the built lsws-sim ($SIM) and $PY"
    failed=1
    finish sim_pty
    exit
fi

# ---- the client --------------------------------------------------------------
cat >"$TMP/client.py" <<'EOF'
"""Talks the lsws protocol over the serial framing to a pty: client.py PTY
STEP... where each step is OP[:HEX-PAYLOAD][=EXPECT]. OP is a name (identify,
auth, read, write, password, reset, reboot, time_sync) or 'reopen' (close and
open the port again) or 'raw' (send HEX as the message). EXPECT is a status
name, 'none' (no answer within the timeout), 'badcrc' (a frame with a bad
CRC), 'eof' (the link went away); 'ok' by default. Prints each response."""
import fcntl, os, select, sys, termios, time, tty

OPS = dict(identify=1, auth=2, read=3, write=4, reset=5, reboot=6, time_sync=7, password=8)
STATUS = ["ok", "bad_request", "unknown_op", "auth_required", "auth_failed", "rate_limited",
          "invalid", "busy", "unsupported", "storage", "sequence"]

def crc16(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc

def frame(msg):
    c = crc16(msg)
    body = bytearray()
    for b in msg + bytes([c & 0xFF, c >> 8]):
        body += bytes([0x7D, b ^ 0x20]) if b in (0x7E, 0x7D) else bytes([b])
    return b"\x7e" + bytes(body) + b"\x7e"

def open_port(path):
    # Locked as lsws locks a port (flock): a process of another test still
    # trying a pty number this simulator now has (ptys are reused) is told
    # "busy" and sends nothing. Non-blocking, so that bytes such a process
    # took first mean a timeout here, not a read that never returns.
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    fcntl.flock(fd, fcntl.LOCK_EX)
    tty.setraw(fd)
    return fd

def read_frame(fd, timeout):
    """(message, crc_ok), or None on timeout, or 'eof'."""
    buf, inside, esc, end = bytearray(), False, False, time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        try:
            data = os.read(fd, 1)
        except BlockingIOError:
            continue
        except OSError:
            return "eof"
        if not data:
            return "eof"
        b = data[0]
        if b == 0x7E:
            if inside and len(buf) >= 2:
                msg, crc = bytes(buf[:-2]), buf[-2] | buf[-1] << 8
                return msg, crc == crc16(msg)
            inside, buf = True, bytearray()
            continue
        if not inside:
            continue
        if b == 0x7D:
            esc = True
            continue
        buf.append(b ^ 0x20 if esc else b)
        esc = False

def main():
    path, steps = sys.argv[1], sys.argv[2:]
    timeout = float(os.environ.get("TIMEOUT", "1.0"))
    fd = open_port(path)
    seq = 0
    for step in steps:
        spec, _, want = step.partition("=")
        want = want or "ok"
        op, _, hexpay = spec.partition(":")
        if op == "reopen":
            os.close(fd)
            time.sleep(0.3)
            fd = open_port(path)
            continue
        if op == "badframe":  # a frame whose CRC fails: dropped, not answered
            os.write(fd, b"\x7e\x01\x05\x01\x00\x00\x7e")
            got = read_frame(fd, timeout)
            print(f"{step}: {'none' if got is None else got}")
            if got is not None:
                sys.exit(1)
            continue
        payload = bytes.fromhex(hexpay)
        if op == "raw":
            msg = payload
        else:
            seq = (seq + 1) & 0xFF
            msg = bytes([1, seq, OPS[op]]) + payload
        start = time.time()
        os.write(fd, frame(msg))
        got = read_frame(fd, timeout)
        took = time.time() - start
        if got is None or got == "eof":
            status = "none" if got is None else "eof"
            print(f"{step}: {status}")
        else:
            resp, crc_ok = got
            status = STATUS[resp[3]] if crc_ok and len(resp) >= 4 and resp[3] < len(STATUS) else "badcrc"
            print(f"{step}: {status} {resp[4:].hex()} {took:.3f}s")
            if crc_ok and (resp[1] != msg[1] or resp[2] != msg[2] | 0x80):
                print(f"{step}: answer is for seq {resp[1]} op {resp[2]:#x}")
                sys.exit(1)
        if status != want:
            print(f"{step}: expected {want}")
            sys.exit(1)
    os.close(fd)

main()
EOF

# start_sim ARGS...: runs lsws-sim in the background; PTY is its port.
start_sim() {
    : >"$TMP/sim.out"
    "$SIM" "$@" >"$TMP/sim.out" 2>"$TMP/sim.err" &
    SIM_PID=$!
    for _ in $(seq 50); do
        PTY=$(head -1 "$TMP/sim.out")
        [ -n "$PTY" ] && return 0
        sleep 0.1
    done
    echo "lsws-sim did not print its port: $(cat "$TMP/sim.err")"
    return 1
}
# stop_sim [SIGNAL]: stops it; SIM_RC is its exit status.
stop_sim() {
    kill -"${1:-TERM}" "$SIM_PID" 2>/dev/null
    wait "$SIM_PID"
    SIM_RC=$?
    SIM_PID=
}
# wait_exit: waits (up to 5 s) for lsws-sim to exit on its own; SIM_RC.
wait_exit() {
    for _ in $(seq 50); do
        kill -0 "$SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SIM_PID" 2>/dev/null; then
        SIM_RC=timeout
        stop_sim KILL
        SIM_RC=timeout
        return
    fi
    wait "$SIM_PID"
    SIM_RC=$?
    SIM_PID=
}
client() { "$PY" "$TMP/client.py" "$PTY" "$@" >>"$TMP/client.log" 2>&1; }

grep_log() { grep -q -- "$1" "$TMP/client.log"; }

# ---- usage ------------------------------------------------------------------------
ok "lsws-sim --help exits 0 and shows the usage" bash -c "'$SIM' --help | grep -q '^usage: lsws-sim --model'"
"$SIM" >/dev/null 2>"$TMP/err"
ok "no --model: exit 2 (got $?)" test $? -eq 2
ok "no --model: says so" grep -q -- "--model is required" "$TMP/err"
"$SIM" --model ws999 >/dev/null 2>"$TMP/err"
ok "unknown model: exit 2" test $? -eq 2
ok "unknown model is named" grep -q "unknown model 'ws999'" "$TMP/err"
"$SIM" --model ws523 --drop 3,x >/dev/null 2>"$TMP/err"
ok "bad fault list: exit 2" test $? -eq 2
ok "bad fault list is named" grep -q "drop: 'x' in '3,x' is not a frame number" "$TMP/err"
for size in 63 1025 64k ""; do
    "$SIM" --model ws523 --max-msg "$size" >/dev/null 2>"$TMP/err"
    ok "--max-msg '$size': exit 2" test $? -eq 2
    ok "--max-msg '$size': names the range" grep -q "max_msg: '$size' is not a message size from 64 to 1024 bytes" "$TMP/err"
done
echo '{"lsws_sim_state": 1,' >"$TMP/bad.json"
"$SIM" --model ws523 --state "$TMP/bad.json" >/dev/null 2>"$TMP/err"
ok "corrupt state file: exit 1" test $? -eq 1
ok "corrupt state file: file, line and column" grep -q "state file '$TMP/bad.json', line 2, column 0" "$TMP/err"

# ---- a session, the state file, restarts -----------------------------------------------
STATE=$TMP/unit.json
start_sim --model ws523 --state "$STATE" -v
ok "port is a pty" test -c "$PTY"
ok "state file created with mode 600" test "$(stat -c %a "$STATE")" = 600
ok "identify, auth, write, read" client identify auth:313233343536 write:02ff035802 "read:000002ff03"
ok "read returns what was written (ff03 5802)" grep_log "read:000002ff03: ok ffffff035802"
ok "closing the port ends the session" client "read:0000=auth_required" auth:313233343536 \
    reopen "read:0000=auth_required"
ok "a frame with a bad CRC is dropped, not answered" client badframe identify
ok "a response sent as a request is a bad request" client "raw:0163ff=bad_request"
stop_sim TERM
ok "SIGTERM: exit 0 (got $SIM_RC)" test "$SIM_RC" -eq 0
ok "-v logs the session end" grep -q "the client closed the port: session ended" "$TMP/sim.err"
ok "-v logs requests" grep -q "write: ok: applied 1 settings" "$TMP/sim.err"
start_sim --model ws523 --state "$STATE"
ok "after a restart the write is still there" client auth:313233343536 "read:000002ff03"
ok "... ff03 5802 again" test "$(grep -c 'read:000002ff03: ok ffffff035802' "$TMP/client.log")" -eq 2
stop_sim INT
ok "SIGINT: exit 0" test "$SIM_RC" -eq 0
"$SIM" --model cth01 --state "$STATE" >/dev/null 2>"$TMP/err"
ok "state file of another model: exit 1" test $? -eq 1
ok "... and says which" grep -q "holds a ws523, not a cth01" "$TMP/err"

# ---- a smaller maximum message ---------------------------------------------------------
start_sim --model cth01 --max-msg 64 -v
# A READ of 65 bytes: header, cursor 0000 and 20 entries 026101.
big=016303$(printf '0000')$(for _ in $(seq 20); do printf '026101'; done)
client identify auth:313233343536 "raw:$big=bad_request" read:0000
ok "--max-msg 64: IDENTIFY announces 64 (4000 at byte 23)" bash -c "grep '^identify: ok' '$TMP/client.log' | tail -1 | awk '{ exit substr(\$3, 47, 4) != \"4000\" }'"
ok "--max-msg 64: a page is at most 64 bytes" bash -c "grep '^read:0000: ok' '$TMP/client.log' | tail -1 | awk '{ exit length(\$3) > 2 * 60 }'"
stop_sim
ok "--max-msg 64: the 65-byte request is refused, naming both sizes" \
    grep -q "a request of 65 bytes is larger than this unit's maximum message of 64 bytes" "$TMP/sim.err"

# ---- faults ---------------------------------------------------------------------------
start_sim --model cth01 --drop 2 -v
TIMEOUT=0.5 client identify "identify=none" identify
ok "drop 2: the second request gets no answer, the third does" test $? -eq 0
stop_sim
ok "drop is logged" grep -q "frame 2: dropped (fault)" "$TMP/sim.err"

start_sim --model cth01 --corrupt 1
ok "corrupt 1: the first answer fails its CRC, the retry is fine" client "identify=badcrc" identify
stop_sim

start_sim --model ws523 --refuse 2 --refuse-status storage
ok "refuse 2: answered STORAGE, not executed" client auth:313233343536 \
    "password:616263646566=storage" "reopen" "auth:616263646566=auth_failed" auth:313233343536
stop_sim

start_sim --model ws523 --delay 1 --delay-ms 700
TIMEOUT=2 client identify identify
ok "delay 1: answered" test $? -eq 0
# took N: the seconds the Nth-last exchange of the log took.
took() { tail -"$1" "$TMP/client.log" | head -1 | awk '{ print $NF + 0 }'; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
ok "delay 1: the first answer comes after 700 ms ($(took 2) s)" at_least "$(took 2)" 0.65
ok "delay 1: the second comes at once ($(took 1) s)" at_least 0.3 "$(took 1)"
stop_sim

start_sim --model cth01 --link-bps 2000 --latency-ms 100
TIMEOUT=3 client auth:313233343536 read:0000
ok "link-bps 2000 and latency 100: a 500-byte read takes 0.35 s ($(took 1) s)" at_least "$(took 1)" 0.3
stop_sim

start_sim --model ws523 --disconnect-after 60
TIMEOUT=2 client identify "identify=eof"
ok "disconnect-after 60: the link drops inside the second answer" test $? -eq 0
wait_exit
ok "disconnect-after: lsws-sim exits 0 (got $SIM_RC)" test "$SIM_RC" = 0

start_sim --model ws523 --once
client identify
wait_exit
ok "--once: exits 0 when the client closes the port (got $SIM_RC)" test "$SIM_RC" = 0

[ "$failed" -eq 0 ] || sed 's/^/    /' "$TMP/client.log"
finish sim_pty
