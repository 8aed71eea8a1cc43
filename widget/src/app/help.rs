//! The help panel shown on every step (hotlines as `tel:` links).

use yew::prelude::*;

use crate::i18n::Lang;
use crate::state::Session;

/// A hotline as a `tel:` link with Xiamen's area code (FAQ 2, 3): `0592-5051516`, `tel:+86-592-5051516`.
fn tel(n: &str) -> Html {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let local = digits.strip_prefix("0592").unwrap_or(&digits);
    html! { <a href={format!("tel:+86-592-{local}")} data-tel="">{ format!("0592-{local}") }</a> }
}

/// The help panel, on every step: iXiamen's online service, hotlines and window (FAQ 2), the
/// collection hotline (FAQ 3).
pub(super) fn help_panel(l: Lang, session: &Session) -> Html {
    let h = &session.config.help;
    html! {
        <details class="ix-help" data-help="">
            <summary>{ l.pick("帮助与咨询电话", "Help and hotlines") }</summary>
            <p>{ l.pick(&h.ixiamen_zh, &h.ixiamen_en) }</p>
            <p>{ l.pick("i厦门热线：", "iXiamen hotlines: ") }
                { for h.ixiamen_hotlines.iter().enumerate().map(|(i, n)| html! { <>{ if i > 0 { " / " } else { "" } }{ tel(n) }</> }) }</p>
            if !h.ixiamen_window_zh.is_empty() {
                <p>{ l.pick("服务窗口：", "Service window: ") }{ l.pick(&h.ixiamen_window_zh, if h.ixiamen_window_en.is_empty() { &h.ixiamen_window_zh } else { &h.ixiamen_window_en }) }</p>
            }
            if !h.system_hotline.is_empty() {
                <p>{ l.pick("采集系统咨询电话：", "Collection system hotline: ") }{ tel(&h.system_hotline) }</p>
            }
        </details>
    }
}
