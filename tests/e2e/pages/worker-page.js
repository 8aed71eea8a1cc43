// Drives the widget's image worker (www/intake-worker.js, loading www/pkg) from a page, as
// widget/src/imaging/mod.rs does: {id, part, file, profile, decoder?} in, the reply out. Used by
// corpus.test.mjs (every engine's decoders on the fixture corpus) and bench.mjs.
let worker = null;
let nextId = 1;
const pending = new Map();

function spawn() {
  worker = new Worker('/www/intake-worker.js', { type: 'module' });
  worker.onmessage = (e) => {
    const resolve = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (resolve) resolve(e.data);
  };
  worker.onerror = (e) => {
    for (const [, resolve] of pending) resolve({ error: `worker error: ${e.message}` });
    pending.clear();
  };
}

/** Posts one file to the worker; resolves to its reply. */
export function processFile(part, file, { profile = '', decoder } = {}) {
  if (!worker) spawn();
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ id, part, file, profile, decoder });
  });
}

/** A new worker (the next request starts it). */
export function restart() {
  if (worker) worker.terminate();
  worker = null;
}

/** `url` fetched as a File named after its last path segment. */
export async function fileAt(url, type) {
  const blob = await (await fetch(url)).blob();
  return new File([blob], url.split('/').pop(), { type: type || blob.type });
}

/** RGBA pixels of a JPEG/PNG (the engine's own decoder), for comparing outputs. */
export async function pixels(buffer) {
  const bmp = await createImageBitmap(new Blob([buffer]));
  const canvas = new OffscreenCanvas(bmp.width, bmp.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bmp, 0, 0);
  bmp.close();
  return { width: canvas.width, height: canvas.height, data: ctx.getImageData(0, 0, canvas.width, canvas.height).data };
}

/** Mean absolute difference per channel (RGB) of two same-sized pictures' pixels; null when sizes differ. */
export async function meanDiff(a, b) {
  const [x, y] = await Promise.all([pixels(a), pixels(b)]);
  if (x.width !== y.width || x.height !== y.height) return null;
  let sum = 0;
  for (let i = 0; i < x.data.length; i += 4) {
    sum += Math.abs(x.data[i] - y.data[i]) + Math.abs(x.data[i + 1] - y.data[i + 1]) + Math.abs(x.data[i + 2] - y.data[i + 2]);
  }
  return sum / ((x.data.length / 4) * 3);
}

const problems = (json) => (JSON.parse(json || '{}').problems || []).map((p) => `${p.code}:${p.severity}`).sort();

/**
 * Runs `cases` ({file: URL, part, profile, decoder?}) through the worker's default route, then posts
 * each output back through the rules' own decoder (`decoder: 'rules'`), whose `before` is the
 * rules' check of those bytes: it must equal the verdict shown. With `compareRules`, the file also
 * goes through the rules' route and the two outputs' pixels are compared.
 */
export async function runCases(cases) {
  const out = [];
  for (const c of cases) {
    const file = await fileAt(c.file);
    const r = await processFile(c.part, file, { profile: c.profile || '', decoder: c.decoder });
    const row = {
      file: c.file, part: c.part, error: r.error || null, decoder: r.decoder, frameOrientation: r.frameOrientation,
      before: problems(r.before), verdict: problems(r.verdict), passes: r.passes, width: r.width, height: r.height,
      mediaType: r.mediaType, ms: r.timings?.total,
    };
    if (r.output) {
      const again = await processFile(c.part, new File([r.output], r.fileName, { type: r.mediaType }), { profile: c.profile || '', decoder: 'rules' });
      row.checkOfOutput = problems(again.before);
    }
    if (c.compareRules) {
      const rules = await processFile(c.part, file, { profile: c.profile || '', decoder: 'rules' });
      row.rules = { decoder: rules.decoder, verdict: problems(rules.verdict), width: rules.width, height: rules.height };
      row.diffToRules = r.output && rules.output && r.mediaType === 'image/jpeg' ? await meanDiff(r.output, rules.output) : null;
    }
    out.push(row);
  }
  return out;
}

window.intake = { processFile, restart, fileAt, pixels, meanDiff, runCases };
window.ready = true;
