// The full keyboard flow: a certificate holder goes from the identity step to the receipt with the
// keyboard alone (Tab, Shift+Tab, Enter, Space, arrow keys, typed text; file choosers opened by
// Space or Enter on the focused file input). On every step: focus lands on the step's heading when the step
// changes, every control needed is reachable by Tab within a bound, each one shows a focus
// indicator, and Shift+Tab moves backwards (and Tab forwards again) from it. The form step also
// checks that Tab leaves the widget and Shift+Tab comes back (no keyboard trap); choosing or removing
// a file keeps focus in its part. Signing in clicks through the identity provider's pages (not ours).
// Ends at the receipt and the platform sandbox. INTAKE_E2E_TRACE_KEYS=1 logs every stop.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before } from 'node:test';

import { FIXTURES, startStack, until } from './harness.mjs';
import { currentStep, delivered, fieldErrors, fixture, formValues, open } from './flow.mjs';
import { assertNoPageProblems } from './pages.mjs';
import { scenario, UI_READY } from './ui.mjs';

/** The most Tab presses a control may take to reach from where focus is. */
const MAX_TABS = 80;
const PERSON = 'xiamen-holder';
const PEOPLE = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'people.json'), 'utf8')).people;
/** INTAKE_E2E_TRACE_KEYS=1 logs every control reached, with its Tab count and focus indicator. */
const trace = process.env.INTAKE_E2E_TRACE_KEYS === '1' ? (...a) => console.log('[keys]', ...a) : () => {};

let stack;
before(async () => { if (UI_READY) stack = await startStack('keyboard'); });
after(async () => { await stack?.stop(); });

// ---------------------------------------------------------------- page side

/**
 * Installed into the page as `window.__kb` (through the DevTools protocol, so the page's CSP stays
 * in force): where focus is, through open shadow roots, and what a focused control looks like.
 */
function pageHelpers() {
  const deepActive = () => {
    let el = document.activeElement;
    while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
    return el;
  };
  const describe = (el) => {
    if (!el) return '(nothing)';
    if (el === document.body) return '<body> (no control focused)';
    const attrs = ['name', 'type', 'role', 'data-action', 'data-part', 'data-part-camera', 'data-part-status', 'data-ack', 'id']
      .filter((a) => el.getAttribute(a)).map((a) => `[${a}="${el.getAttribute(a)}"]`).join('');
    const text = (el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 30);
    const step = el.closest('section[data-step]')?.dataset.step;
    const where = el.getRootNode() === document ? 'page' : `widget${step ? `/${step}` : ''}`;
    return `${el.tagName.toLowerCase()}${attrs}${text ? ` "${text}"` : ''} (${where})`;
  };
  const TABBABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
  const shown = (el) => {
    const cs = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    return cs.visibility !== 'hidden' && Number(cs.opacity) > 0 && r.width > 1 && r.height > 1;
  };
  const style = (el) => {
    const cs = getComputedStyle(el);
    return {
      who: describe(el),
      outline: `${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}`,
      outlineVisible: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0,
      boxShadow: cs.boxShadow,
    };
  };
  window.__kb = {
    deepActive,
    /** The focused element: its description, whether it matches `selector`, whether it is in the tab order. */
    info(selector) {
      const el = deepActive();
      return {
        desc: describe(el),
        matches: Boolean(el && selector && el.matches(selector)),
        inWidget: Boolean(el && el.getRootNode() !== document),
        tabbable: Boolean(el && el !== document.body && el.tabIndex >= 0),
      };
    },
    /** Whether the focused element is the step's heading or the first control of the step. */
    onStepStart(step) {
      const el = deepActive();
      const section = el?.closest?.(`section[data-step="${step}"]`);
      if (!section) return false;
      if (el.matches('h2')) return true;
      const first = [...section.querySelectorAll(TABBABLE)].find(shown);
      return el === first;
    },
    /**
     * What shows `el` is focused: the element itself, or, for a control that is not painted (the
     * file inputs are transparent over their label), its labels.
     */
    indicator(el) {
      const painted = shown(el) ? [el] : [...(el.labels || [])].filter(shown);
      return painted.map(style);
    },
    describe,
  };
}

