#!/usr/bin/env bash
# Local end-to-end demo: the development LMS (devlms) + tierpath, side by side.
#
#   make demo            (or: scripts/demo.sh after `make install`)
#
# The LMS is served as http://127.0.0.1:$DEVLMS_PORT and the tool as
# http://localhost:$TIERPATH_PORT: different sites, like a real LMS embedding a tool.
# Ctrl-C stops both.
#
# Environment:
#   TIERPATH_PORT      tool port (default 5000)
#   DEVLMS_PORT        development LMS port (default 9100)
#   DEVLRS_PORT        development LRS port (default 9200)
#   TIERPATH_INSTANCE  instance directory (default: instance)
#   VENV               virtualenv (default: .venv)
#   DEMO_TIMEOUT       seconds to wait for both servers to answer (default 60)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TIERPATH_PORT=${TIERPATH_PORT:-5000}
DEVLMS_PORT=${DEVLMS_PORT:-9100}
DEVLRS_PORT=${DEVLRS_PORT:-9200}
DEMO_TIMEOUT=${DEMO_TIMEOUT:-60}
VENV=${VENV:-.venv}
export TIERPATH_INSTANCE=${TIERPATH_INSTANCE:-instance}

LMS_URL="http://127.0.0.1:${DEVLMS_PORT}"
TOOL_URL="http://localhost:${TIERPATH_PORT}"
LRS_URL="http://127.0.0.1:${DEVLRS_PORT}"

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for p in "$TIERPATH_PORT" "$DEVLMS_PORT" "$DEVLRS_PORT"; do
    if ! [[ "$p" =~ ^[0-9]+$ ]] || (( p < 1 || p > 65535 )); then
        die "invalid port: $p"
    fi
done
[[ "$TIERPATH_PORT" != "$DEVLMS_PORT" && "$DEVLRS_PORT" != "$DEVLMS_PORT" && "$DEVLRS_PORT" != "$TIERPATH_PORT" ]] \
    || die "TIERPATH_PORT, DEVLMS_PORT and DEVLRS_PORT must differ"

py="$VENV/bin/python"
tierpath="$VENV/bin/tierpath"
[[ -x "$py" && -x "$tierpath" ]] || die "$VENV is not set up (missing $tierpath); run 'make install' first"

port_busy() {
    "$py" - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)   # busy
finally:
    s.close()
sys.exit(1)       # free
PY
}
port_busy "$DEVLMS_PORT" && die "port $DEVLMS_PORT (development LMS) is already in use; stop whatever uses it or set DEVLMS_PORT=..."
port_busy "$DEVLRS_PORT" && die "port $DEVLRS_PORT (development LRS) is already in use; stop whatever uses it or set DEVLRS_PORT=..."
port_busy "$TIERPATH_PORT" && die "port $TIERPATH_PORT (tierpath) is already in use; stop whatever uses it or set TIERPATH_PORT=..."

logdir="$TIERPATH_INSTANCE/logs"
mkdir -p "$logdir" "$TIERPATH_INSTANCE/devlms"

