//! The browser's history follows the step: one entry per step, so the phone's back button goes to
//! the previous step instead of leaving the flow.

use wasm_bindgen::JsCast;

use crate::state::Step;

fn history_state(step: Step) -> wasm_bindgen::JsValue {
    // Keep what the host page keeps in the entry; add the step.
    let base = web_sys::window()
        .and_then(|w| w.history().ok())
        .and_then(|h| h.state().ok())
        .filter(wasm_bindgen::JsValue::is_object)
        .map(|s| js_sys::Object::assign(&js_sys::Object::new(), &s.unchecked_into()))
        .unwrap_or_default();
    let _ = js_sys::Reflect::set(&base, &"intakeStep".into(), &step.name().into());
    base.into()
}

pub(super) fn history_step(state: &wasm_bindgen::JsValue) -> Option<Step> {
    if !state.is_object() {
        return None;
    }
    js_sys::Reflect::get(state, &"intakeStep".into()).ok().and_then(|v| v.as_string()).and_then(|n| Step::parse(&n))
}

/// Makes the browser's history follow the step: one entry per step, so the phone's back button
/// goes to the previous step instead of leaving the flow.
pub(super) fn sync_history(step: Step, first: bool) {
    let Some(h) = web_sys::window().and_then(|w| w.history().ok()) else { return };
    let current = h.state().ok().as_ref().and_then(history_step);
    if current == Some(step) {
        return;
    }
    if !first {
        let _ = h.push_state_with_url(&history_state(step), "", None);
        return;
    }
    if current.is_some() || matches!(step, Step::Identity | Step::Receipt) {
        // A reload keeps the entries it had; only this one says something else now.
        let _ = h.replace_state_with_url(&history_state(step), "", None);
        return;
    }
    // A fresh page that starts at a later step (a restored draft after signing in again): the
    // steps before it become entries behind it.
    let _ = h.replace_state_with_url(&history_state(Step::Identity), "", None);
    for s in Step::ALL.into_iter().filter(|s| *s > Step::Identity && *s <= step) {
        let _ = h.push_state_with_url(&history_state(s), "", None);
    }
}
