#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL server.
#
#   scripts/pg-test.sh cargo test -p intake postgres
#
# Starts a fresh cluster (PostgreSQL 15 from Debian's packages, trust auth,
# listening on 127.0.0.1 and a free port) in a temporary directory, creates
# the database `intake_test`, exports
#   INTAKE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/intake_test
# runs the command with it, then stops the server and removes the directory,
# whatever happens. Exits with the command's status.
#
# As root, the server runs as the `postgres` user (initdb and postgres refuse
# root), and a missing server is installed with apt-get. As another user, the
# server runs as that user and must already be installed.
# PG_BIN=/path/to/bin overrides where the server binaries are looked up.
# INTAKE_PG_DURABLE=1 keeps a production server's durable settings (fsync,
# synchronous_commit, full_page_writes) instead of turning them off for speed:
# scripts/bench-scale.sh measures with it.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARG]...   (e.g. $0 cargo test -p intake postgres)" >&2
    exit 2
fi

log() { echo "pg-test: $*" >&2; }
die() { log "$*"; exit 1; }

find_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        echo "$PG_BIN"
    elif [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
        echo /usr/lib/postgresql/15/bin
    else
        # Another major version if that is what the machine has (highest first).
        local dir
        for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -rn); do
            if [[ -x "$dir/postgres" ]]; then
                echo "$dir"
                return
            fi
        done
    fi
}

bin=$(find_bin)
if [[ -z "$bin" || ! -x "$bin/postgres" ]]; then
    [[ $EUID -eq 0 ]] || die "PostgreSQL server not found under /usr/lib/postgresql/*/bin; install it (apt-get install -y postgresql) or set PG_BIN"
    log "installing PostgreSQL (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq >&2
    timeout 900 apt-get install -y -qq postgresql >&2
    bin=$(find_bin)
    [[ -n "$bin" && -x "$bin/postgres" ]] || die "PostgreSQL server still not found after apt-get install"
fi

# Runs a server-side program as the cluster's owner.
if [[ $EUID -eq 0 ]]; then
    if ! id -u postgres >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    as_owner() { runuser -u postgres -- "$@"; }
else
    as_owner() { "$@"; }
fi

dir=$(mktemp -d /tmp/intake-pg.XXXXXX)
server_pid=""

# Whether process $1 is running (a zombie nobody reaped yet has stopped).
alive() {
    local state
    [[ -r "/proc/$1/stat" ]] || return 1
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n "$state" && "$state" != Z ]]
}

cleanup() {
    local status=$?
    local pid=""
    if [[ -f "$dir/data/postmaster.pid" ]]; then
        pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    fi
    for p in $pid $server_pid; do
        kill -INT "$p" 2>/dev/null || true # fast shutdown
    done
    if [[ -n "$pid" ]]; then
        for _ in $(seq 1 100); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            log "server did not stop in 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [[ -n "$server_pid" ]]; then
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ $EUID -eq 0 ]] && chown postgres: "$dir"
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; die "initdb failed"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ "${INTAKE_PG_DURABLE:-}" == 1 ]]; then
    settings=(-c shared_buffers=128MB)
else
    # Throwaway data: no fsync.
    settings=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
fi

# A free port; if another process takes it before the server binds, try another (bounded).
port=""
for _ in $(seq 1 5); do
    candidate=$((30000 + RANDOM % 30000))
    port_in_use "$candidate" && continue
    as_owner "$bin/postgres" -D "$dir/data" -k "$dir" -c listen_addresses=127.0.0.1 -p "$candidate" \
        -c max_connections=100 "${settings[@]}" >"$dir/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 60); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$candidate" -t 1; then
            port=$candidate
            break
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.5
    done
    [[ -n "$port" ]] && break
    log "server did not start on port $candidate:"
    tail -n 5 "$dir/server.log" >&2 || true
    kill -INT "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
done
[[ -n "$port" ]] || die "could not start PostgreSQL"

"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres intake_test
export INTAKE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/intake_test"
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, ${INTAKE_PG_DURABLE:+durable }settings ${settings[*]} (INTAKE_TEST_POSTGRES_URL=$INTAKE_TEST_POSTGRES_URL)"

set +e
"$@"
status=$?
set -e
exit "$status"
