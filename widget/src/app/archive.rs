//! Step 2: what the archive holds (basic information, continuing education, integrity records).

use yew::prelude::*;

use crate::i18n::Lang;
use crate::state::{Session, State};

pub(super) fn archive_view(state: &State, session: &Session) -> Html {
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
