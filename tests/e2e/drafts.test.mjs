// Issue 12, parts 3 and 4: drafts that survive a reload, a closed tab and a new sign-in; one
// history entry per step (the back button moves between steps); an expired sign-in mid-flow asks
// to sign in again where the person is and comes back to the same step with nothing lost, on the
// standalone page and in the embedded widget (the host signs the person in again). Chromium. One
// browser context is one browser profile: IndexedDB is shared by its tabs, the issuer's session
// cookie is cleared to sign in as someone else.

import * as assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { login } from '../oidc/flow.mjs';
import { sleep, startStack, until } from './harness.mjs';
import {
  acknowledgeWarnings, choose, currentStep, delivered, fillForm, fixture, formValues, next, open, partOf, submit,
  toDocuments,
} from './flow.mjs';
import { assertNoPageProblems, signIn } from './pages.mjs';
import { scenario, UI_READY } from './ui.mjs';
import { drafts, draftSaved, focused, partStates, personId, signInAgain } from './draft-helpers.mjs';

let stack;
let context;
before(async () => {
  if (!UI_READY) return;
  stack = await startStack('drafts');
  context = await stack.browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN' });
  context.setDefaultTimeout(30_000);
});
after(async () => {
  await context?.close().catch(() => {});
  await stack?.stop();
});

/** The platform sandbox's deliveries (duplicates included). */
async function received(s) {
  const list = await s.platformReceived();
  return Array.isArray(list) ? list : list.deliveries || [];
}

const A = 'xiamen-holder';
const B = 'new-applicant';

/** A new tab of the shared profile (no sessionStorage: a closed and reopened tab). */
async function tab() {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  return page;
}

async function value(page, name) {
  return page.locator(`section[data-step="form"] [name="${name}"]`).inputValue();
}

const docs = [
  ['photo', 'photo/standard_295x413.jpg'],
  ['id_front', 'document/id_front.jpg'],
  ['id_back', 'document/id_back.jpg'],
  ['work_certificate', 'file/work_certificate.pdf'],
];

/** From the identity step, with `docs` chosen and acknowledged, to the review step; returns the parts' states. */
async function toReviewWithDocs(page, person) {
  await toDocuments(page, person);
  for (const [part, file] of docs) await choose(page, part, fixture(file));
  await acknowledgeWarnings(page);
  const chosen = await partStates(page);
  for (let i = 0; i < 3 && (await currentStep(page)) !== 'review'; i += 1) await next(page);
  assert.equal(await currentStep(page), 'review');
  return chosen;
}

/** Presses submit (scrolled to, as on a phone) with a token the server refuses: the prompt shows, in view. */
async function submitRefused(page) {
  await page.locator('[data-action="submit"]').scrollIntoViewIfNeeded();
  await page.locator('[data-action="submit"]').click();
  const prompt = page.locator('[data-auth-required]');
  await prompt.waitFor({ timeout: 15_000 });
  const box = await prompt.boundingBox();
  const vp = page.viewportSize();
  assert.ok(box && box.y >= 0 && box.y + box.height <= vp.height + 1 && box.x >= 0 && box.x + box.width <= vp.width + 1,
    `the sign-in prompt is in view (${JSON.stringify(box)} in ${JSON.stringify(vp)})`);
}

/** Submits and holds that every part, and exactly one submission, reached the platform after `sentBefore`. */
async function submitsOnce(s, page, sentBefore) {
  const { id } = await submit(page);
  const d = await delivered(s, id);
  for (const [part] of docs) assert.equal(partOf(d, part).length, 1, `${part} delivered`);
  const all = await received(s);
  assert.equal(all.length, sentBefore + 1, 'exactly one submission reached the platform');
  assert.equal(all.filter((x) => !x.duplicate).length, 1);
}

