// The widget's image pipeline on the whole fixture corpus through each engine's own decoders, in the
// real worker (www/intake-worker.js) started from a page (tests/e2e/pages/worker.html), as the widget
// starts it. wasm-bindgen-test-runner drives only Chromium here (widget/tests/imaging.rs), so this is
// how Firefox and WebKit run the corpus. Per file: the codes of tests/fixtures/expected.json, and the
// verdict shown equals the rules' check of the output bytes (the output posted back through the rules'
// own decoder). The EXIF-6 camera photos (the fixture and the 12 MP synthetic one) also go through the
// rules' decoder: same verdict, upright 295×413, and the same pixels within a small tolerance as the
// browser's route (Firefox's ImageDecoder orients frames itself: a second rotation gives a sideways
// picture whose "background" is the suit, and fails this).
// INTAKE_E2E_ENGINES picks the engines (default firefox,webkit; chromium works too).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { available, launchEngine, selectedEngines } from './engines.mjs';
import { FIXTURES, ROOT, synthFixture } from './harness.mjs';
import { serveStatic } from './static.mjs';

const EXPECTED = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')).files;
const partOf = (kind) => kind.replaceAll('-', '_');
/** What each engine's worker was measured to do (README, browser notes); a change here is news. */
const ROUTES = {
  chromium: { decoder: 'frame', frameOrientation: 'stored' },
  firefox: { decoder: 'frame', frameOrientation: 'upright' },
  webkit: { decoder: 'bitmap', frameOrientation: 'none' },
};

for (const name of selectedEngines()) {
  describe(`the image pipeline in ${name}`, { skip: available(name) ? false : `${name} is not installed` }, () => {
    let server;
    let engine;
    let page;
    before(async () => {
      if (!fs.existsSync(path.join(ROOT, 'www/pkg/intake_widget.js'))) throw new Error('www/pkg is missing: run `npm run build`');
      synthFixture('camera-12mp');
      server = await serveStatic();
      engine = await launchEngine(name);
      page = await engine.newPage({ width: 800, height: 600 });
      await page.goto(`${server.base}/pages/worker.html`);
      await page.waitFor('the worker page', () => window.ready === true);
    });
    after(async () => {
      await page?.close().catch(() => {});
      await engine?.close();
      await server?.close();
    });

    test('the corpus gets its expected codes, and every verdict is the rules\' check of the output', { timeout: 600_000 }, async () => {
      const cases = EXPECTED.map((c) => ({ file: `/fixtures/${c.file}`, part: partOf(c.kind), profile: c.profile || '' }));
      const rows = await page.evaluate((cs) => window.intake.runCases(cs), cases);
      const failures = [];
      const decoders = {};
      for (const [i, r] of rows.entries()) {
        const want = EXPECTED[i];
        decoders[r.decoder] = (decoders[r.decoder] || 0) + 1;
        if (r.error) { failures.push(`${want.file}: worker error ${r.error}`); continue; }
        const got = r.before.map((p) => p.split(':')[0]).sort();
        if (JSON.stringify(got) !== JSON.stringify([...want.codes].sort())) {
          failures.push(`${want.file} as ${r.part} (${r.decoder}): expected ${want.codes.join(',') || 'none'}, found ${got.join(',') || 'none'}`);
        }
        if (r.checkOfOutput && JSON.stringify(r.checkOfOutput) !== JSON.stringify(r.verdict)) {
          failures.push(`${want.file}: verdict ${r.verdict} is not the rules' check of the output ${r.checkOfOutput}`);
        }
        if (!r.checkOfOutput && r.passes) failures.push(`${want.file}: a passing verdict without bytes`);
        if (want.fix === 'passes' && !r.passes) failures.push(`${want.file} (${r.decoder}): should pass after the fix: ${r.verdict}`);
      }
      console.log(`${name}: decoders used ${JSON.stringify(decoders)}`);
      assert.deepEqual(failures, [], `${failures.length} disagreement(s) in ${name}`);
      // The browser decoded the readable JPEGs and the PNG (not the rules' fallback).
      const browserDecoded = (decoders.frame || 0) + (decoders.bitmap || 0);
      assert.ok(browserDecoded >= 25, `only ${browserDecoded} files decoded by ${name} itself: ${JSON.stringify(decoders)}`);
    });

    test('the EXIF-6 camera photos give the same verdict and pixels through the engine\'s route as through the rules\' decoder', { timeout: 300_000 }, async () => {
      const cases = [
        { file: '/fixtures/photo/camera_exif6_gps.jpg', part: 'photo', compareRules: true },
        { file: '/synth/camera-12mp.jpg', part: 'photo', compareRules: true },
      ];
      const rows = await page.evaluate((cs) => window.intake.runCases(cs), cases);
      for (const r of rows) {
        console.log(`${name} ${r.file}: ${r.decoder} (frames ${r.frameOrientation}), ${r.width}×${r.height}, verdict ${r.verdict.join(',') || 'passes'}, mean difference to the rules' output ${r.diffToRules?.toFixed(2)}`);
        assert.equal(r.error, null);
        const expected = ROUTES[name];
        if (expected) assert.deepEqual({ decoder: r.decoder, frameOrientation: r.frameOrientation }, expected, `${name}'s route for ${r.file}`);
        assert.ok(r.before.some((p) => p.startsWith('photo.exif_rotated:')), `${r.file}: the rotation is reported`);
        assert.deepEqual(r.verdict, r.rules.verdict, `${r.file}: the same verdict as the rules' decoder gives`);
        assert.ok(r.passes, `${r.file}: ${r.verdict}`);
        assert.deepEqual([r.width, r.height], [295, 413]);
        assert.deepEqual(r.checkOfOutput, r.verdict);
        // A wrong orientation or crop gives tens; two decoders and resamplers of the same picture a few.
        assert.ok(r.diffToRules !== null && r.diffToRules < 8, `${r.file}: outputs differ by ${r.diffToRules} per channel`);
      }
    });
  });
}
