// Driving the widget's collection flow by the DOM conventions of the widget contract:
// section[data-step], [data-action], form controls named by bundle path, input[data-part],
// [data-part-status][data-state], li[data-code], input[data-ack], [data-receipt-id].

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FIXTURES, until } from './harness.mjs';
import { inspectStep, signIn } from './pages.mjs';

export const STEPS = ['identity', 'archive', 'form', 'documents', 'review', 'receipt'];
const PEOPLE = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'people.json'), 'utf8')).people;
export const fixture = (p) => path.join(FIXTURES, p);

/** The step section shown now (the last visible one when several are rendered). */
export async function currentStep(page) {
  return page.evaluate(() => {
    const all = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) walk(el.shadowRoot);
        if (el.matches('section[data-step]') && el.getClientRects().length > 0) all.push(el.dataset.step);
      }
    };
    walk(document);
    return all.at(-1) || null;
  });
}

const step = (page, name) => page.locator(`section[data-step="${name}"]`);

/** Signs in on the standalone page as `person` and waits for the widget's first step. */
export async function open(stack, person, viewport = { width: 360, height: 740 }) {
  const page = await stack.newPage(viewport);
  await signIn(page, stack, person);
  await step(page, 'identity').waitFor();
  return page;
}

/** Values for the form, from the sample person's record and archive, with plausible defaults. */
export function formValues(personKey, overrides = {}) {
  const p = PEOPLE.find((x) => x.key === personKey);
  const a = p.archive;
  const basic = a?.basic || {};
  const edu = basic.education || {};
  const unit = basic.unit || {};
  return {
    gender: p.gender,
    birth_date: p.birth_date,
    'identity.mobile': p.mobile,
    'unit.name': unit.name || '厦门示例会计服务有限公司',
    'unit.uscc': unit.uscc || '91350100M000100Y43',
    'unit.type': unit.type || 'enterprise',
    'post.status': 'on_post',
    'post.position': basic.position || '会计',
    'qualification.holds_certificate': String(a?.holds_certificate ?? false),
    'qualification.certificate_origin': a?.certificate_origin || 'xiamen',
    'qualification.title': basic.title || 'none',
    'education.level': edu.level || 'bachelor',
    'education.school': edu.school || '厦门大学',
    'education.major': edu.major || '会计学',
    'education.graduation_date': edu.graduation_date || '2015-07-01',
    working_years: String(a?.working_years ?? 3),
    email: `${personKey}@example.com`,
    ...overrides,
  };
}

/**
 * Fills the form step: every named control that is visible, enabled, editable and empty gets its
 * value; names in `force` are set even when prefilled. Controls appear as answers change them
 * (e.g. the certificate origin after "holds a certificate"), so it makes a few passes.
 */
export async function fillForm(page, values, force = []) {
  const form = step(page, 'form');
  for (let pass = 0; pass < 3; pass += 1) {
    for (const [name, value] of Object.entries(values)) {
      const control = form.locator(`[name="${name}"]`);
      if ((await control.count()) !== 1) continue;
      const c = control.first();
      if (!(await c.isVisible()) || !(await c.isEditable())) continue;
      const tag = await c.evaluate((el) => el.tagName.toLowerCase());
      const current = await c.inputValue();
      if (current !== '' && !force.includes(name)) continue;
      if (current === value) continue;
      if (tag === 'select') await c.selectOption(value);
      else await c.fill(value);
    }
  }
}

/** Field problems shown now, as "path:code". */
export async function fieldErrors(page) {
  const errors = page.locator('[data-field-error]');
  const out = [];
  for (let i = 0; i < (await errors.count()); i += 1) {
    const e = errors.nth(i);
    if (await e.isVisible()) out.push(`${await e.getAttribute('data-field-error')}:${await e.getAttribute('data-code')}`);
  }
  return out;
}

/** Clicks "next" on the current step and waits for another step. */
export async function next(page) {
  const from = await currentStep(page);
  await step(page, from).locator('[data-action="next"]').click();
  await until(`a step after ${from}`, async () => (await currentStep(page)) !== from, { timeoutMs: 15_000 })
    .catch(async (e) => {
      throw new Error(`${e.message}; field problems: ${(await fieldErrors(page)).join(', ') || 'none'}`);
    });
  return currentStep(page);
}

/**
 * From the identity step to the documents step, filling the form on the way; `inspect` runs the
 * screenshot/overflow/axe checks on each step (scenario name or null).
 */
export async function toDocuments(page, person, { overrides = {}, force = [], inspect = null } = {}) {
  for (let i = 0; i < STEPS.length; i += 1) {
    const now = await currentStep(page);
    if (now === 'form') await fillForm(page, formValues(person, overrides), force);
    if (inspect) await inspectStep(page, inspect, now);
    if (now === 'documents') return;
    await next(page);
  }
  assert.fail(`did not reach the documents step (at ${await currentStep(page)})`);
}

const TERMINAL = new Set(['ok', 'warning', 'error']);

