#!/usr/bin/env bash
# The README's test command: everything CI runs, on a fresh Debian 12 machine
# with only rustup, cargo, node and npm present. Installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32 target, rustfmt, clippy"
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

step "npm ci (oidc-provider for the identity tests, playwright-core)"
npm ci --no-audit --no-fund --loglevel=error

step "format"
cargo fmt --all --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32: rules and widget)"
cargo clippy --target wasm32-unknown-unknown -p intake-rules -p intake-widget --locked -- -D warnings

step "tests (native, whole workspace; a throwaway PostgreSQL cluster for the PostgreSQL store)"
bash scripts/pg-test.sh cargo test --workspace --locked

step "the iXiamen stand-in (oidc-provider) self-test"
node --test tests/oidc/selftest.mjs

step "wasm32 build of rules and widget (release profile)"
cargo build --target wasm32-unknown-unknown -p intake-rules -p intake-widget --profile wasm-release --locked

step "benchmarks compile (run them with cargo bench; numbers in BENCHMARKS.md)"
cargo bench -p intake-rules --no-run --locked

echo
echo "all checks passed"
