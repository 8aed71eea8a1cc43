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

step "npm ci (oidc-provider for the identity tests, playwright-core, puppeteer-core, axe-core, binaryen's wasm-opt)"
npm ci --no-audit --no-fund --loglevel=error

step "system packages: Debian Chromium, Firefox ESR, WebKitGTK's driver and MiniBrowser under Xvfb, a CJK font, qpdf; wasm-bindgen-cli"
apt_missing=()
[ -x /usr/bin/chromium ] || apt_missing+=(chromium chromium-driver)
# Firefox is driven by puppeteer-core over WebDriver BiDi (no geckodriver); WebKit by WebKitWebDriver
# (webkit2gtk-driver, which brings MiniBrowser in libwebkit2gtk-4.1-0) in an Xvfb display (no headless mode).
[ -x /usr/bin/firefox-esr ] || apt_missing+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] && [ -x /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser ] || apt_missing+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null && command -v xauth >/dev/null || apt_missing+=(xvfb xauth)
fc-list :lang=zh 2>/dev/null | grep -q . || apt_missing+=(fonts-wqy-microhei)
# qpdf: the independent check of every PDF the rules rewrite (rules/tests/pdf_corpus.rs).
command -v qpdf >/dev/null || apt_missing+=(qpdf)
if [ "${#apt_missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${apt_missing[*]}: run as root, or: sudo apt-get install -y ${apt_missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  apt-get install -y --no-install-recommends "${apt_missing[@]}"
fi
# Pinned to the wasm-bindgen crate (=0.2.130); not --locked (its lockfile pins a crate the mirror may lack).
[ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen 0.2.130" ] \
  || cargo install wasm-bindgen-cli --version 0.2.130 --no-default-features

step "format"
cargo fmt --all --check

step "clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "clippy (wasm32: rules, widget and the face detector)"
cargo clippy --target wasm32-unknown-unknown -p intake-rules -p intake-widget --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p intake-faces --all-targets --locked -- -D warnings

step "rules without the PDF parser (the widget's first load): clippy, and a PDF is never accepted"
cargo clippy -p intake-rules --no-default-features --lib --locked -- -D warnings
cargo test -p intake-rules --no-default-features --lib --locked attachment

step "clippy (wasm32: the widget alone, as shipped without the PDF parser, and the lazily loaded PDF module)"
cargo clippy --target wasm32-unknown-unknown -p intake-widget --all-targets --locked -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p intake-pdf --locked -- -D warnings

step "tests (native, whole workspace; a throwaway PostgreSQL cluster for the PostgreSQL store)"
bash scripts/pg-test.sh cargo test --workspace --locked

step "API contract: schemathesis explores /api/v1/openapi.json against a live server (installs it under target/)"
bash scripts/contract.sh

step "the iXiamen stand-in (oidc-provider) self-test"
node --test tests/oidc/selftest.mjs

step "wasm32 build of rules, the widget and the PDF module into www/pkg (npm run build: wasm-bindgen, wasm-opt)"
cargo build --target wasm32-unknown-unknown -p intake-rules --profile wasm-release --locked
npm run -s build

step "widget in headless Chromium: wasm-bindgen-test (the image pipeline, in a dedicated worker)"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
[ -x "$CHROMEDRIVER" ] || { echo "chromedriver not found at $CHROMEDRIVER (apt-get install chromium-driver)" >&2; exit 1; }
WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-120}" cargo test --target wasm32-unknown-unknown -p intake-widget --locked

step "the face detector in wasm32 (Node): the same faces as natively and as OpenCV"
cargo test --target wasm32-unknown-unknown -p intake-faces --test wasm --locked

step "browser end-to-end tests (intake serve, platform sandbox, oidc-provider): every scenario in Chromium; in Firefox and WebKit the whole submission, the refused photo, every draft scenario of the standalone page (reload, back/forward, gone after submit, a second person, sign-out, a reopened tab, an expired sign-in) and the image corpus (engines.test.mjs, corpus.test.mjs); screenshots in tests/e2e/artifacts/"
INTAKE_E2E_ENGINES="${INTAKE_E2E_ENGINES:-firefox,webkit}" npm run -s e2e

step "benchmarks compile (run them with cargo bench; numbers in BENCHMARKS.md)"
cargo bench -p intake-rules -p intake -p intake-faces --no-run --locked

step "cargo-deny: licences, bans and sources (deny.toml); advisories need the RustSec database, which cannot be fetched here"
cargo deny --version 2>/dev/null | grep -q '^cargo-deny 0.20.2' || cargo install cargo-deny --version 0.20.2 --locked
# Every platform's crates (cargo-deny reads the whole graph; the builds above fetched only this platform's).
cargo fetch --locked
cargo deny --offline check licenses bans sources

echo
echo "all checks passed"