async function kb(page, fn, arg) {
  if (!(await page.evaluate(() => typeof window.__kb === 'object'))) await page.evaluate(`(${pageHelpers})()`);
  return page.evaluate(fn, arg);
}

const focusInfo = (page, selector = null) => kb(page, (s) => window.__kb.info(s), selector);
const focusedHandle = async (page) => { await kb(page, () => 0); return page.evaluateHandle(() => window.__kb.deepActive()); };
const sameElement = (page, a, b) => page.evaluate(([x, y]) => x === y, [a, b]);

// ---------------------------------------------------------------- keyboard steps

/**
 * Presses Tab until the focused element matches `selector` (at most MAX_TABS presses), then checks
 * the control: it shows a focus indicator, Shift+Tab moves focus backwards off it (to the element
 * Tab came from when that one is in the tab order) and Tab brings it back. Returns the presses.
 */
async function tabTo(page, selector, what) {
  const trail = [];
  let prev = await focusedHandle(page);
  for (let presses = 1; presses <= MAX_TABS; presses += 1) {
    await page.keyboard.press('Tab');
    const info = await focusInfo(page, selector);
    trail.push(info.desc);
    if (info.matches) {
      trace(`${what}: ${presses} Tab(s) → ${info.desc}`);
      await checkFocusedControl(page, what, prev);
      await prev.dispose();
      return presses;
    }
    await prev.dispose();
    prev = await focusedHandle(page);
  }
  assert.fail(`${what} (${selector}) is not reachable by Tab: not focused within ${MAX_TABS} presses; `
    + `the last stops were: ${trail.slice(-12).join(' → ')}`);
}

async function checkFocusedControl(page, what, prev) {
  const target = await focusedHandle(page);
  const focused = await page.evaluate((el) => window.__kb.indicator(el), target);
  assert.ok(focused.length > 0, `${what}: neither the control nor a label of it is visible`);

  // Backwards: off the control, to where Tab came from when that is in the tab order.
  const prevInfo = await page.evaluate((el) => ({ desc: window.__kb.describe(el), tabbable: el !== document.body && el.tabIndex >= 0 }), prev);
  await page.keyboard.press('Shift+Tab');
  const back = await focusInfo(page);
  assert.ok(!(await sameElement(page, target, await focusedHandle(page))), `${what}: Shift+Tab did not move focus (keyboard trap at ${back.desc})`);
  if (prevInfo.tabbable) {
    assert.ok(await sameElement(page, prev, await focusedHandle(page)),
      `${what}: Shift+Tab should go back to ${prevInfo.desc}, went to ${back.desc}`);
  }
  const unfocused = await page.evaluate((el) => window.__kb.indicator(el), target);

  // Forwards again.
  await page.keyboard.press('Tab');
  assert.ok(await sameElement(page, target, await focusedHandle(page)),
    `${what}: Tab after Shift+Tab should come back to it, focus is on ${(await focusInfo(page)).desc}`);
  await target.dispose();

  const shows = focused.some((f, i) => {
    const u = unfocused[i] || {};
    return (f.outlineVisible && f.outline !== u.outline) || f.boxShadow !== u.boxShadow;
  });
  trace(`  indicator ${JSON.stringify(focused)} vs unfocused ${JSON.stringify(unfocused.map((u) => [u.outline, u.boxShadow]))}; Shift+Tab → ${back.desc}`);
  assert.ok(shows, `${what}: no visible focus indicator (focused: ${JSON.stringify(focused)}; unfocused: ${JSON.stringify(unfocused)})`);
}

/** Presses `key` on the focused control and waits for step `to`, with focus on its heading or first control. */
async function advance(page, key, to, { timeoutMs = 15_000 } = {}) {
  const from = await currentStep(page);
  await page.keyboard.press(key);
  await until(`the ${to} step after ${key} on ${from}`, async () => (await currentStep(page)) === to, { timeoutMs })
    .catch(async (e) => {
      throw new Error(`${e.message} (at ${await currentStep(page)}; field problems: ${(await fieldErrors(page)).join(', ') || 'none'})`);
    });
  await until(`focus on the ${to} step's heading`, () => kb(page, (s) => window.__kb.onStepStart(s), to), { timeoutMs: 3000, everyMs: 100 })
    .then(async () => trace(`${to}: focus on ${(await focusInfo(page)).desc}`))
    .catch(async () => {
      assert.fail(`after moving to the ${to} step, focus is on ${(await focusInfo(page)).desc}, not on the step's heading or first control`);
    });
}

