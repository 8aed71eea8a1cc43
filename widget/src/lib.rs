//! The Intake collection widget: a Yew component compiled to WebAssembly.
//!
//! `mount(element, options)` renders the whole collection flow (state.rs,
//! app.rs) into a shadow root on `element`; images are checked and fixed by
//! the same `intake-rules` code the server runs, in a Web Worker (imaging/).
//! The embed (`<intake-collection>`) and the standalone page live in `www/`.

pub mod api;
pub mod app;
pub mod checked;
pub mod draft;
pub mod i18n;
pub mod imaging;
pub mod model;
pub mod state;

use std::rc::Rc;

use intake_rules::form::numbers::Date;
use intake_rules::profile::PhotoProfile;
use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// The photo requirements as the page shows them, zh-CN first.
pub fn profile_summary(p: &PhotoProfile) -> (String, String) {
    let kb = |b: usize| b / 1024;
    let colours_zh: Vec<&str> = p.backgrounds.iter().map(|b| b.name().0).collect();
    let colours_en: Vec<&str> = p.backgrounds.iter().map(|b| b.name().1).collect();
    (
        format!(
            "JPEG 格式，至少 {}×{} 像素（宽高比 {}:{}），文件大小 {}–{} KB，{}背景。",
            p.min_width,
            p.min_height,
            p.aspect_w,
            p.aspect_h,
            kb(p.min_bytes),
            kb(p.max_bytes),
            colours_zh.join("、")
        ),
        format!(
            "JPEG, at least {}×{} pixels (aspect {}:{}), {}–{} KB, {} background.",
            p.min_width,
            p.min_height,
            p.aspect_w,
            p.aspect_h,
            kb(p.min_bytes),
            kb(p.max_bytes),
            colours_en.join(" or ")
        ),
    )
}

/// The widget's own styles, injected into its shadow root.
pub const STYLE: &str = include_str!("style.css");

fn option(options: &JsValue, name: &str) -> Option<JsValue> {
    if options.is_undefined() || options.is_null() {
        return None;
    }
    Reflect::get(options, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn option_string(options: &JsValue, name: &str) -> Option<String> {
    option(options, name).and_then(|v| v.as_string())
}

/// Mounts the widget into `element`.
///
/// `options` (a plain object, every key optional): `apiBase`, `token` or
/// `getToken` (a function returning the token or a promise of it), `assetBase`
/// (the directory holding `pkg/` and `intake-worker.js`), `lang` (`zh-CN` or
/// `en`), `onAuthRequired` (called on 401), `signIn` (called when the person
/// presses "sign in again" after a 401, once the draft is saved; defaults to
/// `onAuthRequired`), `draftDays` (how long a draft is kept, default 7). The
/// widget renders into an open shadow root on `element`, so host styles and its
/// own do not mix.
#[wasm_bindgen]
#[allow(clippy::needless_pass_by_value, reason = "wasm-bindgen exports take JS values by value")]
pub fn mount(element: web_sys::Element, options: JsValue) -> Result<(), JsValue> {
    let document = element.owner_document().ok_or_else(|| JsValue::from_str("element has no document"))?;
    let root = match element.shadow_root() {
        Some(r) => r,
        None => element.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?,
    };
    root.set_inner_html("");
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLE));
    root.append_child(&style)?;
    let container = document.create_element("div")?;
    container.set_class_name("ix-host");
    root.append_child(&container)?;

    let token = match (
        option(&options, "getToken").and_then(|v| v.dyn_into::<Function>().ok()),
        option_string(&options, "token"),
    ) {
        (Some(f), _) => api::TokenSource::Callback(f),
        (None, Some(t)) => api::TokenSource::Static(t),
        (None, None) => api::TokenSource::None,
    };
    let base_uri = document.base_uri().ok().flatten().unwrap_or_default();
    let asset_base = option_string(&options, "assetBase").unwrap_or_default();
    let worker_url = web_sys::Url::new_with_base(&format!("{}intake-worker.js", with_slash(&asset_base)), &base_uri)
        .map(|u| u.href())
        .unwrap_or_else(|_| "intake-worker.js".to_owned());
    let env = app::Env {
        api: api::Api {
            base: option_string(&options, "apiBase").unwrap_or_default(),
            token,
            on_auth_required: option(&options, "onAuthRequired").and_then(|v| v.dyn_into::<Function>().ok()),
        },
        imaging: imaging::Imaging::new(&worker_url),
        // The person's own choice (kept across reloads) before the host's default.
        lang: app::lang::stored()
            .unwrap_or_else(|| i18n::Lang::parse(&option_string(&options, "lang").unwrap_or_default())),
        sign_in: option(&options, "signIn").and_then(|v| v.dyn_into::<Function>().ok()),
        draft_days: option(&options, "draftDays")
            .and_then(|v| v.as_f64())
            .filter(|d| d.is_finite() && *d > 0.0)
            .unwrap_or(state::DRAFT_DEFAULT_DAYS),
    };
    yew::Renderer::<app::App>::with_root_and_props(container, app::AppProps { env: Rc::new(env) }).render();
    Ok(())
}

/// Deletes the draft of the person `token` belongs to (the host calls it on sign-out, before
/// forgetting the token); no draft is saved on this page afterwards.
#[wasm_bindgen(js_name = clearDraft)]
#[allow(clippy::needless_pass_by_value, reason = "wasm-bindgen exports take JS values by value")]
pub async fn clear_draft(token: String) -> Result<(), JsValue> {
    draft::close();
    let person = draft::person_of(&token).await?;
    draft::clear(&person).await
}

fn with_slash(base: &str) -> String {
    if base.is_empty() || base.ends_with('/') { base.to_owned() } else { format!("{base}/") }
}

/// Today's date in the browser's local time zone (Xiamen's, for its users).
pub fn today() -> Date {
    let d = js_sys::Date::new_0();
    Date::new(d.get_full_year() as u16, d.get_month() as u8 + 1, d.get_date() as u8)
        .unwrap_or(Date::new(2026, 1, 1).expect("valid date"))
}

/// A fresh idempotency key (random UUID from the browser).
pub fn new_key() -> String {
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    match crypto {
        Some(c) => c.random_uuid(),
        None => format!("ix-{}-{}", js_sys::Date::now() as u64, (js_sys::Math::random() * 1e12) as u64),
    }
}

/// Sleeps on the browser's timer.
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use intake_rules::profile::ProfileSet;

    #[test]
    fn summary_states_the_default_profile_numbers() {
        let (zh, en) = profile_summary(ProfileSet::embedded().default_profile());
        assert!(zh.contains("295×413") && zh.contains("10–200 KB") && zh.contains("白色"), "{zh}");
        assert!(en.contains("white background"), "{en}");
    }
}
