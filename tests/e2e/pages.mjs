// Page-level helpers of the browser tests: signing in through the real issuer's pages, and the
// checks run on every step (no horizontal overflow at 360/768/1280 px with screenshots, axe-core).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { ARTIFACTS } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const WIDTHS = [360, 768, 1280];
/** The ends of the supported range (FAQ 3: 320–1920 px), checked for overflow without screenshots. */
export const EDGE_WIDTHS = [320, 1920];

/** Signs in on the standalone page through the oidc-provider login and consent pages. */
export async function signIn(page, stack, person) {
  await page.goto(`${stack.base}/`);
  await page.locator('#login').click();
  await page.waitForURL((url) => url.href.startsWith(stack.issuer));
  await page.locator('input[name="login"]').fill(person);
  await page.locator('input[name="password"]').fill('any-password');
  await page.locator('button[type="submit"]').click();
  // Consent (first sign-in of this browser context), then back to the page.
  const consent = page.locator('button[type="submit"]', { hasText: /continue/i });
  await page.waitForURL((url) => url.href.startsWith(stack.base) || url.pathname.includes('/interaction/'));
  if (!page.url().startsWith(stack.base)) {
    await consent.click();
  }
  await page.waitForURL((url) => url.href.startsWith(stack.base) && !url.search.includes('code='));
  await page.locator('#session').waitFor({ state: 'visible' });
}

/** The current ID token of the standalone page. */
export function tokenOf(page) {
  return page.evaluate(() => sessionStorage.getItem('intake.oidc.id_token'));
}

/**
 * Elements (in the document and every open shadow root) whose box leaves the viewport horizontally,
 * and the document's own horizontal overflow. Empty when nothing is cut off.
 */
export function horizontalOverflow(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const bad = [];
    if (document.documentElement.scrollWidth > vw) {
      bad.push(`document scrollWidth ${document.documentElement.scrollWidth} > viewport ${vw}`);
    }
    const describe = (el) => {
      const attrs = ['data-step', 'data-part', 'data-action', 'name', 'id', 'class']
        .map((a) => (el.getAttribute(a) ? `[${a}="${el.getAttribute(a)}"]` : '')).join('');
      return `${el.tagName.toLowerCase()}${attrs}`;
    };
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) walk(el.shadowRoot);
        const r = el.getBoundingClientRect();
        if (r.width <= 1 || r.height <= 1) continue; // not rendered, or visually hidden for screen readers
        if (r.left < -0.5 || r.right > vw + 0.5) {
          bad.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)} (viewport ${vw})`);
        }
      }
    };
    walk(document);
    return bad;
  });
}

/** axe-core's serious and critical violations on the page (open shadow roots included). */
export async function axeViolations(page) {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline scripts) stays in force.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * The checks every step gets: at 360, 768 and 1280 px no horizontal overflow and a full-page
 * screenshot (tests/e2e/artifacts/<scenario>/<step>-<width>.png), at 320 and 1920 px no overflow;
 * then axe-core on the step. Restores the
 * viewport it found.
 */
export async function inspectStep(page, scenario, step) {
  const dir = path.join(ARTIFACTS, scenario);
  fs.mkdirSync(dir, { recursive: true });
  const original = page.viewportSize();
  try {
    for (const width of [...WIDTHS, ...EDGE_WIDTHS]) {
      await page.setViewportSize({ width, height: original.height });
      await page.evaluate(() => new Promise((resolve) => { requestAnimationFrame(() => requestAnimationFrame(resolve)); }));
      const overflow = await horizontalOverflow(page);
      if (WIDTHS.includes(width)) await page.screenshot({ path: path.join(dir, `${step}-${width}.png`), fullPage: true });
      assert.deepEqual(overflow, [], `${scenario}/${step} at ${width} px: something leaves the viewport`);
    }
  } finally {
    await page.setViewportSize(original);
  }
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${scenario}/${step}: axe-core serious/critical violations`);
}

/** No console errors, uncaught exceptions or CSP violations on the page so far. */
export function assertNoPageProblems(page) {
  assert.deepEqual(page.problems, [], 'console errors, page errors or CSP violations');
}
