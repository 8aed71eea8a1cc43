//! The Yew components: one `App` with a reducer (state.rs) and one view
//! function per step. Every control follows the DOM conventions in
//! ARCHITECTURE.md (`data-step`, `data-action`, `name` = bundle path,
//! `data-part`), which the browser tests select by.

use std::rc::Rc;

use intake_rules::form::{FIELDS, Field, Kind, Section};
use intake_rules::profile::PhotoProfile;
use intake_rules::report::{Problem, Severity};
use intake_rules::submission::{Part, Requirement};
use intake_rules::wire::SubmissionStatus;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::api::Api;
use crate::i18n::Lang;
use crate::imaging::Imaging;
use crate::profile_summary;
use crate::state::{
    Action, DRAFT_MAX_BYTES, DraftStatus, Load, PartState, Session, Slot, State, Step, SummaryItem, Upload, get_field,
    review_rows,
};

/// What the host handed over at mount time.
#[derive(Debug)]
pub struct Env {
    /// The API client.
    pub api: Api,
    /// The image worker.
    pub imaging: Imaging,
    /// The starting language.
    pub lang: Lang,
    /// The host's sign-in (mount option `signIn`), called after a 401 once the draft is saved.
    pub sign_in: Option<js_sys::Function>,
    /// How long a draft is kept, in days (mount option `draftDays`).
    pub draft_days: f64,
}

/// How long the page waits after the last change before saving the draft.
const SAVE_DEBOUNCE_MS: u32 = 300;

/// Saves the draft of `state` now (or deletes it once the flow is over); reports the outcome.
async fn save_draft(state: &State, env: &Env, dispatch: &Dispatch) {
    let Some(person) = state.person.clone() else { return };
    match state.draft(js_sys::Date::now(), env.draft_days, DRAFT_MAX_BYTES) {
        Some(d) => {
            let omitted = d.omitted;
            let status = match crate::draft::save(&d).await {
                Ok(()) => DraftStatus::Saved { omitted },
                Err(_) => DraftStatus::Unavailable,
            };
            if status != state.draft_status {
                dispatch.dispatch(Action::DraftSaved(status));
            }
        }
        None if state.step == Step::Receipt => {
            let _ = crate::draft::clear(&person).await;
        }
        None => {}
    }
}

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

fn history_step(state: &wasm_bindgen::JsValue) -> Option<Step> {
    if !state.is_object() {
        return None;
    }
    js_sys::Reflect::get(state, &"intakeStep".into()).ok().and_then(|v| v.as_string()).and_then(|n| Step::parse(&n))
}

/// Makes the browser's history follow the step: one entry per step, so the phone's back button
/// goes to the previous step instead of leaving the flow.
fn sync_history(step: Step, first: bool) {
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

/// Props of [`App`].
#[derive(Properties, Clone, Debug)]
pub struct AppProps {
    /// The environment.
    pub env: Rc<Env>,
}

impl PartialEq for AppProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.env, &other.env)
    }
}

type Dispatch = UseReducerDispatcher<State>;

