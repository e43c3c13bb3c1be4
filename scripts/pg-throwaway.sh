#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for test runs.
#
#   scripts/pg-throwaway.sh start DIR   initialise + start a cluster in DIR and print
#                                       ONLY its SQLAlchemy URL on stdout
#   scripts/pg-throwaway.sh stop DIR    stop it (immediate) and remove DIR
#   scripts/pg-throwaway.sh bindir      print the PostgreSQL server bin dir, or exit 1
#
# DIR should be a fresh directory (e.g. from `mktemp -d`); it is created if missing.
# As root the cluster runs as the `postgres` system user (initdb refuses root) and
# DIR is chowned to it; as a normal user it runs as that user.
#
# The cluster listens on 127.0.0.1 only (port picked from PG_THROWAWAY_PORT_BASE,
# default 54330, upward), its unix socket lives in DIR, authentication is `trust`
# for local/loopback connections only, and durability is switched off for speed.
# Logs go to DIR/setup.log and DIR/postgres.log.
#
# Environment: PG_BINDIR overrides the server bin directory search.
set -euo pipefail

DBNAME=tierpath_test
DBUSER=postgres
MARKER=.pg-throwaway

die() { printf 'pg-throwaway: %s\n' "$*" >&2; exit 1; }

find_bindir() {
    local d
    if [[ -n "${PG_BINDIR:-}" ]]; then
        [[ -x "$PG_BINDIR/initdb" && -x "$PG_BINDIR/pg_ctl" ]] || return 1
        printf '%s\n' "$PG_BINDIR"
        return 0
    fi
    # Debian layout; newest major version first.
    while IFS= read -r d; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k4,4 -rn)
    # Anything on PATH (other distros, Homebrew, ...).
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        d=$(dirname "$(readlink -f "$(command -v initdb)")")
        [[ -x "$d/pg_ctl" ]] || d=$(dirname "$(command -v initdb)")
        printf '%s\n' "$d"
        return 0
    fi
    return 1
}

# Run a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- env LC_ALL=C "$@"
    else
        env LC_ALL=C "$@"
    fi
}

port_is_free() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
finally:
    s.close()
PY
}

cmd_start() {
    local dir=$1 bindir port base tries=0 started=0

    bindir=$(find_bindir) || die "PostgreSQL server binaries not found (install the 'postgresql' package or set PG_BINDIR)"

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    if [[ -n "$(ls -A "$dir")" && ! -e "$dir/$MARKER" ]]; then
        die "$dir is not empty; give a fresh directory (e.g. \$(mktemp -d))"
    fi
    : >"$dir/$MARKER"

    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user (initdb refuses to run as root)"
        chown -R postgres: "$dir"
        chmod 700 "$dir"
        if ! runuser -u postgres -- test -w "$dir" -a -x "$dir"; then
            die "user 'postgres' cannot access $dir (a parent directory is not traversable); use a directory under /tmp"
        fi
    fi

    local log="$dir/setup.log"
    : >"$log"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$log"

    # Run everything from DIR so the owner never trips over an unreadable cwd.
    cd "$dir"

    {
        echo "== $(date '+%F %T') initdb ($bindir)"
        as_owner "$bindir/initdb" -D "$dir/data" -U "$DBUSER" --auth=trust \
            --encoding=UTF8 --locale=C --no-sync --no-instructions
    } >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "initdb failed (log: $log)"; }

    # Trust on the unix socket (in DIR, mode 0700) and loopback only; nothing else.
    cat >"$dir/data/pg_hba.conf" <<'EOF'
# pg-throwaway: local + loopback only, trust
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
host    all   all   ::1/128        trust
EOF
    cat >>"$dir/data/postgresql.conf" <<EOF

# --- pg-throwaway overrides (throwaway test cluster: speed over durability) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_connections = 100
logging_collector = off
log_min_messages = warning
EOF
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/data/pg_hba.conf" "$dir/data/postgresql.conf"

    base=${PG_THROWAWAY_PORT_BASE:-54330}
    port=$base
    while (( tries < 50 )); do
        tries=$((tries + 1))
        if port_is_free "$port"; then
            echo "== $(date '+%F %T') starting on 127.0.0.1:$port" >>"$log"
            if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
                    -w -t 60 -o "-p $port" start >>"$log" 2>&1; then
                started=1
                break
            fi
            # Someone grabbed the port between the check and the bind: try the next one.
            if ! grep -qiE 'could not (bind|create listen)|address already in use' "$dir/postgres.log" 2>/dev/null; then
                tail -n 30 "$dir/postgres.log" >&2 2>/dev/null || true
                die "pg_ctl start failed (logs: $log, $dir/postgres.log)"
            fi
        fi
        port=$((port + 1))
    done
    (( started )) || die "no free port found in $base..$port"
    echo "$port" >"$dir/port"

    {
        echo "== $(date '+%F %T') createdb $DBNAME"
        as_owner "$bindir/createdb" -h "$dir" -p "$port" -U "$DBUSER" "$DBNAME"
    } >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "createdb failed (log: $log)"; }

    printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$DBUSER" "$port" "$DBNAME"
}

cmd_stop() {
    local dir=$1 bindir
    [[ -d "$dir" ]] || return 0
    dir=$(cd "$dir" && pwd -P)
    [[ "$dir" != / ]] || die "refusing to operate on /"
    # Only ever delete directories we set up (or left empty).
    if [[ ! -e "$dir/$MARKER" && -n "$(ls -A "$dir")" ]]; then
        die "$dir was not created by pg-throwaway; not removing it"
    fi
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        if bindir=$(find_bindir); then
            (cd "$dir" && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop) \
                >/dev/null 2>&1 || true
        fi
        # Belt and braces: if the postmaster is still around, kill it.
        local pid
        pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true
            sleep 1
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf -- "$dir"
}

usage() {
    echo "usage: $0 start DIR | stop DIR | bindir" >&2
    exit 2
}

case "${1:-}" in
    start) [[ $# -eq 2 && -n "$2" ]] || usage; cmd_start "$2" ;;
    stop)  [[ $# -eq 2 && -n "$2" ]] || usage; cmd_stop "$2" ;;
    bindir) find_bindir || die "PostgreSQL server binaries not found" ;;
    *) usage ;;
esac
