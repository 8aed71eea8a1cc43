#!/usr/bin/env node
// Stand-in for the city's "iXiamen" OpenID Connect issuer, for tests only.
//
// A real, certified OpenID Connect server (npm `oidc-provider`) listening on
// 127.0.0.1. Usage:
//
//   node tests/oidc/provider.mjs [--port N] [--redirect URI]...
//
// --port N        port to listen on; 0 (the default) picks any free port.
// --redirect URI  extra redirect URI accepted for both clients (repeatable).
//                 OIDC_REDIRECT_URIS (whitespace- or comma-separated) adds more.
//                 The origins of the redirect URIs may call the token endpoint from a
//                 browser (CORS), as a page signing in with PKCE does.
//                 http://127.0.0.1:8080/callback and http://127.0.0.1/callback
//                 are always accepted.
// OIDC_ID_TOKEN_TTL  ID token lifetime in seconds (default 600).
//
// Once listening it prints exactly one line to stdout:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT}
// Everything else goes to stderr. It runs until SIGTERM or SIGINT.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import { PEOPLE } from './people.mjs';

// oidc-provider prints its notices with console.info (stdout). Stdout carries
// only the JSON line, so route console output to stderr before loading it.
for (const method of ['log', 'info', 'debug']) {
  console[method] = (...args) => console.error(...args);
}

function fail(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      redirect: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail(err.message);
}

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`--port must be an integer 0..65535, got ${JSON.stringify(args.port)}`);
}

const DEFAULT_TTL = 600;
let idTokenTtl = DEFAULT_TTL;
if (process.env.OIDC_ID_TOKEN_TTL !== undefined && process.env.OIDC_ID_TOKEN_TTL !== '') {
  idTokenTtl = Number(process.env.OIDC_ID_TOKEN_TTL);
  if (!Number.isInteger(idTokenTtl) || idTokenTtl <= 0) {
    fail(`OIDC_ID_TOKEN_TTL must be a positive integer (seconds), got ${JSON.stringify(process.env.OIDC_ID_TOKEN_TTL)}`);
  }
}

const redirectUris = [
  'http://127.0.0.1:8080/callback',
  'http://127.0.0.1/callback',
  ...(process.env.OIDC_REDIRECT_URIS || '').split(/[\s,]+/).filter(Boolean),
  ...args.redirect,
];
for (const uri of redirectUris) {
  if (!URL.canParse(uri)) fail(`not a valid redirect URI: ${JSON.stringify(uri)}`);
}
const uniqueRedirectUris = [...new Set(redirectUris)];


// Signing keys, fresh on every start: RS256 (the ID token default) and ES256.
function signingKey(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}
const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
  ],
};

const clientShape = {
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: uniqueRedirectUris,
};

const configuration = {
  clients: [
    { client_id: 'intake-web', ...clientShape },
    { client_id: 'other-app', ...clientShape },
  ],
  jwks,
  claims: {
    openid: ['sub'],
    ixiamen: ['name', 'cert_type', 'cert_no', 'phone_number'],
  },
  // Put the claims of the granted scopes into the ID token too (by default
  // oidc-provider only returns them from userinfo when an access token is issued).
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    if (!Object.hasOwn(PEOPLE, sub)) return undefined;
    const person = PEOPLE[sub];
    return {
      accountId: sub,
      async claims() {
        return { sub, ...person };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
  },
  // Browsers exchange the code from the page itself (public client): allow CORS from the origins
  // of the client's registered redirect URIs, and from no other origin.
  clientBasedCORS(ctx, origin, client) {
    return client.redirectUris.some((uri) => new URL(uri).origin === origin);
  },
  pkce: {
    methods: ['S256'],
    required: () => true,
  },
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url')],
    // SameSite=None without Secure is refused by browsers on plain http.
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  ttl: {
    IdToken: idTokenTtl,
    AccessToken: DEFAULT_TTL,
    AuthorizationCode: 60,
    Grant: 3600,
    Interaction: 3600,
    Session: 3600,
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>oops! something went wrong</title></head><body>
<h1>oops! something went wrong</h1>
${Object.entries(out).map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('\n')}
</body></html>`;
  },
};

const { default: Provider, interactionPolicy } = await import('oidc-provider');

// devInteractions accepts any login name; send a login name that is not a
// sample person back to the login page (instead of a server error later on).
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'unknown_account',
  'no sample person has this login name',
  (ctx) => (ctx.oidc.session.accountId && !ctx.oidc.account
    ? interactionPolicy.Check.REQUEST_PROMPT
    : interactionPolicy.Check.NO_NEED_TO_PROMPT),
));
configuration.interactions = { policy };

let handler = (req, res) => {
  res.statusCode = 503;
  res.end('starting');
};
const server = http.createServer((req, res) => handler(req, res));

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', () => {
    server.off('error', reject);
    resolve();
  });
}).catch((err) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`));

const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;
const provider = new Provider(issuer, configuration);

for (const event of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'jwks.error', 'discovery.error']) {
  provider.on(event, (ctx, err) => {
    const e = err || ctx;
    process.stderr.write(`oidc-provider ${event}: ${e?.name || ''} ${e?.message || e} ${e?.error_description || ''}\n`);
  });
}

handler = provider.callback();

process.stdout.write(`${JSON.stringify({ issuer, port: actualPort })}\n`);
process.stderr.write(`oidc-provider listening at ${issuer}; redirect URIs: ${uniqueRedirectUris.join(' ')}; ID token TTL ${idTokenTtl}s\n`);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`oidc-provider: ${signal}, shutting down\n`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
