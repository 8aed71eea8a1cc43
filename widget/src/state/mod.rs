//! The widget's state and its reducer. Pure: no web APIs, so every
//! transition is tested natively (`cargo test -p intake-widget`), in the
//! manner of yew's function_todomvc.
//!
//! `mod.rs`: the state, its actions and the views every step shares; `reduce.rs`: the reducer
//! ([`State::apply`]); `form.rs`: the form's views and the prefill; `parts.rs`: the photo and
//! documents' views; `saved.rs`: the draft and its encoding.

mod form;
mod parts;
mod reduce;
mod saved;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use intake_rules::form::RawBundle;
use intake_rules::form::numbers::Date;
use intake_rules::report::Problem;
use intake_rules::submission::Part;
use yew::Reducible;

use crate::checked::ImageResult;
use crate::i18n::Lang;
use crate::model::{Archive, Me, SubmissionView, WidgetConfig};

pub use form::{ReviewRow, get_field, prefill, review_rows, set_field};
pub use saved::{DRAFT_DEFAULT_DAYS, DRAFT_MAX_BYTES, DRAFT_VERSION, Draft, DraftFile, DraftOutput, Restored};

/// The steps of the flow, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Read-only identity from iXiamen.
    Identity,
    /// The historical archive.
    Archive,
    /// The form.
    Form,
    /// Photo and documents.
    Documents,
    /// Review before submitting.
    Review,
    /// The receipt and live status.
    Receipt,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 6] =
        [Step::Identity, Step::Archive, Step::Form, Step::Documents, Step::Review, Step::Receipt];

    /// The `data-step` name.
    pub fn name(self) -> &'static str {
        match self {
            Step::Identity => "identity",
            Step::Archive => "archive",
            Step::Form => "form",
            Step::Documents => "documents",
            Step::Review => "review",
            Step::Receipt => "receipt",
        }
    }

    /// Its title.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Step::Identity => ("身份信息", "Identity"),
            Step::Archive => ("历史档案", "Archive"),
            Step::Form => ("填写信息", "Details"),
            Step::Documents => ("照片与证件", "Photo and documents"),
            Step::Review => ("确认提交", "Review"),
            Step::Receipt => ("提交回执", "Receipt"),
        }
    }

    /// Parses a `data-step` name.
    pub fn parse(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    fn next(self) -> Step {
        let i = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Step::ALL[(i + 1).min(Step::ALL.len() - 1)]
    }

    fn prev(self) -> Step {
        let i = Step::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Step::ALL[i.saturating_sub(1)]
    }
}

/// Everything loaded after login.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// `/api/v1/config`.
    pub config: WidgetConfig,
    /// `/api/v1/me`.
    pub me: Me,
    /// `/api/v1/archive`; `None` for a new applicant.
    pub archive: Option<Archive>,
    /// The caller's earlier submissions, newest first.
    pub submissions: Vec<SubmissionView>,
    /// Today's date (for age bounds).
    pub today: Date,
}

/// A failure shown to the user: problems from the backend or a local reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The problems (stable codes, both languages).
    pub problems: Vec<Problem>,
    /// Whether trying again can help (network loss, 5xx, 429).
    pub retryable: bool,
}

/// Loading the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    /// Waiting for the API.
    Loading,
    /// Could not load.
    Failed(Failure),
    /// Loaded.
    Ready(Rc<Session>),
}

/// One file of a part.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot {
    /// The worker is checking it.
    Checking {
        /// The chosen file's name.
        file_name: String,
    },
    /// Checked.
    Done(Rc<ImageResult>),
}

/// A part's state as the page shows it (`data-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartState {
    /// Nothing chosen.
    Empty,
    /// Being checked.
    Checking,
    /// Passes with no warnings.
    Ok,
    /// Passes with warnings to acknowledge.
    Warning,
    /// Cannot be uploaded.
    Error,
}

impl PartState {
    /// The `data-state` value.
    pub fn name(self) -> &'static str {
        match self {
            PartState::Empty => "empty",
            PartState::Checking => "checking",
            PartState::Ok => "ok",
            PartState::Warning => "warning",
            PartState::Error => "error",
        }
    }
}

