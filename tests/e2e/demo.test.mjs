// `intake demo` (what `npm start` runs): it serves the standalone page and the embed demo, and its
// sandbox identity provider signs a sample person in through the same PKCE code flow.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { ARTIFACTS, ROOT, until } from './harness.mjs';
import { assertNoPageProblems, inspectStep } from './pages.mjs';

let demo;
let base;
let browser;
let work;

before(async () => {
  work = fs.mkdtempSync(path.join(ROOT, 'target', 'e2e-demo-'));
  fs.symlinkSync(path.join(ROOT, 'www'), path.join(work, 'www'));
  fs.mkdirSync(path.join(ARTIFACTS, 'logs'), { recursive: true });
  demo = spawn(process.env.INTAKE_BIN || path.join(ROOT, 'target/debug/intake'), ['demo', '--addr', '127.0.0.1:0'], {
    cwd: work, stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stderr.pipe(fs.createWriteStream(path.join(ARTIFACTS, 'logs', 'intake-demo.log')));
  let out = '';
  demo.stdout.on('data', (chunk) => { out += chunk; });
  base = await until('intake demo to print its page URL', () => /page:\s+(http:\/\/\S+?)\/\s/.exec(out)?.[1], { timeoutMs: 30_000 });
  assert.match(out, /embed demo:\s+http:\/\/\S+\/embed-demo\.html/, 'the demo prints the embed demo URL');
  assert.doesNotMatch(out, /NOTE: the widget is not built/, 'www/pkg is built');
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    const exited = new Promise((resolve) => { demo.once('exit', resolve); });
    demo.kill('SIGTERM');
    const timer = setTimeout(() => demo.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  page.problems = [];
  // The sandbox issuer's login page (like a real issuer's) is not ours to judge.
  page.on('console', (m) => {
    if (m.type() === 'error' && !page.url().includes('/sandbox/idp/')) page.problems.push(`${m.text()} (${page.url()})`);
  });
  page.on('pageerror', (e) => page.problems.push(e.message));
  return page;
}

test('the demo serves the standalone page; the sandbox issuer signs a sample person in with PKCE', async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.locator('#login').click();
  await page.locator('a[data-person="rare-name"]').click();
  await page.locator('#who', { hasText: '王bing' }).waitFor();
  await page.locator('#intake section').first().waitFor({ state: 'attached' });
  await inspectStep(page, 'demo', 'standalone-mounted');
  assertNoPageProblems(page);
  await page.context().close();
});

test('the demo\'s embed page signs a sample person in and mounts <intake-collection>', async () => {
  const page = await newPage();
  await page.goto(`${base}/embed-demo.html`);
  await page.locator('#person').selectOption('passport-holder');
  await page.locator('#host-signin').click();
  await page.locator('#host-status', { hasText: 'passport-holder' }).waitFor();
  await page.locator('intake-collection section').first().waitFor({ state: 'attached' });
  await inspectStep(page, 'demo', 'embed-mounted');
  assertNoPageProblems(page);
  await page.context().close();
});