# The development LRS's secret: generated once per instance, never in the repo.
lrs_secret_file="$TIERPATH_INSTANCE/devlrs.secret"
if [[ ! -s "$lrs_secret_file" ]]; then
    (umask 077; "$py" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$lrs_secret_file")
fi
export DEVLRS_PASSWORD
DEVLRS_PASSWORD=$(cat "$lrs_secret_file")

echo "==> preparing the tool (instance: $TIERPATH_INSTANCE)"
"$tierpath" db upgrade
"$tierpath" keys ensure
"$tierpath" platform add \
    --issuer "$LMS_URL" \
    --client-id tierpath-dev \
    --deployment-id devlms-deployment-1 \
    --auth-login-url "$LMS_URL/auth" \
    --token-url "$LMS_URL/token" \
    --jwks-url "$LMS_URL/.well-known/jwks.json" \
    --if-missing
"$tierpath" program load config/programs/*.toml
# Statements are kept in tierpath and forwarded to the development LRS.
"$tierpath" lrs add devlrs --endpoint "$LRS_URL/xapi/" --username tierpath \
    --password-env DEVLRS_PASSWORD --if-missing
if [[ ! -f "$TIERPATH_INSTANCE/.demo-people" ]]; then
    # A synthetic population of ${DEMO_PEOPLE:-2000} agents plus the four demo users,
    # so eligibility has real peer groups (quartiles by site and line of business).
    "$tierpath" demo-data --people "${DEMO_PEOPLE:-2000}"
    touch "$TIERPATH_INSTANCE/.demo-people"
fi

lms_pid=
tool_pid=
lrs_pid=

# Each server gets its own session/process group so the whole group (reloaders,
# workers) can be stopped together.
# Sets $bg_pid (not via $(...): the server must stay a child of this shell).
bg_pid=
start_bg() {
    local log=$1; shift
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" >"$log" 2>&1 </dev/null &
    else
        "$@" >"$log" 2>&1 </dev/null &
    fi
    bg_pid=$!
}

stop_pid() {
    local pid=$1 _
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$lms_pid$tool_pid$lrs_pid" ]]; then
        echo
        echo "==> stopping the development LMS, the development LRS and tierpath"
        stop_pid "$tool_pid"
        stop_pid "$lms_pid"
        stop_pid "$lrs_pid"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> starting the development LMS on $LMS_URL (log: $logdir/devlms.log)"
start_bg "$logdir/devlms.log" \
    "$py" -m devlms --host 127.0.0.1 --port "$DEVLMS_PORT" \
    --tool-url "$TOOL_URL" --data-dir "$TIERPATH_INSTANCE/devlms"
lms_pid=$bg_pid

echo "==> starting the development LRS on $LRS_URL (log: $logdir/devlrs.log)"
start_bg "$logdir/devlrs.log" \
    "$py" -m devlrs --host 127.0.0.1 --port "$DEVLRS_PORT" \
    --username tierpath --password-env DEVLRS_PASSWORD
lrs_pid=$bg_pid

echo "==> starting tierpath on $TOOL_URL (log: $logdir/tierpath.log)"
# The demo delivers statements from inside the web process; production runs
# `tierpath xapi deliver` as its own worker.
export TIERPATH_XAPI_DELIVER_IN_PROCESS=true TIERPATH_XAPI_POLL_INTERVAL=1
export TIERPATH_AGS_DELIVER_IN_PROCESS=true TIERPATH_AGS_POLL_INTERVAL=1
# The demo LMS is on plain-http loopback: let Dynamic Registration reach it.
export TIERPATH_REGISTRATION_ALLOW_LOOPBACK=true
export TIERPATH_XAPI_RETRY_BASE=2 TIERPATH_XAPI_RETRY_CAP=30
start_bg "$logdir/tierpath.log" \
    "$tierpath" run --host 127.0.0.1 --port "$TIERPATH_PORT"
tool_pid=$bg_pid

# Any HTTP answer (even 404/500) means the server is up.
answers_http() {
    "$py" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
}

wait_for() {
    local name=$1 url=$2 pid=$3 log=$4 deadline=$((SECONDS + DEMO_TIMEOUT))
    until answers_http "$url"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "demo: $name exited during startup; last lines of $log:" >&2
            tail -n 40 "$log" >&2 || true
            exit 1
        fi
        if (( SECONDS >= deadline )); then
            echo "demo: $name did not answer on $url within ${DEMO_TIMEOUT}s; last lines of $log:" >&2
            tail -n 40 "$log" >&2 || true
            exit 1
        fi
        sleep 0.5
    done
}

wait_for "development LMS" "$LMS_URL/" "$lms_pid" "$logdir/devlms.log"
wait_for "development LRS" "$LRS_URL/" "$lrs_pid" "$logdir/devlrs.log"
wait_for "tierpath" "http://127.0.0.1:${TIERPATH_PORT}/" "$tool_pid" "$logdir/tierpath.log"

cat <<EOF

================================================================================
  tierpath demo is running
================================================================================
  Development LMS (course page) : $LMS_URL/
    gradebook                   : $LMS_URL/gradebook
    roster                      : $LMS_URL/roster
  tierpath (the tool)           : $TOOL_URL/
  Development LRS (statements)  : $LRS_URL/   (watch xAPI statements arrive)
    tool admin                  : launch as "admin" from the LMS course page

  Start on the LMS course page and pick who you are:
    learner1    Ana Morales     (learner: eligible, auto-enrolled in the first tiers;
                                 tests, then job-rotation evidence, e.g. Reporting)
    learner2    Ben Okafor      (learner: not eligible yet, and told why)
    instructor  Ines Duarte     (instructor: cohort, CSV export, roster sync,
                                 "Grade job-rotation evidence": the score and
                                 comment land in the LMS gradebook)
    admin       Adam Reyes      (administrator: platforms, people/KPI import,
                                 xAPI delivery and gradebook passback,
                                 Dynamic Registration approvals)

  Programs loaded from config/programs/: PartnerHero STEP, Alorica Leadership
  Intern Program, SQM CSR career path; ${DEMO_PEOPLE:-2000} synthetic agents.

  The LMS ($LMS_URL) and the tool ($TOOL_URL) are different
  sites on purpose, like a real LMS launching an external tool.

  Every test taken, module and tier completed is an xAPI statement: kept in
  tierpath and forwarded to the development LRS within a second or two.

  A completed tier issues a signed Open Badge at once: learner1's home shows
  it under "My badges" (downloads, Add to LinkedIn, a public page). A promotion
  panel opens that page, or $TOOL_URL/verify, with no account; the
  admin revokes or re-issues under "Badges".

  Logs: $logdir/devlms.log, $logdir/devlrs.log, $logdir/tierpath.log
  Press Ctrl-C to stop all three.
================================================================================

EOF

# Wait until Ctrl-C, or until one of the servers dies on its own.
set +e
wait -n "$lms_pid" "$tool_pid" "$lrs_pid"
set -e
for pair in "development LMS:$lms_pid:$logdir/devlms.log" "development LRS:$lrs_pid:$logdir/devlrs.log" "tierpath:$tool_pid:$logdir/tierpath.log"; do
    IFS=: read -r name pid log <<<"$pair"
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: $name stopped unexpectedly; last lines of $log:" >&2
        tail -n 40 "$log" >&2 || true
    fi
done
exit 1
