//! The widget's state and its reducer. Pure: no web APIs, so every
//! transition is tested natively (`cargo test -p intake-widget`), in the
//! manner of yew's function_todomvc.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use intake_rules::form::numbers::{CertificateType, Date, Gender, parse_certificate};
use intake_rules::form::{Context, FIELDS, PostStatus, RawBundle, Section, fields, validate};
use intake_rules::report::Report;
use intake_rules::report::{Problem, Severity};
use intake_rules::submission::{Part, Requirement, requirements};
#[cfg(test)]
use serde::Serialize;
use yew::Reducible;

use crate::checked::{ImageOutput, ImageResult, pair_problems};
use crate::i18n::Lang;
use crate::model::{Archive, Me, SubmissionView, WidgetConfig};

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

/// The most a draft holds (its encoded form, before encryption): 24 MiB. Files that would
/// take it over are left out (the page says so); the form and the step are always kept.
pub const DRAFT_MAX_BYTES: usize = 24 * 1024 * 1024;

/// How long a draft is kept without being saved again, by default (mount option `draftDays`).
pub const DRAFT_DEFAULT_DAYS: f64 = 7.0;

/// The draft format's version; a draft of another version is not restored.
pub const DRAFT_VERSION: u32 = 2;

/// Version 2: the compact encoding below (version 1 was JSON through serde's derives, which cost the
/// widget's first load 11 KB of brotli WebAssembly); a version 1 draft is not read.
const DRAFT_MAGIC: &[u8; 4] = b"IXD2";

/// What is saved as the person works, and restored after a reload, a closed tab or a new sign-in:
/// the form, the checked files (upload-ready bytes, verdicts, pair fingerprints), the
/// acknowledgements, the step and the language. Never the token, the upload's state or its
/// idempotency key, nor files still being checked. `draft.rs` encrypts [`Draft::encode`] and
/// keeps it in IndexedDB under [`Draft::person`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(test, derive(Serialize))]
pub struct Draft {
    /// [`DRAFT_VERSION`].
    pub version: u32,
    /// The person it belongs to (see [`State::person`]).
    pub person: String,
    /// When it was saved (ms since the epoch).
    pub saved_at_ms: f64,
    /// When it expires (ms since the epoch).
    pub expires_at_ms: f64,
    /// `zh-CN` or `en`.
    pub lang: String,
    /// The step's `data-step` name.
    pub step: String,
    /// The form as entered.
    pub raw: RawBundle,
    /// Fields the person has left.
    pub touched: Vec<String>,
    /// Every field problem was shown.
    pub show_all: bool,
    /// Parts whose warnings were acknowledged.
    pub acks: Vec<String>,
    /// The checked files.
    pub files: Vec<DraftFile>,
    /// Files left out for the size bound.
    pub omitted: usize,
}

/// One checked file of a draft.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(test, derive(Serialize))]
pub struct DraftFile {
    /// The part's multipart name.
    pub part: String,
    /// Its slot.
    pub index: usize,
    /// The file name as chosen.
    pub file_name: String,
    /// Problems of the file as chosen.
    pub before: Report,
    /// The check of the upload-ready bytes.
    pub verdict: Report,
    /// The upload-ready output.
    pub output: Option<DraftOutput>,
    /// Perceptual hash and emblem score, for pair checks.
    pub fingerprint: Option<(u64, f32)>,
}

/// The upload-ready output of a draft file.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(test, derive(Serialize))]
pub struct DraftOutput {
    /// Media type.
    pub media_type: String,
    /// Upload file name.
    pub file_name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Length of the bytes.
    pub len: usize,
    /// The bytes.
    #[cfg_attr(test, serde(skip))]
    pub bytes: Vec<u8>,
}

impl DraftFile {
    fn of(part: Part, index: usize, r: &ImageResult) -> DraftFile {
        DraftFile {
            part: part.name().to_owned(),
            index,
            file_name: r.file_name.clone(),
            before: r.before.clone(),
            verdict: r.verdict.clone(),
            output: r.output.as_ref().map(|o| DraftOutput {
                media_type: o.media_type.clone(),
                file_name: o.file_name.clone(),
                width: o.width,
                height: o.height,
                len: o.bytes.len(),
                bytes: o.bytes.clone(),
            }),
            fingerprint: r.fingerprint,
        }
    }

    fn size(&self) -> usize {
        self.output.as_ref().map_or(0, |o| o.len) + 1024
    }

    /// The result as the page holds it; `url` is the object URL made for the output's bytes
    /// (the "before" preview of the original is not kept).
    pub fn to_result(&self, url: String) -> Option<ImageResult> {
        Some(ImageResult {
            part: Part::parse(&self.part)?,
            file_name: self.file_name.clone(),
            before: self.before.clone(),
            verdict: self.verdict.clone(),
            output: self.output.as_ref().map(|o| ImageOutput {
                bytes: o.bytes.clone(),
                media_type: o.media_type.clone(),
                file_name: o.file_name.clone(),
                width: o.width,
                height: o.height,
                url,
            }),
            before_url: None,
            fingerprint: self.fingerprint,
        })
    }
}

impl Draft {
    /// The bytes to encrypt: `IXD2`, then every field in order (see [`Writer`]: numbers little-endian,
    /// strings and byte strings with a u32 length, options with a 0/1 tag; the reports as their JSON,
    /// the form field by field), the outputs' bytes inline.
    pub fn encode(&self) -> Vec<u8> {
        let files: usize = self.files.iter().filter_map(|f| f.output.as_ref()).map(|o| o.bytes.len()).sum();
        let mut w = Writer(Vec::with_capacity(1024 + files));
        w.0.extend_from_slice(DRAFT_MAGIC);
        w.u32(self.version);
        w.str(&self.person);
        w.f64(self.saved_at_ms);
        w.f64(self.expires_at_ms);
        w.str(&self.lang);
        w.str(&self.step);
        for f in raw_fields(&self.raw) {
            w.opt(f.as_deref(), Writer::str);
        }
        w.opt(self.raw.qualification.holds_certificate, |w, b| w.u8(u8::from(b)));
        w.opt(self.raw.working_years, Writer::u32);
        w.strs(&self.touched);
        w.u8(u8::from(self.show_all));
        w.strs(&self.acks);
        w.u32(len32(self.omitted));
        w.u32(len32(self.files.len()));
        for f in &self.files {
            w.str(&f.part);
            w.u32(len32(f.index));
            w.str(&f.file_name);
            w.str(&serde_json::to_string(&f.before).unwrap_or_default());
            w.str(&serde_json::to_string(&f.verdict).unwrap_or_default());
            w.opt(f.output.as_ref(), |w, o| {
                w.str(&o.media_type);
                w.str(&o.file_name);
                w.u32(o.width);
                w.u32(o.height);
                w.bytes(&o.bytes);
            });
            w.opt(f.fingerprint, |w, (phash, emblem)| {
                w.0.extend_from_slice(&phash.to_le_bytes());
                w.u32(emblem.to_bits());
            });
        }
        w.0
    }