/// The whole widget.
#[component]
pub fn App(props: &AppProps) -> Html {
    let env = Rc::clone(&props.env);
    let state = use_reducer(|| State::new(env.lang));
    let dispatch = state.dispatcher();

    // Load (and reload) the session.
    {
        let env = Rc::clone(&env);
        let dispatch = dispatch.clone();
        let loading = matches!(state.load, Load::Loading);
        use_effect_with(loading, move |loading| {
            if *loading {
                spawn_local(async move {
                    match env.api.session(crate::today()).await {
                        Ok(s) => {
                            // The person's draft, read with the token the session was loaded with.
                            let person = match env.api.token().await {
                                Some(t) => crate::draft::person_of(&t).await.unwrap_or_default(),
                                None => String::new(),
                            };
                            let restored = if person.is_empty() { Ok(None) } else { crate::draft::load(&person).await };
                            dispatch.dispatch(Action::Loaded(Rc::new(s)));
                            match restored {
                                Ok(r) => dispatch.dispatch(Action::Restore(person, r.map(Rc::new))),
                                Err(_) => {
                                    dispatch.dispatch(Action::Restore(person, None));
                                    dispatch.dispatch(Action::DraftSaved(DraftStatus::Unavailable));
                                }
                            }
                        }
                        Err(e) => {
                            dispatch.dispatch(Action::LoadFailed(e.failure()));
                            if e.status == 401 {
                                dispatch.dispatch(Action::AuthRequired);
                            }
                        }
                    }
                });
            }
        });
    }

    // Follow the receipt's status until it settles (bounded).
    {
        let env = Rc::clone(&env);
        let dispatch = dispatch.clone();
        let watch = state
            .receipt
            .as_ref()
            .filter(|r| !matches!(r.status, SubmissionStatus::Accepted | SubmissionStatus::NeedsAttention))
            .map(|r| r.id.clone());
        use_effect_with(watch, move |watch| {
            let alive = Rc::new(std::cell::Cell::new(true));
            if let Some(id) = watch.clone() {
                let alive = Rc::clone(&alive);
                spawn_local(async move {
                    for _ in 0..200 {
                        crate::sleep_ms(2_000).await;
                        if !alive.get() {
                            return;
                        }
                        if let Ok(v) = env.api.status(&id).await {
                            let settled =
                                matches!(v.status, SubmissionStatus::Accepted | SubmissionStatus::NeedsAttention);
                            dispatch.dispatch(Action::Status(v));
                            if settled {
                                return;
                            }
                        }
                    }
                });
            }
            move || alive.set(false)
        });
    }

    // Save the draft a moment after the last change (and delete it once submitted).
    {
        let env = Rc::clone(&env);
        let dispatch = dispatch.clone();
        let latest = use_mut_ref(|| 0u64);
        let handle = state.clone();
        use_effect_with((state.revision, state.draft_ready), move |(revision, ready)| {
            if *ready {
                *latest.borrow_mut() = *revision;
                let revision = *revision;
                spawn_local(async move {
                    crate::sleep_ms(SAVE_DEBOUNCE_MS).await;
                    if *latest.borrow() == revision {
                        save_draft(&handle, &env, &dispatch).await;
                    }
                });
            }
        });
    }

    // One history entry per step; the back and forward buttons move the reducer.
    {
        let first = use_mut_ref(|| true);
        use_effect_with((state.step, state.draft_ready), move |(step, ready)| {
            if *ready {
                sync_history(*step, std::mem::replace(&mut *first.borrow_mut(), false));
            }
        });
    }
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |()| {
            let on_pop = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::PopStateEvent)>::new(
                move |e: web_sys::PopStateEvent| {
                    if let Some(step) = history_step(&e.state()) {
                        dispatch.dispatch(Action::Navigate(step));
                    }
                },
            );
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = &window {
                    let _ = w.remove_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
                }
            }
        });
    }

    // Leaving the page warns only while an upload is in flight (everything else is in the draft).
    use_effect_with(state.uploading(), move |uploading| {
        let listener = uploading.then(|| {
            wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::BeforeUnloadEvent)>::new(
                move |e: web_sys::BeforeUnloadEvent| {
                    e.prevent_default();
                    e.set_return_value("uploading");
                },
            )
        });
        let window = web_sys::window();
        if let (Some(w), Some(l)) = (&window, &listener) {
            let _ = w.add_event_listener_with_callback("beforeunload", l.as_ref().unchecked_ref());
        }
        move || {
            if let (Some(w), Some(l)) = (&window, &listener) {
                let _ = w.remove_event_listener_with_callback("beforeunload", l.as_ref().unchecked_ref());
            }
        }
    });

    // The sign-in prompt after a 401 takes focus where it appears (in view, at the bottom); once
    // signed in again in place, focus goes back to the step's heading.
    let auth_button = use_node_ref();
    let heading = use_node_ref();
    {
        let auth_button = auth_button.clone();
        let heading = heading.clone();
        let shown = use_mut_ref(|| false);
        use_effect_with(state.auth_required, move |required| {
            let was = std::mem::replace(&mut *shown.borrow_mut(), *required);
            let target = if *required { auth_button.cast::<web_sys::HtmlElement>() } else { None };
            if let Some(b) = target.or_else(|| if was { heading.cast() } else { None }) {
                let _ = b.focus();
            }
        });
    }

    // Move focus to the new step's heading (keyboard and screen-reader users land on it).
    let first = use_mut_ref(|| true);
    {
        let heading = heading.clone();
        use_effect_with(state.step, move |_| {
            if !std::mem::replace(&mut *first.borrow_mut(), false)
                && let Some(h) = heading.cast::<web_sys::HtmlElement>()
            {
                let _ = h.focus();
            }
        });
    }

    // "Next" that cannot proceed: the error summary scrolls into view and takes focus, every press.
    let summary = use_node_ref();
    {
        let summary = summary.clone();
        use_effect_with(state.summary, move |n| {
            if *n > 0
                && let Some(el) = summary.cast::<web_sys::HtmlElement>()
            {
                el.scroll_into_view();
                let _ = el.focus();
            }
        });
    }

    let l = state.lang;
    let body = match &state.load {
        Load::Loading => html! { <p class="ix-loading" role="status">{ l.pick("正在加载…", "Loading…") }</p> },
        Load::Failed(f) => {
            let reload = {
                let dispatch = dispatch.clone();
                Callback::from(move |_| dispatch.dispatch(Action::Reload))
            };
            html! {
                <section class="ix-step" data-step="error" aria-labelledby="ix-error-title">
                    <h2 id="ix-error-title">{ l.pick("无法加载", "Could not load") }</h2>
                    { problem_list(l, &f.problems, "load") }
                    <div class="ix-nav">
                        <button type="button" class="ix-primary" data-action="retry" onclick={reload}>{ l.pick("重试", "Try again") }</button>
                    </div>
                </section>
            }
        }
        Load::Ready(session) => step_view(&state, &dispatch, &env, session, &heading, &summary),
    };

    let auth_prompt = if state.auth_required {
        let sign_in = {
            let env = Rc::clone(&env);
            let dispatch = dispatch.clone();
            let handle = state.clone();
            Callback::from(move |e: MouseEvent| {
                if let Some(b) = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                    let _ = b.set_attribute("disabled", "");
                }
                let env = Rc::clone(&env);
                let dispatch = dispatch.clone();
                let handle = handle.clone();
                let button = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
                spawn_local(async move {
                    // Everything is saved before the page leaves for the sign-in.
                    save_draft(&handle, &env, &dispatch).await;
                    let Some(f) = env.sign_in.as_ref().or(env.api.on_auth_required.as_ref()) else { return };
                    let answer = f.call0(&wasm_bindgen::JsValue::NULL).unwrap_or_default();
                    // A host that signs the person in without leaving the page resolves `signIn`
                    // with a truthy value once its token is fresh: carry on from here.
                    let fresh = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&answer))
                        .await
                        .is_ok_and(|v| v.is_truthy());
                    if !fresh {
                        if let Some(b) = button {
                            let _ = b.remove_attribute("disabled");
                        }
                        return;
                    }
                    let person = match env.api.token().await {
                        Some(t) => crate::draft::person_of(&t).await.unwrap_or_default(),
                        None => String::new(),
                    };
                    let same = !person.is_empty() && handle.person.as_deref() == Some(person.as_str());
                    dispatch.dispatch(Action::Resume { same });
                });
            })
        };
        html! {
            <div class="ix-auth" role="alertdialog" aria-labelledby="ix-auth-title" aria-describedby="ix-auth-text" data-auth-required="">
                <p id="ix-auth-title" class="ix-auth-title">{ l.pick("登录已过期", "Your sign-in has expired") }</p>
                <p id="ix-auth-text">{ l.pick("您填写的内容和选择的文件已加密保存在本机。重新登录后将回到当前步骤，无需重新填写。",
                                              "What you entered and the files you chose are saved, encrypted, on this device. After signing in again you return to this step with nothing lost.") }</p>
                <button type="button" class="ix-primary" data-action="signin" ref={auth_button} onclick={sign_in}>
                    { l.pick("使用i厦门重新登录", "Sign in again with iXiamen") }
                </button>
            </div>
        }
    } else {
        html! {}
    };
    let draft_note = match state.draft_status {
        _ if state.session().is_none() || state.step == Step::Receipt => html! {},
        DraftStatus::Unavailable => html! {
            <p class="ix-note ix-warn ix-draft" data-draft-status="unavailable">
                { l.pick("此浏览器不允许本页保存草稿（例如隐私模式或存储空间已满）。您仍可正常填写和提交，但刷新或关闭页面后需要重新填写。",
                         "This browser does not let the page keep a draft (private mode, or storage is full). You can still fill in and submit as usual, but a reload or a closed tab starts over.") }
            </p>
        },
        DraftStatus::Saved { omitted } if omitted > 0 => html! {
            <p class="ix-note ix-warn ix-draft" data-draft-status="partial">
                { l.pick(&format!("草稿已保存在本机，但有 {omitted} 个文件过大未能保存：刷新页面后需重新选择。"),
                         &format!("The draft is saved on this device, but {omitted} file(s) were too large to keep: after a reload, choose them again.")) }
            </p>
        },
        DraftStatus::Saved { .. } => html! {
            <p class="ix-muted ix-draft" data-draft-status="saved">
                { l.pick("已自动加密保存在本机，刷新或关闭页面不会丢失。", "Saved automatically, encrypted, on this device: a reload or a closed tab loses nothing.") }
            </p>
        },
        DraftStatus::Idle => html! {},
    };

    let lang_switch = Callback::from(move |_| {
        crate::i18n::store(l.other());
        dispatch.dispatch(Action::SetLang(l.other()));
    });
    html! {
        <div class="ix-root" lang={l.tag()}>
            <header class="ix-header">
                <h1 class="ix-title">{ l.pick("会计人员信息采集", "Accounting personnel information collection") }</h1>
                <button type="button" class="ix-link" data-action="lang" onclick={lang_switch} lang={l.other().tag()}>
                    { l.pick("English", "中文") }
                </button>
            </header>
            { stepper(&state) }
            <main class="ix-main">{ body }{ draft_note }</main>
            { auth_prompt }
            <div class="ix-live" data-live="" aria-live="polite" role="status">{ l.pick(&state.live.0, &state.live.1) }</div>
        </div>
    }
}

