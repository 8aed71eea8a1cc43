#!/usr/bin/env bash
# `npm run build`: builds the widget into www/pkg (intake_widget.js + intake_widget_bg.wasm), the one
# WebAssembly module the page, the embed script and the image worker all load. Installs what is missing:
# the npm packages (wasm-opt comes from npm `binaryen`) and wasm-bindgen-cli, pinned to the crate's version.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
OUT=www/pkg
WASM=target/wasm32-unknown-unknown/wasm-release/intake_widget.wasm

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if [ ! -x node_modules/.bin/wasm-opt ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "build-widget: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  # Not --locked: the CLI's own lockfile pins a webpki-roots the registry mirror may lack.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --no-default-features
fi

cargo build --profile wasm-release --target wasm32-unknown-unknown -p intake-widget --locked

# Skip wasm-bindgen and wasm-opt (15-20 s) when the output is newer than the compiled module.
if [ -f "$OUT/intake_widget_bg.wasm" ] && [ -f "$OUT/intake_widget.js" ] && [ "$OUT/intake_widget_bg.wasm" -nt "$WASM" ]; then
  echo "build-widget: $OUT is up to date"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$tmp" "$WASM"
node_modules/.bin/wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$tmp/intake_widget_bg.wasm" -o "$tmp/intake_widget_bg.opt.wasm"
mkdir -p "$OUT"
mv "$tmp/intake_widget_bg.opt.wasm" "$OUT/intake_widget_bg.wasm"
mv "$tmp/intake_widget.js" "$OUT/intake_widget.js"
rm -rf "$OUT/snippets"
if [ -d "$tmp/snippets" ]; then mv "$tmp/snippets" "$OUT/snippets"; fi
ls -l "$OUT"