    /// Reads [`Draft::encode`]'s bytes; `None` when they are not a whole draft of this format.
    pub fn decode(bytes: &[u8]) -> Option<Draft> {
        let mut r = Reader(bytes.strip_prefix(DRAFT_MAGIC)?);
        let (version, person, saved_at_ms, expires_at_ms) = (r.u32()?, r.string()?, r.f64()?, r.f64()?);
        let (lang, step) = (r.string()?, r.string()?);
        let mut raw = RawBundle::default();
        for f in raw_fields_mut(&mut raw) {
            *f = r.opt(Reader::string)?;
        }
        raw.qualification.holds_certificate = r.opt(|r| r.bool())?;
        raw.working_years = r.opt(Reader::u32)?;
        let touched = r.strings()?;
        let show_all = r.bool()?;
        let acks = r.strings()?;
        let omitted = r.u32()? as usize;
        let n = r.u32()? as usize;
        let mut files = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            let (part, index, file_name) = (r.string()?, r.u32()? as usize, r.string()?);
            let before = serde_json::from_str(&r.string()?).ok()?;
            let verdict = serde_json::from_str(&r.string()?).ok()?;
            let output = r.opt(|r| {
                let (media_type, file_name, width, height) = (r.string()?, r.string()?, r.u32()?, r.u32()?);
                let bytes = r.take_bytes()?.to_vec();
                Some(DraftOutput { media_type, file_name, width, height, len: bytes.len(), bytes })
            })?;
            let fingerprint = r.opt(|r| Some((u64::from_le_bytes(*r.array::<8>()?), f32::from_bits(r.u32()?))))?;
            files.push(DraftFile { part, index, file_name, before, verdict, output, fingerprint });
        }
        let draft = Draft {
            version,
            person,
            saved_at_ms,
            expires_at_ms,
            lang,
            step,
            raw,
            touched,
            show_all,
            acks,
            files,
            omitted,
        };
        r.0.is_empty().then_some(draft)
    }

    /// Whether this draft may be restored for `person` at `now_ms`: the same person, this
    /// format, not expired.
    pub fn restorable(&self, person: &str, now_ms: f64) -> bool {
        self.version == DRAFT_VERSION && self.person == person && now_ms < self.expires_at_ms
    }
}

/// Every text field of the form, in the draft's order (the two others, `holds_certificate` and
/// `working_years`, follow them). A test compares this list with the form's JSON, so a field added
/// to `RawBundle` and not here fails it.
fn raw_fields(r: &RawBundle) -> [&Option<String>; 18] {
    let (i, u, p, q, e) = (&r.identity, &r.unit, &r.post, &r.qualification, &r.education);
    [
        &i.name,
        &i.certificate_type,
        &i.certificate_number,
        &i.mobile,
        &r.gender,
        &r.birth_date,
        &u.name,
        &u.uscc,
        &u.kind,
        &p.status,
        &p.position,
        &q.certificate_origin,
        &q.title,
        &e.level,
        &e.school,
        &e.major,
        &e.graduation_date,
        &r.email,
    ]
}

/// [`raw_fields`], to fill in.
fn raw_fields_mut(r: &mut RawBundle) -> [&mut Option<String>; 18] {
    let (i, u, p, q, e) = (&mut r.identity, &mut r.unit, &mut r.post, &mut r.qualification, &mut r.education);
    [
        &mut i.name,
        &mut i.certificate_type,
        &mut i.certificate_number,
        &mut i.mobile,
        &mut r.gender,
        &mut r.birth_date,
        &mut u.name,
        &mut u.uscc,
        &mut u.kind,
        &mut p.status,
        &mut p.position,
        &mut q.certificate_origin,
        &mut q.title,
        &mut e.level,
        &mut e.school,
        &mut e.major,
        &mut e.graduation_date,
        &mut r.email,
    ]
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The draft encoding's writer.
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(len32(b.len()));
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn strs(&mut self, v: &[String]) {
        self.u32(len32(v.len()));
        for s in v {
            self.str(s);
        }
    }
    fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Writer, T)) {
        match v {
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
            None => self.u8(0),
        }
    }
}

/// The draft encoding's reader: every read is `None` past the end or on a malformed value.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn array<const N: usize>(&mut self) -> Option<&'a [u8; N]> {
        let (a, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|a| a[0])
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn u32(&mut self) -> Option<u32> {
        self.array::<4>().map(|a| u32::from_le_bytes(*a))
    }
    fn f64(&mut self) -> Option<f64> {
        self.array::<8>().map(|a| f64::from_le_bytes(*a))
    }
    fn take_bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        let (b, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(b)
    }
    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.take_bytes()?.to_vec()).ok()
    }
    fn strings(&mut self) -> Option<Vec<String>> {
        let n = self.u32()? as usize;
        (0..n).map(|_| self.string()).collect()
    }
    /// `Some(None)` for an absent value, `None` when malformed.
    fn opt<T>(&mut self, f: impl FnOnce(&mut Reader<'a>) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => f(self).map(Some),
            _ => None,
        }
    }
}