fn stepper(state: &State) -> Html {
    let l = state.lang;
    if state.session().is_none() || state.already_submitted {
        return html! {};
    }
    html! {
        <nav class="ix-stepper" aria-label={l.pick("步骤", "Steps").to_owned()}>
            <ol>
                { for Step::ALL.iter().enumerate().map(|(i, s)| {
                    let current = *s == state.step;
                    let done = *s < state.step;
                    let class = classes!("ix-stepper-item", current.then_some("is-current"), done.then_some("is-done"));
                    html! {
                        <li class={class} aria-current={current.then_some("step")}>
                            <span class="ix-stepper-n" aria-hidden="true">{ i + 1 }</span>
                            <span class="ix-stepper-label">{ l.pair(s.labels()) }</span>
                        </li>
                    }
                }) }
            </ol>
        </nav>
    }
}

fn step_view(
    state: &State,
    dispatch: &Dispatch,
    env: &Rc<Env>,
    session: &Rc<Session>,
    heading: &NodeRef,
    summary: &NodeRef,
) -> Html {
    let l = state.lang;
    let step = state.step;
    let content = match step {
        Step::Identity => identity_view(state, session),
        Step::Archive => archive_view(state, session),
        Step::Form => form_view(state, dispatch),
        Step::Documents => documents_view(state, dispatch, env, session),
        Step::Review => review_view(state, dispatch, env, session),
        Step::Receipt => receipt_view(state, session),
    };
    let next = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Next))
    };
    let back = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Back))
    };
    let title_id = format!("ix-step-{}", step.name());
    html! {
        <section class="ix-step" data-step={step.name()} aria-labelledby={title_id.clone()}>
            <h2 id={title_id} tabindex="-1" ref={heading.clone()}>{ l.pair(step.labels()) }</h2>
            { error_summary(l, &state.summary_shown(), summary) }
            { content }
            // Help on every step, above the navigation ("next" stays the step's last control).
            if step != Step::Review { { help_panel(l, session) } }
            // Review has its own navigation (back + submit); the receipt has none.
            if !matches!(step, Step::Receipt | Step::Review) {
                <div class="ix-nav">
                    if step != Step::Identity {
                        <button type="button" class="ix-secondary" data-action="back" onclick={back}>{ l.pick("上一步", "Back") }</button>
                    }
                    <button type="button" class="ix-primary" data-action="next" onclick={next}>{ l.pick("下一步", "Next") }</button>
                </div>
            }
        </section>
    }
}

/// The GOV.UK-style error summary: a heading, then one link per problem that moves focus to its
/// control or part (looked up in the widget's own root: it lives in a shadow root).
fn error_summary(l: Lang, items: &[SummaryItem], node: &NodeRef) -> Html {
    if items.is_empty() {
        return html! {};
    }
    html! {
        <div class="ix-summary" data-error-summary="" tabindex="-1" ref={node.clone()} aria-labelledby="ix-summary-title">
            <h3 id="ix-summary-title">{ l.pick("请先处理以下问题", "There is a problem") }</h3>
            <ul>
                { for items.iter().map(|i| {
                    let target = i.target.clone();
                    let onclick = Callback::from(move |e: MouseEvent| {
                        e.prevent_default();
                        let el = e
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                            .and_then(|a| a.closest(".ix-root").ok().flatten())
                            .and_then(|root| root.query_selector(&format!("#{target}")).ok().flatten())
                            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
                        if let Some(el) = el {
                            let _ = el.focus();
                            // Its label too: the field's (or the part's) box from its top.
                            if let Ok(Some(b)) = el.closest(".ix-field, .ix-part") {
                                b.scroll_into_view();
                            }
                        }
                    });
                    html! { <li><a href={format!("#{}", i.target)} data-summary-target={i.target.clone()} {onclick}>{ l.pick(&i.text.0, &i.text.1) }</a></li> }
                }) }
            </ul>
        </div>
    }
}

// ------------------------------------------------------------------ identity

/// A hotline as a `tel:` link with Xiamen's area code (FAQ 2, 3): `0592-5051516`, `tel:+86-592-5051516`.
fn tel(n: &str) -> Html {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let local = digits.strip_prefix("0592").unwrap_or(&digits);
    html! { <a href={format!("tel:+86-592-{local}")} data-tel="">{ format!("0592-{local}") }</a> }
}

