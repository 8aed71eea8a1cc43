// The browser tests' stack: the iXiamen stand-in (tests/oidc/provider.mjs, a real oidc-provider),
// the platform sandbox (`intake sandbox-platform` with a journal) and `intake serve` configured
// against both and serving www/, plus Debian's Chromium driven by playwright-core. Everything
// binds 127.0.0.1; every wait is bounded; `stop()` tears everything down.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
export const FIXTURES = path.join(ROOT, 'tests/fixtures');
const INTAKE = process.env.INTAKE_BIN || path.join(ROOT, 'target/debug/intake');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const START_TIMEOUT_MS = 30_000;

export const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Polls `fn` until it returns a truthy value (returned) or `timeoutMs` passes (throws with `what`). */
export async function until(what, fn, { timeoutMs = 30_000, everyMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Spawns a child whose first stdout line is JSON; resolves with [child, parsed line]. */
function spawnJsonLine(cmd, args, { logFile, env, cwd = ROOT } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile);
  child.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} printed nothing within ${START_TIMEOUT_MS} ms (log: ${logFile})`));
    }, START_TIMEOUT_MS);
    const lines = readline.createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.stdout.pipe(log);
      try {
        resolve([child, JSON.parse(line)]);
      } catch {
        reject(new Error(`${cmd}: expected a JSON line, got ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited with ${code} before it was ready (log: ${logFile})`));
    });
  });
}

function stopChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, 5000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGTERM');
  });
}

/** A synthetic camera picture from rules/examples/synth.rs, generated once per checkout (cached under target/). */
export function synthFixture(kind) {
  const dir = path.join(ROOT, 'target/e2e-fixtures');
  const out = path.join(dir, `${kind}.jpg`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync('cargo', ['run', '-q', '-p', 'intake-rules', '--example', 'synth', '--', kind, `${out}.tmp`], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`synth ${kind} failed (exit ${r.status})`);
    fs.renameSync(`${out}.tmp`, out);
  }
  return out;
}

/**
 * Starts the stack. `name` names the log folder under tests/e2e/artifacts/logs/. With
 * `{ chromium: false }` no browser is started (the per-engine tests bring their own, engines.mjs).
 * Returns { base, issuer, platform, browser, config, stop, newPage, platformReceived, platformStats }.
 */
export async function startStack(name, { chromium: withChromium = true } = {}) {
  for (const [file, hint] of [
    [path.join(ROOT, 'www/pkg/intake_widget.js'), 'run `npm run build` first'],
    [INTAKE, 'run `cargo build -p intake` first (`npm run e2e` does)'],
    ...(withChromium ? [[CHROMIUM, 'install Debian chromium (`apt-get install -y chromium`; scripts/test.sh does)']] : []),
    [path.join(ROOT, 'node_modules/oidc-provider'), 'run `npm ci`'],
  ]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${hint}`);
  }
  const logs = path.join(ARTIFACTS, 'logs', name);
  fs.rmSync(logs, { recursive: true, force: true });
  fs.mkdirSync(logs, { recursive: true });
  const work = fs.mkdtempSync(path.join(ROOT, 'target', `e2e-${name}-`));
  const children = [];
  let browser;
  const stop = async () => {
    if (browser) await browser.close().catch(() => {});
    for (const child of children.reverse()) await stopChild(child);
    fs.rmSync(work, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const [provider, { issuer }] = await spawnJsonLine('node', [
      'tests/oidc/provider.mjs', '--port', '0', '--redirect', `${base}/`, '--redirect', `${base}/index.html`,
    ], { logFile: path.join(logs, 'oidc-provider.log') });
    children.push(provider);
    const [platformChild, { addr: platformAddr }] = await spawnJsonLine(INTAKE, [
      'sandbox-platform', '--addr', '127.0.0.1:0', '--journal', path.join(work, 'platform.jsonl'),
    ], { logFile: path.join(logs, 'platform.log') });
    children.push(platformChild);
    const platform = `http://${platformAddr}`;
    const configFile = path.join(work, 'intake.toml');
    fs.writeFileSync(configFile, [
      '[server]', `addr = "127.0.0.1:${port}"`, `www_dir = ${JSON.stringify(path.join(ROOT, 'www'))}`,
      '[store]', `url = ${JSON.stringify(`sqlite://${path.join(work, 'intake.db')}`)}`,
      '[identity]', `issuer = ${JSON.stringify(issuer)}`, 'audience = "intake-web"',
      '[platform]', `base_url = ${JSON.stringify(platform)}`,
      '[forwarding]', 'poll_interval_ms = 200', 'base_delay_ms = 200',
      '',
    ].join('\n'));
    const serve = spawn(INTAKE, ['serve', '--config', configFile], {
      cwd: work, env: { ...process.env, INTAKE_LOG: 'info' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    serve.stderr.pipe(fs.createWriteStream(path.join(logs, 'intake-serve.log')));
    children.push(serve);
    await until(`intake serve at ${base}/readyz`, async () => {
      if (serve.exitCode !== null) throw new Error(`intake serve exited with ${serve.exitCode}`);
      return (await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
    }, { timeoutMs: START_TIMEOUT_MS });
    const config = await (await fetch(`${base}/api/v1/config`)).json();
    if (withChromium) browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: START_TIMEOUT_MS });
    const platformGet = async (p) => (await fetch(`${platform}${p}`, { signal: AbortSignal.timeout(5000) })).json();
    return {
      base,
      issuer,
      platform,
      browser,
      config,
      logs,
      stop,
      platformReceived: () => platformGet('/_sandbox/received'),
      platformStats: () => platformGet('/_sandbox/stats'),
      /** A fresh context and page; console errors and CSP violations are collected in page.problems. */
      async newPage({ width = 1280, height = 900 } = {}) {
        const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
        context.setDefaultTimeout(30_000);
        const page = await context.newPage();
        page.problems = [];
        // Our own origin only: the issuer's login pages are not ours to judge.
        // API answers like 404 archive.not_found are the flow's business (the tests check what the
        // widget shows), but a missing page asset or a CSP violation is a problem.
        page.on('console', (msg) => {
          const from = msg.location()?.url || page.url();
          if (msg.type() !== 'error' || !from.startsWith(base)) return;
          if (msg.text().startsWith('Failed to load resource') && from.startsWith(`${base}/api/`)) return;
          page.problems.push(`console: ${msg.text()} (${from})`);
        });
        page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
        return page;
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
