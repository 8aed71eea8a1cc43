// The flows that matter, in each engine besides Chromium (flows.test.mjs and the others run in
// Chromium through Playwright): at 360×740 a whole submission with the 12 MP EXIF-6 camera photo,
// both ID card sides and a work certificate, checked at the platform sandbox (upright 295×413, no
// EXIF); the refused-photo path; and issue 12's draft in each engine: a reload on the form and on the
// documents step restores fields, files, verdicts and the step, the back and forward buttons move
// between steps, and the draft is gone after the submission. Driven through engines.mjs (Firefox: puppeteer-core over WebDriver
// BiDi; WebKit: WebKitWebDriver + MiniBrowser under xvfb-run). INTAKE_E2E_ENGINES picks the engines
// (default firefox,webkit; chromium runs them too). Screenshots in tests/e2e/artifacts/engines/.

import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { available, launchEngine, selectedEngines } from './engines.mjs';
import {
  acknowledgeWarnings, choose, currentStep, fillForm, next, open, submitEnabled, submit, toDocuments,
} from './engine-flow.mjs';
import { delivered, expectRefusedPhotos, fixture, formValues, partOf } from './flow.mjs';
import { startStack, synthFixture, until } from './harness.mjs';
import { drafts, draftSaved, partStates, personId } from './draft-helpers.mjs';

const DRAFT_FILES = [
  ['photo', 'photo/standard_295x413.jpg'],
  ['id_front', 'document/id_front.jpg'],
  ['id_back', 'document/id_back.jpg'],
  ['work_certificate', 'file/work_certificate.pdf'],
];

/** A form control's value now (through the widget's shadow root). */
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
  });
}