/// The help panel, on every step: iXiamen's online service, hotlines and window (FAQ 2), the
/// collection hotline (FAQ 3).
fn help_panel(l: Lang, session: &Session) -> Html {
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

fn identity_view(state: &State, session: &Session) -> Html {
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

// ------------------------------------------------------------------ archive

fn archive_view(state: &State, session: &Session) -> Html {
    let l = state.lang;
    let Some(a) = &session.archive else {
        return html! {
            <p class="ix-note" data-archive="none">
                { l.pick("未查询到您的历史档案。请在下一步如实填写全部信息，会计工作年限由您本人填报。",
                         "No archive was found for you. Fill in every field in the next step; you enter your accounting working years yourself.") }
            </p>
        };
    };
    let b = &a.basic;
    // Labels and choice names from the field table, as the form and the review show them.
    let label = |path: &str| intake_rules::form::field(path).map(|f| l.pair(f.labels()).to_owned()).unwrap_or_default();
    let choice = |path: &str, value: &str| {
        intake_rules::form::field(path)
            .and_then(|f| f.kind.options().into_iter().find(|(wire, _)| *wire == value))
            .map_or(value.to_owned(), |(_, labels)| l.pair(labels).to_owned())
    };
    // Only what the archive holds (FAQ 8): a row per value on record.
    let mut rows: Vec<(&str, String)> = Vec::new();
    let mut row = |path: &'static str, v: &Option<String>, is_choice: bool| {
        if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
            rows.push((path, if is_choice { choice(path, v) } else { v.to_owned() }));
        }
    };
    row("unit.name", &b.unit.name, false);
    row("post.position", &b.position, false);
    row("qualification.title", &b.title, true);
    row("education.level", &b.education.level, true);
    row("education.school", &b.education.school, false);
    let elsewhere = a.certificate_origin.as_deref() == Some("elsewhere");
    let (zh, en) = match (a.holds_certificate, elsewhere, rows.is_empty() && a.working_years.is_none()) {
        (true, true, _) => (
            "您持有厦门以外颁发的原会计从业资格证书，厦门档案中只有以下信息；其余请在下一步填写。",
            "You hold an original accounting certificate issued outside Xiamen; the Xiamen archive holds only what is below. Fill in the rest in the next step.",
        ),
        (_, _, true) => (
            "档案中暂无可带入的信息，请在下一步如实填写。",
            "The archive holds nothing to fill in for you: fill in every field in the next step.",
        ),
        (true, false, false) => (
            "您持有原会计从业资格证书，档案中的以下信息已自动带入，只需补充其余信息后提交。",
            "You hold an original accounting certificate; what your archive holds is filled in for you. Add the rest and submit.",
        ),
        (false, _, false) => (
            "档案中的以下信息已自动带入，请核对并补充其余信息。",
            "What your archive holds is filled in for you; check it and add the rest.",
        ),
    };
    let locked = a.holds_certificate && a.working_years.is_some();
    html! {
        <>
            <p class="ix-note" data-archive-case={match (a.holds_certificate, elsewhere) { (true, true) => "elsewhere", (true, false) => "holder", _ => "other" }}>{ l.pick(zh, en) }</p>
            if !rows.is_empty() || a.working_years.is_some() {
                <h3>{ l.pick("基本信息", "Basic information") }</h3>
                <dl class="ix-facts" data-archive="basic">
                    { for rows.iter().map(|(path, v)| html! { <><dt>{ label(path) }</dt><dd data-archive-field={*path}>{ v }</dd></> }) }
                    if let Some(y) = a.working_years {
                        <dt>{ label("working_years") }</dt>
                        <dd data-archive="working_years">{ y }
                            if locked { <span class="ix-muted">{ l.pick("（以档案为准，不可修改）", " (from the archive; cannot be edited)") }</span> }</dd>
                    }
                </dl>
            }
            if a.working_years.is_none() {
                <p class="ix-muted" data-note="working-years">{ l.pick("档案中没有您的会计工作年限，请在下一步按实际情况填写（不能超过按年龄可能的年限）。",
                    "The archive has no accounting working years for you: enter them in the next step as they are (no more than your age allows).") }</p>
            }
            <h3>{ l.pick("继续教育", "Continuing education") }</h3>
            if a.continuing_education.is_empty() {
                <p class="ix-muted">{ l.pick("暂无记录", "No records") }</p>
            } else {
                <ul class="ix-records" data-archive="continuing_education">
                    { for a.continuing_education.iter().map(|r| html! {
                        <li>{ format!("{} · {} {} · ", r.year, r.hours, l.pick("学时", "hours")) }{ status_label(l, &r.status) }</li>
                    }) }
                </ul>
            }
            <h3>{ l.pick("诚信记录", "Integrity records") }</h3>
            if a.integrity.is_empty() {
                <p class="ix-muted">{ l.pick("暂无记录", "No records") }</p>
            } else {
                <ul class="ix-records" data-archive="integrity">
                    { for a.integrity.iter().map(|r| html! { <li>{ format!("{} · ", r.date) }<span lang="zh-CN">{ &r.description }</span></li> }) }
                </ul>
            }
            if a.certificate_origin.as_deref() == Some("elsewhere") {
                <p class="ix-note ix-warn" data-note="elsewhere">
                    { l.pick("您的原会计从业资格证书为厦门以外颁发：可以在厦门登记，厦门档案自采集年度起计算；如需保留原档案，请先在原发证地完成采集，再通过平台办理调转。",
                             "Your certificate was issued outside Xiamen. You may register it here; your Xiamen archive starts in the collection year. To keep your old archive, collect in the original area first and transfer it through the platform.") }
                </p>
            }
        </>
    }
}

fn status_label(l: Lang, s: &str) -> String {
    match s {
        "completed" => l.pick("已完成", "completed").to_owned(),
        "in_progress" => l.pick("进行中", "in progress").to_owned(),
        other => other.to_owned(),
    }
}

// ------------------------------------------------------------------ form

fn on_input(dispatch: &Dispatch, name: &'static str) -> Callback<InputEvent> {
    let dispatch = dispatch.clone();
    Callback::from(move |e: InputEvent| {
        if let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
            dispatch.dispatch(Action::Field(name.to_owned(), input.value()));
        }
    })
}

fn on_select(dispatch: &Dispatch, name: &'static str) -> Callback<Event> {
    let dispatch = dispatch.clone();
    Callback::from(move |e: Event| {
        if let Some(select) = e.target().and_then(|t| t.dyn_into::<HtmlSelectElement>().ok()) {
            dispatch.dispatch(Action::Field(name.to_owned(), select.value()));
        }
    })
}

fn on_blur(dispatch: &Dispatch, name: &'static str) -> Callback<FocusEvent> {
    let dispatch = dispatch.clone();
    Callback::from(move |_| dispatch.dispatch(Action::Touch(name.to_owned())))
}

fn field_errors(l: Lang, name: &str, problems: &[Problem]) -> Html {
    if problems.is_empty() {
        return html! {};
    }
    html! {
        <ul class="ix-field-problems" id={format!("ix-err-{name}")}>
            { for problems.iter().map(|p| html! {
                <li class={if p.is_error() { "ix-error" } else { "ix-warning" }} data-field-error={name.to_owned()} data-code={p.code.as_str()}>
                    { l.text(&p.message) }{ " " }<span class="ix-hint">{ l.text(&p.hint) }</span>
                </li>
            }) }
        </ul>
    }
}

/// What every form control needs: the state, the dispatcher, and the form problems shown now
/// (the form rules run once per render, not once per field).
struct Fields<'a> {
    state: &'a State,
    dispatch: &'a Dispatch,
    visible: Vec<Problem>,
}

impl Fields<'_> {
    fn problems(&self, name: &str) -> Vec<Problem> {
        self.visible.iter().filter(|p| p.field == name).cloned().collect()
    }
}

/// The label of a field from the table, marked when the rest of the bundle makes it optional.
fn field_label(l: Lang, state: &State, field: &Field) -> String {
    let label = l.pair(field.labels());
    if field.required(&state.raw) {
        label.to_owned()
    } else {
        format!("{label}{}", l.pick("（选填）", " (optional)"))
    }
}

fn field_help(l: Lang, field: &Field, id: &str) -> Html {
    if field.help_zh.is_empty() {
        return html! {};
    }
    html! { <p class="ix-help ix-muted" id={format!("{id}-help")}>{ l.pick(field.help_zh, field.help_en) }</p> }
}