/**
 * Chooses `file` for a part (removing the file already there when the part takes only one) and
 * waits for its check to finish; returns { state, codes }.
 */
export async function choose(page, part, file) {
  const status = page.locator(`[data-part-status="${part}"]`);
  const input = page.locator(`input[type="file"][data-part="${part}"]`);
  if ((await input.count()) === 0) {
    await status.locator('[data-action="remove"]').first().click();
    await input.waitFor({ state: 'attached', timeout: 10_000 });
  }
  const before = await status.getAttribute('data-state');
  await input.setInputFiles([]); // Chromium fires no change event for the same file twice
  await input.setInputFiles(file);
  if (TERMINAL.has(before)) {
    // Another file of a multi-file part: wait for this one to show up before reading the state.
    const name = path.basename(file);
    await until(`${name} to appear in ${part}`, async () => (await status.textContent()).includes(name), { timeoutMs: 10_000 });
  }
  const state = await until(`${part} to be checked`, async () => {
    const s = await status.getAttribute('data-state');
    return TERMINAL.has(s) ? s : null;
  }, { timeoutMs: 90_000, everyMs: 250 });
  const codes = await status.locator('li[data-code]').evaluateAll((els) => els.map((e) => e.dataset.code));
  return { state, codes };
}

/** Ticks every visible warning acknowledgement. */
export async function acknowledgeWarnings(page) {
  const acks = page.locator('input[data-ack]');
  for (let i = 0; i < (await acks.count()); i += 1) {
    const ack = acks.nth(i);
    if ((await ack.isVisible()) && !(await ack.isChecked())) await ack.check();
  }
}

/** Whether the submit button, wherever it is rendered now, can be pressed (false when absent). */
export async function submitEnabled(page) {
  const submit = page.locator('[data-action="submit"]');
  if ((await submit.count()) === 0) return false;
  return submit.first().isEnabled();
}

/** From the documents step (files chosen) through review to the receipt; returns { id, status }. */
export async function submit(page, { inspect = null } = {}) {
  await acknowledgeWarnings(page);
  for (let i = 0; i < 3 && (await currentStep(page)) !== 'review'; i += 1) await next(page);
  assert.equal(await currentStep(page), 'review');
  if (inspect) await inspectStep(page, inspect, 'review');
  await acknowledgeWarnings(page);
  const button = step(page, 'review').locator('[data-action="submit"]');
  await until('the submit button to be enabled', () => button.isEnabled(), { timeoutMs: 15_000 });
  await button.click();
  const receipt = page.locator('[data-receipt-id]');
  await receipt.waitFor({ timeout: 120_000 });
  const id = (await receipt.textContent()).trim();
  const status = await page.locator('[data-receipt-status]').getAttribute('data-receipt-status');
  assert.ok(id, 'the receipt shows the submission id');
  assert.equal(await currentStep(page), 'receipt');
  if (inspect) await inspectStep(page, inspect, 'receipt');
  return { id, status };
}

/** The photos the widget must refuse, each with a code it must show (refusals.test.mjs, engines.test.mjs). */
export const REFUSED_PHOTOS = [['photo/grayscale.jpg', 'photo.not_colour'], ['photo/pattern_background.jpg', 'photo.background_not_uniform']];

/** The text of the problem `code` shown for `part` ('' when absent); one `evaluate`, any driver. */
export function problemText(page, part, code) {
  return page.evaluate(([p, c]) => {
    const walk = (root) => root.querySelector(`[data-part-status="${p}"] li[data-code="${c}"]`)
      || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
    return walk(document)?.textContent || '';
  }, [part, code]);
}

/**
 * Chooses each of REFUSED_PHOTOS with the driver's `choose` and holds that it is refused with its
 * code, explained, and that submit is disabled; `after(code)` runs after each (screenshots).
 */
export async function expectRefusedPhotos(page, { choose: pick = choose, submitEnabled: canSubmit = submitEnabled, after = async () => {} } = {}) {
  for (const [file, code] of REFUSED_PHOTOS) {
    const { state, codes } = await pick(page, 'photo', fixture(file));
    assert.equal(state, 'error', `${file} is refused`);
    assert.ok(codes.includes(code), `${file}: ${code} among ${codes.join(', ')}`);
    const message = await problemText(page, 'photo', code);
    assert.ok(message.trim().length > 4, `${code} is explained (got ${JSON.stringify(message)})`);
    assert.equal(await canSubmit(page), false, 'submit is disabled');
    await after(code);
  }
}

/** The platform sandbox's first delivery of submission `id` (waits for the forwarder). */
export async function delivered(stack, id) {
  return until(`the platform to receive ${id}`, async () => {
    const list = await stack.platformReceived();
    return (Array.isArray(list) ? list : list.deliveries || []).find((d) => d.key === id && !d.duplicate);
  }, { timeoutMs: 60_000, everyMs: 500 });
}

export const partOf = (delivery, name) => delivery.parts.filter((p) => p.name === name);