/// A draft read back, with the page's results of its files (in the order of `draft.files`;
/// files whose part is unknown are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    /// The draft.
    pub draft: Draft,
    /// Its files as results (object URLs made by `draft.rs`).
    pub results: Vec<(Part, usize, Rc<ImageResult>)>,
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

    /// The draft of the state as it is now, for `self.person`, saved at `now_ms` and kept for
    /// `days`; `None` when there is nothing to keep (not loaded, the person unknown, or the flow
    /// is over: the receipt is shown). Files that would take it over `max_bytes` are left out.
    pub fn draft(&self, now_ms: f64, days: f64, max_bytes: usize) -> Option<Draft> {
        let person = self.person.clone()?;
        if self.session().is_none() || self.step == Step::Receipt || self.already_submitted {
            return None;
        }
        let mut files = Vec::new();
        let mut omitted = 0;
        let mut size = 16 * 1024;
        for (part, slots) in &self.parts {
            for (index, slot) in slots.iter().enumerate() {
                if let Slot::Done(r) = slot {
                    let f = DraftFile::of(*part, index, r);
                    if size + f.size() > max_bytes {
                        omitted += 1;
                    } else {
                        size += f.size();
                        files.push(f);
                    }
                }
            }
        }
        Some(Draft {
            version: DRAFT_VERSION,
            person,
            saved_at_ms: now_ms,
            expires_at_ms: now_ms + days * 86_400_000.0,
            lang: self.lang.tag().to_owned(),
            step: self.step.name().to_owned(),
            raw: self.raw.clone(),
            touched: self.touched.iter().cloned().collect(),
            show_all: self.show_all,
            acks: self.acks.iter().map(|p| p.name().to_owned()).collect(),
            files,
            omitted,
        })
    }

    fn restore(&mut self, r: &Restored) {
        let Some(session) = self.session().cloned() else { return };
        let d = &r.draft;
        if self.already_submitted || self.person.as_deref() != Some(d.person.as_str()) {
            return;
        }
        // Defence in depth: a draft of another identity is never shown, whatever its key said.
        if d.raw.identity.certificate_number.as_deref() != Some(session.me.identity.certificate_number.as_str()) {
            return;
        }
        let mut raw = d.raw.clone();
        // The identity block is always iXiamen's, as loaded now.
        raw.identity = prefill(&session.me, None, session.today).identity;
        if self.working_years_locked() {
            raw.working_years = self.raw.working_years;
        }
        self.raw = raw;
        self.lang = Lang::parse(&d.lang);
        self.touched = d.touched.iter().cloned().collect();
        self.show_all = d.show_all;
        self.parts.clear();
        for (part, index, result) in &r.results {
            let slots = self.parts.entry(*part).or_default();
            if *index >= slots.len() {
                slots.push(Slot::Done(Rc::clone(result)));
            } else {
                slots.insert(*index, Slot::Done(Rc::clone(result)));
            }
        }
        self.acks = d.acks.iter().filter_map(|p| Part::parse(p)).collect();
        self.step = Step::parse(&d.step).filter(|s| *s != Step::Receipt).unwrap_or(Step::Identity);
        self.say("已恢复您未提交的草稿", "Your unsent draft was restored");
    }

    /// The session, once loaded.
    pub fn session(&self) -> Option<&Rc<Session>> {
        match &self.load {
            Load::Ready(s) => Some(s),
            _ => None,
        }
    }

    /// The certificate type (from iXiamen).
    pub fn certificate_type(&self) -> CertificateType {
        self.session().map_or(CertificateType::ResidentId, |s| s.me.identity.certificate_type)
    }

    /// The post status chosen, if any.
    pub fn post_status(&self) -> Option<PostStatus> {
        self.raw.post.status.as_deref().and_then(PostStatus::parse)
    }

    /// Which parts this person must or may upload.
    pub fn requirements(&self) -> Vec<Requirement> {
        requirements(self.certificate_type(), self.post_status().unwrap_or(PostStatus::OnPost))
    }

    /// Working years come from the archive and cannot be edited (FAQ 12).
    pub fn working_years_locked(&self) -> bool {
        self.session()
            .and_then(|s| s.archive.as_ref())
            .is_some_and(|a| a.holds_certificate && a.working_years.is_some())
    }

    /// Whether the form shows a field read-only: the birth date derived from an 18-digit number
    /// (until it is found wrong), a mobile iXiamen registered, working years from the archive (FAQ 12).
    pub fn field_readonly(&self, path: &str) -> bool {
        let Some(s) = self.session() else { return false };
        match path {
            "birth_date" => {
                s.me.identity.certificate_type != CertificateType::Passport
                    && self.raw.birth_date.is_some()
                    && self.field_problems("birth_date").is_empty()
            }
            "identity.mobile" => s.me.identity.mobile.is_some(),
            "working_years" => self.working_years_locked(),
            _ => fields::field(path).is_some_and(|f| f.section == Section::Identity),
        }
    }

    /// Runs the form rules: `Ok(warnings)` or `Err(problems)`.
    pub fn form_check(&self) -> Result<Vec<Problem>, Vec<Problem>> {
        let Some(s) = self.session() else { return Err(Vec::new()) };
        let ctx = Context { identity: &s.me.identity, today: s.today, archive: s.archive.as_ref().map(Archive::facts) };
        match validate(&self.raw, &ctx) {
            Ok((_, warnings)) => Ok(warnings.problems().to_vec()),
            Err(report) => Err(report.problems().to_vec()),
        }
    }

    /// The problems to show for one field (touched fields, or all after "next").
    pub fn field_problems(&self, name: &str) -> Vec<Problem> {
        self.visible_form_problems().into_iter().filter(|p| p.field == name).collect()
    }

    /// Every form problem the page shows now (of touched fields, or all after "next"), from one
    /// run of the form rules; views filter it by field.
    pub fn visible_form_problems(&self) -> Vec<Problem> {
        let problems = match self.form_check() {
            Ok(w) | Err(w) => w,
        };
        problems.into_iter().filter(|p| self.show_all || self.touched.contains(&p.field)).collect()
    }

    /// The checked results of a part.
    pub fn results(&self, part: Part) -> Vec<Rc<ImageResult>> {
        self.parts
            .get(&part)
            .map(|slots| {
                slots
                    .iter()
                    .filter_map(|s| match s {
                        Slot::Done(r) => Some(Rc::clone(r)),
                        Slot::Checking { .. } => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Problems between the two sides of the ID card or passport.
    pub fn pair_problems(&self, part: Part) -> Vec<Problem> {
        let pair = match part {
            Part::IdFront | Part::IdBack => (Part::IdFront, Part::IdBack),
            Part::PassportInfo | Part::PassportValidity => (Part::PassportInfo, Part::PassportValidity),
            _ => return Vec::new(),
        };
        match (self.results(pair.0).first(), self.results(pair.1).first()) {
            (Some(a), Some(b)) => pair_problems(a, b),
            _ => Vec::new(),
        }
    }

    /// Every problem of a part as it will be uploaded: each file's verdict, then pair problems.
    pub fn part_problems(&self, part: Part) -> Vec<Problem> {
        let mut out: Vec<Problem> = Vec::new();
        for r in self.results(part) {
            if r.output.is_none() {
                out.extend(r.before.problems().iter().cloned());
            } else {
                out.extend(r.verdict.problems().iter().cloned());
            }
        }
        // Both halves of a pair list the pair's problems; the second half owns them.
        if matches!(part, Part::IdBack | Part::PassportValidity) {
            out.extend(self.pair_problems(part));
        }
        out
    }

    /// The state of a part.
    pub fn part_state(&self, part: Part) -> PartState {
        let slots = self.parts.get(&part).map(Vec::as_slice).unwrap_or_default();
        if slots.is_empty() {
            return PartState::Empty;
        }
        if slots.iter().any(|s| matches!(s, Slot::Checking { .. })) {
            return PartState::Checking;
        }
        let problems = self.part_problems(part);
        let failed = self.results(part).iter().any(|r| r.output.is_none() || !r.verdict.passes());
        if failed || problems.iter().any(Problem::is_error) {
            PartState::Error
        } else if problems.iter().any(|p| p.severity == Severity::Warning) {
            PartState::Warning
        } else {
            PartState::Ok
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

    /// Why the photo and documents are not ready yet (empty when they are), zh / en.
    /// Parts not required by the current choices are not uploaded, so they never block.
    pub fn document_blockers(&self) -> Vec<(String, String)> {
        self.document_issues().into_iter().map(|(_, zh, en)| (zh, en)).collect()
    }

    /// [`State::document_blockers`] with the part each is about.
    pub fn document_issues(&self) -> Vec<(Part, String, String)> {
        let mut out = Vec::new();
        for req in self.requirements() {
            let (zh, en) = req.part.labels();
            let count = self.results(req.part).len();
            match self.part_state(req.part) {
                PartState::Checking => {
                    out.push((req.part, format!("{zh}正在检查"), format!("The {en} is being checked")));
                }
                PartState::Error => {
                    out.push((req.part, format!("{zh}不符合要求"), format!("The {en} does not meet the rules")));
                }
                PartState::Warning if !self.acks.contains(&req.part) => {
                    out.push((req.part, format!("请确认{zh}的提示"), format!("Acknowledge the warnings on the {en}")));
                }
                _ if count < req.min => out.push((req.part, format!("请上传{zh}"), format!("Upload the {en}"))),
                _ => {}
            }
        }
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

    /// The files to upload, in part order (only the parts the requirements allow).
    pub fn upload_files(&self) -> Vec<(Part, Rc<ImageResult>)> {
        let mut out = Vec::new();
        for req in self.requirements() {
            for r in self.results(req.part).into_iter().take(req.max) {
                if r.output.is_some() {
                    out.push((req.part, r));
                }
            }
        }
        out
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

    /// Applies one action.
    pub fn apply(&mut self, action: Action) {
        let from = self.step;
        self.apply_step(action);
        if self.step != from {
            self.summary = 0;
        }
    }

    fn apply_step(&mut self, action: Action) {
        if matches!(
            action,
            Action::SetLang(_)
                | Action::Field(..)
                | Action::Touch(_)
                | Action::Next
                | Action::Back
                | Action::Goto(_)
                | Action::Checked(..)
                | Action::Remove(..)
                | Action::Ack(..)
                | Action::Submitted(_)
                | Action::Restore(..)
                | Action::Navigate(_)
                | Action::AuthRequired
        ) {
            self.revision += 1;
        }
        match action {
            Action::SetLang(lang) => self.lang = lang,
            Action::Loaded(session) => {
                self.raw = prefill(&session.me, session.archive.as_ref(), session.today);
                let earlier = session
                    .submissions
                    .iter()
                    .find(|v| v.status != intake_rules::wire::SubmissionStatus::NeedsAttention)
                    .cloned();
                if let Some(v) = earlier.filter(|_| !session.config.features.modification_open) {
                    self.already_submitted = true;
                    self.receipt = Some(v);
                    self.step = Step::Receipt;
                } else {
                    self.step = Step::Identity;
                }
                self.load = Load::Ready(session);
                self.say("已加载", "Loaded");
            }
            Action::LoadFailed(f) => self.load = Load::Failed(f),
            Action::Reload => self.load = Load::Loading,
            Action::Field(name, value) => {
                if name == "working_years" && self.working_years_locked() {
                    return;
                }
                // The identity is iXiamen's (FAQ 4): shown read-only, never set from the page.
                if fields::field(&name).is_some_and(|f| f.section == Section::Identity) {
                    return;
                }
                set_field(&mut self.raw, &name, &value);
                self.touched.insert(name);
                self.bundle_changed();
            }
            Action::Touch(name) => {
                self.touched.insert(name);
            }
            Action::Next => match self.step {
                Step::Form if self.form_check().is_err() => {
                    self.show_all = true;
                    self.stuck();
                }
                Step::Documents if !self.document_blockers().is_empty() => self.stuck(),
                Step::Review => {}
                step => self.step = step.next(),
            },
            Action::Back => {
                if self.step != Step::Receipt {
                    self.step = self.step.prev();
                }
            }
            Action::Goto(step) => {
                if step < self.step && self.step != Step::Receipt {
                    self.step = step;
                }
            }
            Action::Checking(part, index, file_name) => {
                let slots = self.parts.entry(part).or_default();
                let slot = Slot::Checking { file_name: file_name.clone() };
                if index < slots.len() {
                    slots[index] = slot;
                } else {
                    slots.push(slot);
                }
                self.acks.remove(&part);
                self.bundle_changed();
                self.say(format!("正在检查 {file_name}"), format!("Checking {file_name}"));
            }
            Action::Checked(part, index, result) => {
                if let Some(slot) = self.parts.get_mut(&part).and_then(|s| s.get_mut(index)) {
                    // Ignore a late result for a slot that was replaced since.
                    if matches!(slot, Slot::Checking { file_name } if *file_name == result.file_name) {
                        *slot = Slot::Done(result);
                    }
                }
                let (zh, en) = part.labels();
                let (szh, sen) = match self.part_state(part) {
                    PartState::Ok => ("检查通过", "passed the checks"),
                    PartState::Warning => ("通过，但有提示需要确认", "passed with warnings to acknowledge"),
                    PartState::Error => ("未通过检查", "did not pass the checks"),
                    _ => ("", ""),
                };
                self.say(format!("{zh}{szh}"), format!("The {en} {sen}"));
            }
            Action::Remove(part, index) => {
                if let Some(slots) = self.parts.get_mut(&part)
                    && index < slots.len()
                {
                    slots.remove(index);
                }
                self.acks.remove(&part);
                self.bundle_changed();
            }
            Action::Ack(part, yes) => {
                if yes {
                    self.acks.insert(part);
                } else {
                    self.acks.remove(&part);
                }
            }
            Action::Submit(fresh) => {
                if !self.blockers().is_empty() || matches!(self.upload, Upload::Sending { .. }) {
                    return;
                }
                if self.key.is_none() {
                    self.key = Some(fresh);
                }
                self.upload = Upload::Sending { progress: 0.0, attempt: 1 };
                self.say("正在提交", "Submitting");
            }
            Action::Progress(attempt, progress) => {
                if matches!(self.upload, Upload::Sending { .. } | Upload::Waiting { .. }) {
                    self.upload = Upload::Sending { progress: progress.clamp(0.0, 1.0), attempt };
                }
            }
            Action::Waiting(attempt, seconds) => {
                self.upload = Upload::Waiting { attempt, seconds };
                self.say(
                    format!("网络中断，{seconds} 秒后自动重试（不会重复提交）"),
                    format!("Network lost; retrying in {seconds} s (it will not be submitted twice)"),
                );
            }
            Action::Failed(f) => {
                self.upload = Upload::Failed(f);
                self.say("提交失败", "Submission failed");
            }
            Action::Submitted(v) => {
                self.upload = Upload::Idle;
                self.receipt = Some(v);
                self.step = Step::Receipt;
                self.say("提交成功", "Submitted");
            }
            Action::Status(v) => {
                if self.receipt.as_ref().is_some_and(|r| r.id == v.id) {
                    self.receipt = Some(v);
                }
            }
            Action::Restore(person, restored) => {
                self.person = (!person.is_empty()).then_some(person);
                if let Some(r) = restored {
                    self.restore(&r);
                }
                self.draft_ready = true;
            }
            Action::DraftSaved(status) => self.draft_status = status,
            Action::AuthRequired => {
                self.auth_required = true;
                if self.uploading() || matches!(self.upload, Upload::Failed(_)) {
                    self.upload = Upload::Idle;
                }
                self.say(
                    "登录已过期，请重新登录；已填写的内容已保存",
                    "Your sign-in has expired: sign in again; your work is saved",
                );
            }
            Action::Resume { same } => {
                if !self.auth_required {
                    return;
                }
                if same && self.session().is_some() {
                    self.auth_required = false;
                    self.say("已重新登录，可以继续", "Signed in again: carry on");
                } else {
                    *self = State::new(self.lang);
                }
            }
            Action::Navigate(step) => {
                if self.step == Step::Receipt || self.session().is_none() {
                    return;
                }
                if step < self.step {
                    self.step = step;
                }
                // Forward (the browser's forward button): only as far as "next" would go.
                while self.step < step {
                    let before = self.step;
                    self.apply(Action::Next);
                    if self.step == before {
                        break;
                    }
                }
            }
        }
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

/// The form as it starts: the identity from iXiamen, the rest from the archive
/// (certificate holders) or derived from the certificate number (new applicants).
pub fn prefill(me: &Me, archive: Option<&Archive>, today: Date) -> RawBundle {
    let mut raw = RawBundle::default();
    let id = &me.identity;
    raw.identity.name = Some(id.name.clone());
    raw.identity.certificate_type = Some(id.certificate_type.as_str().to_owned());
    raw.identity.certificate_number = Some(id.certificate_number.clone());
    raw.identity.mobile = id.mobile.clone();
    if let Ok(Some(facts)) = parse_certificate(id.certificate_type, &id.certificate_number, today) {
        raw.gender = Some(
            match facts.gender {
                Gender::Male => "male",
                Gender::Female => "female",
            }
            .to_owned(),
        );
        raw.birth_date = Some(facts.birth_date.to_string());
    }
    if let Some(a) = archive {
        if raw.gender.is_none() {
            raw.gender.clone_from(&a.gender);
        }
        if raw.birth_date.is_none() {
            raw.birth_date.clone_from(&a.birth_date);
        }
        raw.unit = a.basic.unit.clone();
        raw.post.position.clone_from(&a.basic.position);
        raw.qualification.holds_certificate = Some(a.holds_certificate);
        raw.qualification.certificate_origin.clone_from(&a.certificate_origin);
        raw.qualification.title.clone_from(&a.basic.title);
        raw.education = a.basic.education.clone();
        raw.working_years = a.working_years;
    }
    raw
}

/// Sets one form field by its bundle JSON path (the table in `rules::form::fields` says how).
pub fn set_field(raw: &mut RawBundle, name: &str, value: &str) {
    fields::set(raw, name, value);
}

/// Reads one form field by its bundle JSON path (for the inputs' values).
pub fn get_field(raw: &RawBundle, name: &str) -> String {
    fields::get(raw, name)
}

/// One line of the review: a field of the table, its value as the person reads it, and the
/// step where it is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    /// The field's bundle path.
    pub path: &'static str,
    /// Its labels, zh-CN and English.
    pub labels: (&'static str, &'static str),
    /// The value shown, zh-CN and English (choices by their labels; empty optional fields say so).
    pub value: (String, String),
    /// Where to change it.
    pub step: Step,
}

/// Every field of the table that applies to this bundle, for the review (issue 13: the review
/// lists every field). Identity fields are iXiamen's and shown as registered, the number masked.
pub fn review_rows(raw: &RawBundle) -> Vec<ReviewRow> {
    FIELDS
        .iter()
        .filter(|f| f.applies(raw))
        .map(|f| {
            let (mut zh, mut en) = (f.display(raw, false), f.display(raw, true));
            if f.path == "identity.certificate_number" {
                zh = intake_rules::form::numbers::mask(&zh);
                en.clone_from(&zh);
            }
            if zh.trim().is_empty() {
                zh = "未填写".to_owned();
                en = "Not given".to_owned();
            }
            let step = if f.section == Section::Identity { Step::Identity } else { Step::Form };
            ReviewRow { path: f.path, labels: f.labels(), value: (zh, en), step }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checked::ImageOutput;
    use crate::model::{Features, Help};
    use intake_rules::catalog::Code;
    use intake_rules::form::Identity;
    use intake_rules::profile::ProfileSet;
    use intake_rules::report::Report;

    fn people() -> serde_json::Value {
        serde_json::from_str(include_str!("../../tests/fixtures/people.json")).expect("people.json")
    }

    fn session_for(key: &str, modification_open: bool, submissions: Vec<SubmissionView>) -> Rc<Session> {
        let all = people();
        let p = all["people"].as_array().unwrap().iter().find(|p| p["key"] == key).expect("person").clone();
        let identity = Identity {
            name: p["name"].as_str().unwrap().to_owned(),
            certificate_type: CertificateType::parse(p["certificate_type"].as_str().unwrap()).unwrap(),
            certificate_number: p["certificate_number"].as_str().unwrap().to_owned(),
            mobile: p["mobile"].as_str().map(str::to_owned),
        };
        let archive = p.get("archive").filter(|a| !a.is_null()).map(|a| {
            let mut a = a.clone();
            a["gender"] = p["gender"].clone();
            a["birth_date"] = p["birth_date"].clone();
            serde_json::from_value::<Archive>(a).expect("archive")
        });
        Rc::new(Session {
            config: WidgetConfig {
                profile: ProfileSet::embedded().default_profile().clone(),
                help: Help::default(),
                features: Features { modification_open },
            },
            me: Me { identity, certificate_number_masked: "***".into(), mobile_masked: None, name_has_pinyin: false },
            archive,
            submissions,
            today: Date::new(2026, 11, 26).unwrap(),
        })
    }

    fn loaded(key: &str) -> State {
        let mut s = State::default();
        s.apply(Action::Loaded(session_for(key, false, Vec::new())));
        s
    }

    fn result(part: Part, name: &str, verdict: Vec<Problem>, output: bool) -> Rc<ImageResult> {
        let mut report = Report::new();
        report.extend(verdict);
        Rc::new(ImageResult {
            part,
            file_name: name.to_owned(),
            before: report.clone(),
            verdict: report,
            output: output.then(|| ImageOutput {
                bytes: vec![0xFF, 0xD8, 0xFF],
                media_type: "image/jpeg".into(),
                file_name: format!("{}.jpg", part.name()),
                width: 295,
                height: 413,
                url: "blob:x".into(),
            }),
            before_url: None,
            fingerprint: None,
        })
    }

    fn attach(s: &mut State, part: Part, verdict: Vec<Problem>, output: bool) {
        let index = s.parts.get(&part).map_or(0, Vec::len);
        let name = format!("{}-{index}.jpg", part.name());
        s.apply(Action::Checking(part, index, name.clone()));
        assert_eq!(s.part_state(part), PartState::Checking);
        s.apply(Action::Checked(part, index, result(part, &name, verdict, output)));
    }

    fn field(s: &mut State, name: &str, value: &str) {
        s.apply(Action::Field(name.to_owned(), value.to_owned()));
    }

    #[test]
    fn a_certificate_holder_starts_from_the_archive_with_locked_working_years() {
        let mut s = loaded("xiamen-holder");
        assert_eq!(s.step, Step::Identity);
        assert_eq!(s.raw.unit.uscc.as_deref(), Some("91350200MA31U8K4XK"));
        assert_eq!(s.raw.working_years, Some(12));
        assert_eq!(s.raw.gender.as_deref(), Some("female"));
        assert_eq!(s.raw.birth_date.as_deref(), Some("1985-07-15"));
        assert!(s.working_years_locked());
        field(&mut s, "working_years", "30");
        assert_eq!(s.raw.working_years, Some(12), "FAQ 12: read-only for holders");
        // Only the post status is missing.
        let problems = s.form_check().unwrap_err();
        assert_eq!(problems.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), vec!["post.status"]);
        field(&mut s, "post.status", "on_post");
        assert!(s.form_check().is_ok());
    }

    #[test]
    fn a_new_applicant_gets_gender_and_birth_date_from_the_number_and_types_the_rest() {
        let mut s = loaded("new-applicant");
        assert!(s.session().unwrap().archive.is_none());
        assert_eq!(s.raw.birth_date.as_deref(), Some("1998-11-02"));
        assert_eq!(s.raw.gender.as_deref(), Some("female"));
        assert!(!s.working_years_locked());
        field(&mut s, "working_years", "40");
        assert_eq!(s.raw.working_years, Some(40));
        let problems = s.form_check().unwrap_err();
        assert!(problems.iter().any(|p| p.code == Code::FormWorkingYearsExceedAge), "{problems:?}");
    }

    #[test]
    fn next_on_an_invalid_form_shows_every_problem_and_stays() {
        let mut s = loaded("new-applicant");
        s.apply(Action::Next);
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Form);
        assert!(s.field_problems("unit.uscc").is_empty(), "untouched fields are quiet");
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Form);
        assert!(s.show_all);
        assert_eq!(s.field_problems("unit.uscc")[0].code, Code::FormRequired);
        field(&mut s, "unit.uscc", "91350200MA31U8K4XA");
        assert_eq!(s.field_problems("unit.uscc")[0].code, Code::FormUsccInvalid);
        field(&mut s, "unit.uscc", "91350200ma31u8k4xk");
        assert_eq!(s.raw.unit.uscc.as_deref(), Some("91350200MA31U8K4XK"), "upper-cased as typed");
        assert!(s.field_problems("unit.uscc").is_empty());
    }

    #[test]
    fn next_that_cannot_proceed_shows_a_summary_that_leads_to_each_problem() {
        let mut s = loaded("new-applicant");
        s.apply(Action::Next);
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Form);
        assert!(s.summary_shown().is_empty(), "no summary before next is pressed");
        s.apply(Action::Next);
        assert_eq!(s.summary, 1);
        let items = s.summary_shown();
        // One line per error of the form, each leading to its control's id.
        let errors: Vec<Problem> = s.form_check().unwrap_err().into_iter().filter(Problem::is_error).collect();
        assert_eq!(items.len(), errors.len());
        assert!(items.iter().any(|i| i.target == "ix-f-unit-uscc"), "{items:?}");
        for (i, p) in items.iter().zip(&errors) {
            assert_eq!(i.target, format!("ix-f-{}", p.field.replace('.', "-")));
            assert_eq!(i.text.0, p.message.zh);
        }
        assert!(s.live.0.starts_with(&format!("有{}处需要处理：", items.len())), "{:?}", s.live);
        assert!(s.live.0.contains(&items[0].text.0), "announced with its lines");
        assert!(s.live.1.starts_with(&format!("There are {} problems: ", items.len())), "{:?}", s.live);
        // Pressing again shows it again (the view refocuses it); fixing a field drops its line.
        s.apply(Action::Next);
        assert_eq!(s.summary, 2);
        field(&mut s, "unit.uscc", "91350200MA31U8K4XK");
        assert!(!s.summary_shown().iter().any(|i| i.target == "ix-f-unit-uscc"));
        // A new step starts without a summary.
        s.apply(Action::Back);
        assert_eq!(s.summary, 0);
        assert!(s.summary_shown().is_empty());
    }

    #[test]
    fn next_on_documents_with_missing_and_refused_parts_lists_each_part() {
        let mut s = ready_holder();
        attach(&mut s, Part::Photo, vec![Problem::new("photo", Code::PhotoNotColour, &[])], false);
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Documents);
        let targets: Vec<String> = s.summary_shown().into_iter().map(|i| i.target).collect();
        assert_eq!(targets, vec!["ix-part-photo", "ix-part-id_front", "ix-part-id_back"]);
        let photo = &s.summary_shown()[0].text;
        assert!(photo.0.contains("不符合") && photo.1.contains("does not meet"), "{photo:?}");
        s.apply(Action::Remove(Part::Photo, 0));
        attach(&mut s, Part::Photo, Vec::new(), true);
        attach(&mut s, Part::IdFront, Vec::new(), true);
        attach(&mut s, Part::IdBack, Vec::new(), true);
        assert!(s.summary_shown().is_empty(), "nothing left to list");
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Review);
        assert_eq!(s.summary, 0);
    }

    #[test]
    fn required_documents_follow_certificate_type_and_post_status() {
        let mut s = loaded("passport-holder");
        field(&mut s, "post.status", "on_post");
        let parts: Vec<Part> = s.requirements().iter().filter(|r| r.min > 0).map(|r| r.part).collect();
        assert_eq!(parts, vec![Part::Photo, Part::PassportInfo, Part::PassportValidity, Part::WorkCertificate]);
        let mut s = loaded("xiamen-holder");
        field(&mut s, "post.status", "off_post");
        let reqs = s.requirements();
        let required: Vec<Part> = reqs.iter().filter(|r| r.min > 0).map(|r| r.part).collect();
        assert_eq!(required, vec![Part::Photo, Part::IdFront, Part::IdBack]);
        assert!(reqs.iter().any(|r| r.part == Part::Supporting && r.min == 0 && r.max == 3));
    }

    fn ready_holder() -> State {
        let mut s = loaded("xiamen-holder");
        field(&mut s, "post.status", "off_post");
        for _ in 0..4 {
            s.apply(Action::Next);
        }
        assert_eq!(s.step, Step::Documents);
        s
    }

    #[test]
    fn errors_block_warnings_need_acknowledging_and_late_results_are_ignored() {
        let mut s = ready_holder();
        assert!(!s.can_submit());
        attach(&mut s, Part::Photo, vec![Problem::new("photo", Code::PhotoNotColour, &[])], false);
        assert_eq!(s.part_state(Part::Photo), PartState::Error);
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Documents, "an error keeps the person on the documents step");
        // Replace the photo; the old file's late result must not overwrite the new slot.
        s.apply(Action::Checking(Part::Photo, 0, "new.jpg".into()));
        s.apply(Action::Checked(Part::Photo, 0, result(Part::Photo, "old.jpg", Vec::new(), true)));
        assert_eq!(s.part_state(Part::Photo), PartState::Checking);
        s.apply(Action::Checked(Part::Photo, 0, result(Part::Photo, "new.jpg", Vec::new(), true)));
        assert_eq!(s.part_state(Part::Photo), PartState::Ok);
        attach(&mut s, Part::IdFront, Vec::new(), true);
        let swapped =
            Problem::new("id_back", Code::DocumentSidesSwapped, &[("first", "a".into()), ("second", "b".into())]);
        attach(&mut s, Part::IdBack, vec![swapped], true);
        assert_eq!(s.part_state(Part::IdBack), PartState::Warning);
        assert!(!s.can_submit());
        s.apply(Action::Ack(Part::IdBack, true));
        assert!(s.can_submit(), "{:?}", s.blockers());
        s.apply(Action::Next);
        assert_eq!(s.step, Step::Review);
        let files: Vec<Part> = s.upload_files().iter().map(|(p, _)| *p).collect();
        assert_eq!(files, vec![Part::Photo, Part::IdFront, Part::IdBack]);
        s.apply(Action::Remove(Part::IdFront, 0));
        assert!(!s.can_submit());
        assert!(!s.acks.contains(&Part::IdFront));
    }

    fn submittable() -> State {
        let mut s = ready_holder();
        for part in [Part::Photo, Part::IdFront, Part::IdBack] {
            attach(&mut s, part, Vec::new(), true);
        }
        s.apply(Action::Next);
        assert!(s.can_submit(), "{:?}", s.blockers());
        s
    }

    #[test]
    fn one_idempotency_key_per_bundle_across_retries() {
        let mut s = submittable();
        s.apply(Action::Submit("key-1".into()));
        assert_eq!(s.key.as_deref(), Some("key-1"));
        assert!(!s.can_submit(), "no second upload while one is running");
        s.apply(Action::Submit("key-x".into()));
        assert_eq!(s.key.as_deref(), Some("key-1"));
        s.apply(Action::Waiting(2, 2));
        s.apply(Action::Failed(Failure { problems: Vec::new(), retryable: true }));
        s.apply(Action::Submit("key-2".into()));
        assert_eq!(s.key.as_deref(), Some("key-1"), "a retry of the same bundle reuses its key");
        s.apply(Action::Failed(Failure { problems: Vec::new(), retryable: true }));
        field(&mut s, "email", "chen@example.com");
        assert_eq!(s.key, None, "a changed bundle gets a new key");
        s.apply(Action::Submit("key-3".into()));
        assert_eq!(s.key.as_deref(), Some("key-3"));
        let receipt = SubmissionView {
            receipt_number: None,
            id: "sub-1".into(),
            status: intake_rules::wire::SubmissionStatus::Received,
            status_label: None,
            received_at: "2026-11-26T12:00:00Z".into(),
            reason: None,
            kind: None,
        };
        s.apply(Action::Submitted(receipt.clone()));
        assert_eq!(s.step, Step::Receipt);
        s.apply(Action::Back);
        assert_eq!(s.step, Step::Receipt, "no way back into a submitted bundle");
        let mut later = receipt;
        later.status = intake_rules::wire::SubmissionStatus::Accepted;
        s.apply(Action::Status(later));
        assert_eq!(s.receipt.as_ref().unwrap().status, intake_rules::wire::SubmissionStatus::Accepted);
    }

    #[test]
    fn an_earlier_submission_shows_the_receipt_while_modification_is_closed() {
        let earlier = SubmissionView {
            receipt_number: None,
            id: "sub-0".into(),
            status: intake_rules::wire::SubmissionStatus::Forwarded,
            status_label: None,
            received_at: String::new(),
            reason: None,
            kind: Some("submission".into()),
        };
        let mut s = State::default();
        s.apply(Action::Loaded(session_for("xiamen-holder", false, vec![earlier.clone()])));
        assert_eq!(s.step, Step::Receipt);
        assert!(s.already_submitted);
        assert_eq!(s.amends(), None);
        let mut s = State::default();
        s.apply(Action::Loaded(session_for("xiamen-holder", true, vec![earlier])));
        assert_eq!(s.step, Step::Identity, "with modification open the flow becomes an amendment");
        assert_eq!(s.amends(), Some("sub-0"));
    }

    #[test]
    fn fields_round_trip_through_their_names() {
        let mut raw = RawBundle::default();
        for (name, value) in [
            ("unit.name", "厦门某公司"),
            ("unit.type", "enterprise"),
            ("post.position", "会计"),
            ("qualification.holds_certificate", "true"),
            ("qualification.certificate_origin", "elsewhere"),
            ("education.graduation_date", "2010-07-01"),
            ("working_years", "5"),
            ("email", "a@b.cn"),
        ] {
            set_field(&mut raw, name, value);
            assert_eq!(get_field(&raw, name), value, "{name}");
        }
        set_field(&mut raw, "qualification.holds_certificate", "false");
        assert_eq!(raw.qualification.certificate_origin, None, "origin only applies to holders");
        set_field(&mut raw, "unit.name", "   ");
        assert_eq!(raw.unit.name, None);
    }

    /// A value for a field of the table, as a person would give it.
    fn sample_value(f: &intake_rules::form::Field) -> String {
        use intake_rules::form::Kind;
        match f.kind {
            Kind::Choice(_) => f.kind.options().last().map(|(wire, _)| (*wire).to_owned()).unwrap_or_default(),
            Kind::Date => "2010-07-01".into(),
            Kind::Number => "7".into(),
            Kind::Email => "a@b.cn".into(),
            Kind::Tel => "13900139000".into(),
            Kind::Text { .. } => format!("值 {}", f.path.len()),
        }
    }

    /// Every field of the table goes through the reducer's `Action::Field` and comes back through
    /// `get_field`, and the review lists it with its label and its value (a choice by its label).
    #[test]
    fn every_field_of_the_table_goes_through_the_reducer_and_appears_on_the_review() {
        let mut s = loaded("new-applicant");
        // Holders are asked where the certificate was issued: answer that first.
        field(&mut s, "qualification.holds_certificate", "true");
        for f in FIELDS {
            let value = sample_value(f);
            let value = if f.path == "qualification.holds_certificate" { "true".to_owned() } else { value };
            let before = get_field(&s.raw, f.path);
            field(&mut s, f.path, &value);
            if f.section == Section::Identity {
                assert_eq!(
                    get_field(&s.raw, f.path),
                    before,
                    "{}: iXiamen's identity is not set from the page",
                    f.path
                );
                assert!(!before.is_empty(), "{} comes from iXiamen", f.path);
            } else {
                assert_eq!(get_field(&s.raw, f.path), value, "{}", f.path);
            }
        }
        let rows = review_rows(&s.raw);
        let listed: Vec<&str> = rows.iter().map(|r| r.path).collect();
        let every: Vec<&str> = FIELDS.iter().map(|f| f.path).collect();
        assert_eq!(listed, every, "the review lists every field, in the table's order");
        for must in ["gender", "birth_date", "email", "unit.type", "education.major", "education.graduation_date"] {
            assert!(listed.contains(&must), "{must} is on the review");
        }
        for (row, f) in rows.iter().zip(FIELDS) {
            assert_eq!(row.labels, (f.zh, f.en));
            let value = get_field(&s.raw, f.path);
            match f.kind.options().into_iter().find(|(wire, _)| *wire == value) {
                Some((_, (zh, en))) => assert_eq!(row.value, (zh.to_owned(), en.to_owned()), "{}", f.path),
                None if f.path == "identity.certificate_number" => {
                    assert!(row.value.0.contains('*') && row.value.0 != value, "the number is masked: {:?}", row.value);
                }
                None => assert_eq!(row.value, (value.clone(), value), "{}", f.path),
            }
        }
        // What the form shows read-only, the review offers no change for.
        let fresh = loaded("new-applicant");
        assert!(
            fresh.field_readonly("identity.name") && fresh.field_readonly("birth_date"),
            "derived from the ID number"
        );
        assert!(
            !fresh.field_readonly("unit.name") && !fresh.field_readonly("working_years"),
            "a new applicant types these"
        );
        assert!(!s.field_readonly("birth_date"), "a birth date found wrong (here: not the number's) becomes editable");
        // Not a holder: the certificate origin is not asked, so not listed; an empty optional field says so.
        field(&mut s, "qualification.holds_certificate", "false");
        field(&mut s, "email", "");
        let rows = review_rows(&s.raw);
        assert!(!rows.iter().any(|r| r.path == "qualification.certificate_origin"));
        let email = rows.iter().find(|r| r.path == "email").expect("email row");
        assert_eq!(email.value, ("未填写".to_owned(), "Not given".to_owned()));
    }

    const PERSON: &str = "person-a";
    const NOW: f64 = 1_800_000_000_000.0;

    fn with_person(mut s: State) -> State {
        s.apply(Action::Restore(PERSON.into(), None));
        assert!(s.draft_ready);
        s
    }

    /// The draft round trip as draft.rs does it: encode, decode, results with fresh URLs.
    fn reopen(draft: &Draft, key: &str) -> State {
        let bytes = draft.encode();
        let back = Draft::decode(&bytes).expect("decodes");
        assert_eq!(&back, draft, "encode/decode is lossless, bytes included");
        let results = back
            .files
            .iter()
            .filter_map(|f| Some((Part::parse(&f.part)?, f.index, Rc::new(f.to_result("blob:new".into())?))))
            .collect();
        let mut s = loaded(key);
        let ok = back.restorable(PERSON, NOW + 1.0);
        s.apply(Action::Restore(PERSON.into(), ok.then(|| Rc::new(Restored { draft: back, results }))));
        s
    }

    #[test]
    fn a_draft_restores_the_form_files_verdicts_acks_step_and_language() {
        let mut s = with_person(ready_holder());
        field(&mut s, "email", "chen@example.com");
        attach(&mut s, Part::Photo, Vec::new(), true);
        attach(&mut s, Part::IdFront, Vec::new(), true);
        let swapped =
            Problem::new("id_back", Code::DocumentSidesSwapped, &[("first", "a".into()), ("second", "b".into())]);
        attach(&mut s, Part::IdBack, vec![swapped], true);
        s.apply(Action::Ack(Part::IdBack, true));
        s.apply(Action::Checking(Part::Supporting, 0, "still-checking.jpg".into()));
        s.apply(Action::SetLang(Lang::En));
        s.apply(Action::Submit("key-1".into()));
        let d = s.draft(NOW, DRAFT_DEFAULT_DAYS, DRAFT_MAX_BYTES).expect("a draft");
        assert_eq!(d.step, "documents");
        assert_eq!(d.files.len(), 3, "files still being checked are not kept");
        assert_eq!(d.expires_at_ms, NOW + 7.0 * 86_400_000.0, "kept 7 days by default");

        let r = reopen(&d, "xiamen-holder");
        assert_eq!(r.step, Step::Documents);
        assert_eq!(r.lang, Lang::En);
        assert_eq!(r.raw, s.raw);
        assert_eq!(r.raw.email.as_deref(), Some("chen@example.com"));
        assert_eq!(r.touched, s.touched);
        assert_eq!(r.acks, s.acks);
        assert_eq!(r.part_state(Part::IdBack), PartState::Warning);
        assert_eq!(r.part_state(Part::Photo), PartState::Ok);
        assert_eq!(r.part_state(Part::Supporting), PartState::Empty);
        assert_eq!(r.results(Part::Photo)[0].output.as_ref().unwrap().bytes, vec![0xFF, 0xD8, 0xFF]);
        assert_eq!(r.results(Part::Photo)[0].output.as_ref().unwrap().url, "blob:new");
        assert_eq!(r.upload, Upload::Idle, "the upload is not part of a draft");
        assert_eq!(r.key, None, "nor its idempotency key");
        assert!(r.blockers().is_empty(), "{:?}", r.blockers());
    }

    #[test]
    fn the_draft_encoding_keeps_every_form_field_and_every_value() {
        // Every leaf of the form's JSON is one of the draft's fields: fill each with a distinct
        // value through the JSON (the wire's own names) and read it back through the encoding.
        let mut json = serde_json::to_value(RawBundle::default()).unwrap();
        let mut leaves = 0;
        for (group, v) in json.as_object_mut().unwrap() {
            let mut fill = |name: &str, v: &mut serde_json::Value| {
                leaves += 1;
                *v = match name {
                    "holds_certificate" => serde_json::Value::Bool(true),
                    "working_years" => serde_json::json!(12),
                    _ => serde_json::Value::String(format!("{group}.{name} 值")),
                };
            };
            match v.as_object_mut() {
                Some(fields) => fields.iter_mut().for_each(|(k, v)| fill(k, v)),
                None => fill(group, v),
            }
        }
        let raw: RawBundle = serde_json::from_value(json).unwrap();
        assert_eq!(leaves, 18 + 2, "raw_fields and the two typed fields");
        assert!(raw_fields(&raw).iter().all(|f| f.is_some()));
        let mut s = with_person(ready_holder());
        s.raw = raw.clone();
        let mut d = s.draft(NOW, 7.0, DRAFT_MAX_BYTES).unwrap();
        d.files.push(DraftFile {
            part: "photo".into(),
            index: 1,
            file_name: "照片.jpg".into(),
            before: Report::new(),
            verdict: std::iter::once(Problem::new(
                "photo",
                Code::PhotoBlurry,
                &[("value", 3.into()), ("min", 4.into())],
            ))
            .collect(),
            output: Some(DraftOutput {
                media_type: "image/jpeg".into(),
                file_name: "照片.jpg".into(),
                width: 295,
                height: 413,
                len: 3,
                bytes: vec![0xFF, 0xD8, 0xFF],
            }),
            fingerprint: Some((u64::MAX - 7, 0.125)),
        });
        d.files.push(DraftFile { output: None, fingerprint: None, ..d.files[0].clone() });
        let back = Draft::decode(&d.encode()).expect("decodes");
        assert_eq!(back, d);
        assert_eq!(back.raw, raw);
        // Absent values stay absent.
        let empty = Draft { raw: RawBundle::default(), files: Vec::new(), ..d };
        assert_eq!(Draft::decode(&empty.encode()), Some(empty));
    }

    #[test]
    fn a_draft_never_holds_the_token_or_the_upload() {
        let mut s = with_person(submittable());
        s.apply(Action::Submit("idem-key-123".into()));
        let d = s.draft(NOW, 1.0, DRAFT_MAX_BYTES).unwrap();
        let json: serde_json::Value = serde_json::to_value(&d).unwrap();
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            vec![
                "acks",
                "expires_at_ms",
                "files",
                "lang",
                "omitted",
                "person",
                "raw",
                "saved_at_ms",
                "show_all",
                "step",
                "touched",
                "version"
            ],
            "exactly these: no token, no upload, no key"
        );
        let text = String::from_utf8_lossy(&d.encode()).to_lowercase();
        for word in ["token", "bearer", "authorization", "idem-key-123", "eyj"] {
            assert!(!text.contains(word), "{word} is never saved");
        }
    }

    #[test]
    fn no_draft_without_a_person_or_after_the_receipt_and_files_over_the_bound_are_left_out() {
        let s = ready_holder();
        assert_eq!(s.draft(NOW, 7.0, DRAFT_MAX_BYTES), None, "the person is not known yet");
        let mut s = with_person(submittable());
        let d = s.draft(NOW, 7.0, 16 * 1024 + 1024 + 3 + 2).unwrap();
        assert_eq!((d.files.len(), d.omitted), (1, 2), "only what fits");
        s.apply(Action::Submitted(SubmissionView {
            receipt_number: None,
            id: "sub-1".into(),
            status: intake_rules::wire::SubmissionStatus::Received,
            status_label: None,
            received_at: String::new(),
            reason: None,
            kind: None,
        }));
        assert_eq!(s.draft(NOW, 7.0, DRAFT_MAX_BYTES), None, "a submitted bundle leaves no draft");
    }

    #[test]
    fn an_expired_draft_another_persons_or_a_damaged_one_is_not_restored() {
        let mut s = with_person(ready_holder());
        field(&mut s, "email", "chen@example.com");
        let d = s.draft(NOW, 7.0, DRAFT_MAX_BYTES).unwrap();
        assert!(d.restorable(PERSON, NOW + 6.9 * 86_400_000.0));
        assert!(!d.restorable(PERSON, NOW + 7.0 * 86_400_000.0), "expired after 7 days");
        assert!(!d.restorable("person-b", NOW), "another person's draft");
        let mut old = d.clone();
        old.version = 0;
        assert!(!old.restorable(PERSON, NOW));
        let bytes = d.encode();
        assert_eq!(Draft::decode(&bytes[..bytes.len() - 1]), None, "a truncated draft");
        assert_eq!(Draft::decode(b"IXD1"), None);
        // Every shorter prefix, and anything after a whole draft, is not a draft.
        for n in 0..bytes.len() {
            assert_eq!(Draft::decode(&bytes[..n]), None, "prefix of {n} bytes");
        }
        assert_eq!(Draft::decode(&[&bytes[..], b"x"].concat()), None, "bytes after the draft");
        // A draft of the former (JSON) format is not read.
        let mut v1 = b"IXD1".to_vec();
        v1.extend_from_slice(&bytes[4..]);
        assert_eq!(Draft::decode(&v1), None);

        // Restored into another person's session (same device, key mix-up): nothing is taken.
        let mut other = loaded("new-applicant");
        other.apply(Action::Restore(PERSON.into(), Some(Rc::new(Restored { draft: d.clone(), results: Vec::new() }))));
        assert_eq!(other.step, Step::Identity);
        assert_eq!(other.raw.email, None, "a draft of another identity is never shown");
        // Or to a different person key.
        let mut b = loaded("xiamen-holder");
        b.apply(Action::Restore("person-b".into(), Some(Rc::new(Restored { draft: d, results: Vec::new() }))));
        assert_eq!(b.raw.email, None);
        assert!(b.draft_ready);
    }

    #[test]
    fn the_history_moves_between_steps_with_the_guards_of_next() {
        let mut s = loaded("new-applicant");
        s.apply(Action::Navigate(Step::Form));
        assert_eq!(s.step, Step::Form, "forward through steps that need nothing");
        s.apply(Action::Navigate(Step::Review));
        assert_eq!(s.step, Step::Form, "not past an invalid form");
        s.apply(Action::Navigate(Step::Identity));
        assert_eq!(s.step, Step::Identity, "back");
        let mut s = with_person(submittable());
        let before = s.revision;
        s.apply(Action::AuthRequired);
        assert!(s.auth_required);
        assert!(s.revision > before, "the draft is saved when the sign-in is refused");
        assert_eq!(s.step, Step::Review, "the person stays where they are");
    }

    #[test]
    fn signing_in_again_in_place_continues_for_the_same_person_and_starts_afresh_for_anyone_else() {
        let mut s = with_person(submittable());
        s.apply(Action::Resume { same: true });
        assert_eq!(s.step, Step::Review, "nothing to resume without a 401");
        s.apply(Action::AuthRequired);
        let parts = s.parts.clone();
        s.apply(Action::Resume { same: true });
        assert!(!s.auth_required, "the prompt goes");
        assert_eq!(s.step, Step::Review, "the same step");
        assert_eq!(s.parts, parts, "every file is still there");
        assert!(s.can_submit(), "and it can be submitted: {:?}", s.blockers());

        let mut s = with_person(submittable());
        s.apply(Action::AuthRequired);
        s.apply(Action::Resume { same: false });
        assert!(!s.auth_required);
        assert!(matches!(s.load, Load::Loading), "another person's session is loaded afresh");
        assert!(s.parts.is_empty() && s.person.is_none() && s.key.is_none(), "none of the first person's work");
        assert_eq!(s.raw, RawBundle::default());
        assert!(!s.draft_ready, "no draft is saved until the new person's is looked for");
    }
}