/** On a focused closed <select>, arrow keys until `value` is chosen. */
async function selectByArrows(page, value, what) {
  const { options, index } = await kb(page, () => {
    const s = window.__kb.deepActive();
    return { options: [...s.options].map((o) => o.value), index: s.selectedIndex };
  });
  const want = options.indexOf(value);
  assert.ok(want >= 0, `${what}: no option ${value} among ${options.join(', ')}`);
  const key = want > index ? 'ArrowDown' : 'ArrowUp';
  for (let i = 0; i < Math.abs(want - index); i += 1) await page.keyboard.press(key);
  const now = await kb(page, () => window.__kb.deepActive().value);
  assert.equal(now, value, `${what}: arrow keys chose ${now}, not ${value}`);
}

const TERMINAL = new Set(['ok', 'warning', 'error']);

/**
 * Keeps Playwright intercepting file choosers for the whole page. Without a standing listener it
 * turns interception on when `waitForEvent('filechooser')` starts and off when it ends, and a key
 * press racing that switch opens a real (headless: cancelled) chooser: no event, about one run in five.
 */
async function interceptFileChoosers(page) {
  page.on('filechooser', () => {});
  await page.evaluate(() => 0); // a round trip: the subscription is in place
}

/** Tabs to the part's file input, opens the chooser with `key` (Enter or Space), chooses `file`; waits for the check. */
async function chooseByKeyboard(page, part, file, key) {
  await tabTo(page, `input[type="file"][data-part="${part}"]`, `the ${part} file input`);
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser', { timeout: 10_000 }).catch(async (e) => {
      throw new Error(`${part}: ${key} on its file input opened no file chooser (${e.message.split('\n')[0]}); focus is on ${(await focusInfo(page)).desc}`);
    }),
    page.keyboard.press(key),
  ]);
  assert.equal(chooser.isMultiple(), false);
  await chooser.setFiles(file);
  const status = page.locator(`[data-part-status="${part}"]`);
  const state = await until(`${part} to be checked`, async () => {
    const s = await status.getAttribute('data-state');
    return TERMINAL.has(s) ? s : null;
  }, { timeoutMs: 90_000, everyMs: 250 });
  const codes = await status.locator('li[data-code]').evaluateAll((els) => els.map((e) => e.dataset.code));
  await expectFocusInPart(page, part, `after choosing ${path.basename(file)}`);
  assert.notEqual(state, 'error', `${part}: ${file} refused (${codes.join(', ')})`);
  if (state === 'warning') {
    await tabTo(page, `input[data-ack="${part}"]`, `the ${part} warning acknowledgement`);
    await page.keyboard.press('Space');
    assert.ok(await kb(page, () => window.__kb.deepActive().checked), `${part}: Space ticks the acknowledgement`);
  }
  return state;
}

/** The chosen file or a removal takes controls away: focus must stay in the part, not fall to the page. */
async function expectFocusInPart(page, part, when) {
  const info = await focusInfo(page, `[data-part-status="${part}"], [data-part-status="${part}"] *`);
  trace(`${part} ${when}: focus on ${info.desc}`);
  assert.ok(info.matches, `${part}: ${when}, focus is on ${info.desc}, not in the ${part} part`);
}

/** Tabs to the part's "remove" button, presses Enter; the part is empty again and keeps focus. */
async function removeByKeyboard(page, part) {
  await tabTo(page, `[data-part-status="${part}"] [data-action="remove"]`, `the ${part} remove button`);
  await page.keyboard.press('Enter');
  await until(`${part} to be empty after remove`, async () => (await page.locator(`[data-part-status="${part}"]`).getAttribute('data-state')) === 'empty', { timeoutMs: 5000 });
  await expectFocusInPart(page, part, 'after removing its file');
}

