// The standalone page: sign in with iXiamen (oidc.js), then mount the widget.
import { claimsOf, completeLogin, currentToken, forgetToken, startLogin } from './oidc.js';

const $ = (id) => document.getElementById(id);
const assetBase = new URL('./', import.meta.url).href;

function showError(message) {
  const el = $('page-error');
  el.textContent = message;
  el.hidden = false;
}

function showSignIn(identity, note) {
  $('signin').hidden = false;
  $('session').hidden = true;
  if (note) {
    $('signin-note').textContent = note;
    $('signin-note').hidden = false;
  }
  $('login').onclick = () => {
    $('login').disabled = true;
    startLogin(identity).catch((e) => {
      $('login').disabled = false;
      showError(`无法连接 i厦门，请稍后再试。Cannot reach iXiamen, please try again later. (${e.message})`);
    });
  };
}

let widget;
// The token this page was signed in with: sign-out deletes its person's draft even after it expired.
let signedInWith = null;

async function mountWidget(identity, lang) {
  try {
    widget = await import('./pkg/intake_widget.js');
    await widget.default();
  } catch (e) {
    showError(`采集组件未能加载。The collection widget did not load (run \`npm run build\`?): ${e.message}`);
    return;
  }
  widget.mount($('intake'), {
    apiBase: '',
    assetBase,
    lang,
    getToken: () => currentToken() || '',
    // A 401 mid-flow: the widget saves the draft and asks to sign in again where the person is
    // (not in the sign-in box at the top of the page); its button calls signIn.
    onAuthRequired: () => forgetToken(),
    signIn: () => startLogin(identity).catch((e) => {
      showError(`无法连接 i厦门，请稍后再试。Cannot reach iXiamen, please try again later. (${e.message})`);
    }),
  });
}

async function main() {
  const lang = new URLSearchParams(location.search).get('lang') === 'en' ? 'en' : 'zh-CN';
  let config;
  try {
    const res = await fetch('/api/v1/config', { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    config = await res.json();
  } catch (e) {
    showError(`服务暂时不可用，请稍后再试。The service is unavailable, please try again later. (${e.message})`);
    return;
  }
  const identity = config.identity;
  try {
    await completeLogin(identity);
  } catch (e) {
    showError(`登录未完成：${e.message}。Sign-in did not complete: ${e.message}.`);
  }
  const token = currentToken();
  if (!token) {
    showSignIn(identity);
    return;
  }
  signedInWith = token;
  $('who').textContent = claimsOf(token)?.name || '';
  $('session').hidden = false;
  $('logout').onclick = async () => {
    // Signing out deletes this person's draft on this device (bounded: a broken store cannot hold the page).
    const token = currentToken() || signedInWith;
    if (widget && token) {
      await Promise.race([widget.clearDraft(token).catch(() => {}), new Promise((r) => { setTimeout(r, 2000); })]);
    }
    forgetToken();
    location.replace(location.pathname);
  };
  await mountWidget(identity, lang);
}

main();
