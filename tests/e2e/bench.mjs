// `npm run bench`: the widget's image pipeline in Chromium, Firefox and WebKit (issues 4 and 12,
// BENCHMARKS.md "Widget"), each engine against its own createImageBitmap.
//
// Per engine, in one page, on the same files, interleaved, median of RUNS after WARMUP:
//   decode    createImageBitmap(file), the engine's own full decode (the baseline);
//   pipeline  file chosen -> verdict + upload-ready JPEG through the real worker (www/intake-worker.js,
//             the protocol Imaging::process speaks, recycled like Imaging does), on the route the widget
//             takes there (Chromium, Firefox: WebCodecs ImageDecoder, scaled; WebKit: createImageBitmap);
//   bitmap    the same with `decoder: 'bitmap'` where the default route is another (no target);
// plus, in Chromium, the longest main-thread task (PerformanceObserver 'longtask': the others have no
// such entry type) while the pipeline runs, and the brotli (quality 11) size of the first load.
//
// Files: a 12 MP (4000x3000 stored, EXIF orientation 6, GPS, 4:2:0) and a 1.4 MP camera JPEG from
// `rules/examples/synth.rs` (harness.mjs synthFixture; the targets), the 1.4 MP slow case (reported),
// a noisy phone-like JPEG of about 5 MB (the 12 MP picture with sensor-like noise, re-encoded by
// Chromium at quality 0.95 back into the stored orientation, EXIF 6 spliced in; same bytes for every
// engine; reported), and in Chromium the ID card front (tests/fixtures/document/id_front.jpg) through the
// document check (reported). Then, per file, the first picture of a new worker.
// Targets (issue 12): Chromium <= 1.0x createImageBitmap for 12 MP, <= 2.5x for 1.4 MP; Firefox and
// WebKit <= 1.6x for 12 MP, <= 3x for 1.4 MP.
// Env: BENCH_ENGINES (default chromium,firefox,webkit; the ones installed), BENCH_RUNS (default 9),
// BENCH_WARMUP (default 2), BENCH_FRESH_PAUSE (default 1500). Needs `npm run build` first (www/pkg).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zc } from 'node:zlib';

import { available, launchEngine } from './engines.mjs';
import { synthFixture } from './harness.mjs';
import { serveStatic } from './static.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const www = join(root, 'www');
const RUNS = Number(process.env.BENCH_RUNS || 9);
const WARMUP = Number(process.env.BENCH_WARMUP || 2);
const FRESH_PAUSE = Number(process.env.BENCH_FRESH_PAUSE || 1500);
const ENGINES = (process.env.BENCH_ENGINES || 'chromium,firefox,webkit').split(',').map((s) => s.trim()).filter(Boolean);
const TARGETS = { chromium: { '12mp.jpg': 1.0, '1.4mp.jpg': 2.5 }, firefox: { '12mp.jpg': 1.6, '1.4mp.jpg': 3.0 }, webkit: { '12mp.jpg': 1.6, '1.4mp.jpg': 3.0 } };
const LONGTASK_LIMIT_MS = 50;
const SIZE_LIMIT = 350 * 1024;

if (!existsSync(join(www, 'pkg/intake_widget_bg.wasm'))) {
  console.error('bench: www/pkg is missing; run `npm run build` first');
  process.exit(2);
}

// ---- the files ----
const work = mkdtempSync(join(tmpdir(), 'intake-bench-'));
const files = [
  { name: '12mp.jpg', kind: 'camera-12mp', label: '12 MP camera JPEG (4000×3000, EXIF 6, GPS)' },
  { name: '1.4mp.jpg', kind: 'camera-1.4mp', label: '1.4 MP camera JPEG (1440×1080, EXIF 6, GPS)' },
  // The slow case of the photo's two-step decode (a subject far away and off to one side, so the
  // first, smaller decode is too coarse for the crop and it decodes again).
  { name: '1.4mp-far.jpg', kind: 'camera-1.4mp-far', label: '1.4 MP, subject far and off-centre (decoded twice)', reportOnly: true },
  { name: 'noisy.jpg', label: 'noisy phone-like 12 MP JPEG (EXIF 6)', reportOnly: true },
  { name: 'id_front.jpg', part: 'id_front', label: 'ID card front (document check)', reportOnly: true, only: ['chromium'] },
];
// The same bytes on every machine, cached under target/e2e-fixtures (shared with the browser tests).
for (const f of files.filter((x) => x.kind)) writeFileSync(join(work, f.name), readFileSync(synthFixture(f.kind)));
writeFileSync(join(work, 'id_front.jpg'), readFileSync(join(root, 'tests/fixtures/document/id_front.jpg')));

