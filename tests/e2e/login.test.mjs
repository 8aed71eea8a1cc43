// Scenarios 7 and 8: the standalone page signs in with the authorization-code flow and PKCE against a
// real OpenID Connect server and mounts the widget; the embed page hands a host-supplied token to
// <intake-collection>, with styles isolated both ways.

import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { login } from '../oidc/flow.mjs';
import { FIXTURES, startStack } from './harness.mjs';
import { assertNoPageProblems, axeViolations, horizontalOverflow, inspectStep, signIn, tokenOf } from './pages.mjs';
import { scenario } from './ui.mjs';

let stack;
// A host page on another origin (and another site: localhost vs 127.0.0.1), as the iXiamen page is.
let host;
let hostPage = '';
before(async () => {
  host = http.createServer((req, res) => {
    res.writeHead(req.url === '/host.html' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(req.url === '/host.html' ? hostPage : 'not found');
  });
  await new Promise((resolve) => { host.listen(0, '127.0.0.1', resolve); });
  // `intake serve` reads INTAKE_CORS_ORIGINS: the host's origin may call the API and load the assets.
  process.env.INTAKE_CORS_ORIGINS = `http://localhost:${host.address().port}`;
  stack = await startStack('login');
});
after(async () => {
  await stack?.stop();
  host?.close();
});

test('8: the standalone page signs in with PKCE (S256) and mounts the widget', async () => {
  const page = await stack.newPage({ width: 360, height: 740 });
  const authRequests = [];
  const tokenRequests = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (!req.url().startsWith(stack.issuer)) return;
    if (url.pathname === '/auth') authRequests.push(url);
    if (url.pathname === '/token') tokenRequests.push(new URLSearchParams(req.postData() || ''));
  });
  await page.goto(`${stack.base}/`);
  await page.locator('#signin').waitFor({ state: 'visible' });
  await inspectStep(page, 'standalone', 'signin');
  await signIn(page, stack, 'xiamen-holder');

  assert.equal(authRequests.length, 1, 'one authorization request');
  const auth = authRequests[0].searchParams;
  assert.equal(auth.get('code_challenge_method'), 'S256');
  assert.match(auth.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(auth.get('client_id'), stack.config.identity.client_id);
  assert.equal(auth.get('redirect_uri'), `${stack.base}/`);
  assert.equal(tokenRequests.length, 1, 'one token request, from the browser');
  const verifier = tokenRequests[0].get('code_verifier');
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  assert.equal(Buffer.from(digest).toString('base64url'), auth.get('code_challenge'), 'the verifier matches the challenge');

  assert.equal(new URL(page.url()).search, '', 'code and state are removed from the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('intake.oidc.flow')), null, 'the verifier is forgotten');
  const token = await tokenOf(page);
  const me = await fetch(`${stack.base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200, 'the backend accepts the page\'s ID token');
  assert.equal((await me.json()).name, '陈静');
  await page.locator('#who', { hasText: '陈静' }).waitFor();
  // The widget mounted into #intake (in its shadow root once the flow lands).
  await page.locator('#intake section').first().waitFor({ state: 'attached' });
  await inspectStep(page, 'standalone', 'mounted');
  assertNoPageProblems(page);

  await page.locator('#logout').click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await tokenOf(page), null, 'signing out forgets the token');
  await page.context().close();
});

test('8: a callback with a forged state is refused and leaves no token', async () => {
  const page = await stack.newPage();
  await page.goto(`${stack.base}/?code=forged&state=forged`);
  await page.locator('#page-error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#page-error').textContent(), /state/);
  assert.equal(await tokenOf(page), null);
  await page.locator('#signin').waitFor({ state: 'visible' });
  await page.context().close();
});

async function embedWithHostToken(person) {
  const { id_token: token } = await login({ issuer: stack.issuer, login: person, redirect: `${stack.base}/` });
  const page = await stack.newPage({ width: 360, height: 740 });
  page.apiAuth = [];
  page.on('request', (req) => {
    const url = req.url();
    if (url.startsWith(`${stack.base}/api/v1/`) && !url.startsWith(`${stack.base}/api/v1/config`)) {
      page.apiAuth.push(req.headers().authorization || '');
    }
  });
  await page.goto(`${stack.base}/embed-demo.html`);
  // Not the demo: the sandbox sign-in is absent, so the host falls back to a pasted token.
  await page.locator('#host-signin').click();
  await page.locator('#host-status', { hasText: 'intake demo' }).waitFor();
  await page.locator('#host-token').fill(token);
  await page.locator('#host-use-token').click();
  await page.locator('intake-collection').waitFor({ state: 'attached' });
  await page.locator('intake-collection section').first().waitFor({ state: 'attached' });
  return { page, token };
}

test('7: the embed page mounts <intake-collection> with a host-supplied token', async () => {
  const { page, token } = await embedWithHostToken('new-applicant');
  const hostButton = await page.evaluate(() => getComputedStyle(document.querySelector('#host-signin')).backgroundColor);
  assert.equal(hostButton, 'rgb(200, 16, 46)', 'the widget\'s styles do not change the host\'s buttons');
  assert.deepEqual(await horizontalOverflow(page), [], 'embed page at 360 px');
  assert.deepEqual(await axeViolations(page), [], 'embed page: axe serious/critical');
  assert.ok(page.apiAuth.every((h) => h === `Bearer ${token}`), 'every API call carries the host\'s token');
  assertNoPageProblems(page);
  await page.context().close();
});

scenario('7: the embedded widget lives in an open shadow root, styles apart both ways, and calls the API as the host\'s person', async () => {
  const { page, token } = await embedWithHostToken('new-applicant');
  await page.locator('intake-collection section[data-step="identity"]').waitFor();
  await page.locator('intake-collection section[data-step="identity"]', { hasText: '黄晓敏' }).waitFor();
  const styles = await page.evaluate(() => {
    const root = document.querySelector('intake-collection').shadowRoot;
    const inner = root?.querySelector('section[data-step]');
    const innerButton = root?.querySelector('button');
    return {
      shadow: Boolean(root),
      innerBorder: inner ? getComputedStyle(inner).borderTopStyle : null,
      innerButton: innerButton ? getComputedStyle(innerButton).backgroundColor : null,
      innerH2Spacing: root?.querySelector('h2') ? getComputedStyle(root.querySelector('h2')).letterSpacing : null,
      hostBorder: getComputedStyle(document.querySelector('#host-login')).borderTopStyle,
      hostButton: getComputedStyle(document.querySelector('#host-signin')).backgroundColor,
    };
  });
  assert.equal(styles.shadow, true, 'the widget renders in an open shadow root');
  assert.notEqual(styles.innerBorder, 'dashed', 'the host\'s section rule does not reach the widget');
  assert.notEqual(styles.innerButton, 'rgb(200, 16, 46)', 'the host\'s button rule does not reach the widget');
  assert.notEqual(styles.innerH2Spacing, '3.52px', 'the host\'s h2 rule does not reach the widget');
  assert.equal(styles.hostBorder, 'dashed', 'the host keeps its own section style');
  assert.equal(styles.hostButton, 'rgb(200, 16, 46)', 'the host keeps its own button style');
  assert.ok(page.apiAuth.length > 0 && page.apiAuth.every((h) => h === `Bearer ${token}`), 'API calls carry the host\'s token');
  assertNoPageProblems(page);
  await page.context().close();
});

test('the layout and accessibility checks find what they look for, inside shadow roots too', async () => {
  const page = await stack.newPage({ width: 360, height: 740 });
  await page.goto(`${stack.base}/`);
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.deepEqual(await horizontalOverflow(page), []);
  await page.evaluate(() => {
    const host = document.createElement('div');
    document.body.append(host);
    const root = host.attachShadow({ mode: 'open' });
    const wide = document.createElement('p');
    wide.id = 'too-wide';
    wide.style.cssText = 'width: 500px; margin: 0; overflow: hidden';
    wide.textContent = 'wide';
    const img = document.createElement('img');
    img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
    img.width = 20;
    img.height = 20;
    root.append(wide, img);
  });
  const overflow = await horizontalOverflow(page);
  assert.ok(overflow.some((line) => line.includes('too-wide')), `the wide element is reported: ${overflow.join('; ')}`);
  const violations = await axeViolations(page);
  assert.ok(violations.some((v) => v.id === 'image-alt'), `an image without alt is reported: ${JSON.stringify(violations)}`);
  await page.context().close();
});

scenario('7: a host page on another site embeds the widget with one script tag; the image worker runs cross-origin', async () => {
  const { id_token: token } = await login({ issuer: stack.issuer, login: 'rare-name', redirect: `${stack.base}/` });
  hostPage = `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>i厦门</title>
    <script src="${stack.base}/intake-embed.js"></script></head>
    <body><h1>i厦门</h1><intake-collection api-base="${stack.base}"></intake-collection>
    <script>document.querySelector('intake-collection').token = ${JSON.stringify(token)};</script></body></html>`;
  const page = await stack.newPage({ width: 360, height: 740 });
  await page.goto(`http://localhost:${host.address().port}/host.html`);
  await page.locator('intake-collection section[data-step="identity"]', { hasText: '王bing' }).waitFor({ timeout: 30_000 });
  for (let i = 0; i < 2; i += 1) await page.locator('[data-action="next"]').click();
  await page.locator('[data-step="form"]').waitFor();
  await page.locator('select[name="post.status"]').selectOption('off_post');
  await page.locator('[data-action="next"]').click();
  await page.locator('[data-step="documents"]').waitFor();
  await page.locator('input[data-part="photo"]').setInputFiles(path.join(FIXTURES, 'photo/camera_exif6_gps.jpg'));
  const status = page.locator('[data-part-status="photo"]');
  await page.waitForFunction(() => {
    const s = document.querySelector('intake-collection').shadowRoot.querySelector('[data-part-status="photo"]');
    return s && s.getAttribute('data-state') !== 'checking';
  }, null, { timeout: 60_000 });
  assert.equal(await status.getAttribute('data-state'), 'ok', 'the worker (a blob: bootstrap importing the asset origin) checked and fixed the photo');
  assert.equal(await page.locator('img[data-preview="after"]').count(), 1);
  await page.context().close();
});
