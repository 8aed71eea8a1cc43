// The flows that matter, in each engine besides Chromium (flows.test.mjs and the others run in
// Chromium through Playwright): at 360×740 a whole submission with the 12 MP EXIF-6 camera photo,
// both ID card sides and a work certificate, checked at the platform sandbox (upright 295×413, no
// EXIF); the refused-photo path; and issue 12's draft in each engine: a reload on the form and on the
// documents step restores fields, files, verdicts and the step, the back and forward buttons move
// between steps, and the draft is gone after the submission. Driven through engines.mjs (Firefox: puppeteer-core over WebDriver
// BiDi; WebKit: WebKitWebDriver + MiniBrowser under xvfb-run). INTAKE_E2E_ENGINES picks the engines
// (default firefox,webkit; chromium runs them too). Screenshots in tests/e2e/artifacts/engines/.
// On one browser profile (engines.mjs's `newTab` and `clearCookies`): another person sees none of the
// draft, the first gets it back in a reopened tab, signing out deletes the person's draft; and a
// sign-in that expires mid-flow (60 s ID tokens) is renewed where the person is, with one submission.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { available, launchEngine, selectedEngines } from './engines.mjs';
import {
  acknowledgeWarnings, choose, currentStep, fillForm, inViewport, next, open, signIn, signInAgain, submitEnabled, submit,
  toDocuments,
} from './engine-flow.mjs';
import { delivered, expectRefusedPhotos, fixture, formValues, partOf } from './flow.mjs';
import { ARTIFACTS, startStack, synthFixture, until } from './harness.mjs';
import { drafts, draftSaved, partStates, personId } from './draft-helpers.mjs';

const DRAFT_FILES = [
  ['photo', 'photo/standard_295x413.jpg'],
  ['id_front', 'document/id_front.jpg'],
  ['id_back', 'document/id_back.jpg'],
  ['work_certificate', 'file/work_certificate.pdf'],
];

/** A form control's value now (through the widget's shadow root). */
/** The platform sandbox's deliveries (duplicates included). */
async function received(s) {
  const list = await s.platformReceived();
  return Array.isArray(list) ? list : list.deliveries || [];
}

/** Chooses every file of DRAFT_FILES and acknowledges the warnings: the parts' states. */
async function chooseAll(page) {
  for (const [part, file] of DRAFT_FILES) await choose(page, part, fixture(file));
  await acknowledgeWarnings(page);
  const chosen = await partStates(page);
  assert.ok(DRAFT_FILES.every(([p]) => ['ok', 'warning'].includes(chosen[p]?.state)), JSON.stringify(chosen));
  return chosen;
}

/** A new tab of `page`'s browser profile, `page` closed, the issuer's session ended: a reopened tab. */
async function reopen(page, stack) {
  const tab = await page.newTab();
  await page.close();
  await tab.goto(`${stack.base}/`);
  await tab.clearCookies();
  return tab;
}

const fieldValue = (page, name) => page.evaluate((n) => {
  const walk = (root) => root.querySelector(`section[data-step="form"] [name="${n}"]`) || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
  return walk(document)?.value ?? null;
}, name);