const server = await serveStatic({ '/files/': work });
const base = server.base;
const page0 = `${base}/pages/worker.html`;

/** A JPEG APP1 segment with only EXIF orientation `o` (as widget/src/imaging/worker.rs writes its probe). */
function exifSegment(o) {
  const tiff = Buffer.from([...Buffer.from('Exif\0\0MM\0\x2a\0\0\0\x08\0\x01', 'latin1'), 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0]);
  const len = tiff.length + 2;
  return Buffer.concat([Buffer.from([0xff, 0xe1, len >> 8, len & 255]), tiff]);
}

// ---- the noisy phone-like JPEG, made once in Chromium (same bytes for every engine) ----
{
  const engine = await launchEngine('chromium');
  try {
    const p = await engine.newPage();
    await p.goto(page0);
    await p.waitFor('the worker page', () => window.ready === true);
    const b64 = await p.evaluate(async () => {
      const bmp = await createImageBitmap(await (await fetch('/files/12mp.jpg')).blob(), { imageOrientation: 'from-image' });
      const up = new OffscreenCanvas(bmp.width, bmp.height);
      const uctx = up.getContext('2d');
      uctx.drawImage(bmp, 0, 0);
      const img = uctx.getImageData(0, 0, up.width, up.height);
      let seed = 12345;
      const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return ((seed >>> 0) % 1000) / 1000; };
      for (let i = 0; i < img.data.length; i += 4) {
        const l = (rnd() + rnd() + rnd() - 1.5) * 18; // luma-like sensor noise
        for (let c = 0; c < 3; c++) img.data[i + c] = Math.max(0, Math.min(255, img.data[i + c] + l + (rnd() - 0.5) * 6));
      }
      uctx.putImageData(img, 0, 0);
      // Back to the stored orientation (EXIF 6: stored = upright rotated 90° counter-clockwise).
      const stored = new OffscreenCanvas(up.height, up.width);
      const sctx = stored.getContext('2d');
      sctx.translate(0, stored.height);
      sctx.rotate(-Math.PI / 2);
      sctx.drawImage(up, 0, 0);
      const blob = await stored.convertToBlob({ type: 'image/jpeg', quality: 0.95 });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    });
    const jpeg = Buffer.from(b64, 'base64');
    writeFileSync(join(work, 'noisy.jpg'), Buffer.concat([jpeg.subarray(0, 2), exifSegment(6), jpeg.subarray(2)]));
    await p.close();
  } finally {
    await engine.close();
  }
}
for (const f of files) f.bytes = statSync(join(work, f.name)).size;

