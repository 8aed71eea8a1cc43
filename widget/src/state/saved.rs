//! The draft: what is kept on this device as the person works ([`Draft`], made by
//! [`State::draft`]), its compact byte encoding, and its restore into the state. `draft.rs`
//! encrypts and stores the bytes; this module touches no browser API.

use std::rc::Rc;

use intake_rules::form::RawBundle;
use intake_rules::report::Report;
use intake_rules::submission::Part;
#[cfg(test)]
use serde::Serialize;

use super::{Slot, State, Step, prefill};
use crate::checked::{ImageOutput, ImageResult};
use crate::i18n::Lang;

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
pub(super) fn raw_fields(r: &RawBundle) -> [&Option<String>; 18] {
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

impl State {
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

    pub(super) fn restore(&mut self, r: &Restored) {
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
}