scenario('drafts: a reload on the form and on the documents step restores the fields, files, verdicts and the step; the back button moves between steps', async () => {
  const page = await tab();
  await signIn(page, stack, A);
  await page.locator('section[data-step="identity"]').waitFor();
  await next(page);
  await next(page);
  assert.equal(await currentStep(page), 'form');
  await fillForm(page, formValues(A, { 'post.position': '主办会计（草稿）', email: 'draft-a@example.com' }), ['post.position']);
  await draftSaved(page);
  await page.reload();
  await page.locator('section[data-step="form"]').waitFor();
  assert.equal(await value(page, 'post.position'), '主办会计（草稿）', 'a typed field survives the reload');
  assert.equal(await value(page, 'email'), 'draft-a@example.com');

  await next(page);
  assert.equal(await currentStep(page), 'documents');
  for (const [part, file] of docs) await choose(page, part, fixture(file));
  await acknowledgeWarnings(page);
  const chosen = await partStates(page);
  assert.ok(['photo', 'id_front', 'id_back', 'work_certificate'].every((p) => ['ok', 'warning'].includes(chosen[p]?.state)), JSON.stringify(chosen));
  await draftSaved(page);
  await page.reload();
  await page.locator('section[data-step="documents"]').waitFor();
  assert.deepEqual(await partStates(page), chosen, 'every part comes back with its verdict, preview and acknowledgement');
  // The upload-ready photo itself came back (its pixels, not only its name).
  const natural = await page.locator('[data-part-status="photo"] img[data-preview="after"]')
    .evaluate((img) => (img.complete ? [img.naturalWidth, img.naturalHeight] : null));
  assert.deepEqual(natural, [stack.config.profile.target_width, stack.config.profile.target_height]);

  // At rest: encrypted under a non-extractable AES-GCM key; no plaintext of the form or the files.
  const stored = await drafts(page, { withData: true });
  const mine = stored.records[personId(stack, A)];
  assert.ok(mine, `a record under A's id (${stored.keys.join(', ')})`);
  assert.equal(mine.ivLength, 12);
  assert.ok(mine.dataLength > 20_000, `the files are in it (${mine.dataLength} B)`);
  assert.deepEqual(stored.cryptoKeys, [{ type: 'secret', extractable: false, exportable: false, algorithm: 'AES-GCM', length: 256 }]);
  const data = Buffer.from(mine.data);
  for (const plain of ['draft-a@example.com', '主办会计（草稿）', '陈静', A, 'IXD2', '%PDF']) {
    assert.equal(data.indexOf(Buffer.from(plain)), -1, `"${plain}" is not stored in the clear`);
  }
  assert.equal(data.indexOf(Buffer.from([0xff, 0xd8, 0xff])), -1, 'no JPEG in the clear');
  const days = (mine.expires - Date.now()) / 86_400_000;
  assert.ok(days > 6.9 && days <= 7, `kept 7 days by default (${days.toFixed(2)})`);

  // The back button goes to the previous step, not out of the flow; forward comes back.
  await page.goBack();
  await until('the form step after back', async () => (await currentStep(page)) === 'form', { timeoutMs: 10_000 });
  assert.ok(page.url().startsWith(stack.base), 'still on the page');
  await page.goBack();
  await until('the archive step after back', async () => (await currentStep(page)) === 'archive', { timeoutMs: 10_000 });
  await page.goForward();
  await until('the form step after forward', async () => (await currentStep(page)) === 'form', { timeoutMs: 10_000 });
  await next(page);
  assert.equal(await currentStep(page), 'documents');
  await next(page);
  assert.equal(await currentStep(page), 'review');
  await page.goBack();
  await until('documents after back from review', async () => (await currentStep(page)) === 'documents', { timeoutMs: 10_000 });
  assert.deepEqual(await partStates(page), chosen, 'the files are still there');
  assert.deepEqual(page.problems, []);
  await page.close();
});