/// The `aria-describedby` of a control: its help and its problems.
fn described_by(field: &Field, id: &str, problems: &[Problem]) -> Option<String> {
    let mut ids = Vec::new();
    if !field.help_zh.is_empty() {
        ids.push(format!("{id}-help"));
    }
    if !problems.is_empty() {
        ids.push(format!("ix-err-{}", field.path));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// One control of the form, drawn from the field table: a select for a choice, an input otherwise.
fn field_view(f: &Fields<'_>, path: &str, readonly: bool) -> Html {
    let Some(field) = intake_rules::form::field(path) else { return html! {} };
    match field.kind {
        Kind::Choice(_) => select_field(f, field),
        _ => text_field(f, field, readonly),
    }
}

fn text_field(f: &Fields<'_>, field: &'static Field, readonly: bool) -> Html {
    let (state, dispatch) = (f.state, f.dispatch);
    let l = state.lang;
    let name = field.path;
    let problems = f.problems(name);
    let invalid = problems.iter().any(Problem::is_error);
    let id = format!("ix-f-{}", name.replace('.', "-"));
    let (ty, mode, auto) = match field.kind {
        Kind::Date => ("date", None, None),
        Kind::Number => ("number", Some("numeric"), None),
        Kind::Email => ("email", Some("email"), Some("email")),
        Kind::Tel => ("tel", Some("tel"), Some("tel")),
        Kind::Text { .. } | Kind::Choice(_) => ("text", None, None),
    };
    html! {
        <div class={classes!("ix-field", invalid.then_some("is-invalid"))}>
            <label for={id.clone()}>{ field_label(l, state, field) }</label>
            <input id={id.clone()} type={ty} name={name} value={get_field(&state.raw, name)} inputmode={mode} autocomplete={auto}
                readonly={readonly} aria-readonly={readonly.then_some("true")}
                aria-invalid={if invalid { "true" } else { "false" }}
                aria-describedby={described_by(field, &id, &problems)}
                min={matches!(field.kind, Kind::Number).then_some("0")}
                oninput={on_input(dispatch, name)} onblur={on_blur(dispatch, name)} />
            { field_help(l, field, &id) }
            { field_errors(l, name, &problems) }
        </div>
    }
}

fn select_field(f: &Fields<'_>, field: &'static Field) -> Html {
    let (state, dispatch) = (f.state, f.dispatch);
    let l = state.lang;
    let name = field.path;
    let problems = f.problems(name);
    let invalid = problems.iter().any(Problem::is_error);
    let value = get_field(&state.raw, name);
    let id = format!("ix-f-{}", name.replace('.', "-"));
    html! {
        <div class={classes!("ix-field", invalid.then_some("is-invalid"))}>
            <label for={id.clone()}>{ field_label(l, state, field) }</label>
            <select id={id.clone()} name={name} aria-invalid={if invalid { "true" } else { "false" }}
                aria-describedby={described_by(field, &id, &problems)}
                onchange={on_select(dispatch, name)} onblur={on_blur(dispatch, name)}>
                <option value="" selected={value.is_empty()}>{ l.pick("请选择", "Choose") }</option>
                { for field.kind.options().into_iter().map(|(wire, labels)| html! {
                    <option value={wire} selected={value == wire}>{ l.pair(labels) }</option>
                }) }
            </select>
            { field_help(l, field, &id) }
            { field_errors(l, name, &problems) }
        </div>
    }
}

fn form_view(state: &State, dispatch: &Dispatch) -> Html {
    let l = state.lang;
    let Some(session) = state.session() else { return html! {} };
    let has_archive = session.archive.is_some();
    let locked = state.working_years_locked();
    let f = Fields { state, dispatch, visible: state.visible_form_problems() };
    // Every field of the table but the read-only identity, section by section.
    let control = |field: &Field| -> Html {
        match field.path {
            "birth_date" | "identity.mobile" => field_view(&f, field.path, state.field_readonly(field.path)),
            "qualification.holds_certificate" if has_archive => html! {
                <p class="ix-muted">{ l.pick("持证情况以档案为准。", "Certificate status is taken from your archive.") }</p>
            },
            "working_years" => html! {
                <>
                    { field_view(&f, field.path, state.field_readonly(field.path)) }
                    if locked {
                        <p class="ix-muted">{ l.pick("持证人员的会计工作年限以档案为准，不可修改。", "For certificate holders, working years come from the archive and cannot be edited.") }</p>
                    }
                </>
            },
            _ if !field.applies(&state.raw) => html! {},
            _ => field_view(&f, field.path, false),
        }
    };
    html! {
        <form class="ix-form" novalidate=true onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            { for Section::ALL.iter().filter(|s| **s != Section::Identity).map(|section| html! {
                <fieldset>
                    <legend>{ l.pair(section.labels()) }</legend>
                    { for FIELDS.iter().filter(|fl| fl.section == *section).map(control) }
                </fieldset>
            }) }
        </form>
    }
}

// ------------------------------------------------------------------ documents

fn photo_illustration(l: Lang, p: &PhotoProfile) -> Html {
    // A 5:7 frame with the head zone the profile asks for, drawn to scale.
    let (w, h) = (p.target_width as f32, p.target_height as f32);
    let head_w = p.head.width_target * w;
    let top = p.head.top_target * h;
    let head_h = head_w * 1.3;
    let cx = w / 2.0;
    let bg = p.backgrounds.first().map_or("#ffffff", |b| match b.name().1 {
        "blue" => "#438edb",
        "red" => "#d9251c",
        _ => "#ffffff",
    });
    let label = l.pick(
        "证件照示意：头部居中，头顶与上边缘留有空隙，肩部入镜，纯色背景",
        "Illustration: head centred, a gap above the head, shoulders visible, plain background",
    );
    html! {
        <svg class="ix-illustration" viewBox={format!("0 0 {w} {h}")} role="img" aria-label={label.to_owned()}>
            <rect x="0" y="0" width={w.to_string()} height={h.to_string()} fill={bg} stroke="#8a8a8a" stroke-width="2" />
            <ellipse cx={cx.to_string()} cy={(top + head_h / 2.0).to_string()} rx={(head_w / 2.0).to_string()} ry={(head_h / 2.0).to_string()} fill="#c9a98c" />
            <path d={format!("M {} {} Q {} {} {} {} L {} {} L {} {} Z", cx - w * 0.45, h, cx, top + head_h * 0.9, cx + w * 0.45, h, cx + w * 0.45, h, cx - w * 0.45, h)} fill="#2f3e55" />
            <line x1="0" y1={top.to_string()} x2={w.to_string()} y2={top.to_string()} stroke="#d0021b" stroke-dasharray="6 4" stroke-width="2" />
        </svg>
    }
}

fn documents_view(state: &State, dispatch: &Dispatch, env: &Rc<Env>, session: &Session) -> Html {
    let l = state.lang;
    let profile = &session.config.profile;
    let (zh, en) = profile_summary(profile);
    html! {
        <>
            <div class="ix-spec" data-profile={profile.id.clone()}>
                { photo_illustration(l, profile) }
                <div>
                    <h3>{ l.pick("标准证件照要求", "Standard photo requirements") }</h3>
                    <p>{ l.pick(&zh, &en) }</p>
                    <p class="ix-muted">{ l.pick("手机拍摄的照片会在本机自动旋转、裁剪、缩放并去除位置等信息，照片不会在检查前上传。",
                        "Phone photos are rotated, cropped, resized and stripped of location data on this device; nothing is uploaded before it passes.") }</p>
                </div>
            </div>
            { for state.requirements().into_iter().map(|req| part_view(state, dispatch, env, session, req)) }
        </>
    }
}

fn part_view(state: &State, dispatch: &Dispatch, env: &Rc<Env>, session: &Session, req: Requirement) -> Html {
    let l = state.lang;
    let part = req.part;
    let (zh, en) = part.labels();
    let slots = state.parts.get(&part).cloned().unwrap_or_default();
    let ps = state.part_state(part);
    let problems = state.part_problems(part);
    let warnings = problems.iter().any(|p| p.severity == Severity::Warning);
    let pair =
        if matches!(part, Part::IdBack | Part::PassportValidity) { state.pair_problems(part) } else { Vec::new() };
    let accept =
        if matches!(part, Part::WorkCertificate | Part::Supporting) { "image/*,application/pdf" } else { "image/*" };
    let input_id = format!("ix-file-{}", part.name());
    // A part with room takes another file; a single-file part that is full offers "replace".
    let (can_add, index) = if slots.len() < req.max {
        (true, slots.len())
    } else {
        (req.max == 1 && !matches!(slots.first(), Some(Slot::Checking { .. })), 0)
    };
    let replacing = match slots.get(index) {
        Some(Slot::Done(r)) => Some(Rc::clone(r)),
        _ => None,
    };
    // Only a part that still has room after this file keeps its file inputs while the file is checked.
    let inputs_stay = index == slots.len() && slots.len() + 1 < req.max;
    let onchange = {
        let dispatch = dispatch.clone();
        let env = Rc::clone(env);
        let profile_id = session.config.profile.id.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            // Let the same file be chosen again later.
            input.set_value("");
            if !inputs_stay {
                focus_part(&input);
            }
            if let Some(old) = &replacing {
                old.revoke_urls();
            }
            choose(&dispatch, &env, part, index, file, &profile_id);
        })
    };
    let ack = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                dispatch.dispatch(Action::Ack(part, input.checked()));
            }
        })
    };
    let requirement = if req.min > 0 { l.pick("必填", "required") } else { l.pick("选填", "optional") };
    html! {
        <div class={classes!("ix-part", format!("is-{}", ps.name()))} id={format!("ix-part-{}", part.name())} data-part-status={part.name()} data-state={ps.name()}
            tabindex="-1" role="group" aria-labelledby={format!("ix-part-{}-title", part.name())}>
            <h3 id={format!("ix-part-{}-title", part.name())}>{ l.pick(zh, en) }<span class="ix-badge">{ requirement }</span>
                if req.max > 1 { <span class="ix-muted">{ format!(" {}/{}", slots.len(), req.max) }</span> }
            </h3>
            if part == Part::WorkCertificate {
                <p class="ix-muted">{ l.pick("格式不限，能证明您从事会计工作的图片或 PDF 均可。", "Any image or PDF that proves your accounting work.") }</p>
            }
            if part == Part::Supporting {
                <p class="ix-muted">{ l.pick("不在会计岗位的，可上传其他岗位工作证明，或学生证及户籍证明（选填）。", "Not on an accounting post: optionally upload another work certificate, or a student ID and household registration.") }</p>
            }
            { for slots.iter().enumerate().map(|(i, slot)| slot_view(l, dispatch, part, i, slot)) }
            if can_add {
                <div class="ix-file-row">
                    <div class="ix-file">
                        <label for={input_id.clone()} class="ix-file-label">
                            { if slots.is_empty() { l.pick("选择文件", "Choose a file") } else if req.max > 1 { l.pick("再添加一份", "Add another") } else { l.pick("更换", "Replace") } }
                            <span class="ix-sr">{ format!(" — {}", l.pick(zh, en)) }</span>
                        </label>
                        <input id={input_id.clone()} type="file" data-part={part.name()} accept={accept} onchange={onchange.clone()} />
                    </div>
                    // A second input opens the camera directly on phones (WebViews ignore `capture` on desktop).
                    <div class="ix-file">
                        <label for={format!("{input_id}-camera")} class="ix-file-label">
                            { l.pick("拍照", "Take a picture") }
                            <span class="ix-sr">{ format!(" — {}", l.pick(zh, en)) }</span>
                        </label>
                        <input id={format!("{input_id}-camera")} type="file" data-part-camera={part.name()} accept="image/*"
                            capture={if part == Part::Photo { "user" } else { "environment" }} onchange={onchange} />
                    </div>
                </div>
            }
            // Each file's problems are on its card; what is left are the pair's (both ID sides).
            if !pair.is_empty() {
                { problem_list(l, &pair, part.name()) }
            }
            if warnings && ps == PartState::Warning {
                <label class="ix-ack">
                    <input type="checkbox" data-ack={part.name()} checked={state.acks.contains(&part)} onchange={ack} />
                    { l.pick("我已阅读以上提示，确认使用该文件", "I have read the warnings above and want to use this file") }
                </label>
            }
        </div>
    }
}