for (const name of selectedEngines()) {
  describe(`the collection flow in ${name}`, { skip: available(name) ? false : `${name} is not installed` }, () => {
    let stack;
    let engine;
    before(async () => {
      synthFixture('camera-12mp');
      stack = await startStack(`engine-${name}`, { chromium: false });
      engine = await launchEngine(name);
    });
    after(async () => {
      await engine?.close();
      await stack?.stop();
    });

    test(`${name}: a certificate holder at 360×740 submits a 12 MP EXIF-6 camera photo, both ID sides and a work certificate`, { timeout: 600_000 }, async () => {
      const shots = { engine: name, scenario: 'holder' };
      const page = await open(engine, stack, 'xiamen-holder', { width: 360, height: 740 });
      try {
        await toDocuments(page, 'xiamen-holder', { shots });
        const photo = await choose(page, 'photo', synthFixture('camera-12mp'));
        assert.notEqual(photo.state, 'error', `the camera photo is fixed, not refused: ${photo.codes.join(', ')}`);
        const natural = await page.waitFor('the "after" preview', () => {
          const walk = (root) => root.querySelector('img[data-preview="after"]') || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
          const img = walk(document);
          return img && img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null;
        });
        const { target_width: tw, target_height: th } = stack.config.profile;
        assert.deepEqual(natural, [tw, th], 'the "after" preview is the fixed photo');
        assert.equal((await choose(page, 'id_front', fixture('document/id_front.jpg'))).state, 'ok');
        assert.equal((await choose(page, 'id_back', fixture('document/id_back.jpg'))).state, 'ok');
        assert.equal((await choose(page, 'work_certificate', fixture('file/work_certificate.pdf'))).state, 'ok');
        const { id } = await submit(page, shots);
        const d = await delivered(stack, id);
        const [p] = partOf(d, 'photo');
        assert.equal(p.content_type, 'image/jpeg');
        assert.deepEqual([p.width, p.height], [tw, th], 'the platform receives the upright profile size');
        assert.equal(p.has_exif, false, 'no EXIF reaches the platform');
        for (const part of ['id_front', 'id_back', 'work_certificate']) assert.equal(partOf(d, part).length, 1, `${part} delivered`);
        assert.equal(d.identity.name, '陈静');
      } finally {
        await page.close();
      }
    });

    test(`${name}: a grayscale photo and a patterned background are refused with their message; submit stays disabled`, { timeout: 600_000 }, async () => {
      const page = await open(engine, stack, 'rare-name', { width: 360, height: 740 });
      try {
        await toDocuments(page, 'rare-name');
        await choose(page, 'id_front', fixture('document/id_front.jpg'));
        await choose(page, 'id_back', fixture('document/id_back.jpg'));
        await choose(page, 'work_certificate', fixture('file/work_certificate.pdf'));
        await expectRefusedPhotos(page, { choose, submitEnabled });
        await acknowledgeWarnings(page);
        // "next" may lead to review, where submit stays disabled.
        const to = await next(page).catch(() => currentStep(page));
        if (to === 'review') assert.equal(await submitEnabled(page), false, 'submit stays disabled on review');
      } finally {
        await page.close();
      }
    });

    test(`${name}: a reload on the form and on the documents step restores the fields, files, verdicts and the step; the back button moves between steps; after submit the draft is gone`, { timeout: 600_000 }, async () => {
      const person = 'new-applicant';
      const page = await open(engine, stack, person, { width: 360, height: 740 });
      const at = (step) => until(`the ${step} step`, async () => (await currentStep(page)) === step, { timeoutMs: 30_000 });
      try {
        await next(page);
        await next(page);
        assert.equal(await currentStep(page), 'form');
        await fillForm(page, formValues(person, { 'post.position': '主办会计（草稿）', email: 'draft-e@example.com' }), ['post.position']);
        await draftSaved(page);
        await page.reload();
        await at('form');
        assert.equal(await fieldValue(page, 'post.position'), '主办会计（草稿）', 'a typed field survives the reload');
        assert.equal(await fieldValue(page, 'email'), 'draft-e@example.com');

        assert.equal(await next(page), 'documents');
        for (const [part, file] of DRAFT_FILES) await choose(page, part, fixture(file));
        await acknowledgeWarnings(page);
        const chosen = await partStates(page);
        assert.ok(DRAFT_FILES.every(([p]) => ['ok', 'warning'].includes(chosen[p]?.state)), JSON.stringify(chosen));
        await draftSaved(page);
        await page.reload();
        await at('documents');
        assert.deepEqual(await partStates(page), chosen, 'every part comes back with its verdict, preview and acknowledgement');
        const natural = await page.waitFor('the restored "after" preview', () => {
          const walk = (root) => root.querySelector('[data-part-status="photo"] img[data-preview="after"]') || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
          const img = walk(document);
          return img && img.complete && img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null;
        });
        assert.deepEqual(natural, [stack.config.profile.target_width, stack.config.profile.target_height], 'the fixed photo itself came back');
        const stored = await drafts(page);
        assert.ok(stored.keys.includes(personId(stack, person)), `a draft under the person's id (${stored.keys.join(', ')})`);
        assert.equal(stored.records[personId(stack, person)].ivLength, 12, 'AES-GCM with a 12-byte IV');

        // The browser's back and forward buttons move between steps, not out of the flow.
        await page.back();
        await at('form');
        assert.ok((await page.url()).startsWith(stack.base), 'still on the page');
        await page.back();
        await at('archive');
        await page.forward();
        await at('form');
        assert.equal(await next(page), 'documents');
        assert.equal(await next(page), 'review');
        await page.back();
        await at('documents');
        assert.deepEqual(await partStates(page), chosen, 'the files are still there');

        const { id } = await submit(page);
        const d = await delivered(stack, id);
        for (const [part] of DRAFT_FILES) assert.equal(partOf(d, part).length, 1, `${part} delivered once`);
        await until('the draft to be deleted after the submission', async () => !(await drafts(page)).keys.includes(personId(stack, person)), { timeoutMs: 10_000 });
      } finally {
        await page.close();
      }
    });

    test(`${name}: on one browser profile another person sees none of the draft and signing out deletes theirs; the first person gets everything back in a reopened tab and submits once`, { timeout: 600_000 }, async () => {
      // Two people nobody else in this stack submits for (the first test submits for xiamen-holder, the
      // draft test for new-applicant): a person who has submitted starts at the status, not the form.
      const A = 'elsewhere-holder';
      const B = 'passport-holder';
      const a = await open(engine, stack, A, { width: 360, height: 740 });
      await toDocuments(a, A);
      const chosen = await chooseAll(a);
      await draftSaved(a);

      // B signs in on the same profile: a new tab, the issuer's session ended, the storage kept.
      const b = await reopen(a, stack);
      let a2 = null;
      try {
        await signIn(b, stack, B);
        await until('B\'s first step', async () => (await currentStep(b)) === 'identity', { timeoutMs: 30_000 });
        await b.waitForSelector('[data-draft-status]').catch(() => {});
        assert.equal(await currentStep(b), 'identity', 'B starts at the beginning');
        await next(b);
        await next(b);
        assert.equal(await currentStep(b), 'form');
        assert.equal(await fieldValue(b, 'email'), '', 'none of A\'s fields');
        await fillForm(b, formValues(B));
        assert.equal(await next(b), 'documents');
        const bParts = await partStates(b);
        assert.ok(Object.values(bParts).every((p) => p.state === 'empty'), `none of A's files: ${JSON.stringify(bParts)}`);
        await draftSaved(b);
        const both = await drafts(b);
        assert.ok(both.keys.includes(personId(stack, A)) && both.keys.includes(personId(stack, B)), `one draft each: ${both.keys.join(', ')}`);

        // B signs out: B's draft goes, A's stays.
        await b.click('#logout');
        await b.waitForSelector('#signin');
        const left = await until('B\'s draft to be deleted', async () => {
          const d = await drafts(b);
          return d.keys.includes(personId(stack, B)) ? null : d;
        }, { timeoutMs: 10_000 });
        assert.ok(left.keys.includes(personId(stack, A)), 'A\'s draft is A\'s business');

        // A comes back later in a reopened tab: everything is there, at the step A left.
        a2 = await reopen(b, stack);
        await signIn(a2, stack, A);
        await until('A back on the documents step', async () => (await currentStep(a2)) === 'documents', { timeoutMs: 30_000 });
        assert.deepEqual(await partStates(a2), chosen, 'every part, verdict and acknowledgement is back');
        const sent = (await received(stack)).length;
        const { id } = await submit(a2);
        const d = await delivered(stack, id);
        for (const [part] of DRAFT_FILES) assert.equal(partOf(d, part).length, 1, `${part} delivered once`);
        assert.equal((await received(stack)).length, sent + 1, 'one submission');
        await until('A\'s draft to be deleted after the submission', async () => !(await drafts(a2)).keys.includes(personId(stack, A)), { timeoutMs: 10_000 });
      } finally {
        await (a2 ?? b).close().catch(() => {});
      }
    });

    test(`${name}: the sign-in expires mid-flow; the prompt is in view at 360×740; signing in again returns to the same step with every file and submits once`, { timeout: 600_000 }, async () => {
      // A stack whose identity provider issues 60 s ID tokens (the page treats one as expired 30 s early).
      process.env.OIDC_ID_TOKEN_TTL = '60';
      const short = await startStack(`engine-${name}-expiry`, { chromium: false });
      delete process.env.OIDC_ID_TOKEN_TTL;
      const person = 'rare-name';
      let page = null;
      try {
        page = await open(engine, short, person, { width: 360, height: 740 });
        await toDocuments(page, person);
        await chooseAll(page);
        for (let i = 0; i < 3 && (await currentStep(page)) !== 'review'; i += 1) await next(page);
        assert.equal(await currentStep(page), 'review');
        await until('the token to expire', () => page.evaluate(() => {
          const t = sessionStorage.getItem('intake.oidc.id_token');
          if (!t) return true;
          const { exp } = JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
          return exp - 30 <= Date.now() / 1000;
        }), { timeoutMs: 70_000, everyMs: 500 });
        const sent = (await received(short)).length;
        await acknowledgeWarnings(page);
        await until('the submit button to be enabled', () => submitEnabled(page), { timeoutMs: 15_000 });
        await page.click('section[data-step="review"] [data-action="submit"]');
        await page.waitForSelector('[data-auth-required]').catch(async (e) => {
          await page.screenshot(path.join(ARTIFACTS, 'engines', `${name}-expiry-no-prompt.png`)).catch(() => {});
          throw e;
        });
        const view = await inViewport(page, '[data-auth-required]');
        assert.ok(view.inside, `the sign-in prompt is in view: ${JSON.stringify(view)}`);
        assert.equal(await currentStep(page), 'review', 'the person stays where they are');
        assert.equal((await received(short)).length, sent, 'nothing was sent with the expired sign-in');

        await signInAgain(page, short, person);
        const back = () => page.evaluate(() => {
          const walk = (root, sel) => root.querySelector(sel) || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot, sel)).find(Boolean);
          return {
            step: walk(document, 'section[data-step]')?.dataset.step ?? null,
            prompt: !!walk(document, '[data-auth-required]'),
            files: walk(document, '[data-review="files"]')?.querySelectorAll('li').length ?? 0,
          };
        });
        // The draft is restored after the new sign-in: the files come back a moment after the step.
        const files = await until('the review step with its files, signed in again', async () => {
          const now = await back();
          return now.step === 'review' && !now.prompt && now.files > 0 ? now.files : null;
        }, { timeoutMs: 30_000 }).catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await back())}`); });
        assert.equal(files, DRAFT_FILES.length, 'every file is back');
        const { id } = await submit(page);
        const d = await delivered(short, id);
        for (const [part] of DRAFT_FILES) assert.equal(partOf(d, part).length, 1, `${part} delivered once`);
        assert.equal((await received(short)).length, sent + 1, 'exactly one submission reached the platform');
      } finally {
        await page?.close().catch(() => {});
        await short.stop();
      }
    });
  });
}
