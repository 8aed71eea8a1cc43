// One small interface over the three browser engines the tests drive, so a scenario can run in each:
//
//   const engine = await launchEngine('chromium' | 'firefox' | 'webkit');
//   const page = await engine.newPage({ width: 360, height: 740 });
//   await page.goto(url);                      // and waits for the load event
//   await page.setViewport(width, height);
//   await page.click(selector);                // the first visible match, in the document or any open shadow root
//   await page.type(selector, text);           // clears the control, then types (real key events)
//   await page.select(selector, value);        // a <select>'s option by value (input + change events)
//   await page.upload(selector, file);         // sets a file input (inside a shadow root too) to one path
//   await page.waitFor(what, fn, ...args);     // polls page.evaluate(fn, ...args) until truthy (bounded)
//   await page.waitForSelector(selector);      // a visible match
//   await page.evaluate(fn, ...args);          // fn runs in the page (may be async; args/result JSON)
//   await page.screenshot(file);               // PNG of the viewport
//   await page.reload(); await page.back(); await page.forward();   // the browser's own buttons
//   await page.url(); await page.close(); await engine.close();
//   const tab = await page.newTab();           // another tab of the same browser profile (shared cookies
//                                              // and IndexedDB, its own sessionStorage): a reopened tab
//   await page.clearCookies();                 // every cookie of the profile (the issuer's session too)
//
// Selectors are plain CSS, matched in the document and every open shadow root (the widget renders in
// one), so the same selector works whether or not the element is inside the widget.
//
// - chromium: Debian's /usr/bin/chromium through playwright-core (CDP).
// - firefox:  Debian's /usr/bin/firefox-esr through puppeteer-core over WebDriver BiDi (no geckodriver).
// - webkit:   WebKitGTK's MiniBrowser (--automation) through /usr/bin/WebKitWebDriver, under xvfb-run
//             (it has no headless mode), spoken to by the small W3C WebDriver client below (plain
//             fetch: no selenium-webdriver, whose package also carries selenium-manager, a binary that
//             downloads drivers).
// `engine.available()` says whether an engine's binaries are installed (tests skip the others and
// say so); INTAKE_E2E_ENGINES (comma-separated) picks which engines the per-engine tests run.

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const BINARIES = {
  chromium: [process.env.CHROMIUM || '/usr/bin/chromium'],
  firefox: [process.env.FIREFOX || '/usr/bin/firefox-esr'],
  webkit: [
    process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver',
    process.env.MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
    '/usr/bin/xvfb-run',
  ],
};

/** Engines whose binaries are present. */
export function available(name) {
  return BINARIES[name].every((f) => fs.existsSync(f));
}

/** The engines the per-engine tests run: INTAKE_E2E_ENGINES, default `firefox,webkit`. */
export function selectedEngines(fallback = 'firefox,webkit') {
  return (process.env.INTAKE_E2E_ENGINES || fallback).split(',').map((s) => s.trim()).filter(Boolean);
}

const LAUNCH_TIMEOUT_MS = 60_000;
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// In the page: the first element matching `sel` in the document or an open shadow root, visible ones first.
const DEEP_QUERY = `(sel) => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll(sel)) found.push(el);
    for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return found.find((el) => el.getClientRects().length > 0) || found[0] || null;
}`;

/** Shared on top of each engine's primitives: the waits and the generic <select>. */
function decorate(page) {
  page.waitFor = async (what, fn, ...args) => {
    const timeoutMs = 30_000;
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        const v = await page.evaluate(fn, ...args);
        if (v) return v;
      } catch (e) {
        last = e;
      }
      await sleep(200);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last.message})` : ''}`);
  };
  page.waitForSelector = (sel) => page.waitFor(sel, new Function('sel', `const el = (${DEEP_QUERY})(sel); return !!el && el.getClientRects().length > 0;`), sel);
  page.select = (sel, value) => page.evaluate(new Function('sel', 'value', `
    const el = (${DEEP_QUERY})(sel);
    if (!el) throw new Error('no ' + sel);
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
    return el.value === value;`), sel, value);
  return page;
}