fn slot_view(l: Lang, dispatch: &Dispatch, part: Part, index: usize, slot: &Slot) -> Html {
    let remove = {
        let dispatch = dispatch.clone();
        let done = match slot {
            Slot::Done(r) => Some(Rc::clone(r)),
            Slot::Checking { .. } => None,
        };
        Callback::from(move |e: MouseEvent| {
            if let Some(button) = e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
                focus_part(&button);
            }
            if let Some(r) = &done {
                r.revoke_urls();
            }
            dispatch.dispatch(Action::Remove(part, index));
        })
    };
    match slot {
        Slot::Checking { file_name } => html! {
            <div class="ix-slot" aria-busy="true">
                <span class="ix-spinner" aria-hidden="true"></span>
                { l.pick("正在本机检查：", "Checking on this device: ") }{ file_name }
            </div>
        },
        Slot::Done(r) => {
            // One card per file: its name and verdict, first what the person must do (the problems
            // no automatic fix resolves, one sentence each), then its pictures, then, collapsed,
            // what was (or would be) fixed automatically, then notes.
            let shown = if r.output.is_none() { r.before.problems() } else { r.verdict.problems() };
            let refused = r.output.is_none() || !r.verdict.passes();
            let mut act: Vec<&Problem> =
                shown.iter().filter(|p| p.is_error() && !(p.fixable && r.output.is_none())).collect();
            if act.is_empty() && refused {
                act = shown.iter().filter(|p| p.is_error()).collect();
            }
            let notes: Vec<&Problem> = shown.iter().filter(|p| !p.is_error()).collect();
            let fixed: Vec<&Problem> = r.before.problems().iter().filter(|p| p.fixable && !act.contains(p)).collect();
            let (verdict, vzh, ven) = match (refused, notes.is_empty()) {
                (true, _) => ("error", "未通过", "Not accepted"),
                (false, true) => ("ok", "通过", "Accepted"),
                (false, false) => ("warning", "通过，请确认提示", "Accepted: read the notes"),
            };
            let (lzh, len) = if part == Part::Photo {
                ("这张照片无法使用：", "This photo cannot be used:")
            } else {
                ("这份文件无法使用：", "This file cannot be used:")
            };
            html! {
                <div class={classes!("ix-slot", format!("is-{verdict}"))} data-slot={r.file_name.clone()}>
                    <p class="ix-slot-head"><span class="ix-slot-name">{ &r.file_name }</span>
                        <span class="ix-verdict" data-verdict={verdict}>{ l.pick(vzh, ven) }</span></p>
                    if !act.is_empty() {
                        <div class="ix-act" data-act="">
                            <strong>{ l.pick(lzh, len) }</strong>
                            { problem_items(l, &act, part.name()) }
                        </div>
                    }
                    <div class="ix-previews">
                        if let Some(url) = &r.before_url {
                            <figure>
                                <img data-preview="before" src={url.clone()} alt={format!("{}{}", l.pick("原图：", "As chosen: "), r.file_name)} />
                                <figcaption>{ l.pick("原图", "As chosen") }</figcaption>
                            </figure>
                        }
                        if let Some(out) = &r.output {
                            if out.media_type.starts_with("image/") {
                                <figure>
                                    <img data-preview="after" src={out.url.clone()} alt={l.pick("处理后将上传的图片", "The picture that will be uploaded").to_owned()} />
                                    <figcaption>{ format!("{} {}×{} · {}", l.pick("上传", "Upload"), out.width, out.height, intake_rules::photo::human_bytes(out.bytes.len())) }</figcaption>
                                </figure>
                            } else {
                                <p class="ix-muted">{ format!("PDF · {}", intake_rules::photo::human_bytes(out.bytes.len())) }</p>
                            }
                        }
                    </div>
                    if !fixed.is_empty() {
                        <details class="ix-fixed">
                            <summary>{ format!("{} ({})", if refused { l.pick("可自动处理的问题", "Would be fixed automatically") } else { l.pick("已自动处理", "Fixed automatically") }, fixed.len()) }</summary>
                            <ul>{ for fixed.iter().map(|p| html! { <li data-fixed={p.code.as_str()}>{ l.text(&p.message) }</li> }) }</ul>
                        </details>
                    }
                    if !notes.is_empty() {
                        { problem_items(l, &notes, part.name()) }
                    }
                    <button type="button" class="ix-link" data-action="remove" onclick={remove}>
                        { l.pick("移除", "Remove") }<span class="ix-sr">{ format!(" {}", r.file_name) }</span>
                    </button>
                </div>
            }
        }
    }
}

