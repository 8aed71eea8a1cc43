// Self-test of the iXiamen stand-in: node --test tests/oidc/selftest.mjs
//
// Starts tests/oidc/provider.mjs on a free port, logs every sample person in
// through tests/oidc/login.mjs, and checks the ID tokens, the JWKS and the
// ID token TTL override. Every child process is killed at the end.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PEOPLE } from './people.mjs';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const PROVIDER = here('./provider.mjs');
const LOGIN = here('./login.mjs');

const CLAIMS = ['iss', 'aud', 'exp', 'iat', 'sub', 'name', 'cert_type', 'cert_no', 'phone_number'];

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function startProvider(env = {}) {
  const child = spawn(process.execPath, [PROVIDER, '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });

  async function stop() {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const result = await exited;
    clearTimeout(timer);
    return result;
  }

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`provider did not print its JSON line within 15 s; stderr:\n${stderr}`));
    }, 15_000);
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve({ ...JSON.parse(stdout.slice(0, nl)), firstLine: stdout.slice(0, nl + 1) });
        } catch (err) {
          reject(new Error(`provider's first stdout line is not JSON: ${stdout.slice(0, nl)}`));
        }
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`provider exited early (code ${code}, signal ${signal}); stderr:\n${stderr}`));
    });
  });

  return {
    child, ready, stop, exited, stdout: () => stdout, stderr: () => stderr,
  };
}

function runLogin(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [LOGIN, ...args], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function loginTokens(issuer, loginName, extra = []) {
  const { code, stdout, stderr } = await runLogin(['--issuer', issuer, '--login', loginName, ...extra]);
  assert.equal(code, 0, `login.mjs failed for ${loginName}: ${stderr}`);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'login.mjs prints exactly one line');
  return JSON.parse(lines[0]);
}

function decode(jwt) {
  const [h, p, s] = jwt.split('.');
  const json = (x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8'));
  return {
    header: json(h), payload: json(p), signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url'),
  };
}

function residentIdCheckChar(id17) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...id17].reduce((acc, digit, i) => acc + Number(digit) * weights[i], 0);
  return '10X98765432'[sum % 11];
}

let provider;
let issuer;
let discovery;
let jwks;

before(async () => {
  provider = startProvider();
  ({ issuer } = await provider.ready);
  discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  jwks = await (await fetch(discovery.jwks_uri)).json();
});

after(async () => {
  await provider?.stop();
});

test('provider prints exactly the JSON line {"issuer","port"}', async () => {
  const { port, firstLine } = await provider.ready;
  assert.ok(Number.isInteger(port) && port > 0);
  assert.equal(firstLine, `${JSON.stringify({ issuer: `http://127.0.0.1:${port}`, port })}\n`);
  assert.equal(provider.stdout(), firstLine, 'nothing else on stdout');
});

test('discovery: issuer, jwks_uri at /jwks, S256 only', () => {
  assert.equal(discovery.issuer, issuer);
  assert.equal(discovery.jwks_uri, `${issuer}/jwks`);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  assert.ok(discovery.scopes_supported.includes('ixiamen'));
});

test('JWKS has an RS256 and an ES256 key, public only', () => {
  assert.equal(jwks.keys.length, 2);
  const rsa = jwks.keys.find((k) => k.kty === 'RSA');
  const ec = jwks.keys.find((k) => k.kty === 'EC');
  assert.equal(rsa?.alg, 'RS256');
  assert.equal(ec?.alg, 'ES256');
  assert.equal(ec.crv, 'P-256');
  for (const key of jwks.keys) {
    assert.ok(key.kid, 'every key has a kid');
    assert.equal(key.d, undefined, 'no private parts published');
  }
});

test('sample resident ID numbers have valid check characters', () => {
  for (const [loginName, person] of Object.entries(PEOPLE)) {
    if (person.cert_type !== 'resident_id') continue;
    assert.match(person.cert_no, /^\d{17}[\dX]$/);
    assert.equal(person.cert_no[17], residentIdCheckChar(person.cert_no.slice(0, 17)), loginName);
  }
});

for (const [loginName, person] of Object.entries(PEOPLE)) {
  test(`ID token for ${loginName}`, async () => {
    const tokens = await loginTokens(issuer, loginName);
    assert.ok(tokens.access_token, 'access_token');
    assert.equal(tokens.expires_in, 600);

    const { header, payload, signingInput, signature } = decode(tokens.id_token);
    for (const claim of CLAIMS) assert.ok(claim in payload, `claim ${claim}`);
    assert.equal(payload.iss, issuer);
    assert.equal(payload.aud, 'intake-web');
    assert.equal(payload.sub, loginName);
    assert.equal(payload.name, person.name);
    assert.equal(payload.cert_type, person.cert_type);
    assert.equal(payload.cert_no, person.cert_no);
    assert.equal(payload.phone_number, person.phone_number);
    assert.equal(payload.exp - payload.iat, 600);

    assert.equal(header.alg, 'RS256');
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, `kid ${header.kid} is in the JWKS`);
    assert.equal(jwk.kty, 'RSA');
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    assert.ok(crypto.verify('sha256', Buffer.from(signingInput), key, signature), 'RS256 signature verifies');
  });
}

test('other-app gets a token with aud other-app', async () => {
  const tokens = await loginTokens(issuer, 'xiamen-holder', ['--client', 'other-app']);
  const { payload } = decode(tokens.id_token);
  assert.equal(payload.aud, 'other-app');
  assert.equal(payload.sub, 'xiamen-holder');
  assert.equal(payload.cert_no, PEOPLE['xiamen-holder'].cert_no);
});

test('PKCE is required for the code flow, and only S256', async () => {
  const base = {
    client_id: 'intake-web',
    response_type: 'code',
    redirect_uri: 'http://127.0.0.1:8080/callback',
    scope: 'openid ixiamen',
    state: 'st',
  };
  for (const extra of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }]) {
    const res = await fetch(`${discovery.authorization_endpoint}?${new URLSearchParams({ ...base, ...extra })}`, {
      redirect: 'manual',
    });
    assert.ok(res.status >= 300 && res.status < 400, `redirects with an error, got ${res.status}`);
    const location = new URL(res.headers.get('location'));
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  }
});

test('an unknown login name fails with a clear message', async () => {
  const { code, stdout, stderr } = await runLogin(['--issuer', issuer, '--login', 'nobody']);
  assert.notEqual(code, 0);
  assert.equal(stdout, '');
  assert.match(stderr, /nobody/);
});

test('OIDC_ID_TOKEN_TTL=2 gives exp - iat == 2', async () => {
  const short = startProvider({ OIDC_ID_TOKEN_TTL: '2' });
  try {
    const { issuer: shortIssuer } = await short.ready;
    const tokens = await loginTokens(shortIssuer, 'new-applicant');
    const { payload } = decode(tokens.id_token);
    assert.equal(payload.exp - payload.iat, 2);
    assert.equal(tokens.expires_in, 600, 'access token TTL stays 600 s');
  } finally {
    const { code } = await short.stop();
    assert.equal(code, 0, 'provider exits cleanly on SIGTERM');
  }
});
