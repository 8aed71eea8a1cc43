//! Step 3: the form, drawn from the field table (`Section::ALL` × `FIELDS`): a select for a
//! choice, an input otherwise, help and problems in `aria-describedby`.

use intake_rules::form::{FIELDS, Field, Kind, Section};
use intake_rules::report::Problem;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::Dispatch;
use crate::i18n::Lang;
use crate::state::{Action, State, get_field};

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

pub(super) fn form_view(state: &State, dispatch: &Dispatch) -> Html {
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