/// The upload.
#[derive(Debug, Clone, PartialEq)]
pub enum Upload {
    /// Not started.
    Idle,
    /// Sending; progress 0.0–1.0 and the attempt number (1 = first).
    Sending {
        /// Fraction of the body sent.
        progress: f64,
        /// Attempt number.
        attempt: u32,
    },
    /// Waiting before an automatic retry after a network loss.
    Waiting {
        /// The attempt that comes next.
        attempt: u32,
        /// Seconds to wait.
        seconds: u32,
    },
    /// Failed; the problems say why.
    Failed(Failure),
}

/// The whole widget state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The language.
    pub lang: Lang,
    /// The current step.
    pub step: Step,
    /// The session.
    pub load: Load,
    /// The form as entered.
    pub raw: RawBundle,
    /// Fields the user has left (their problems are shown).
    pub touched: BTreeSet<String>,
    /// Show every field problem (after "next" on an invalid form).
    pub show_all: bool,
    /// The files, by part.
    pub parts: BTreeMap<Part, Vec<Slot>>,
    /// Parts whose warnings were acknowledged.
    pub acks: BTreeSet<Part>,
    /// The upload.
    pub upload: Upload,
    /// The idempotency key of the current bundle (one per bundle: kept across retries,
    /// replaced when the bundle changes).
    pub key: Option<String>,
    /// The receipt of this session's submission, or of the earlier one.
    pub receipt: Option<SubmissionView>,
    /// The person had already submitted before this visit.
    pub already_submitted: bool,
    /// The last status message for screen readers.
    pub live: (String, String),
    /// Who the draft belongs to (a digest of the token's issuer and subject), once known.
    pub person: Option<String>,
    /// The saved draft was looked for (and restored when there was one): saving and the
    /// history entries start only then.
    pub draft_ready: bool,
    /// Whether the draft is being kept.
    pub draft_status: DraftStatus,
    /// Bumped by every action that changes what a draft holds (the save effect follows it).
    pub revision: u64,
    /// The API refused the token (401): the person is asked to sign in again, where they are.
    pub auth_required: bool,
    /// "Next" was pressed this many times on this step without it proceeding: the error summary
    /// shows (and takes focus again on every press) while it is above 0; a new step resets it.
    pub summary: u32,
}

/// One line of the error summary: the id of the control or part it moves focus to, and what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryItem {
    /// The element id (`ix-f-unit-name`, `ix-part-photo`).
    pub target: String,
    /// The problem, zh / en.
    pub text: (String, String),
}

/// Whether the draft is kept on this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftStatus {
    /// Nothing saved yet.
    Idle,
    /// Saved; `omitted` files did not fit in the size bound.
    Saved {
        /// Files left out of the draft (over [`DRAFT_MAX_BYTES`]).
        omitted: usize,
    },
    /// The browser refused storage (private mode, quota, no IndexedDB or WebCrypto).
    Unavailable,
}

impl Default for State {
    fn default() -> Self {
        State::new(Lang::Zh)
    }
}

/// Everything that changes the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Switch language.
    SetLang(Lang),
    /// The session loaded.
    Loaded(Rc<Session>),
    /// Loading failed.
    LoadFailed(Failure),
    /// Start loading again.
    Reload,
    /// A form field changed (`name` = the bundle JSON path).
    Field(String, String),
    /// The user left a field.
    Touch(String),
    /// Next step (guarded).
    Next,
    /// Previous step.
    Back,
    /// Jump to a step already reached (review's "edit" links).
    Goto(Step),
    /// A file was chosen for a part's slot.
    Checking(Part, usize, String),
    /// The worker finished a slot.
    Checked(Part, usize, Rc<ImageResult>),
    /// Remove a slot.
    Remove(Part, usize),
    /// Acknowledge (or not) a part's warnings.
    Ack(Part, bool),
    /// Submit pressed; carries a fresh key used only if the bundle has none yet.
    Submit(String),
    /// Upload progress.
    Progress(u32, f64),
    /// Network lost; retrying after a pause.
    Waiting(u32, u32),
    /// Upload failed.
    Failed(Failure),
    /// Accepted: the receipt.
    Submitted(SubmissionView),
    /// A fresh status of the receipt.
    Status(SubmissionView),
    /// The person's draft was looked for: who they are (empty when unknown: no draft is kept),
    /// and the draft when one was restorable.
    Restore(String, Option<Rc<Restored>>),
    /// The draft was saved (or the browser refused it).
    DraftSaved(DraftStatus),
    /// The API refused the token (401).
    AuthRequired,
    /// The host signed the person in again without leaving the page (its `signIn` resolved)
    /// after [`Action::AuthRequired`]; `same` says whether the new token is the same person's.
    /// The same person continues where they are with everything in memory; anyone else (or a
    /// session that never loaded) starts afresh: a new session, and their own draft if any.
    Resume {
        /// The new token's person is `self.person`.
        same: bool,
    },
    /// The browser's history moved to a step (back or forward button).
    Navigate(Step),
}

