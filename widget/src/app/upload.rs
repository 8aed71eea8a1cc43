//! The upload and its retry loop: one idempotency key per bundle, automatic retries on network
//! loss and 5xx/429 (bounded), the progress, the wait before a retry and the failure.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use super::{Dispatch, Env, problem_list};
use crate::state::{Action, State, Upload};

pub(super) fn upload_status(state: &State, dispatch: &Dispatch, env: &Rc<Env>) -> Html {
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
pub(super) fn submit(state: &State, dispatch: &Dispatch, env: &Rc<Env>) {
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

/// Moves keyboard focus to the review step's upload area (a labelled group holding the progress,
/// the wait before a retry and the failure) when "submit" or "retry" is pressed: the one is disabled
/// and the other removed while the bundle uploads, which would drop focus to the page's body.
pub(super) fn focus_upload_area(e: &MouseEvent) {
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