/** Tabs forward until focus leaves the widget, then Shift+Tabs back into it: the widget is no trap. */
async function leaveAndReturn(page, what) {
  let left = false;
  for (let i = 0; i < MAX_TABS && !left; i += 1) {
    await page.keyboard.press('Tab');
    left = !(await focusInfo(page)).inWidget;
  }
  assert.ok(left, `${what}: Tab never leaves the widget within ${MAX_TABS} presses (keyboard trap)`);
  let back = false;
  for (let i = 0; i < MAX_TABS && !back; i += 1) {
    await page.keyboard.press('Shift+Tab');
    back = (await focusInfo(page)).inWidget;
  }
  assert.ok(back, `${what}: Shift+Tab never returns into the widget within ${MAX_TABS} presses`);
  trace(`${what}: Tab left the widget and Shift+Tab came back to ${(await focusInfo(page)).desc}`);
}

// ---------------------------------------------------------------- the scenario

scenario('keyboard only: a certificate holder goes from identity to the receipt with Tab, Shift+Tab, Enter, Space, arrows and typing', async () => {
  const started = Date.now();
  const page = await open(stack, PERSON, { width: 1280, height: 900 });
  const values = formValues(PERSON);
  const person = PEOPLE.find((p) => p.key === PERSON);
  const next = (step) => `section[data-step="${step}"] [data-action="next"]`;

  // Identity: nothing to enter; Tab to "next" (from the top of the page) and press Enter.
  assert.equal(await currentStep(page), 'identity');
  await tabTo(page, next('identity'), 'identity: next');
  await advance(page, 'Enter', 'archive');

  // Archive: read-only; on to the form.
  await tabTo(page, next('archive'), 'archive: next');
  await advance(page, 'Enter', 'form');

  // Form: the archive prefilled most of it; type the email, choose the post status with arrows.
  await tabTo(page, 'section[data-step="form"] input[name="email"]', 'form: email');
  await page.keyboard.type(values.email);
  assert.equal(await kb(page, () => window.__kb.deepActive().value), values.email, 'the typed email is in the field');
  await tabTo(page, 'section[data-step="form"] select[name="post.status"]', 'form: post status');
  await selectByArrows(page, values['post.status'], 'form: post status');
  await tabTo(page, next('form'), 'form: next');
  // "Next" is the widget's last control here: Tab leaves the widget, Shift+Tab comes back to it.
  await leaveAndReturn(page, 'form');
  assert.ok((await focusInfo(page, next('form'))).matches, `Shift+Tab back into the widget lands on the form's next, not ${(await focusInfo(page)).desc}`);
  await advance(page, 'Enter', 'documents');

  // Documents: every required part through the file chooser opened from the keyboard (Space and
  // Enter both); the first photo is removed and chosen again (the remove button takes itself away).
  await interceptFileChoosers(page);
  await chooseByKeyboard(page, 'photo', fixture('photo/standard_295x413.jpg'), 'Space');
  await removeByKeyboard(page, 'photo');
  for (const [part, file, key] of [
    ['photo', 'photo/standard_295x413.jpg', 'Enter'],
    ['id_front', 'document/id_front.jpg', 'Space'],
    ['id_back', 'document/id_back.jpg', 'Enter'],
    ['work_certificate', 'file/work_certificate.pdf', 'Space'],
  ]) {
    await chooseByKeyboard(page, part, fixture(file), key);
  }
  await tabTo(page, next('documents'), 'documents: next');
  await advance(page, 'Enter', 'review');

  // Review: submit with the keyboard.
  await tabTo(page, 'section[data-step="review"] [data-action="submit"]', 'review: submit');
  await advance(page, 'Enter', 'receipt', { timeoutMs: 120_000 });

  const id = (await page.locator('[data-receipt-id]').textContent()).trim();
  assert.match(id, /\S{6,}/, `the receipt shows a submission number (got ${JSON.stringify(id)})`);
  assert.ok(await page.locator('[data-receipt-status]').getAttribute('data-receipt-status'), 'the receipt shows a status');
  const d = await delivered(stack, id);
  assert.equal(d.identity.certificate_number, person.certificate_number);
  const received = await stack.platformReceived();
  const mine = (Array.isArray(received) ? received : received.deliveries || [])
    .filter((x) => x.identity?.certificate_number === person.certificate_number && !x.duplicate);
  assert.deepEqual(mine.map((x) => x.key), [id], 'the platform received exactly one submission for this person');
  assertNoPageProblems(page);
  await page.context().close();
  trace(`keyboard flow: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
