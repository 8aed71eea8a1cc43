//! Step 4: the photo and documents: the profile's requirements, one part per requirement, one card
//! per chosen file (its verdict, previews, fixes and notes); a chosen file goes to the image worker.

use std::rc::Rc;

use intake_rules::profile::PhotoProfile;
use intake_rules::report::{Problem, Severity};
use intake_rules::submission::{Part, Requirement};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use super::{Dispatch, Env, problem_items, problem_list};
use crate::i18n::Lang;
use crate::profile_summary;
use crate::state::{Action, PartState, Session, Slot, State};

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

pub(super) fn documents_view(state: &State, dispatch: &Dispatch, env: &Rc<Env>, session: &Session) -> Html {
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