// ---- the measurements, in the page (installed once, then one call per file and round) ----
function install() {
  const blobs = {};
  let worker = null;
  let sent = 0;
  let nextId = 1;
  const pending = new Map();
  window.longtasks = [];
  // Engines without the entry type ignore the observer silently (Firefox, WebKit): ask first.
  window.longtaskSupported = (PerformanceObserver.supportedEntryTypes || []).includes('longtask');
  if (window.longtaskSupported) {
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longtasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
  }
  // The Imaging protocol (widget/src/imaging/mod.rs): one module worker, spawned lazily; once idle,
  // terminated and respawned at once when its WebAssembly memory reached RECYCLE_MEMORY_BYTES (64 MiB)
  // or it handled RECYCLE_AFTER (32) images.
  const spawn = () => {
    worker = new Worker('/www/intake-worker.js', { type: 'module' });
    worker.onmessage = (e) => {
      const r = pending.get(e.data.id);
      pending.delete(e.data.id);
      if (r) r(e.data);
      if (pending.size === 0 && (sent >= 32 || (e.data.memoryBytes || 0) >= 64 * 1024 * 1024)) {
        worker.terminate();
        spawn();
      }
    };
    sent = 0;
  };
  const send = (part, file, decoder) => {
    if (!worker) spawn();
    sent += 1;
    const id = nextId++;
    return new Promise((res) => {
      pending.set(id, res);
      worker.postMessage({ id, part, file, profile: '', decoder });
    });
  };
  // File chosen -> verdict + upload-ready JPEG, with what Imaging::process does with the reply on the
  // main thread (bytes copied, an object URL made, the verdict parsed).
  const timed = async (part, file, decoder) => {
    const t0 = performance.now();
    const reply = await send(part, file, decoder);
    let url = null;
    let outBytes = 0;
    if (reply.output) {
      outBytes = new Uint8Array(reply.output).slice().length;
      url = URL.createObjectURL(new Blob([reply.output], { type: reply.mediaType }));
    }
    const verdict = JSON.parse(reply.verdict || '{}');
    const ms = performance.now() - t0;
    if (url) URL.revokeObjectURL(url);
    const passes = Boolean(reply.output) && !(verdict.problems || []).some((p) => p.severity === 'error');
    return { ms, passes, outBytes, decoder: reply.decoder, decodes: reply.decodes, timings: reply.timings || {}, memoryBytes: reply.memoryBytes || 0, error: reply.error || null, frameOrientation: reply.frameOrientation };
  };
  const pause = (ms) => new Promise((r) => { setTimeout(r, ms); });
  window.bench = {
    async load(names) {
      for (const n of names) {
        const b = await (await fetch(`/files/${n}`)).blob();
        blobs[n] = new File([b], n, { type: 'image/jpeg' });
      }
      return true;
    },
    async round(name, part, withBitmap) {
      const file = blobs[name];
      const t0 = performance.now();
      const bmp = await createImageBitmap(file);
      const decode = performance.now() - t0;
      bmp.close();
      await pause(50);
      // The same decode made to give pixels: drawn once at full size and one pixel read back. WebKit's
      // createImageBitmap defers its decode to the first draw, so the awaited bitmap alone understates it.
      const t1 = performance.now();
      const bmp2 = await createImageBitmap(file);
      const cv = new OffscreenCanvas(bmp2.width, bmp2.height);
      const cx = cv.getContext('2d');
      cx.drawImage(bmp2, 0, 0);
      cx.getImageData(0, 0, 1, 1);
      const drawn = performance.now() - t1;
      bmp2.close();
      cv.width = 1;
      await pause(50);
      const before = window.longtasks.length;
      const best = await timed(part, file);
      // Long enough for a recycled worker to be respawned before the next measurement.
      await pause(400);
      const bitmap = withBitmap ? await timed(part, file, 'bitmap') : null;
      const tasks = window.longtasks.slice(before);
      await pause(400);
      return { decode, drawn, best, bitmap, tasks };
    },
    // The first picture of a new worker (after its warm-up): the first photo of a session, and the
    // next one after a recycle. Reported, not a target.
    async fresh(name, part, freshPause) {
      if (worker) worker.terminate();
      spawn();
      await pause(freshPause);
      return timed(part, blobs[name]);
    },
    stop() { if (worker) worker.terminate(); worker = null; return true; },
  };
  return window.longtaskSupported;
}