/// Moves keyboard focus to the part holding `control` when the control is about to leave the DOM
/// (a chosen file takes its input's place while it is checked; "remove" takes its own slot away):
/// otherwise focus falls to the page's body and a keyboard user starts again from the top. The part
/// (a labelled group) is the element that survives the re-render; its heading does not always.
fn focus_part(control: &web_sys::Element) {
    if let Some(part) =
        control.closest(".ix-part").ok().flatten().and_then(|p| p.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = part.focus();
    }
}

/// Moves keyboard focus to the review step's upload area (a labelled group holding the progress,
/// the wait before a retry and the failure) when "submit" or "retry" is pressed: the one is disabled
/// and the other removed while the bundle uploads, which would drop focus to the page's body.
fn focus_upload_area(e: &MouseEvent) {
    let area = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("section[data-step]").ok().flatten())
        .and_then(|section| section.query_selector("[data-upload-area]").ok().flatten())
        .and_then(|a| a.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(area) = area {
        let _ = area.focus();
    }
}

fn choose(dispatch: &Dispatch, env: &Rc<Env>, part: Part, index: usize, file: web_sys::File, profile_id: &str) {
    let name = file.name();
    dispatch.dispatch(Action::Checking(part, index, name));
    let dispatch = dispatch.clone();
    let env = Rc::clone(env);
    let profile_id = profile_id.to_owned();
    spawn_local(async move {
        let result = env.imaging.process(part, file, &profile_id).await;
        dispatch.dispatch(Action::Checked(part, index, Rc::new(result)));
    });
}

fn problem_list(l: Lang, problems: &[Problem], scope: &str) -> Html {
    problem_items(l, &problems.iter().collect::<Vec<_>>(), scope)
}

fn problem_items(l: Lang, problems: &[&Problem], scope: &str) -> Html {
    html! {
        <ul class="ix-problems" data-problems={scope.to_owned()}>
            { for problems.iter().map(|p| html! {
                <li class={if p.is_error() { "ix-error" } else { "ix-warning" }} data-code={p.code.as_str()}>
                    if !p.is_error() { <strong>{ l.pick("提示：", "Note: ") }</strong> }
                    { l.text(&p.message) }
                    if !l.text(&p.hint).is_empty() { <span class="ix-hint">{ " " }{ l.text(&p.hint) }</span> }
                </li>
            }) }
        </ul>
    }
}

// ------------------------------------------------------------------ review and submit

