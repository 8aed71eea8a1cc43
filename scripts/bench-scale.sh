#!/usr/bin/env bash
# The scale-out benchmarks and the fault run of the hardening issue (BENCHMARKS.md, "Scale-out"):
#
#   bash scripts/bench-scale.sh                          # everything (about 5-10 minutes on 2 cores)
#   INTAKE_BENCH_QUICK=1 bash scripts/bench-scale.sh     # smoke run, small counts (about 1-2 minutes)
#   INTAKE_BENCH_PHASES=fault bash scripts/bench-scale.sh  # some phases: throughput, fault, rss
#
# Runs `cargo bench -p intake --bench scale` (backend/benches/scale.rs: real `intake serve` and
# `intake sandbox-platform` processes on 127.0.0.1) against a throwaway PostgreSQL cluster started by
# scripts/pg-test.sh with INTAKE_PG_DURABLE=1: the durable settings a production server has (fsync,
# synchronous_commit and full_page_writes on; the tests turn them off, which would flatter PostgreSQL
# next to SQLite's synchronous=FULL). The bench reads the cluster's INTAKE_TEST_POSTGRES_URL. Exits with
# the benchmark's status (non-zero when the fault run lost or duplicated a submission or the RSS bound
# was exceeded). Not part of scripts/test.sh (too long); the test command only compiles the benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "bench-scale: machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(date -u +%Y-%m-%dT%H:%MZ)" >&2
INTAKE_PG_DURABLE=1 exec bash scripts/pg-test.sh timeout 3600 cargo bench -p intake --bench scale --locked
