// Scenarios 1, 4 and 5: complete submissions through the standalone page, checked at the platform
// sandbox. Scenario 1 also takes the screenshots of every step at 360, 768 and 1280 px, checks that
// nothing leaves the viewport and runs axe-core on every step.

import * as assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { startStack, synthFixture } from './harness.mjs';
import { choose, delivered, fixture, open, partOf, submit, toDocuments } from './flow.mjs';
import { assertNoPageProblems } from './pages.mjs';
import { scenario, UI_READY } from './ui.mjs';

let stack;
// No stack while every scenario here is pending.
before(async () => { if (UI_READY) stack = await startStack('flows'); });
after(async () => { await stack?.stop(); });

scenario('1: a certificate holder on a 360×740 phone submits a 12 MP EXIF-rotated GPS camera photo; the platform gets exactly the profile\'s pixels, no EXIF', async () => {
  const camera = synthFixture('camera-12mp');
  const page = await open(stack, 'xiamen-holder', { width: 360, height: 740 });
  await toDocuments(page, 'xiamen-holder', { inspect: 'holder' });

  const photo = await choose(page, 'photo', camera);
  assert.notEqual(photo.state, 'error', `the camera photo is fixed, not refused: ${photo.codes.join(', ')}`);
  const before = page.locator('[data-part-status="photo"] img[data-preview="before"]');
  const afterImg = page.locator('[data-part-status="photo"] img[data-preview="after"], img[data-preview="after"]').first();
  await afterImg.waitFor();
  const natural = await afterImg.evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  const { target_width: tw, target_height: th } = stack.config.profile;
  assert.deepEqual(natural, [tw, th], 'the "after" preview is the fixed photo');
  assert.ok((await before.count()) <= 1);
  assert.equal((await choose(page, 'id_front', fixture('document/id_front.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'id_back', fixture('document/id_back.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'work_certificate', fixture('file/work_certificate.pdf'))).state, 'ok');
  await (await import('./pages.mjs')).inspectStep(page, 'holder', 'documents-filled');

  const { id } = await submit(page, { inspect: 'holder' });
  const d = await delivered(stack, id);
  const [p] = partOf(d, 'photo');
  assert.equal(p.content_type, 'image/jpeg');
  assert.deepEqual([p.width, p.height], [tw, th], 'the platform receives exactly the profile\'s pixels');
  assert.equal(p.has_exif, false, 'no EXIF (orientation, GPS, camera) reaches the platform');
  assert.ok(p.bytes >= stack.config.profile.min_bytes && p.bytes <= stack.config.profile.max_bytes, `${p.bytes} B in range`);
  for (const part of ['id_front', 'id_back']) {
    const [doc] = partOf(d, part);
    assert.ok(doc, `${part} delivered`);
    assert.equal(doc.has_exif, false);
  }
  assert.equal(d.identity.name, '陈静');
  assertNoPageProblems(page);
  await page.context().close();
});

scenario('4: a passport holder submits the information and validity pages', async () => {
  const page = await open(stack, 'passport-holder', { width: 768, height: 1024 });
  await toDocuments(page, 'passport-holder');
  assert.equal(await page.locator('input[type="file"][data-part="id_front"]').count(), 0, 'no ID card sides for a passport');
  assert.equal((await choose(page, 'photo', fixture('photo/standard_295x413.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'passport_info', fixture('document/passport_info.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'passport_validity', fixture('document/passport_validity.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'work_certificate', fixture('file/work_certificate.jpg'))).state, 'ok');
  const { id } = await submit(page);
  const d = await delivered(stack, id);
  assert.equal(d.identity.certificate_type, 'passport');
  assert.equal(partOf(d, 'passport_info').length, 1);
  assert.equal(partOf(d, 'passport_validity').length, 1);
  assert.equal(partOf(d, 'id_front').length + partOf(d, 'id_back').length, 0);
  assertNoPageProblems(page);
  await page.context().close();
});

scenario('5: a person not on an accounting post submits without a work certificate', async () => {
  const page = await open(stack, 'elsewhere-holder', { width: 1280, height: 900 });
  await toDocuments(page, 'elsewhere-holder', { overrides: { 'post.status': 'off_post' }, force: ['post.status'] });
  assert.equal((await choose(page, 'photo', fixture('photo/standard_295x413.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'id_front', fixture('document/id_front.jpg'))).state, 'ok');
  assert.equal((await choose(page, 'id_back', fixture('document/id_back.jpg'))).state, 'ok');
  const { id } = await submit(page);
  const d = await delivered(stack, id);
  assert.equal(d.bundle?.post_status, 'off_post', `the forwarded bundle says off post: ${JSON.stringify(d.bundle)}`);
  assert.equal(partOf(d, 'work_certificate').length, 0, 'no work certificate was needed');
  assertNoPageProblems(page);
  await page.context().close();
});
