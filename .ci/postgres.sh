#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the tests of `geodl tune --storage postgresql://`
# and of the results store (`--db postgresql://`, tests/bench/test_store.py).
#
#   export GEODL_TEST_POSTGRES_URL="$(bash .ci/postgres.sh)"   # start; prints only the URL
#   bash .ci/postgres.sh stop                                  # stop it and delete its files
#
# Installs Debian's `postgresql` when no server binaries are found (needs root), creates a fresh
# cluster in a temporary folder (initdb), starts it on 127.0.0.1 on a free port, and creates the
# user `geodl` (password `geodl`) and the database `geodl_test`. Logs go to stderr; stdout is the
# URL alone. Runs as root (the server then runs as the `postgres` user) or as any other user.
set -euo pipefail
STATE=${GEODL_PG_STATE:-/tmp/geodl-ci-postgres}

log() { echo "[postgres.sh] $*" >&2; }

as_owner() {  # run a server binary as the cluster's owner
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-start}" = stop ]; then
    if [ -f "$STATE/dir" ]; then
        dir=$(cat "$STATE/dir")
        as_owner "$(cat "$STATE/bin")/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
        rm -rf "$dir" "$STATE"
        log "stopped and removed $dir"
    fi
    exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    log "no PostgreSQL server found: apt-get install -y postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && \
        apt-get install -y -q postgresql >&2; }
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

dir=$(mktemp -d /tmp/geodl-pg.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo postgres > "$dir/pwfile"
if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
log "cluster in $dir, port $port, server $bindir"
as_owner "$bindir/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >&2 \
    || { cat "$dir/server.log" >&2; exit 1; }
mkdir -p "$STATE"
echo "$dir" > "$STATE/dir"
echo "$bindir" > "$STATE/bin"

as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE USER geodl WITH PASSWORD 'geodl';" \
    -c "CREATE DATABASE geodl_test OWNER geodl;" >&2
url="postgresql://geodl:geodl@127.0.0.1:$port/geodl_test"
echo "$url" > "$STATE/url"
log "ready: $url (stop with: bash .ci/postgres.sh stop)"
echo "$url"
