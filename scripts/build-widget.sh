#!/usr/bin/env bash
# `npm run build`: builds the widget into www/pkg: intake_widget.js + intake_widget_bg.wasm, the
# WebAssembly module the page, the embed script and the image worker all load (built without the rules'
# PDF parser), and intake_pdf.js + intake_pdf_bg.wasm (widget/pdf: the rules with it), which the image
# worker loads only when a PDF is chosen. Installs what is missing: the npm packages (wasm-opt comes
# from npm `binaryen`) and wasm-bindgen-cli, pinned to the crate's version.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
OUT=www/pkg


rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if [ ! -x node_modules/.bin/wasm-opt ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "build-widget: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  # Not --locked: the CLI's own lockfile pins a webpki-roots the registry mirror may lack.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --no-default-features
fi

# Two cargo runs, never one: built together, Cargo would unify intake-rules' features and the widget
# would carry the PDF parser after all.
cargo build --profile wasm-release --target wasm32-unknown-unknown -p intake-widget --locked
cargo build --profile wasm-release --target wasm32-unknown-unknown -p intake-pdf --locked

DIR=target/wasm32-unknown-unknown/wasm-release
mkdir -p "$OUT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# wasm-bindgen and wasm-opt for one crate's module (skipped, 15-20 s, when its output is newer).
bindgen() {
  local name="$1" snippets="$2"
  if [ -f "$OUT/${name}_bg.wasm" ] && [ -f "$OUT/$name.js" ] && [ "$OUT/${name}_bg.wasm" -nt "$DIR/$name.wasm" ]; then
    echo "build-widget: $OUT/$name is up to date"
    return
  fi
  rm -rf "${tmp:?}"/*
  wasm-bindgen --target web --no-typescript --out-dir "$tmp" "$DIR/$name.wasm"
  node_modules/.bin/wasm-opt -O3 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$tmp/${name}_bg.wasm" -o "$tmp/${name}_bg.opt.wasm"
  mv "$tmp/${name}_bg.opt.wasm" "$OUT/${name}_bg.wasm"
  mv "$tmp/$name.js" "$OUT/$name.js"
  if [ "$snippets" = snippets ]; then
    rm -rf "$OUT/snippets"
    if [ -d "$tmp/snippets" ]; then mv "$tmp/snippets" "$OUT/snippets"; fi
  elif [ -d "$tmp/snippets" ]; then
    echo "build-widget: $name must not have JS snippets (they would replace the widget's)" >&2
    exit 1
  fi
}
bindgen intake_widget snippets
bindgen intake_pdf none
# The first load must not carry the PDF parser (its error texts are in the module when it does), and
# the PDF module must.
if grep -qa 'startxref' "$OUT/intake_widget_bg.wasm"; then
  echo "build-widget: intake_widget_bg.wasm carries the rules' PDF parser (feature unification?)" >&2
  exit 1
fi
grep -qa 'startxref' "$OUT/intake_pdf_bg.wasm" || { echo "build-widget: intake_pdf_bg.wasm has no PDF parser" >&2; exit 1; }
ls -l "$OUT"
# The first load's size, with tests/e2e/bench.mjs's formula (brotli q11 of the embed script, the widget's
# JS and wasm, the image worker, the JS snippets and intake*.css): fail when it is over the budget
# (BENCHMARKS.md "First load"). INTAKE_FIRST_LOAD_LIMIT_KB overrides the limit for experiments.
INTAKE_FIRST_LOAD_LIMIT_KB="${INTAKE_FIRST_LOAD_LIMIT_KB:-350}" node --input-type=module -e '
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants as zc } from "node:zlib";
const www = "www";
const limit = Number(process.env.INTAKE_FIRST_LOAD_LIMIT_KB);
if (!(limit > 0)) { console.error("build-widget: INTAKE_FIRST_LOAD_LIMIT_KB must be a positive number of KB"); process.exit(1); }
const firstLoad = ["intake-embed.js", "pkg/intake_widget.js", "pkg/intake_widget_bg.wasm", "intake-worker.js"];
const snippets = join(www, "pkg/snippets");
const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
const files = [...firstLoad.map((f) => join(www, f)).filter(existsSync), ...(existsSync(snippets) ? walk(snippets) : []), ...walk(www).filter((f) => f.endsWith(".css") && f.includes("intake"))];
let total = 0;
for (const f of files) {
  const raw = readFileSync(f);
  total += brotliCompressSync(raw, { params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: raw.length } }).length;
}
const kb = (total / 1024).toFixed(1);
if (total > limit * 1024) {
  console.error(`build-widget: the first load is ${kb} KB brotli (q11), over its ${limit} KB budget (BENCHMARKS.md "First load"); files: ${files.join(", ")}. Make it smaller, or set INTAKE_FIRST_LOAD_LIMIT_KB to experiment.`);
  process.exit(1);
}
console.log(`build-widget: first load ${kb} KB brotli (q11), budget ${limit} KB`);
'
