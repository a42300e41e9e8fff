# A private PostgreSQL server for a test, sourced after lib.sh:
#   pg_start     initdb and start it in a new directory, listening on a Unix
#                socket there only (listen_addresses=''); exits 77 (ctest's
#                skip) when Debian's postgresql binaries are absent. Sets
#                PG_SOCK (the socket directory), PG_URI (a ledger URI for the
#                database lsws as the role lsws) and PG_BIN.
#   pg_stop [MODE]   stop it (fast; immediate: as a crash, recovery at start)
#   pg_restart_start start it again after pg_stop
#   pg_sql SQL       run SQL in the database lsws (psql, unaligned, no header)
# PostgreSQL refuses to run as root: as root the server runs as the user
# postgres (Debian's package creates it; else nobody), through runuser.
# The server is stopped and its directory removed when the test exits.

pg_find_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && { pg_config --bindir; return 0; }
    return 1
}

# as_pg CMD...: CMD as the server's user
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$PG_USER" -- "$@"
    else
        "$@"
    fi
}

pg_start() {
    if ! PG_BIN=$(pg_find_bin); then
        echo "SKIP: PostgreSQL's server binaries are not installed (apt-get install postgresql)"
        exit 77
    fi
    PG_USER=$(id -un)
    if [ "$(id -u)" -eq 0 ]; then
        PG_USER=postgres
        id postgres >/dev/null 2>&1 || PG_USER=nobody
    fi
    # Not under $TMP: that is root's, mode 0700, and the server's user must reach its directory.
    PG_DIR=$(mktemp -d /tmp/lsws-pg.XXXXXX)
    chmod 0755 "$PG_DIR"
    mkdir -m 0700 "$PG_DIR/data"
    [ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$PG_DIR" "$PG_DIR/data"
    PG_SOCK=$PG_DIR
    trap 'pg_stop fast >/dev/null 2>&1; rm -rf "$PG_DIR" "$TMP"' EXIT
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U lsws --auth-local=trust --auth-host=reject -E UTF8 -N \
        >"$PG_DIR/initdb.log" 2>&1; then
        echo "FAIL: initdb"
        cat "$PG_DIR/initdb.log"
        exit 1
    fi
    # The role 'station' logs in with a password (the libpq password file test); the rest by trust.
    as_pg sh -c "printf 'local all station scram-sha-256\nlocal all all trust\n' >'$PG_DIR/data/pg_hba.conf'"
    pg_restart_start || exit 1
    as_pg "$PG_BIN/psql" -X -q -h "$PG_SOCK" -U lsws -d postgres -c 'CREATE DATABASE lsws' >/dev/null || exit 1
    PG_URI="postgresql:///lsws?host=$PG_SOCK&user=lsws"
}

pg_restart_start() {
    # fsync off unless PG_FSYNC=on (the benchmark): a test needs no power-loss durability
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses='' -c unix_socket_directories='$PG_SOCK' -c fsync=${PG_FSYNC:-off} -c max_connections=40" \
        start >/dev/null || { echo "FAIL: the PostgreSQL server did not start"; tail -20 "$PG_DIR/server.log"; return 1; }
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ] &&
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m "${1:-fast}" -w -t 60 stop >/dev/null
}

pg_sql() {
    "$PG_BIN/psql" -X -q -A -t -h "$PG_SOCK" -U lsws -d lsws -v ON_ERROR_STOP=1 -c "$1"
}
