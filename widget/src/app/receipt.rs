//! Step 6: the receipt (number with a copy button, status, print), also shown to whoever has
//! already submitted.

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::i18n::Lang;
use crate::state::{Session, State};

pub(super) fn receipt_view(state: &State, session: &Session) -> Html {
    let l = state.lang;
    let Some(r) = &state.receipt else { return html! {} };
    let (zh, en) = r.status.labels();
    html! {
        <>
            if state.already_submitted {
                <p class="ix-note" data-note="already-submitted">
                    { l.pick("您已提交过信息采集。", "You have already submitted your information.") }
                    if !session.config.features.modification_open {
                        { l.pick("信息修改功能暂未开放，开放时间将另行通知。", " Modification is not open yet; its opening will be announced.") }
                    }
                </p>
            } else {
                <p class="ix-note ix-ok">{ l.pick("提交成功，请保存以下回执号。", "Submitted. Keep the receipt number below.") }</p>
            }
            <dl class="ix-facts ix-receipt">
                <dt>{ l.pick("姓名", "Name") }</dt><dd data-receipt-name="">{ &session.me.identity.name }</dd>
                <dt>{ l.pick("证件号码", "Certificate number") }</dt><dd data-receipt-certificate="">{ &session.me.certificate_number_masked }</dd>
                if let Some(number) = &r.receipt_number {
                    <dt>{ l.pick("回执号", "Receipt number") }</dt>
                    <dd><strong class="ix-receipt-number" data-receipt-number="">{ number }</strong>{ " " }<CopyButton lang={l} text={number.clone()} /></dd>
                }
                <dt>{ l.pick("提交编号", "Submission id") }</dt><dd class="ix-muted" data-receipt-id="">{ &r.id }</dd>
                <dt>{ l.pick("提交时间", "Received at") }</dt><dd><time datetime={r.received_at.clone()}>{ local_time(l, &r.received_at) }</time></dd>
                <dt>{ l.pick("状态", "Status") }</dt>
                <dd><span class={classes!("ix-status", format!("is-{}", r.status.as_str()))} data-receipt-status={r.status.as_str()}>{ l.pick(zh, en) }</span></dd>
                if let Some(reason) = &r.reason {
                    <dt>{ l.pick("原因", "Reason") }</dt><dd>{ reason }</dd>
                }
            </dl>
            <p><button type="button" class="ix-secondary" data-action="print-receipt"
                onclick={Callback::from(|_: MouseEvent| { let _ = web_sys::window().map(|w| w.print()); })}>
                { l.pick("打印或保存回执", "Print or save the receipt") }</button></p>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct CopyProps {
    lang: Lang,
    text: String,
}

/// Copies the receipt number to the clipboard (where the browser allows it) and says so.
#[function_component]
fn CopyButton(props: &CopyProps) -> Html {
    let copied = use_state(|| false);
    let onclick = {
        let copied = copied.clone();
        let text = props.text.clone();
        Callback::from(move |_: MouseEvent| {
            if copy_text(&text) {
                copied.set(true);
            }
        })
    };
    let l = props.lang;
    html! {
        <button type="button" class="ix-link" data-action="copy-receipt" {onclick} aria-live="polite">
            { if *copied { l.pick("已复制", "Copied") } else { l.pick("复制", "Copy") } }
        </button>
    }
}

/// `navigator.clipboard.writeText(text)`, looked up at run time; false where there is no clipboard.
fn copy_text(text: &str) -> bool {
    use wasm_bindgen::JsValue;
    let Some(window) = web_sys::window() else { return false };
    let clipboard =
        js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard")).unwrap_or(JsValue::UNDEFINED);
    if clipboard.is_undefined() || clipboard.is_null() {
        return false;
    }
    let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")).unwrap_or(JsValue::UNDEFINED);
    match write.dyn_into::<js_sys::Function>() {
        Ok(f) => f.call1(&clipboard, &JsValue::from_str(text)).is_ok(),
        Err(_) => false,
    }
}

/// An RFC 3339 instant in the browser's time zone and the page's language (the raw text if it does not parse).
fn local_time(l: Lang, rfc3339: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        return rfc3339.to_owned();
    }
    String::from(date.to_locale_string(l.tag(), &wasm_bindgen::JsValue::UNDEFINED))
}
