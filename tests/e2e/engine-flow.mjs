// The collection flow driven through the engine abstraction (engines.mjs), so the same scenario runs
// in Chromium, Firefox and WebKit: the same DOM conventions as flow.mjs (section[data-step],
// [data-action], named controls, input[data-part], [data-part-status][data-state], li[data-code],
// input[data-ack], [data-receipt-id]), without Playwright's locators.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ARTIFACTS, sleep, until } from './harness.mjs';
import { currentStep, formValues, STEPS } from './flow.mjs';
import { horizontalOverflow } from './pages.mjs';

const TERMINAL = new Set(['ok', 'warning', 'error']);

/** Signs in on the standalone page as `person` through the issuer's login (and consent) pages. */
export async function signIn(page, stack, person) {
  await page.goto(`${stack.base}/`);
  await page.waitForSelector('#login');
  await page.click('#login');
  await until('the issuer\'s login page', async () => (await page.url()).startsWith(stack.issuer)
    && page.evaluate(() => !!document.querySelector('input[name="login"]')), { timeoutMs: 30_000 });
  await page.type('input[name="login"]', person);
  await page.type('input[name="password"]', 'any-password');
  await page.click('button[type="submit"]');
  const back = async () => {
    const u = new URL(await page.url());
    return u.href.startsWith(stack.base) && !u.search.includes('code=');
  };
  await until('consent or the page', async () => (await back())
    || ((await page.url()).includes('/interaction/') && page.evaluate(() => !document.querySelector('input[name="login"]') && !!document.querySelector('button[type="submit"]'))), { timeoutMs: 30_000 });
  if (!(await back())) await page.click('button[type="submit"]');
  await until('back on the page, signed in', back, { timeoutMs: 30_000 });
  await page.waitForSelector('#session');
}

// The step shown now: flow.mjs's, a single `evaluate` that any driver's page runs.
export { currentStep };

/** Signs in and waits for the widget's first step. */
export async function open(engine, stack, person, viewport = { width: 360, height: 740 }) {
  const page = await engine.newPage(viewport);
  try {
    await signIn(page, stack, person);
    await until('the identity step', async () => (await currentStep(page)) === 'identity', { timeoutMs: 30_000 });
  } catch (e) {
    // Not left open: WebKitWebDriver runs one session at a time, so a leaked page fails every later test.
    await page.close().catch(() => {});
    throw e;
  }
  return page;
}

/** Field problems shown now, as "path:code". */
function fieldErrors(page) {
  return page.evaluate(() => {
    const out = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('[data-field-error]')) {
        if (el.getClientRects().length > 0) out.push(`${el.dataset.fieldError}:${el.dataset.code}`);
      }
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    return out;
  });
}

/** Clicks "next" on the current step and waits for another step. */
export async function next(page) {
  const from = await currentStep(page);
  await page.click(`section[data-step="${from}"] [data-action="next"]`);
  await until(`a step after ${from}`, async () => (await currentStep(page)) !== from, { timeoutMs: 15_000 })
    .catch(async (e) => { throw new Error(`${e.message}; field problems: ${(await fieldErrors(page)).join(', ') || 'none'}`); });
  return currentStep(page);
}

/** The form's named controls that are shown, enabled, editable: [{name, tag, type, value}]. */
function formControls(page) {
  return page.evaluate(() => {
    const out = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('section[data-step="form"] [name]')) {
        if (el.getClientRects().length === 0 || el.disabled || el.readOnly) continue;
        out.push({ name: el.name, tag: el.tagName.toLowerCase(), type: el.type, value: el.value });
      }
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    return out;
  });
}

const setValue = (page, name, value) => page.evaluate((n, v) => {
  const walk = (root) => root.querySelector(`[name="${n}"]`) || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
  const el = walk(document);
  el.value = v;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
  el.dispatchEvent(new Event('blur'));
}, name, value);

/** Fills the empty controls (and those in `force`) with `values`: typed, selected, dates set. */
export async function fillForm(page, values, force = []) {
  for (let pass = 0; pass < 3; pass += 1) {
    for (const c of await formControls(page)) {
      const value = values[c.name];
      if (value === undefined || c.value === value || (c.value !== '' && !force.includes(c.name))) continue;
      if (c.tag === 'select') await page.select(`section[data-step="form"] [name="${c.name}"]`, value);
      // Date controls take typed digits in the engine's own order: set their value instead.
      else if (c.type === 'date') await setValue(page, c.name, value);
      else await page.type(`section[data-step="form"] [name="${c.name}"]`, value);
    }
  }
}

/** Screenshot of the step (tests/e2e/artifacts/engines/<engine>-<scenario>/<step>.png) and no horizontal overflow. */
export async function inspect(page, engineName, scenario, step) {
  const dir = path.join(ARTIFACTS, 'engines', `${engineName}-${scenario}`);
  fs.mkdirSync(dir, { recursive: true });
  await page.evaluate(() => new Promise((r) => { requestAnimationFrame(() => requestAnimationFrame(r)); }));
  await page.screenshot(path.join(dir, `${step}.png`));
  assert.deepEqual(await horizontalOverflow(page), [], `${engineName} ${scenario}/${step}: something leaves the viewport`);
}