scenario('drafts: another person on the same browser profile sees none of it; the first person gets it back in a new tab and submits; the draft is then gone', async () => {
  // Another person signs in on the same profile (the issuer's session is ended; the storage stays).
  await context.clearCookies();
  const b = await tab();
  await signIn(b, stack, B);
  await b.locator('section[data-step="identity"]').waitFor();
  await until('B\'s draft decision', async () => (await b.locator('[data-draft-status]').count()) > 0, { timeoutMs: 15_000 }).catch(() => {});
  assert.equal(await currentStep(b), 'identity', 'B starts at the beginning');
  await next(b);
  await next(b);
  assert.equal(await value(b, 'email'), '', 'none of A\'s fields');
  assert.equal(await value(b, 'post.position'), '');
  await fillForm(b, formValues(B));
  await next(b);
  assert.equal(await currentStep(b), 'documents');
  const bParts = await partStates(b);
  assert.ok(Object.values(bParts).every((p) => p.state === 'empty'), `none of A's files: ${JSON.stringify(bParts)}`);
  await draftSaved(b);
  const both = await drafts(b);
  assert.ok(both.keys.includes(personId(stack, A)) && both.keys.includes(personId(stack, B)), 'one draft each, apart');
  await b.close();

  // A closes the tab and comes back later: a new tab, a new sign-in; everything is there.
  await context.clearCookies();
  const a = await tab();
  await signIn(a, stack, A);
  await a.locator('section[data-step="documents"]').waitFor({ timeout: 15_000 });
  const restored = await partStates(a);
  for (const [part] of docs) assert.ok(['ok', 'warning'].includes(restored[part].state), `${part}: ${JSON.stringify(restored[part])}`);
  const before = (await received(stack)).length;
  const { id } = await submit(a);
  const d = await delivered(stack, id);
  assert.equal(d.bundle?.email ?? 'draft-a@example.com', 'draft-a@example.com');
  for (const [part] of docs) assert.equal(partOf(d, part).length, 1, `${part} delivered once`);
  await until('A\'s draft to be deleted after the submission', async () => !(await drafts(a)).keys.includes(personId(stack, A)), { timeoutMs: 10_000 });
  assert.ok((await drafts(a)).keys.includes(personId(stack, B)), 'B\'s draft is B\'s business');
  assert.equal((await received(stack)).length, before + 1, 'one submission');
  assert.deepEqual(a.problems, []);
  await a.close();
});

scenario('drafts: signing out deletes the person\'s draft', async () => {
  await context.clearCookies();
  const b = await tab();
  await signIn(b, stack, B);
  await b.locator('section[data-step="documents"]').waitFor({ timeout: 15_000 });
  assert.equal(await currentStep(b), 'documents', 'B is back where B left');
  await b.locator('#logout').click();
  await b.locator('#signin').waitFor({ state: 'visible' });
  assert.ok(!(await drafts(b)).keys.includes(personId(stack, B)), 'B\'s draft is gone');
  await context.clearCookies();
  await signIn(b, stack, B);
  await b.locator('section[data-step="identity"]').waitFor();
  await until('the draft decision', async () => (await b.locator('[data-draft-status]').count()) > 0, { timeoutMs: 15_000 }).catch(() => {});
  assert.equal(await currentStep(b), 'identity', 'nothing to restore after signing out');
  await b.close();
});

