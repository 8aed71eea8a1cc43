// The host page's own code: signs a sample person in (the demo's sandbox identity provider, or a
// pasted ID token) and hands the token to <intake-collection> through its getToken property.
const $ = (id) => document.getElementById(id);
let token = null;
// The widget's "sign in again" waiting for the host (resolved with the fresh token).
let resumeWidget = null;

function status(text) {
  $('host-status').textContent = text;
}

function showWidget() {
  let el = document.querySelector('intake-collection');
  if (!el) {
    el = document.createElement('intake-collection');
    el.setAttribute('api-base', '');
    el.setAttribute('lang', document.documentElement.lang === 'en' ? 'en' : 'zh-CN');
    el.addEventListener('intake-auth-required', () => {
      token = null;
      status('登录已过期，请重新登录。Sign-in expired: please sign in again.');
    });
    el.getToken = () => token || '';
    // After a 401 the widget's "sign in again" lands here: the host signs the person in again on
    // this page, and the widget carries on where the person was once the token is fresh.
    el.signIn = () => new Promise((resolve) => {
      resumeWidget = resolve;
      status('请在此重新登录，完成后将回到刚才的步骤。Sign in again here: you will be back where you were.');
      $('host-login').scrollIntoView({ block: 'start' });
      $('person').focus();
    });
    $('widget-slot').replaceChildren(el);
  }
}

function signedIn(fresh, note) {
  token = fresh;
  status(note);
  if (resumeWidget) {
    resumeWidget(fresh);
    resumeWidget = null;
    document.querySelector('intake-collection')?.scrollIntoView({ block: 'start' });
  } else {
    showWidget();
  }
}

// The sandbox identity provider exists only in `intake demo`, where it is the configured issuer.
async function sandboxIssuer() {
  const config = await fetch('/api/v1/config').then((r) => r.json()).catch(() => null);
  const issuer = config?.identity?.issuer || '';
  return issuer.startsWith(location.origin) && issuer.endsWith('/sandbox/idp') ? issuer : null;
}

async function sandboxSignIn() {
  const person = $('person').value;
  const issuer = await sandboxIssuer();
  const res = issuer ? await fetch(`${issuer}/token/${encodeURIComponent(person)}`).catch(() => null) : null;
  if (!res || !res.ok) {
    status('沙箱登录只在 intake demo 中可用，请粘贴令牌。The sandbox sign-in exists only in `intake demo`: paste a token.');
    $('host-token').closest('details').open = true;
    return;
  }
  signedIn((await res.json()).token, `已登录：${person}。Signed in as ${person}.`);
}

$('host-signin').addEventListener('click', () => { sandboxSignIn(); });
$('host-use-token').addEventListener('click', () => {
  const pasted = $('host-token').value.trim();
  if (!pasted) return;
  signedIn(pasted, '已使用粘贴的令牌。Using the pasted token.');
});
