// Scenarios 2 and 3: pictures the widget must refuse, with their message, keeping submit disabled.

import * as assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { startStack } from './harness.mjs';
import { choose, expectRefusedPhotos, fixture, next, open, submitEnabled, toDocuments } from './flow.mjs';
import { assertNoPageProblems, inspectStep } from './pages.mjs';
import { scenario, UI_READY } from './ui.mjs';

let stack;
// No stack while every scenario here is pending.
before(async () => { if (UI_READY) stack = await startStack('refusals'); });
after(async () => { await stack?.stop(); });

async function expectStuck(page) {
  assert.equal(await submitEnabled(page), false, 'the submit button is absent or disabled');
  const nextButton = page.locator('section[data-step="documents"] [data-action="next"]');
  if ((await nextButton.count()) === 1 && (await nextButton.isEnabled())) {
    const to = await next(page).catch(() => 'documents');
    if (to === 'review') assert.equal(await submitEnabled(page), false, 'submit stays disabled on review');
  }
}

scenario('2: a grayscale photo and a patterned background are refused with their message; submit stays disabled', async () => {
  const page = await open(stack, 'rare-name', { width: 360, height: 740 });
  await toDocuments(page, 'rare-name');
  await choose(page, 'id_front', fixture('document/id_front.jpg'));
  await choose(page, 'id_back', fixture('document/id_back.jpg'));
  await choose(page, 'work_certificate', fixture('file/work_certificate.pdf'));
  await expectRefusedPhotos(page, { after: (code) => inspectStep(page, 'refused-photo', `documents-${code.replace('.', '-')}`) });
  await expectStuck(page);
  assertNoPageProblems(page);
  await page.context().close();
});

scenario('3: the same picture for both ID sides is refused', async () => {
  const page = await open(stack, 'new-applicant', { width: 360, height: 740 });
  await toDocuments(page, 'new-applicant');
  await choose(page, 'photo', fixture('photo/standard_295x413.jpg'));
  await choose(page, 'work_certificate', fixture('file/work_certificate.pdf'));
  await choose(page, 'id_front', fixture('document/id_front.jpg'));
  await choose(page, 'id_back', fixture('document/id_front_copy_resized.jpg'));
  const same = page.locator('li[data-code="document.same_image_both_sides"]');
  await same.first().waitFor();
  assert.ok((await same.first().textContent()).trim().length > 4, 'the problem is explained');
  assert.equal(await submitEnabled(page), false, 'submit is disabled');
  await inspectStep(page, 'refused-pair', 'documents');
  await expectStuck(page);
  assertNoPageProblems(page);
  await page.context().close();
});
