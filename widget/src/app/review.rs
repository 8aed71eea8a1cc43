//! Step 5: the review: every answer with a 修改 link, the thumbnails of what will be uploaded, the
//! blockers, the declaration, and the submit button over the upload area.

use std::rc::Rc;

use yew::prelude::*;

use super::help::help_panel;
use super::upload::{focus_upload_area, submit, upload_status};
use super::{Dispatch, Env};
use crate::state::{Action, Session, State, Step, review_rows};

pub(super) fn review_view(state: &State, dispatch: &Dispatch, env: &Rc<Env>, session: &Session) -> Html {
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