scenario('drafts: the sign-in expires mid-flow; signing in again where the person is returns to the same step with every file, and submits once', async () => {
  // A stack whose identity provider issues 60 s ID tokens (the page treats one as expired 30 s early).
  process.env.OIDC_ID_TOKEN_TTL = '60';
  const short = await startStack('drafts-expiry');
  delete process.env.OIDC_ID_TOKEN_TTL;
  try {
    const page = await short.newPage({ width: 360, height: 740 });
    const person = 'rare-name';
    await signIn(page, short, person);
    await page.locator('section[data-step="identity"]').waitFor();
    const chosen = await toReviewWithDocs(page, person);
    // Scroll to the bottom as a person pressing "submit" on a phone is.
    await page.locator('[data-action="submit"]').scrollIntoViewIfNeeded();
    await until('the token to expire', () => page.evaluate(() => {
      const t = sessionStorage.getItem('intake.oidc.id_token');
      if (!t) return true;
      const { exp } = JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      return exp - 30 <= Date.now() / 1000;
    }), { timeoutMs: 70_000, everyMs: 500 });
    const sentBefore = (await received(short)).length;
    await submitRefused(page);
    await until('focus on the sign-in button', async () => (await focused(page)) === '[data-action=signin]', { timeoutMs: 5000 });
    assert.equal(await page.locator('#signin').isVisible(), false, 'not the sign-in box at the top of the page');
    assert.equal(await currentStep(page), 'review', 'the person stays where they are');

    await signInAgain(page, short, person);
    await page.locator('section[data-step="review"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-auth-required]').count(), 0);
    assert.equal(await page.locator('[data-review="files"] li').count(), 4, 'every file is back');
    await submitsOnce(short, page, sentBefore);
    // Back from the receipt does not reopen the bundle.
    await page.goBack().catch(() => {});
    await until('the receipt stays', async () => (await currentStep(page)) === 'receipt', { timeoutMs: 5000 });
    assert.ok(chosen.photo.state === 'ok');
    assertNoPageProblems(page);
    await page.context().close();
  } finally {
    await short.stop();
  }
});

scenario('drafts: in the embedded widget (the iXiamen-like host page) the sign-in expires mid-flow; the prompt is in view; the host signs the person in again and the widget continues at the same step with every file, and submits once', async () => {
  // ID tokens of 20 s: the host page hands the token over as it is, so the server is what refuses it.
  process.env.OIDC_ID_TOKEN_TTL = '20';
  const short = await startStack('drafts-embed-expiry');
  delete process.env.OIDC_ID_TOKEN_TTL;
  try {
    const person = 'rare-name';
    const hostToken = async () => (await login({ issuer: short.issuer, login: person, redirect: `${short.base}/` })).id_token;
    const page = await short.newPage({ width: 360, height: 740 });
    const first = await hostToken();
    await page.goto(`${short.base}/embed-demo.html`);
    // Not the demo: no sandbox sign-in, so the host takes a pasted token.
    await page.locator('#host-signin').click();
    await page.locator('#host-status', { hasText: 'intake demo' }).waitFor();
    await page.locator('#host-token').fill(first);
    await page.locator('#host-use-token').click();
    await page.locator('intake-collection section[data-step="identity"]').waitFor();
    const chosen = await toReviewWithDocs(page, person);
    const { exp } = JSON.parse(Buffer.from(first.split('.')[1], 'base64url').toString());
    // Past its expiry and the server's 2 s leeway.
    await sleep(Math.max(0, (exp + 4) * 1000 - Date.now()));
    const sentBefore = (await received(short)).length;
    await submitRefused(page);
    assert.equal(await currentStep(page), 'review', 'the person stays where they are');

    // "Sign in again" asks the host; the host signs the person in (here: a fresh pasted token).
    await page.locator('[data-action="signin"]').click();
    await page.locator('#host-token').waitFor({ state: 'visible', timeout: 10_000 });
    await page.locator('#host-token').fill(await hostToken());
    await page.locator('#host-use-token').click();
    await until('the widget to continue', async () => (await page.locator('[data-auth-required]').count()) === 0, { timeoutMs: 15_000 });
    assert.equal(await currentStep(page), 'review', 'the same step');
    assert.equal(await focused(page), 'h2', 'focus back on the step\'s heading');
    assert.equal(await page.locator('[data-review="files"] li').count(), 4, 'every file is still there');
    await submitsOnce(short, page, sentBefore);
    assert.ok(['ok', 'warning'].includes(chosen.photo.state));
    assertNoPageProblems(page);
    await page.context().close();
  } finally {
    await short.stop();
  }
});