/** From the identity step to the documents step, filling the form on the way. */
export async function toDocuments(page, person, { overrides = {}, force = [], shots = null } = {}) {
  for (let i = 0; i < STEPS.length; i += 1) {
    const now = await currentStep(page);
    if (now === 'form') await fillForm(page, formValues(person, overrides), force);
    if (shots) await inspect(page, shots.engine, shots.scenario, now);
    if (now === 'documents') return;
    await next(page);
  }
  assert.fail(`did not reach the documents step (at ${await currentStep(page)})`);
}

const partStatus = (page, part) => page.evaluate((p) => {
  const walk = (root) => root.querySelector(`[data-part-status="${p}"]`) || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
  const el = walk(document);
  if (!el) return null;
  return {
    state: el.dataset.state,
    text: el.textContent,
    codes: [...el.querySelectorAll('li[data-code]')].map((l) => l.dataset.code),
    hasInput: !!(el.getRootNode().querySelector(`input[type="file"][data-part="${p}"]`)),
  };
}, part);

/** Chooses `file` for a part (removing the one there first) and waits for its check: { state, codes }. */
export async function choose(page, part, file) {
  let s = await partStatus(page, part);
  if (!s.hasInput) {
    await page.click(`[data-part-status="${part}"] [data-action="remove"]`);
    await until(`${part}'s file input`, async () => (await partStatus(page, part)).hasInput, { timeoutMs: 10_000 });
    s = await partStatus(page, part);
  }
  await page.upload(`input[type="file"][data-part="${part}"]`, file);
  if (TERMINAL.has(s.state)) {
    const name = path.basename(file);
    await until(`${name} to appear in ${part}`, async () => (await partStatus(page, part)).text.includes(name), { timeoutMs: 10_000 });
  }
  const done = await until(`${part} to be checked`, async () => {
    const now = await partStatus(page, part);
    return TERMINAL.has(now.state) ? now : null;
  }, { timeoutMs: 120_000, everyMs: 300 });
  return { state: done.state, codes: done.codes };
}

/** Ticks every visible warning acknowledgement. */
export async function acknowledgeWarnings(page) {
  const parts = await page.evaluate(() => {
    const out = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('input[data-ack]')) if (el.getClientRects().length > 0 && !el.checked) out.push(el.dataset.ack);
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    return out;
  });
  for (const p of parts) await page.click(`input[data-ack="${p}"]`);
}

/** Whether a visible submit button can be pressed (false when absent). */
export function submitEnabled(page) {
  return page.evaluate(() => {
    const walk = (root) => root.querySelector('[data-action="submit"]') || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
    const b = walk(document);
    return !!b && !b.disabled;
  });
}

/** From the documents step through review to the receipt; returns { id, status }. */
export async function submit(page, shots = null) {
  await acknowledgeWarnings(page);
  for (let i = 0; i < 3 && (await currentStep(page)) !== 'review'; i += 1) await next(page);
  assert.equal(await currentStep(page), 'review');
  if (shots) await inspect(page, shots.engine, shots.scenario, 'review');
  await acknowledgeWarnings(page);
  await until('the submit button to be enabled', () => submitEnabled(page), { timeoutMs: 15_000 });
  await page.click('section[data-step="review"] [data-action="submit"]');
  const receipt = await until('the receipt', () => page.evaluate(() => {
    const walk = (root) => root.querySelector('[data-receipt-id]') || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
    const el = walk(document);
    if (!el) return null;
    const status = el.getRootNode().querySelector('[data-receipt-status]');
    return { id: el.textContent.trim(), status: status?.dataset.receiptStatus };
  }), { timeoutMs: 120_000, everyMs: 500 });
  assert.ok(receipt.id, 'the receipt shows the submission id');
  assert.equal(await currentStep(page), 'receipt');
  if (shots) await inspect(page, shots.engine, shots.scenario, 'receipt');
  await sleep(0);
  return receipt;
}

/**
 * Presses the widget's "sign in again" (or `button`) and comes back signed in as `person`: the
 * issuer's login form when it asks, its consent when it asks, or straight back when its session is
 * alive (draft-helpers.mjs's `signInAgain`, without Playwright's locators).
 */
export async function signInAgain(page, stack, person, button = '[data-action="signin"]') {
  await page.click(button);
  let typed = false;
  await until('back on the page, signed in', async () => {
    const url = await page.url();
    if (url.startsWith(stack.issuer)) {
      const form = await page.evaluate(() => ({
        login: !!document.querySelector('input[name="login"]'),
        submit: !!document.querySelector('button[type="submit"]'),
      }));
      if (form.login && !typed) {
        await page.type('input[name="login"]', person);
        await page.type('input[name="password"]', 'any-password');
        typed = true;
        await page.click('button[type="submit"]');
      } else if (!form.login && form.submit) {
        await page.click('button[type="submit"]');
      }
      return false;
    }
    return url.startsWith(stack.base) && !url.includes('code=')
      && page.evaluate(() => { const s = document.querySelector('#session'); return !!s && s.getClientRects().length > 0; });
  }, { timeoutMs: 60_000, everyMs: 500 });
}

/** Whether `selector` (through open shadow roots) lies wholly inside the viewport: its rect and the viewport. */
export function inViewport(page, selector) {
  return page.evaluate((sel) => {
    const walk = (root) => root.querySelector(sel) || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
    const el = walk(document);
    if (!el) return { found: false };
    const r = el.getBoundingClientRect();
    return {
      found: true,
      inside: r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1,
      rect: [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)],
      viewport: [innerWidth, innerHeight],
    };
  }, selector);
}
