// Sign-in for the standalone page: OpenID Connect authorization-code flow with PKCE (S256), as a
// public client, entirely in the browser. The issuer and client id come from the backend
// (`GET /api/v1/config` → identity); state, nonce, the code verifier and where to return (the
// page's query, e.g. ?lang=en) live in sessionStorage only between leaving for the issuer and
// coming back. The widget keeps the person's step and work in its own encrypted draft. The ID token is the bearer the backend
// verifies (signature against the issuer's JWKS, issuer, audience, expiry).

const KEY_FLOW = 'intake.oidc.flow';
const KEY_TOKEN = 'intake.oidc.id_token';
const EXPIRY_MARGIN_S = 30;

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function randomString() {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function challengeOf(verifier) {
  return b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
}

/** The claims of a JWT (no signature check: the backend verifies; this is for display and expiry). */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0)));
    return JSON.parse(json);
  } catch {
    return null;
  }
}

/** This page's redirect URI: its own URL without query or fragment. */
export function redirectUri() {
  return `${location.origin}${location.pathname}`;
}

async function discover(issuer) {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`discovery ${url}: HTTP ${res.status}`);
  return res.json();
}

/** The stored ID token when it is still valid for a while, else null. */
export function currentToken() {
  const token = sessionStorage.getItem(KEY_TOKEN);
  if (!token) return null;
  const claims = claimsOf(token);
  if (!claims || typeof claims.exp !== 'number' || claims.exp - EXPIRY_MARGIN_S <= Date.now() / 1000) {
    sessionStorage.removeItem(KEY_TOKEN);
    return null;
  }
  return token;
}

export function forgetToken() {
  sessionStorage.removeItem(KEY_TOKEN);
}

/** Leaves for the issuer's authorization endpoint; coming back restores this page's query. */
export async function startLogin(identity) {
  const discovery = await discover(identity.issuer);
  const flow = {
    state: randomString(),
    nonce: randomString(),
    verifier: randomString(),
    redirect_uri: redirectUri(),
    return_search: location.search,
  };
  sessionStorage.setItem(KEY_FLOW, JSON.stringify(flow));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    client_id: identity.client_id,
    response_type: 'code',
    redirect_uri: flow.redirect_uri,
    scope: 'openid ixiamen',
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: await challengeOf(flow.verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

/**
 * When the page is the redirect target (?code=…&state=… or ?error=…), finishes the flow: checks
 * the state, exchanges the code with the verifier, checks the nonce, stores the ID token and
 * removes the parameters from the address bar. Returns null when the page was not a callback.
 */
export async function completeLogin(identity) {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const flow = JSON.parse(sessionStorage.getItem(KEY_FLOW) || 'null');
  sessionStorage.removeItem(KEY_FLOW);
  const back = typeof flow?.return_search === 'string' && flow.return_search.startsWith('?') ? flow.return_search : '';
  history.replaceState(null, '', `${redirectUri()}${back}`);
  if (params.has('error')) {
    throw new Error(`${params.get('error')}${params.get('error_description') ? `: ${params.get('error_description')}` : ''}`);
  }
  if (!flow || params.get('state') !== flow.state) throw new Error('state mismatch: please sign in again');
  const discovery = await discover(identity.issuer);
  if (params.has('iss') && params.get('iss') !== discovery.issuer) throw new Error('issuer mismatch');
  const res = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code'),
      redirect_uri: flow.redirect_uri,
      client_id: identity.client_id,
      code_verifier: flow.verifier,
    }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.id_token) {
    throw new Error(`token exchange: HTTP ${res.status} ${body.error || ''} ${body.error_description || ''}`.trim());
  }
  const claims = claimsOf(body.id_token);
  if (!claims || claims.nonce !== flow.nonce) throw new Error('nonce mismatch: please sign in again');
  sessionStorage.setItem(KEY_TOKEN, body.id_token);
  return body.id_token;
}