fn review_view(state: &State, dispatch: &Dispatch, env: &Rc<Env>, session: &Session) -> Html {
    let l = state.lang;
    let r = &state.raw;
    let blockers = state.blockers();
    let can = blockers.is_empty() && !state.uploading();
    let submit = {
        let dispatch = dispatch.clone();
        let env = Rc::clone(env);
        let state = state.clone();
        Callback::from(move |e: MouseEvent| {
            focus_upload_area(&e);
            submit(&state, &dispatch, &env);
        })
    };
    let goto = |step: Step| {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.dispatch(Action::Goto(step)))
    };
    let amends = state.amends().map(str::to_owned);
    let modification_open = state.session().is_some_and(|s| s.config.features.modification_open);
    html! {
        <>
            <dl class="ix-facts" data-review="form">
                { for review_rows(r).into_iter().map(|row| html! {
                    <>
                        <dt data-review-field={row.path}>{ l.pair(row.labels) }</dt>
                        <dd data-review-value={row.path}>{ l.pick(&row.value.0, &row.value.1) }
                            if row.step == Step::Form && !state.field_readonly(row.path) {
                                { " " }<button type="button" class="ix-link" data-edit-field={row.path} onclick={goto(row.step)}
                                    aria-label={format!("{} {}", l.pick("修改", "Change"), l.pair(row.labels))}>{ l.pick("修改", "Change") }</button>
                            }
                        </dd>
                    </>
                }) }
            </dl>
            <p><button type="button" class="ix-link" data-action="edit-form" onclick={goto(Step::Form)}>{ l.pick("修改信息", "Edit the details") }</button>
               { " " }<button type="button" class="ix-link" data-action="edit-documents" onclick={goto(Step::Documents)}>{ l.pick("修改照片与证件", "Edit photo and documents") }</button></p>
            // Every picture that will be uploaded, as a thumbnail, each with a way back to its part.
            <ul class="ix-thumbs" data-review="files">
                { for state.upload_files().iter().map(|(part, res)| {
                    let label = l.pair(part.labels());
                    html! {
                        <li data-review-part={part.name()}>
                            if let Some(o) = res.output.as_ref().filter(|o| o.media_type.starts_with("image/")) {
                                <img src={o.url.clone()} alt={label.to_owned()} data-review-thumb={part.name()} />
                            } else {
                                <span class="ix-muted">{ res.output.as_ref().map(|o| o.file_name.clone()).unwrap_or_default() }</span>
                            }
                            <span>{ label }</span>
                            <button type="button" class="ix-link" data-edit-part={part.name()} onclick={goto(Step::Documents)}
                                aria-label={format!("{} {label}", l.pick("修改", "Change"))}>{ l.pick("修改", "Change") }</button>
                        </li>
                    }
                }) }
            </ul>
            if !blockers.is_empty() {
                <ul class="ix-blockers" data-blockers="">
                    { for blockers.iter().map(|(zh, en)| html! { <li>{ l.pick(zh, en) }</li> }) }
                </ul>
            }
            if amends.is_some() {
                <p class="ix-note">{ l.pick("信息修改已开放：本次提交将作为对原提交的修改。", "Modification is open: this submission amends your earlier one.") }</p>
            }
            // The declaration before the final button (FAQ 6): what cannot be undone, what happens next.
            <div class="ix-note ix-warn" data-confirm="">
                <h3>{ l.pick("提交前请确认", "Before you submit") }</h3>
                if !modification_open {
                    <p>{ l.pick("提交后暂不能修改：信息修改功能暂未开放，开放时间将另行通知。请确认以上信息和照片准确无误。",
                                "You cannot change your information after submitting: modification is not open yet; its opening will be announced. Check that the details and pictures above are right.") }</p>
                }
                <p>{ l.pick("提交后您将看到回执号和处理状态。信息将报送会计人员信息平台，处理结果会显示在回执上，您可随时重新登录查看。",
                            "After submitting you see a receipt number and the status. Your information goes to the accounting personnel platform; its answer appears on the receipt, which you can see again whenever you sign in.") }</p>
            </div>
            { help_panel(l, session) }
            <div class="ix-upload-area" data-upload-area="" tabindex="-1" role="group" aria-label={l.pick("提交状态", "Submission status")}>
                { upload_status(state, dispatch, env) }
            </div>
            <div class="ix-nav">
                <button type="button" class="ix-secondary" data-action="back" onclick={{ let d = dispatch.clone(); Callback::from(move |_| d.dispatch(Action::Back)) }}>{ l.pick("上一步", "Back") }</button>
                <button type="button" class="ix-primary" data-action="submit" disabled={!can} onclick={submit}>{ l.pick("确认提交", "Submit") }</button>
            </div>
        </>
    }
}

fn upload_status(state: &State, dispatch: &Dispatch, env: &Rc<Env>) -> Html {
    let l = state.lang;
    match &state.upload {
        Upload::Idle => html! {},
        Upload::Sending { progress, attempt } => html! {
            <div class="ix-upload">
                <label for="ix-progress">{ l.pick("正在上传", "Uploading") }{ if *attempt > 1 { format!(" ({} {attempt})", l.pick("第", "attempt")) } else { String::new() } }</label>
                <progress id="ix-progress" data-upload="" max="100" value={format!("{:.0}", progress * 100.0)}>{ format!("{:.0}%", progress * 100.0) }</progress>
            </div>
        },
        Upload::Waiting { seconds, .. } => html! {
            <p class="ix-note ix-warn" data-upload-waiting="">{ l.pick(&format!("网络中断，{seconds} 秒后自动重试，不会重复提交。"), &format!("Network lost; retrying in {seconds} s. It will not be submitted twice.")) }</p>
        },
        Upload::Failed(f) => {
            let retry = {
                let dispatch = dispatch.clone();
                let env = Rc::clone(env);
                let state = state.clone();
                Callback::from(move |e: MouseEvent| {
                    focus_upload_area(&e);
                    submit(&state, &dispatch, &env);
                })
            };
            html! {
                <div class="ix-upload-failed">
                    { problem_list(l, &f.problems, "upload") }
                    if f.retryable {
                        <button type="button" class="ix-primary" data-action="retry" onclick={retry}>{ l.pick("重试", "Retry") }</button>
                    }
                </div>
            }
        }
    }
}

/// Submits the bundle: one idempotency key per bundle, automatic retries on
/// network loss and 5xx/429, bounded.
fn submit(state: &State, dispatch: &Dispatch, env: &Rc<Env>) {
    if !state.can_submit() {
        return;
    }
    let fresh = crate::new_key();
    let key = state.key.clone().unwrap_or(fresh.clone());
    dispatch.dispatch(Action::Submit(fresh));
    let raw = state.raw.clone();
    let files = state.upload_files();
    let path = match state.amends() {
        Some(id) => format!("/api/v1/submissions/{id}/amendments"),
        None => "/api/v1/submissions".to_owned(),
    };
    let dispatch = dispatch.clone();
    let env = Rc::clone(env);
    spawn_local(async move {
        const ATTEMPTS: u32 = 4;
        for attempt in 1..=ATTEMPTS {
            let progress_dispatch = dispatch.clone();
            let progress: Rc<dyn Fn(f64)> = Rc::new(move |p| progress_dispatch.dispatch(Action::Progress(attempt, p)));
            dispatch.dispatch(Action::Progress(attempt, 0.0));
            match env.api.upload(&path, &key, &raw, &files, progress).await {
                Ok(receipt) => {
                    dispatch.dispatch(Action::Submitted(crate::model::SubmissionView {
                        receipt_number: (!receipt.receipt_number.is_empty()).then_some(receipt.receipt_number),
                        id: receipt.id,
                        status: receipt.status,
                        status_label: None,
                        received_at: receipt.received_at,
                        reason: None,
                        kind: None,
                    }));
                    return;
                }
                Err(e) if e.retryable() && attempt < ATTEMPTS => {
                    let wait = e.retry_after.unwrap_or(2u32.pow(attempt)).min(30);
                    dispatch.dispatch(Action::Waiting(attempt + 1, wait));
                    crate::sleep_ms(wait * 1000).await;
                }
                Err(e) if e.status == 401 => {
                    dispatch.dispatch(Action::Failed(e.failure()));
                    dispatch.dispatch(Action::AuthRequired);
                    return;
                }
                Err(e) => {
                    dispatch.dispatch(Action::Failed(e.failure()));
                    return;
                }
            }
        }
    });
}

// ------------------------------------------------------------------ receipt

fn receipt_view(state: &State, session: &Session) -> Html {
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