const median = (xs) => {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(0)} ms`;

let ok = true;
const report = {};
try {
  for (const engineName of ENGINES) {
    if (!available(engineName)) {
      console.log(`\nbench: ${engineName} is not installed, skipped`);
      continue;
    }
    const started = Date.now();
    const engine = await launchEngine(engineName);
    const mine = files.filter((f) => !f.only || f.only.includes(engineName));
    const out = Object.fromEntries(mine.map((f) => [f.name, { decode: [], drawn: [], best: [], bitmap: [], fresh: [], tasks: [] }]));
    let longtasks = false;
    try {
      const p = await engine.newPage({ width: 1280, height: 900 });
      await p.goto(page0);
      await p.waitFor('the worker page', () => window.ready === true);
      longtasks = await p.evaluate(install);
      await p.evaluate((names) => window.bench.load(names), mine.map((f) => f.name));
      for (let i = 0; i < WARMUP + RUNS; i++) {
        for (const f of mine) {
          // The bitmap route where it is not already the default (WebKit has no ImageDecoder).
          const r = await p.evaluate((n, part, wb) => window.bench.round(n, part, wb), f.name, f.part || 'photo', engineName !== 'webkit');
          if (i < WARMUP) continue;
          const o = out[f.name];
          o.decode.push(r.decode);
          o.drawn.push(r.drawn);
          o.best.push(r.best);
          if (r.bitmap) o.bitmap.push(r.bitmap);
          o.tasks.push(...r.tasks);
        }
      }
      for (let i = 0; i < RUNS; i++) {
        for (const f of mine) out[f.name].fresh.push(await p.evaluate((n, part, fp) => window.bench.fresh(n, part, fp), f.name, f.part || 'photo', FRESH_PAUSE));
      }
      await p.evaluate(() => window.bench.stop());
      await p.close();
    } finally {
      await engine.close();
    }
    const rows = mine.map((f) => {
      const o = out[f.name];
      const d = median(o.decode);
      const pl = median(o.best.map((b) => b.ms));
      const drawn = median(o.drawn);
      const target = TARGETS[engineName]?.[f.name];
      const maxTask = o.tasks.length ? Math.max(...o.tasks) : 0;
      const passes = o.best.every((b) => b.passes);
      const bm = o.bitmap.length ? median(o.bitmap.map((b) => b.ms)) : null;
      const bitmapPasses = o.bitmap.every((b) => b.passes && b.decoder === 'bitmap');
      const meets = target === undefined || pl / d <= target;
      ok &&= meets && (f.part ? true : passes) && bitmapPasses && (!longtasks || maxTask <= LONGTASK_LIMIT_MS);
      const stages = Object.fromEntries(Object.keys(o.best[0]?.timings || {}).map((k) => [k, median(o.best.map((b) => b.timings[k] ?? 0))]));
      return {
        file: f.name, label: f.label, bytes: f.bytes, decode: d, drawn, drawnRatio: pl / drawn, pipeline: pl, ratio: pl / d, target, meets,
        worker: median(o.best.map((b) => b.timings.total)), decoder: [...new Set(o.best.map((b) => b.decoder))].join(','),
        decodes: [...new Set(o.best.map((b) => b.decodes))].join(','), frameOrientation: o.best[0]?.frameOrientation,
        passes, outBytes: o.best.at(-1)?.outBytes, error: o.best.find((b) => b.error)?.error || null,
        bitmap: bm, bitmapRatio: bm === null ? null : bm / d, bitmapPasses,
        fresh: median(o.fresh.map((b) => b.ms)), maxTask, longtasks: longtasks ? o.tasks.length : null, stages,
        memory: Math.max(...o.best.map((b) => b.memoryBytes)),
      };
    });
    report[engineName] = { rows, seconds: (Date.now() - started) / 1000 };
    console.log(`\n${engineName}: the widget's image pipeline, median of ${RUNS} after ${WARMUP} warm-up, interleaved (${new Date().toISOString().slice(0, 10)}; ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    console.log('| file | createImageBitmap (decode) | file → verdict + JPEG | in worker | ratio (target) | createImageBitmap + full draw (ratio) | longest main-thread task | decoder (decodes; frames) | verdict | bitmap route | first picture of a new worker |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      const tasks = r.longtasks === null ? 'not measurable' : r.longtasks ? ms(r.maxTask) : 'none (> 50 ms: 0)';
      const verdict = r.passes ? `passes (${((r.outBytes || 0) / 1024).toFixed(0)} KB JPEG)` : `${r.file === 'id_front.jpg' ? 'document' : 'FAILS'} ${r.error || ''}`;
      console.log(`| ${r.label}, ${(r.bytes / 1e6).toFixed(1)} MB | ${ms(r.decode)} | ${ms(r.pipeline)} | ${ms(r.worker)} | ${r.ratio.toFixed(2)}× (${r.target === undefined ? 'reported' : `≤ ${r.target}×${r.meets ? '' : ' MISSED'}`}) | ${ms(r.drawn)} (${r.drawnRatio.toFixed(2)}×) | ${tasks} | ${r.decoder} (${r.decodes}; ${r.frameOrientation}) | ${verdict} | ${r.bitmap === null ? '(default route)' : `${ms(r.bitmap)}, ${r.bitmapRatio.toFixed(2)}×${r.bitmapPasses ? '' : ' FAILS'}`} | ${ms(r.fresh)} (${(r.fresh / r.decode).toFixed(2)}×) |`);
    }
    console.log(`\nWorker stages (median ms): ${rows.map((r) => `${r.file}: ${Object.entries(r.stages).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}`).join('; ')}`);
    console.log(`Worker memory (largest, MiB): ${rows.map((r) => `${r.file} ${(r.memory / 1048576).toFixed(0)}`).join(', ')}`);
  }
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}