// ---------- Chromium: playwright-core ----------
async function chromiumEngine() {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: BINARIES.chromium[0],
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: LAUNCH_TIMEOUT_MS,
  });
  return {
    name: 'chromium',
    async newPage({ width = 1280, height = 900 } = {}) {
      const context = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
      context.setDefaultTimeout(30_000);
      const wrap = async () => {
        const p = await context.newPage();
        const handle = async (sel) => {
          const h = (await p.evaluateHandle(new Function('sel', `return (${DEEP_QUERY})(sel);`), sel)).asElement();
          if (!h) throw new Error(`no element matches ${sel}`);
          return h;
        };
        return decorate({
          raw: p,
          goto: (url) => p.goto(url),
          reload: () => p.reload(),
          back: () => p.goBack(),
          forward: () => p.goForward(),
          setViewport: (w, h) => p.setViewportSize({ width: w, height: h }),
          click: async (sel) => (await handle(sel)).click(),
          type: async (sel, text) => (await handle(sel)).fill(text),
          upload: async (sel, file) => {
            const h = await handle(sel);
            await h.setInputFiles([]); // Chromium fires no change event for the same file twice
            await h.setInputFiles(file);
          },
          // As an expression built here: the driver evaluates it past the page's CSP (no eval in the page).
          evaluate: (fn, ...args) => p.evaluate(`(${fn.toString()})(...${JSON.stringify(args)})`),
          screenshot: (file) => p.screenshot({ path: file }),
          url: async () => p.url(),
          newTab: wrap,
          clearCookies: () => context.clearCookies(),
          // The last tab closes the profile with it.
          close: async () => { await p.close(); if (context.pages().length === 0) await context.close(); },
        });
      };
      return wrap();
    },
    close: () => browser.close(),
  };
}

// ---------- Firefox: puppeteer-core over WebDriver BiDi ----------
async function firefoxEngine() {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: BINARIES.firefox[0],
    headless: true,
    timeout: LAUNCH_TIMEOUT_MS,
    protocolTimeout: 600_000,
    extraPrefsFirefox: { 'intl.accept_languages': 'zh-CN, zh, en' },
  });
  return {
    name: 'firefox',
    async newPage({ width = 1280, height = 900 } = {}) {
      const context = await browser.createBrowserContext();
      const wrap = async () => {
        const p = await context.newPage();
        p.setDefaultTimeout(30_000);
        await p.setViewport({ width, height });
        const handle = async (sel) => {
          const h = (await p.evaluateHandle(new Function('sel', `return (${DEEP_QUERY})(sel);`), sel)).asElement();
          if (!h) throw new Error(`no element matches ${sel}`);
          return h;
        };
        return decorate({
          raw: p,
          goto: (url) => p.goto(url, { waitUntil: 'load' }),
          reload: () => p.reload({ waitUntil: 'load' }),
          back: () => p.goBack(),
          forward: () => p.goForward(),
          setViewport: (w, h) => p.setViewport({ width: w, height: h }),
          click: async (sel) => {
            const h = await handle(sel);
            await h.evaluate((el) => el.scrollIntoView({ block: 'center' }));
            await h.click();
          },
          type: async (sel, text) => {
            const h = await handle(sel);
            await h.evaluate((el) => { el.scrollIntoView({ block: 'center' }); el.focus(); el.select?.(); });
            await p.keyboard.press('Backspace');
            await h.type(text);
          },
          upload: async (sel, file) => (await handle(sel)).uploadFile(file),
          evaluate: (fn, ...args) => p.evaluate(`(${fn.toString()})(...${JSON.stringify(args)})`),
          screenshot: (file) => p.screenshot({ path: file }),
          url: async () => p.url(),
          newTab: wrap,
          clearCookies: async () => {
            const all = await context.cookies();
            if (all.length) await context.deleteCookie(...all);
          },
          close: async () => { await p.close(); if ((await context.pages()).length === 0) await context.close(); },
        });
      };
      return wrap();
    },
    close: () => browser.close(),
  };
}

