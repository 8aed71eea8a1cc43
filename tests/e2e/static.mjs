// A static file server on 127.0.0.1 for the pages that drive the image worker without the backend
// (the corpus page of corpus.test.mjs, the bench): `/www/…` is www/ (the built widget in www/pkg and
// www/intake-worker.js), `/fixtures/…` tests/fixtures, `/synth/…` target/e2e-fixtures (synthFixture),
// `/pages/…` tests/e2e/pages, and `extra` maps more prefixes to folders.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

import { ROOT } from './harness.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.jpg': 'image/jpeg', '.png': 'image/png', '.pdf': 'application/pdf', '.json': 'application/json',
};

/** Starts the server; resolves to { base, close }. */
export async function serveStatic(extra = {}) {
  const roots = {
    '/www/': join(ROOT, 'www'),
    '/fixtures/': join(ROOT, 'tests/fixtures'),
    '/synth/': join(ROOT, 'target/e2e-fixtures'),
    '/pages/': join(ROOT, 'tests/e2e/pages'),
    ...extra,
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const prefix = Object.keys(roots).find((p) => url.pathname.startsWith(p));
    if (!prefix) { res.writeHead(404); res.end(); return; }
    const root = roots[prefix];
    const file = join(root, normalize(decodeURIComponent(url.pathname.slice(prefix.length))).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(root + sep)) { res.writeHead(403); res.end(); return; }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}
