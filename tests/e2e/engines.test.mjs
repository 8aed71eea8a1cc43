// The flows that matter, in each engine besides Chromium (flows.test.mjs and the others run in
// Chromium through Playwright): at 360×740 a whole submission with the 12 MP EXIF-6 camera photo,
// both ID card sides and a work certificate, checked at the platform sandbox (upright 295×413, no
// EXIF); and the refused-photo path. Driven through engines.mjs (Firefox: puppeteer-core over WebDriver
// BiDi; WebKit: WebKitWebDriver + MiniBrowser under xvfb-run). INTAKE_E2E_ENGINES picks the engines
// (default firefox,webkit; chromium runs them too). Screenshots in tests/e2e/artifacts/engines/.

import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { available, launchEngine, selectedEngines } from './engines.mjs';
import { acknowledgeWarnings, choose, currentStep, next, open, submitEnabled, submit, toDocuments } from './engine-flow.mjs';
import { delivered, fixture, partOf } from './flow.mjs';
import { startStack, synthFixture } from './harness.mjs';

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
        for (const [file, code] of [['photo/grayscale.jpg', 'photo.not_colour'], ['photo/pattern_background.jpg', 'photo.background_not_uniform']]) {
          const { state, codes } = await choose(page, 'photo', fixture(file));
          assert.equal(state, 'error', `${file} is refused`);
          assert.ok(codes.includes(code), `${file}: ${code} among ${codes.join(', ')}`);
          const message = await page.evaluate((c) => {
            const walk = (root) => root.querySelector(`[data-part-status="photo"] li[data-code="${c}"]`) || [...root.querySelectorAll('*')].map((e) => e.shadowRoot && walk(e.shadowRoot)).find(Boolean);
            return walk(document)?.textContent || '';
          }, code);
          assert.ok(message.trim().length > 4, `${code} is explained (got ${JSON.stringify(message)})`);
          assert.equal(await submitEnabled(page), false, 'submit is disabled');
        }
        await acknowledgeWarnings(page);
        // "next" may lead to review, where submit stays disabled.
        const to = await next(page).catch(() => currentStep(page));
        if (to === 'review') assert.equal(await submitEnabled(page), false, 'submit stays disabled on review');
      } finally {
        await page.close();
      }
    });
  });
}
