//! Step 1: who is signed in, as iXiamen registered them (read-only).

use yew::prelude::*;

use crate::state::{Session, State};

pub(super) fn identity_view(state: &State, session: &Session) -> Html {
    let l = state.lang;
    let me = &session.me;
    html! {
        <>
            <p class="ix-note">{ l.pick("以下信息来自i厦门实名登记，不能在此修改。", "This information comes from your iXiamen registration and cannot be changed here.") }</p>
            <dl class="ix-facts">
                <dt>{ l.pick("姓名", "Name") }</dt><dd data-identity="name">{ &me.identity.name }</dd>
                <dt>{ l.pick("证件类型", "Certificate type") }</dt><dd>{ l.pair(me.identity.certificate_type.labels()) }</dd>
                <dt>{ l.pick("证件号码", "Certificate number") }</dt><dd>{ &me.certificate_number_masked }</dd>
                if let Some(m) = &me.mobile_masked {
                    <dt>{ l.pick("手机号码", "Mobile") }</dt><dd>{ m }</dd>
                }
            </dl>
            if me.name_has_pinyin {
                <p class="ix-note ix-warn" data-note="pinyin">
                    { l.pick("您的姓名中含有以拼音登记的生僻字，系统按i厦门登记原样采集；如需更正，请携带身份证件到线下窗口办理。",
                             "Your name contains a rare character registered in pinyin. It is collected exactly as iXiamen registered it; to correct it, bring your ID to a service window.") }
                </p>
            }
        </>
    }
}