// ---------- WebKit: WebKitWebDriver + MiniBrowser under xvfb-run, a W3C WebDriver client over fetch ----------
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function webkitEngine() {
  const config = fs.mkdtempSync(path.join(os.tmpdir(), 'intake-webkit-'));
  // MiniBrowser's toolbar keeps its window at least ~447 px wide; this shrinks it so 360 px works.
  fs.mkdirSync(path.join(config, 'gtk-3.0'), { recursive: true });
  fs.writeFileSync(path.join(config, 'gtk-3.0', 'gtk.css'), '* { min-width: 0; min-height: 0; padding: 0; margin: 0; font-size: 1px; }\n');
  const driver = { child: null, server: '', stderr: '' };
  const kill = () => {
    try { process.kill(-driver.child.pid, 'SIGTERM'); } catch { /* gone */ }
  };
  const call = async (method, p, body, timeoutMs = 120_000) => {
    const r = await fetch(`${driver.server}${p}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((e) => {
      // Which command hung, and with what (a bare "aborted due to timeout" says neither).
      throw new Error(`WebDriver ${method} ${p} ${body === undefined ? '' : JSON.stringify(body).slice(0, 200)}: ${e.message}`);
    });
    const json = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`WebDriver ${method} ${p}: ${r.status} ${json.value?.error || ''} ${json.value?.message || ''}`);
    return json.value;
  };
  // xvfb-run starts its own X server; detached so the whole group (Xvfb, driver, browser) is stopped by its pid.
  const start = async () => {
    const port = await freePort();
    const child = spawn(BINARIES.webkit[2], ['-a', '-s', '-screen 0 1920x8000x24', BINARIES.webkit[0], `--port=${port}`, '--host=127.0.0.1'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, XDG_CONFIG_HOME: config, XDG_CACHE_HOME: config, XDG_DATA_HOME: config, HOME: config },
    });
    Object.assign(driver, { child, server: `http://127.0.0.1:${port}`, stderr: '' });
    child.stderr.on('data', (d) => { driver.stderr = (driver.stderr + d).slice(-4000); });
    const deadline = Date.now() + LAUNCH_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${child.exitCode}: ${driver.stderr}`);
      try {
        await call('GET', '/status', undefined, 2000);
        return;
      } catch (e) {
        if (Date.now() > deadline) { kill(); throw new Error(`WebKitWebDriver did not start: ${e.message} ${driver.stderr}`); }
        await sleep(250);
      }
    }
  };
  const stop = async () => {
    const { child } = driver;
    kill();
    await new Promise((r) => { if (child.exitCode !== null) r(); else { child.once('exit', r); setTimeout(r, 5000); } });
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  await start();
  const sessions = new Set();
  const capabilities = {
    alwaysMatch: {
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': { binary: BINARIES.webkit[1], args: ['--automation'] },
    },
  };
  // A new session right after the previous one was deleted has, rarely, never been answered (seen once
  // in about ten runs: the whole 120 s). Then the driver, its Xvfb and any browser are restarted and
  // the session asked for once more; a second failure is the test's.
  const newSession = async () => {
    let s;
    try {
      s = await call('POST', '/session', { capabilities }, 45_000);
    } catch (e) {
      process.stderr.write(`webkit: ${e.message}; restarting WebKitWebDriver\n`);
      await stop();
      sessions.clear();
      await start();
      s = await call('POST', '/session', { capabilities });
    }
    sessions.add(s.sessionId);
    return s.sessionId;
  };
  return {
    name: 'webkit',
    // One MiniBrowser session per profile, as a new browser context is; its tabs are WebDriver windows
    // of that session, each page switching to its own window before it speaks.
    async newPage({ width = 1280, height = 900 } = {}) {
      const id = await newSession();
      const sp = (p) => `/session/${id}${p}`;
      await call('POST', sp('/timeouts'), { script: 600_000, pageLoad: 60_000, implicit: 0 });
      const windows = { current: await call('GET', sp('/window')), open: 0 };
      const makePage = async (handle) => {
        windows.open += 1;
        const use = async () => {
          if (windows.current === handle) return;
          await call('POST', sp('/window'), { handle });
          windows.current = handle;
        };
        const wd = async (method, p, body, timeoutMs) => { await use(); return call(method, sp(p), body, timeoutMs); };
        const setViewport = async (w, h) => {
          // The window includes MiniBrowser's chrome: size it, then correct by what the page measures.
          await wd('POST', '/window/rect', { width: w, height: h + 100 });
          for (let i = 0; i < 3; i += 1) {
            const inner = await wd('POST', '/execute/sync', { script: 'return [innerWidth, innerHeight]', args: [] });
            const rect = await wd('GET', '/window/rect');
            if (inner[0] === w && inner[1] === h) break;
            await wd('POST', '/window/rect', { width: rect.width + (w - inner[0]), height: rect.height + (h - inner[1]) });
          }
        };
        const element = async (sel) => {
          const el = await wd('POST', '/execute/sync', { script: `return (${DEEP_QUERY})(arguments[0]);`, args: [sel] });
          if (!el || !el[ELEMENT]) throw new Error(`no element matches ${sel} (${JSON.stringify(el)})`);
          return el[ELEMENT];
        };
        const evaluate = async (fn, ...args) => {
          const script = `const done = arguments[arguments.length - 1];
            Promise.resolve().then(() => (${fn.toString()}).apply(null, ${JSON.stringify(args)}))
              .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ error: String(e && e.stack || e) }));`;
          const r = await wd('POST', '/execute/async', { script, args: [] }, 660_000);
          if (r && 'error' in r) throw new Error(r.error);
          return r?.ok;
        };
        await setViewport(width, height);
        return decorate({
          goto: (url) => wd('POST', '/url', { url }),
          reload: () => wd('POST', '/refresh', {}),
          back: () => wd('POST', '/back', {}),
          forward: () => wd('POST', '/forward', {}),
          setViewport,
          click: async (sel) => {
            const el = await element(sel);
            await evaluate(new Function('sel', `(${DEEP_QUERY})(sel).scrollIntoView({ block: 'center' });`), sel);
            await wd('POST', `/element/${el}/click`, {});
          },
          type: async (sel, text) => {
            const el = await element(sel);
            await wd('POST', `/element/${el}/clear`, {});
            await wd('POST', `/element/${el}/value`, { text });
          },
          upload: async (sel, file) => {
            const el = await element(sel);
            await wd('POST', `/element/${el}/value`, { text: file });
          },
          evaluate,
          screenshot: async (file) => fs.writeFileSync(file, Buffer.from(await wd('GET', '/screenshot'), 'base64')),
          url: () => wd('GET', '/url'),
          newTab: async () => {
            const w = await wd('POST', '/window/new', { type: 'tab' });
            return makePage(w.handle);
          },
          // WebDriver deletes the cookies of the current document's host: the issuer shares it (127.0.0.1).
          clearCookies: () => wd('DELETE', '/cookie'),
          close: async () => {
            windows.open -= 1;
            if (windows.open > 0) {
              await wd('DELETE', '/window');
              windows.current = null;
              return;
            }
            sessions.delete(id);
            await call('DELETE', `/session/${id}`).catch(() => {});
          },
        });
      };
      return makePage(windows.current);
    },
    async close() {
      for (const id of sessions) await call('DELETE', `/session/${id}`).catch(() => {});
      await stop();
      fs.rmSync(config, { recursive: true, force: true });
    },
  };
}

/** Starts an engine by name (see the top of this file). */
export async function launchEngine(name) {
  switch (name) {
    case 'chromium': return chromiumEngine();
    case 'firefox': return firefoxEngine();
    case 'webkit': return webkitEngine();
    default: throw new Error(`unknown engine ${name} (chromium, firefox, webkit)`);
  }
}
