// Authorization-code flow (PKCE S256) against the test OpenID Connect provider
// in tests/oidc/provider.mjs, using only Node's built-in fetch. Cookies are kept
// by hand and redirects are followed manually; the redirect URI itself is never
// contacted: the code is read from the Location header that points at it.
//
//   import { login } from './flow.mjs';
//   const { id_token, access_token, expires_in } =
//     await login({ issuer, login: 'xiamen-holder' });

import * as crypto from 'node:crypto';

export const DEFAULT_CLIENT = 'intake-web';
export const DEFAULT_REDIRECT = 'http://127.0.0.1:8080/callback';
export const DEFAULT_SCOPE = 'openid ixiamen';

const MAX_STEPS = 20;

export class LoginError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'LoginError';
  }
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const random = () => b64url(crypto.randomBytes(32));

/** Decode a JWT's header and payload without checking the signature. */
export function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new LoginError('not a compact JWS (expected three dot-separated parts)');
  const part = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: part(parts[0]), payload: part(parts[1]) };
}

// A minimal cookie jar for a single origin: honours Path, Max-Age and Expires.
class CookieJar {
  #cookies = new Map(); // "name\0path" -> { name, value, path, expires }

  store(response, requestUrl) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const dir = requestUrl.pathname.replace(/\/[^/]*$/, '');
      let path = dir || '/';
      let expires = Infinity;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i < 0 ? '' : attr.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'max-age' && /^-?\d+$/.test(val)) expires = Date.now() + Number(val) * 1000;
        else if (key === 'expires' && expires === Infinity) {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
        }
      }
      const key = `${name}\0${path}`;
      if (expires <= Date.now()) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path, expires });
    }
  }

  header(url) {
    const now = Date.now();
    const matching = [...this.#cookies.values()]
      .filter((c) => c.expires > now)
      .filter((c) => url.pathname === c.path
        || (url.pathname.startsWith(c.path) && (c.path.endsWith('/') || url.pathname[c.path.length] === '/')))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

function htmlText(html, limit = 400) {
  const text = html
    .replace(/<(head|script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

// Finds the devInteractions form: its action and its hidden "prompt" value.
function findForm(html) {
  const form = /<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const prompt = /<input\b[^>]*\bname="prompt"[^>]*\bvalue="([^"]*)"/i.exec(form[2])
    || /<input\b[^>]*\bvalue="([^"]*)"[^>]*\bname="prompt"/i.exec(form[2]);
  return { action: form[1].replace(/&amp;/g, '&'), prompt: prompt?.[1] };
}

const sameEndpoint = (a, b) => a.origin === b.origin && a.pathname === b.pathname;

/**
 * Log in as `login` through the provider's built-in login and consent pages
 * and exchange the code for tokens.
 *
 * @returns {Promise<{id_token: string, access_token: string, expires_in: number}>}
 */
export async function login({
  issuer,
  login: loginName,
  client = DEFAULT_CLIENT,
  redirect = DEFAULT_REDIRECT,
  password = 'any-password',
  scope = DEFAULT_SCOPE,
  timeoutMs = 10_000,
} = {}) {
  if (!issuer) throw new LoginError('issuer is required');
  if (!loginName) throw new LoginError('login is required');
  const redirectUrl = new URL(redirect);
  const jar = new CookieJar();

  async function request(url, init = {}) {
    const headers = { ...(init.headers || {}) };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    let res;
    try {
      res = await fetch(url, {
        ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new LoginError(`${init.method || 'GET'} ${url.href} failed: ${err.cause?.message || err.message}`, { cause: err });
    }
    jar.store(res, url);
    return res;
  }

  // Discovery.
  const discoveryUrl = new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  const discoveryRes = await request(discoveryUrl);
  if (!discoveryRes.ok) {
    throw new LoginError(`discovery ${discoveryUrl.href} answered HTTP ${discoveryRes.status}`);
  }
  const discovery = await discoveryRes.json();

  // Authorization request.
  const codeVerifier = random();
  const codeChallenge = crypto.createHash('sha256').update(codeVerifier).digest('base64url');
  const state = random();
  const nonce = random();
  const authUrl = new URL(discovery.authorization_endpoint);
  authUrl.search = new URLSearchParams({
    client_id: client,
    response_type: 'code',
    redirect_uri: redirect,
    scope,
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  }).toString();

  let url = authUrl;
  let res = await request(url);
  let callback;
  let loginsSubmitted = 0;
  let consentsSubmitted = 0;

  for (let step = 0; step < MAX_STEPS && !callback; step += 1) {
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      if (!location) throw new LoginError(`HTTP ${res.status} from ${url.href} without a Location header`);
      await res.body?.cancel();
      const next = new URL(location, url);
      if (sameEndpoint(next, redirectUrl)) {
        callback = next;
        break;
      }
      url = next;
      res = await request(url);
      continue;
    }

    const body = await res.text();
    if (res.status !== 200) {
      throw new LoginError(`HTTP ${res.status} from ${url.origin}${url.pathname}: ${htmlText(body)}`);
    }
    const form = findForm(body);
    if (form?.prompt === 'login') {
      if (loginsSubmitted > 0) {
        throw new LoginError(`the provider asked for a login again after "${loginName}" signed in: not a known sample person?`);
      }
      loginsSubmitted += 1;
      url = new URL(form.action, url);
      res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt: 'login', login: loginName, password }).toString(),
      });
    } else if (form?.prompt === 'consent') {
      if (consentsSubmitted > 0) throw new LoginError('the provider asked for consent twice');
      consentsSubmitted += 1;
      url = new URL(form.action, url);
      res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ prompt: 'consent' }).toString(),
      });
    } else {
      throw new LoginError(`unexpected page at ${url.origin}${url.pathname}: ${htmlText(body)}`);
    }
  }
  if (!callback) throw new LoginError(`no redirect to ${redirect} within ${MAX_STEPS} steps`);

  const params = callback.searchParams;
  if (params.get('error')) {
    throw new LoginError(`authorization failed: ${params.get('error')}${params.get('error_description') ? ` (${params.get('error_description')})` : ''}`);
  }
  if (params.get('state') !== state) throw new LoginError('state mismatch in the authorization response');
  if (params.has('iss') && params.get('iss') !== discovery.issuer) {
    throw new LoginError(`iss mismatch in the authorization response: ${params.get('iss')}`);
  }
  const code = params.get('code');
  if (!code) throw new LoginError(`no code in the authorization response: ${callback.href}`);

  // Token request.
  const tokenUrl = new URL(discovery.token_endpoint);
  const tokenRes = await request(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirect,
      client_id: client,
      code_verifier: codeVerifier,
    }).toString(),
  });
  const tokenText = await tokenRes.text();
  let tokens;
  try {
    tokens = JSON.parse(tokenText);
  } catch {
    throw new LoginError(`token endpoint answered HTTP ${tokenRes.status} with non-JSON: ${tokenText.slice(0, 300)}`);
  }
  if (!tokenRes.ok) {
    throw new LoginError(`token endpoint answered HTTP ${tokenRes.status}: ${tokens.error || ''} ${tokens.error_description || ''}`.trim());
  }
  if (!tokens.id_token) throw new LoginError('no id_token in the token response');
  if (decodeJwt(tokens.id_token).payload.nonce !== nonce) throw new LoginError('nonce mismatch in the ID token');

  return {
    id_token: tokens.id_token,
    access_token: tokens.access_token,
    expires_in: tokens.expires_in,
  };
}
