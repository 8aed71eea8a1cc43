//! The Yew components: one `App` with a reducer (`state/`) and one view module per step
//! (identity → archive → form → documents → review → receipt), the upload loop in `upload`. Every
//! control follows the DOM conventions in ARCHITECTURE.md (`data-step`, `data-action`, `name` =
//! bundle path, `data-part`), which the browser tests select by.

mod archive;
mod documents;
mod form;
mod help;
mod history;
mod identity;
pub(crate) mod lang;
mod receipt;
mod review;
mod upload;

use std::rc::Rc;

use intake_rules::report::Problem;
use intake_rules::wire::SubmissionStatus;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::api::Api;
use crate::i18n::Lang;
use crate::imaging::Imaging;
use crate::state::{Action, DRAFT_MAX_BYTES, DraftStatus, Load, Session, State, Step, SummaryItem};

use archive::archive_view;
use documents::documents_view;
use form::form_view;
use help::help_panel;
use history::{history_step, sync_history};
use identity::identity_view;
use receipt::receipt_view;
use review::review_view;

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
        lang::store(l.other());
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
