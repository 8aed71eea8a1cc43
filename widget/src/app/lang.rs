//! The person's language choice kept across reloads (the page's `localStorage`): here, not in
//! `i18n.rs`, which the reducer uses and which so calls no web API.

use crate::i18n::Lang;

/// Where the person's language choice is kept across reloads (the page's `localStorage`).
const LANG_KEY: &str = "intake.lang";

/// The language the person chose last on this device, if the browser keeps it.
pub(crate) fn stored() -> Option<Lang> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(LANG_KEY).ok()?.map(|s| Lang::parse(&s))
}

/// Keeps the person's choice for the next visit (silently nothing where storage is refused).
pub(crate) fn store(lang: Lang) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = s.set_item(LANG_KEY, lang.tag());
    }
}
