// Scenario 6: the connection drops after the server stored the upload but before the browser got
// the answer; the person retries and gets the same submission: one stored, one delivered.

import * as assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { startStack, until } from './harness.mjs';
import { acknowledgeWarnings, choose, currentStep, delivered, fixture, next, open, toDocuments } from './flow.mjs';
import { tokenOf } from './pages.mjs';
import { scenario, UI_READY } from './ui.mjs';

let stack;
// No stack while every scenario here is pending.
before(async () => { if (UI_READY) stack = await startStack('network'); });
after(async () => { await stack?.stop(); });

scenario('6: network cut during the upload, then success without a duplicate', async () => {
  const page = await open(stack, 'rare-name', { width: 360, height: 740 });
  await toDocuments(page, 'rare-name');
  await choose(page, 'photo', fixture('photo/standard_295x413.jpg'));
  await choose(page, 'id_front', fixture('document/id_front.jpg'));
  await choose(page, 'id_back', fixture('document/id_back.jpg'));
  await choose(page, 'work_certificate', fixture('file/work_certificate.pdf'));

  const keys = [];
  const serverSaw = [];
  await page.route(`${stack.base}/api/v1/submissions`, async (route) => {
    const request = route.request();
    if (request.method() !== 'POST') return route.continue();
    keys.push(request.headers()['idempotency-key']);
    if (keys.length === 1) {
      // The upload reaches the server and is stored; the answer never reaches the browser.
      const response = await route.fetch({ timeout: 60_000 });
      serverSaw.push(response.status());
      return route.abort('connectionreset');
    }
    return route.continue();
  });

  await acknowledgeWarnings(page);
  for (let i = 0; i < 3 && (await currentStep(page)) !== 'review'; i += 1) await next(page);
  await acknowledgeWarnings(page);
  await page.locator('section[data-step="review"] [data-action="submit"]').click();
  // The widget tells the person and tries again with the same key: on its own after a pause
  // ([data-upload-waiting]) or when the person presses "retry".
  await page.locator('[data-upload-waiting], [data-action="retry"]').first().waitFor({ timeout: 90_000 });
  // "Submit" is disabled while the bundle uploads: focus went to the upload status, not the page's body.
  const focused = await page.evaluate(() => {
    let a = document.activeElement;
    while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
    return a?.matches('[data-upload-area]') ? 'upload area' : a?.tagName;
  });
  assert.equal(focused, 'upload area', 'focus stays on the submission status while it uploads and waits');
  assert.deepEqual(serverSaw, [201], 'the first attempt was stored by the server');
  assert.equal(await page.locator('[data-receipt-id]').count(), 0, 'no receipt without an answer');
  const receipt = page.locator('[data-receipt-id]');
  await until('the receipt after the retry', async () => {
    const retry = page.locator('[data-action="retry"]');
    if ((await retry.count()) > 0 && (await retry.first().isVisible())) await retry.first().click();
    return (await receipt.count()) > 0;
  }, { timeoutMs: 120_000, everyMs: 500 });
  const id = (await receipt.textContent()).trim();

  assert.equal(keys.length, 2, 'one retry');
  assert.ok(keys[0] && keys[0] === keys[1], 'the retry repeats the Idempotency-Key');
  const token = await tokenOf(page);
  const list = await (await fetch(`${stack.base}/api/v1/submissions`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.deepEqual(list.submissions.map((s) => s.id), [id], 'exactly one submission is stored');
  await delivered(stack, id);
  await until('forwarding to settle', async () => (await stack.platformStats()).faults_pending === 0, { timeoutMs: 5000 });
  const stats = await stack.platformStats();
  assert.equal(stats.distinct, 1, 'the platform received one submission');
  assert.equal(stats.duplicates, 0, 'and no duplicate');
  await page.context().close();
});
