// Embeds the Intake widget in any page with one script tag and one element:
//
//   <script src="https://intake.example/intake-embed.js" defer></script>
//   <intake-collection api-base="https://intake.example" lang="zh-CN"></intake-collection>
//   <script>document.querySelector('intake-collection').getToken = () => ixiamen.idToken();</script>
//
// Works as a classic or a module script. The element loads ./pkg/intake_widget.js relative to this
// script's own URL and calls mount(element, options): the widget renders in the element's open
// shadow root, so the host's styles and the widget's do not touch each other.
//
// Attributes: api-base (default: same origin as the page), lang (zh-CN | en), token, draft-days
// (how long the person's encrypted draft is kept on the device; default 7).
// Properties: token (string), getToken (function returning a string or a Promise of one; called
// before every API call, wins over token), signIn (function called when the person presses "sign in
// again" after a 401, once the draft is saved: sign the person in again without leaving the page and
// return a Promise of the fresh token, or of true once getToken gives it; the widget then carries on
// at the same step with everything kept. Without it, or when it resolves to nothing, the widget waits:
// a reload or a remount with a fresh token restores the draft). Events: intake-auth-required (the API
// answered 401; also fired by "sign in again" when there is no signIn), intake-ready (mounted),
// intake-error (detail: message; the widget did not load).
// Methods: clearDraft() deletes the signed-in person's draft on this device (call it on sign-out).
(() => {
  if (typeof customElements === 'undefined' || customElements.get('intake-collection')) return;
  const script = document.currentScript
    || [...document.querySelectorAll('script[src]')].find((s) => /\/intake-embed\.js(?:[?#]|$)/.test(s.src));
  const assetBase = new URL('./', script ? script.src : document.baseURI).href;
  let loading;
  const load = () => {
    loading ||= import(new URL('pkg/intake_widget.js', assetBase).href).then(async (m) => {
      await m.default();
      return m;
    });
    return loading;
  };

  class IntakeCollection extends HTMLElement {
    #token;
    #getToken;
    #signIn;
    #mounted = false;

    get token() {
      return this.#token ?? this.getAttribute('token') ?? '';
    }

    set token(value) {
      this.#token = value == null ? undefined : String(value);
    }

    get getToken() {
      return this.#getToken;
    }

    set getToken(fn) {
      this.#getToken = typeof fn === 'function' ? fn : undefined;
    }

    get signIn() {
      return this.#signIn;
    }

    set signIn(fn) {
      this.#signIn = typeof fn === 'function' ? fn : undefined;
    }

    async clearDraft() {
      const widget = await load();
      const token = await (this.#getToken ? this.#getToken() : this.token);
      if (token) await widget.clearDraft(token);
    }

    connectedCallback() {
      // Properties the host set before this script defined the element shadow the accessors: move them.
      for (const prop of ['token', 'getToken', 'signIn']) {
        if (Object.hasOwn(this, prop)) {
          const value = this[prop];
          delete this[prop];
          this[prop] = value;
        }
      }
      if (this.#mounted) return;
      this.#mounted = true;
      this.#mount();
    }

    async #mount() {
      try {
        const widget = await load();
        widget.mount(this, {
          apiBase: (this.getAttribute('api-base') || '').replace(/\/+$/, ''),
          assetBase,
          lang: this.getAttribute('lang') === 'en' ? 'en' : 'zh-CN',
          draftDays: Number(this.getAttribute('draft-days')) || undefined,
          getToken: () => (this.#getToken ? this.#getToken() : this.token),
          onAuthRequired: () => {
            this.dispatchEvent(new CustomEvent('intake-auth-required', { bubbles: true, composed: true }));
          },
          signIn: () => {
            if (!this.#signIn) {
              this.dispatchEvent(new CustomEvent('intake-auth-required', { bubbles: true, composed: true }));
              return false;
            }
            return Promise.resolve(this.#signIn()).then((fresh) => {
              if (typeof fresh === 'string' && fresh) this.#token = fresh;
              return Boolean(fresh);
            });
          },
        });
        this.dispatchEvent(new CustomEvent('intake-ready', { bubbles: true }));
      } catch (e) {
        const root = this.shadowRoot || this.attachShadow({ mode: 'open' });
        const p = document.createElement('p');
        p.setAttribute('role', 'alert');
        p.textContent = `采集组件未能加载，请稍后再试。The collection widget did not load. (${e.message})`;
        root.replaceChildren(p);
        this.dispatchEvent(new CustomEvent('intake-error', { bubbles: true, detail: e.message }));
      }
    }
  }

  customElements.define('intake-collection', IntakeCollection);
})();