impl State {
    /// A fresh state.
    pub fn new(lang: Lang) -> State {
        State {
            lang,
            step: Step::Identity,
            load: Load::Loading,
            raw: RawBundle::default(),
            touched: BTreeSet::new(),
            show_all: false,
            parts: BTreeMap::new(),
            acks: BTreeSet::new(),
            upload: Upload::Idle,
            key: None,
            receipt: None,
            already_submitted: false,
            live: (String::new(), String::new()),
            person: None,
            draft_ready: false,
            draft_status: DraftStatus::Idle,
            revision: 0,
            auth_required: false,
            summary: 0,
        }
    }

    /// The session, once loaded.
    pub fn session(&self) -> Option<&Rc<Session>> {
        match &self.load {
            Load::Ready(s) => Some(s),
            _ => None,
        }
    }

    /// Why the bundle cannot be submitted yet (empty when it can), zh / en.
    pub fn blockers(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.session().is_none() {
            out.push(("尚未加载".to_owned(), "Not loaded yet".to_owned()));
            return out;
        }
        if let Err(problems) = self.form_check() {
            let n = problems.len();
            out.push((format!("表单还有 {n} 处需要修改"), format!("The form has {n} problem(s) to correct")));
        }
        out.extend(self.document_blockers());
        out
    }

    /// What stops "next" on this step, one line per problem, in page order (empty when it can proceed).
    pub fn summary_items(&self) -> Vec<SummaryItem> {
        match self.step {
            Step::Form => match self.form_check() {
                Err(problems) => problems
                    .into_iter()
                    .filter(Problem::is_error)
                    .map(|p| SummaryItem {
                        target: format!("ix-f-{}", p.field.replace('.', "-")),
                        text: (p.message.zh, p.message.en),
                    })
                    .collect(),
                Ok(_) => Vec::new(),
            },
            Step::Documents => self
                .document_issues()
                .into_iter()
                .map(|(part, zh, en)| SummaryItem { target: format!("ix-part-{}", part.name()), text: (zh, en) })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The error summary to show now: after a "next" that could not proceed, while problems remain.
    pub fn summary_shown(&self) -> Vec<SummaryItem> {
        if self.summary == 0 { Vec::new() } else { self.summary_items() }
    }

    /// "Next" could not proceed: show the summary (again) and announce it.
    fn stuck(&mut self) {
        self.summary += 1;
        let items = self.summary_items();
        let n = items.len();
        let (zh, en): (Vec<_>, Vec<_>) = items.into_iter().map(|i| i.text).unzip();
        let en_head = if n == 1 { "There is 1 problem".to_owned() } else { format!("There are {n} problems") };
        self.say(format!("有{n}处需要处理：{}", zh.join("")), format!("{en_head}: {}", en.join(" ")));
    }

    /// True when every rule passes and every warning is acknowledged.
    pub fn can_submit(&self) -> bool {
        self.blockers().is_empty() && !self.uploading()
    }

    /// An upload is running or waiting to retry.
    pub fn uploading(&self) -> bool {
        matches!(self.upload, Upload::Sending { .. } | Upload::Waiting { .. })
    }

    /// The earlier submission this visit amends, when modification is open.
    pub fn amends(&self) -> Option<&str> {
        let s = self.session()?;
        if !s.config.features.modification_open {
            return None;
        }
        s.submissions.iter().find(|v| v.kind.as_deref() != Some("amendment")).map(|v| v.id.as_str())
    }

    fn bundle_changed(&mut self) {
        // A different bundle needs a different idempotency key.
        if !matches!(self.upload, Upload::Sending { .. }) {
            self.key = None;
            if matches!(self.upload, Upload::Failed(_)) {
                self.upload = Upload::Idle;
            }
        }
    }

    fn say(&mut self, zh: impl Into<String>, en: impl Into<String>) {
        self.live = (zh.into(), en.into());
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.apply(action);
        Rc::new(next)
    }
}
