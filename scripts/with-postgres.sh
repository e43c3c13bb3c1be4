#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
# Starts a cluster with scripts/pg-throwaway.sh in a fresh temp directory, exports
# TIERPATH_DATABASE_URL=postgresql+psycopg://... for CMD, and always stops the
# cluster and removes the directory afterwards (success, failure or Ctrl-C).
# Exits with CMD's exit status.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
pg=(bash "$here/pg-throwaway.sh")

[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

pgdir=$(mktemp -d "${TMPDIR:-/tmp}/tierpath-pg.XXXXXX")
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    echo "==> stopping throwaway PostgreSQL ($pgdir)" >&2
    "${pg[@]}" stop "$pgdir" || echo "warning: could not clean up $pgdir" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> starting throwaway PostgreSQL in $pgdir" >&2
url=$("${pg[@]}" start "$pgdir")
echo "==> TIERPATH_DATABASE_URL=$url" >&2

export TIERPATH_DATABASE_URL="$url"
set +e
"$@"
rc=$?
set -e
exit "$rc"