// ---- side by side ----
const engines = Object.keys(report);
if (engines.length > 1) {
  console.log('\nSide by side: file → verdict + JPEG, and its ratio to the same engine\'s createImageBitmap\n');
  console.log(`| file | ${engines.map((e) => `${e}: createImageBitmap | ${e}: pipeline (ratio, route)`).join(' | ')} |`);
  console.log(`| --- | ${engines.map(() => '--- | ---').join(' | ')} |`);
  for (const f of files) {
    const cells = engines.map((e) => {
      const r = report[e].rows.find((x) => x.file === f.name);
      return r ? `${ms(r.decode)} | ${ms(r.pipeline)} (${r.ratio.toFixed(2)}×${r.target === undefined ? '' : `, ≤ ${r.target}×${r.meets ? '' : ' MISSED'}`}; ${r.decoder})` : '— | —';
    });
    console.log(`| ${f.label} | ${cells.join(' | ')} |`);
  }
}

// ---- first-load size ----
const firstLoad = ['intake-embed.js', 'pkg/intake_widget.js', 'pkg/intake_widget_bg.wasm', 'intake-worker.js'];
const snippets = join(www, 'pkg/snippets');
const walk = (d) => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
const sizeFiles = [...firstLoad.map((f) => join(www, f)).filter(existsSync), ...(existsSync(snippets) ? walk(snippets) : []), ...walk(www).filter((f) => f.endsWith('.css') && f.includes('intake'))];
const sizes = sizeFiles.map((f) => {
  const raw = readFileSync(f);
  const br = brotliCompressSync(raw, { params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: raw.length } }).length;
  return { file: f.slice(www.length + 1), raw: raw.length, brotli: br };
});
const totalBr = sizes.reduce((a, s) => a + s.brotli, 0);
ok &&= totalBr <= SIZE_LIMIT;
console.log(`\nFirst load, brotli q11: ${(totalBr / 1024).toFixed(1)} KB (limit ${SIZE_LIMIT / 1024} KB)`);
for (const s of sizes) console.log(`  ${s.file}: ${(s.raw / 1024).toFixed(1)} KB raw, ${(s.brotli / 1024).toFixed(1)} KB brotli`);
// Not in the first load: the PDF module (widget/pdf), which the image worker loads at the first PDF chosen.
const lazy = ['pkg/intake_pdf.js', 'pkg/intake_pdf_bg.wasm'].map((f) => join(www, f)).filter(existsSync).map((f) => {
  const raw = readFileSync(f);
  const br = brotliCompressSync(raw, { params: { [zc.BROTLI_PARAM_QUALITY]: 11, [zc.BROTLI_PARAM_SIZE_HINT]: raw.length } }).length;
  return { file: f.slice(www.length + 1), raw: raw.length, brotli: br };
});
const lazyBr = lazy.reduce((a, s) => a + s.brotli, 0);
console.log(`Loaded at the first PDF (not counted above), brotli q11: ${(lazyBr / 1024).toFixed(1)} KB`);
for (const s of lazy) console.log(`  ${s.file}: ${(s.raw / 1024).toFixed(1)} KB raw, ${(s.brotli / 1024).toFixed(1)} KB brotli`);
const artifacts = join(root, 'tests/e2e/artifacts');
mkdirSync(artifacts, { recursive: true });
writeFileSync(join(artifacts, 'bench.json'), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, report, sizes, totalBrotli: totalBr, pdfModule: lazy, pdfModuleBrotli: lazyBr }, null, 2));
console.log(ok ? '\nbench: every target holds' : '\nbench: a target is missed (see above)');
process.exitCode = ok ? 0 : 1;
