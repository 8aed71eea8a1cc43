#!/usr/bin/env bash
# The scale-out benchmarks and the fault run of the hardening issue (BENCHMARKS.md, "Scale-out"):
#
#   bash scripts/bench-scale.sh                          # everything (about 5-10 minutes on 2 cores)
#   INTAKE_BENCH_QUICK=1 bash scripts/bench-scale.sh     # smoke run, small counts (about 1-2 minutes)
#   INTAKE_BENCH_PHASES=fault bash scripts/bench-scale.sh  # some phases: throughput, fault, rss
#
# Starts a throwaway PostgreSQL cluster with the durable defaults a production server has (fsync,
# synchronous_commit and full_page_writes on; scripts/pg-test.sh turns them off to make the tests fast,
# which would flatter PostgreSQL next to SQLite's synchronous=FULL), listening on 127.0.0.1 and a free
# port, creates the database `intake_bench`, exports
#   INTAKE_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/intake_bench
# runs `cargo bench -p intake --bench scale` (backend/benches/scale.rs: real `intake serve` and
# `intake sandbox-platform` processes on 127.0.0.1), then stops the server and removes its directory,
# whatever happens. Exits with the benchmark's status (non-zero when the fault run lost or duplicated a
# submission or the RSS bound was exceeded). Not part of scripts/test.sh (too long); the test command
# only compiles the benchmark.
#
# As root the server runs as the `postgres` user (initdb and postgres refuse root) and a missing server
# is installed with apt-get; as another user it runs as that user and must be installed.
# PG_BIN=/path/to/bin overrides where the server binaries are looked up.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "bench-scale: $*" >&2; }
die() { log "$*"; exit 1; }

find_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        echo "$PG_BIN"
    elif [[ -x /usr/lib/postgresql/15/bin/postgres ]]; then
        echo /usr/lib/postgresql/15/bin
    else
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

if [[ $EUID -eq 0 ]]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    as_owner() { runuser -u postgres -- "$@"; }
else
    as_owner() { "$@"; }
fi

dir=$(mktemp -d /tmp/intake-bench-pg.XXXXXX)
server_pid=""

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

port=""
for _ in $(seq 1 5); do
    candidate=$((30000 + RANDOM % 30000))
    port_in_use "$candidate" && continue
    # Durable defaults (fsync, synchronous_commit, full_page_writes); room for the nodes' connection pools.
    as_owner "$bin/postgres" -D "$dir/data" -k "$dir" -c listen_addresses=127.0.0.1 -p "$candidate" \
        -c max_connections=100 -c shared_buffers=128MB >"$dir/server.log" 2>&1 &
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

"$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres intake_bench
export INTAKE_BENCH_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/intake_bench"
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, durable settings (INTAKE_BENCH_POSTGRES_URL=$INTAKE_BENCH_POSTGRES_URL)"
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ)"

set +e
timeout 3600 cargo bench -p intake --bench scale --locked
status=$?
set -e
exit "$status"
