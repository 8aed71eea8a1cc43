// Helpers of the draft and navigation tests (tests/e2e/drafts.test.mjs, engines.test.mjs, bench-draft.mjs):
// what the widget keeps in IndexedDB, judged from outside the widget, and signing in without the
// issuer's login form when its session is still alive.

import * as crypto from 'node:crypto';

import { sleep, until } from './harness.mjs';

/** The widget's id for a sample person: SHA-256 hex of `issuer|sub` (the sub is the login name). */
export function personId(stack, person) {
  return crypto.createHash('sha256').update(`${stack.issuer}|${person}`).digest('hex');
}

/**
 * The drafts in the page's IndexedDB: { exists, keys, records: {id: {ivLength, dataLength, expires,
 * data (bytes as an array, only for `withData`)}}, cryptoKeys: [{type, extractable, algorithm}] }.
 * Never creates the database (opening a missing one would).
 */
export function drafts(page, { withData = false } = {}) {
  return page.evaluate(async (withData) => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes('intake-drafts')) return { exists: false, keys: [], records: {}, cryptoKeys: [] };
    const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    const db = await req(indexedDB.open('intake-drafts'));
    try {
      const tx = db.transaction(['drafts', 'keys'], 'readonly');
      const keys = await req(tx.objectStore('drafts').getAllKeys());
      const records = {};
      for (const k of keys) {
        const r = await req(tx.objectStore('drafts').get(k));
        records[k] = {
          ivLength: r.iv.byteLength,
          dataLength: r.data.byteLength,
          expires: r.expires,
          data: withData ? Array.from(new Uint8Array(r.data)) : undefined,
        };
      }
      const stored = await req(tx.objectStore('keys').getAll());
      const cryptoKeys = [];
      for (const key of stored) {
        let exportable = true;
        try { await crypto.subtle.exportKey('raw', key); } catch { exportable = false; }
        cryptoKeys.push({ type: key.type, extractable: key.extractable, exportable, algorithm: key.algorithm.name, length: key.algorithm.length });
      }
      return { exists: true, keys, records, cryptoKeys };
    } finally {
      db.close();
    }
  }, withData);
}

/**
 * Waits until the widget says the draft is saved, then past the save's debounce (a Playwright page
 * or an engines.mjs page: both pierce open shadow roots).
 */
export async function draftSaved(page) {
  await page.waitForSelector('[data-draft-status="saved"]', { timeout: 15_000 });
  await sleep(1500);
}

/**
 * Presses the widget's or the page's sign-in and comes back signed in as `person`: the issuer's
 * login form when it asks, its consent when it asks, or straight back when its session is alive.
 */
export async function signInAgain(page, stack, person, button = '[data-action="signin"]') {
  await page.locator(button).click();
  await page.waitForURL((url) => url.href.startsWith(stack.issuer) || url.searchParams.has('code'), { timeout: 30_000 }).catch(() => {});
  await until('back on the page, signed in', async () => {
    const url = new URL(page.url());
    if (url.href.startsWith(stack.issuer)) {
      if (await page.locator('input[name="login"]').isVisible().catch(() => false)) {
        await page.locator('input[name="login"]').fill(person);
        await page.locator('input[name="password"]').fill('any-password');
        await page.locator('button[type="submit"]').click();
      } else if (await page.locator('button[type="submit"]', { hasText: /continue/i }).isVisible().catch(() => false)) {
        await page.locator('button[type="submit"]', { hasText: /continue/i }).click();
      }
      return false;
    }
    return url.href.startsWith(stack.base) && !url.search.includes('code=') && page.locator('#session').isVisible();
  }, { timeoutMs: 60_000, everyMs: 300 });
}

/** The element focused now, through open shadow roots: a short description. */
export function focused(page) {
  return page.evaluate(() => {
    let a = document.activeElement;
    while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
    if (!a) return null;
    return a.getAttribute('data-action') ? `[data-action=${a.getAttribute('data-action')}]` : a.tagName.toLowerCase();
  });
}

/**
 * Every part's { state, codes, after (previews of the fixed file), acked (its acknowledgements) } on
 * the documents step, through open shadow roots. One `evaluate`: works on a Playwright page and on
 * an engines.mjs page alike.
 */
export function partStates(page) {
  return page.evaluate(() => {
    const out = {};
    const walk = (root) => {
      for (const p of root.querySelectorAll('[data-part-status]')) {
        out[p.dataset.partStatus] = {
          state: p.dataset.state,
          codes: [...p.querySelectorAll('li[data-code]')].map((e) => e.dataset.code),
          after: p.querySelectorAll('img[data-preview="after"]').length,
          acked: [...p.querySelectorAll('input[data-ack]')].map((e) => e.checked),
        };
      }
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walk(el.shadowRoot);
    };
    walk(document);
    return out;
  });
}
