//! A whole submission: which documents a bundle must carry (FAQ 7, FAQ 10),
//! and the complete re-check the backend runs on every upload. The widget
//! runs the same functions before it uploads.

use crate::attachment;
use crate::catalog::Code;
use crate::document::{self, DocumentKind, ProcessedDocument};
use crate::form::{self, Bundle, CertificateType, Context, PostStatus};
use crate::photo;
use crate::profile::PhotoProfile;
use crate::report::{Problem, Report};

/// An upload part (api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// The standard photo.
    Photo,
    /// ID card portrait side.
    IdFront,
    /// ID card emblem side.
    IdBack,
    /// Passport personal-information page.
    PassportInfo,
    /// Passport validity page.
    PassportValidity,
    /// Work certificate.
    WorkCertificate,
    /// Student ID, household registration, other-post work certificate.
    Supporting,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 7] = [
        Part::Photo,
        Part::IdFront,
        Part::IdBack,
        Part::PassportInfo,
        Part::PassportValidity,
        Part::WorkCertificate,
        Part::Supporting,
    ];

    /// The multipart name.
    pub fn name(self) -> &'static str {
        match self {
            Part::Photo => "photo",
            Part::IdFront => "id_front",
            Part::IdBack => "id_back",
            Part::PassportInfo => "passport_info",
            Part::PassportValidity => "passport_validity",
            Part::WorkCertificate => "work_certificate",
            Part::Supporting => "supporting",
        }
    }

    /// Parses a multipart name.
    pub fn parse(name: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Display names, zh-CN and English.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Part::Photo => ("标准证件照", "standard photo"),
            Part::IdFront => DocumentKind::IdFront.names(),
            Part::IdBack => DocumentKind::IdBack.names(),
            Part::PassportInfo => DocumentKind::PassportInfo.names(),
            Part::PassportValidity => DocumentKind::PassportValidity.names(),
            Part::WorkCertificate => ("工作证明", "work certificate"),
            Part::Supporting => (
                "其他证明材料（其他岗位工作证明或学生证、户籍证明）",
                "supporting documents (other-post work certificate, or student ID and household registration)",
            ),
        }
    }

    /// The document kind of an identity-document part.
    pub fn document_kind(self) -> Option<DocumentKind> {
        match self {
            Part::IdFront => Some(DocumentKind::IdFront),
            Part::IdBack => Some(DocumentKind::IdBack),
            Part::PassportInfo => Some(DocumentKind::PassportInfo),
            Part::PassportValidity => Some(DocumentKind::PassportValidity),
            _ => None,
        }
    }
}

/// How many files of one part a bundle needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    /// The part.
    pub part: Part,
    /// Fewest files.
    pub min: usize,
    /// Most files.
    pub max: usize,
}

/// Most work certificates or supporting files per submission (api.md).
pub const MAX_ATTACHMENTS: usize = 3;

/// The documents a bundle must and may carry, by certificate type (FAQ 7) and post status (FAQ 10).
pub fn requirements(kind: CertificateType, post: PostStatus) -> Vec<Requirement> {
    let one = |part| Requirement { part, min: 1, max: 1 };
    let mut out = vec![one(Part::Photo)];
    match kind {
        CertificateType::Passport => out.extend([one(Part::PassportInfo), one(Part::PassportValidity)]),
        CertificateType::ResidentId | CertificateType::ResidencePermit | CertificateType::ForeignPermanentResident => {
            out.extend([one(Part::IdFront), one(Part::IdBack)]);
        }
    }
    match post {
        PostStatus::OnPost => out.push(Requirement { part: Part::WorkCertificate, min: 1, max: MAX_ATTACHMENTS }),
        PostStatus::OffPost => out.extend([
            Requirement { part: Part::WorkCertificate, min: 0, max: MAX_ATTACHMENTS },
            Requirement { part: Part::Supporting, min: 0, max: MAX_ATTACHMENTS },
        ]),
    }
    out
}

/// One stored file of an accepted submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The part it belongs to.
    pub part: Part,
    /// Position among the files of that part.
    pub index: usize,
    /// Media type of `bytes`.
    pub media_type: &'static str,
    /// The bytes as the rules re-encoded them, metadata stripped.
    pub bytes: Vec<u8>,
}

/// A submission that passed every rule. Only [`check`] builds one.
///
/// Architecture Invariant: validated types cannot be built without validation. Outside their
/// modules neither an `Accepted` nor the [`Bundle`] in it can be written as a literal, made by
/// default or deserialized; only [`check`] (and, for a `Bundle`, [`form::validate`]) gives one.
/// The same paths are reachable (this compiles):
///
/// ```
/// use intake_rules::form::Bundle;
/// use intake_rules::report::Report;
/// use intake_rules::submission::{Accepted, StoredFile};
/// fn taken_apart(a: Accepted) -> (Bundle, Vec<StoredFile>, Report) { a.into_parts() }
/// let _: Report = serde_json::from_str("{\"problems\": []}").unwrap_or_default();
/// ```
///
/// and each of these does not:
///
/// ```compile_fail
/// use intake_rules::submission::Accepted;
/// let _ = Accepted { bundle: unimplemented!(), files: Vec::new(), warnings: Default::default() };
/// ```
/// ```compile_fail
/// let _: intake_rules::submission::Accepted = Default::default();
/// ```
/// ```compile_fail
/// let _: intake_rules::submission::Accepted = serde_json::from_str("{}").unwrap();
/// ```
/// ```compile_fail
/// use intake_rules::form::Bundle;
/// let _ = Bundle { name: String::new(), ..unimplemented!() };
/// ```
/// ```compile_fail
/// let _: intake_rules::form::Bundle = Default::default();
/// ```
/// ```compile_fail
/// let _: intake_rules::form::Bundle = serde_json::from_str("{}").unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Accepted {
    bundle: Bundle,
    files: Vec<StoredFile>,
    warnings: Report,
}

impl Accepted {
    /// The validated form.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }
    /// The files to store and forward.
    pub fn files(&self) -> &[StoredFile] {
        &self.files
    }
    /// Warnings found (they do not block).
    pub fn warnings(&self) -> &Report {
        &self.warnings
    }
    /// Takes the parts apart without copying the files.
    pub fn into_parts(self) -> (Bundle, Vec<StoredFile>, Report) {
        (self.bundle, self.files, self.warnings)
    }
}

/// Re-checks a whole submission: the form, which documents are present, and
/// every file. `parts` are `(multipart name, bytes)` in arrival order.
/// Returns every problem found when anything blocks.
pub fn check(
    bundle_json: &[u8],
    parts: &[(&str, &[u8])],
    ctx: &Context<'_>,
    profile: &PhotoProfile,
) -> Result<Accepted, Report> {
    let mut report = Report::new();
    let bundle = match form::parse_raw(bundle_json) {
        Ok(raw) => match form::validate(&raw, ctx) {
            Ok((b, warnings)) => {
                report.extend(warnings);
                Some(b)
            }
            Err(r) => {
                report.extend(r);
                None
            }
        },
        Err(r) => {
            report.extend(r);
            None
        }
    };

    // Unknown part names.
    let mut known: Vec<(Part, &[u8])> = Vec::new();
    for (name, bytes) in parts {
        match Part::parse(name) {
            Some(p) => known.push((p, bytes)),
            None => report.push(Problem::new(
                *name,
                Code::RequestMalformed,
                &[("detail", &format!("unknown part {name:?}"))],
            )),
        }
    }

    // Which documents (only when the form says which are needed).
    if let Some(b) = &bundle {
        let reqs = requirements(b.certificate_type(), b.post_status());
        for part in Part::ALL {
            let count = known.iter().filter(|(p, _)| *p == part).count();
            let (zh, en) = part.labels();
            match reqs.iter().find(|r| r.part == part) {
                None if count > 0 => {
                    report.push(Problem::new(
                        part.name(),
                        Code::DocumentNotExpected,
                        &[("name", &zh), ("name_en", &en)],
                    ));
                }
                None => {}
                Some(r) if count < r.min => {
                    report.push(Problem::new(part.name(), Code::DocumentMissing, &[("name", &zh), ("name_en", &en)]));
                }
                Some(r) if count > r.max => {
                    report.push(Problem::new(
                        part.name(),
                        Code::FileTooMany,
                        &[("field", &zh), ("field_en", &en), ("max", &r.max), ("count", &count)],
                    ));
                }
                Some(_) => {}
            }
        }
    }

    // Every file.
    let mut files = Vec::new();
    let mut docs: Vec<ProcessedDocument> = Vec::new();
    let mut index_of = std::collections::HashMap::new();
    for (part, bytes) in &known {
        let index = {
            let i = index_of.entry(*part).or_insert(0usize);
            *i += 1;
            *i - 1
        };
        match part {
            Part::Photo => {
                let r = photo::check(bytes, profile);
                let ok = r.passes();
                report.extend(r);
                if ok {
                    // A passing photo is a JPEG the sanitizer rebuilds (the check refuses one it
                    // would not); nothing else is ever stored.
                    match photo::stored(bytes) {
                        Some(rebuilt) => {
                            files.push(StoredFile { part: *part, index, media_type: "image/jpeg", bytes: rebuilt });
                        }
                        None => report.push(Problem::new(
                            part.name(),
                            Code::ImageMalformedSegments,
                            &[("detail", &"not rebuildable")],
                        )),
                    }
                }
            }
            Part::IdFront | Part::IdBack | Part::PassportInfo | Part::PassportValidity => {
                let kind = part.document_kind().unwrap_or(DocumentKind::IdFront);
                let out = document::check(kind, bytes);
                let ok = out.report.passes();
                report.extend(out.report);
                if let Some(d) = out.output {
                    if ok {
                        files.push(StoredFile { part: *part, index, media_type: "image/jpeg", bytes: d.jpeg.clone() });
                    }
                    docs.push(d);
                }
            }
            Part::WorkCertificate | Part::Supporting => {
                let out = attachment::check(part.name(), bytes);
                report.extend(out.report);
                if let Some(a) = out.output {
                    files.push(StoredFile { part: *part, index, media_type: a.media_type, bytes: a.bytes });
                }
            }
        }
    }
    for (a, b) in
        [(DocumentKind::IdFront, DocumentKind::IdBack), (DocumentKind::PassportInfo, DocumentKind::PassportValidity)]
    {
        let first = docs.iter().find(|d| d.kind == a);
        let second = docs.iter().find(|d| d.kind == b);
        if let (Some(f), Some(s)) = (first, second) {
            report.extend(document::check_pair(f, s));
        }
    }

    match bundle {
        Some(bundle) if report.passes() => Ok(Accepted { bundle, files, warnings: report }),
        _ => Err(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(reqs: &[Requirement]) -> Vec<(&'static str, usize, usize)> {
        reqs.iter().map(|r| (r.part.name(), r.min, r.max)).collect()
    }

    #[test]
    fn documents_follow_certificate_type_and_post_status() {
        assert_eq!(
            parts(&requirements(CertificateType::ResidentId, PostStatus::OnPost)),
            vec![("photo", 1, 1), ("id_front", 1, 1), ("id_back", 1, 1), ("work_certificate", 1, 3)]
        );
        assert_eq!(
            parts(&requirements(CertificateType::Passport, PostStatus::OffPost)),
            vec![
                ("photo", 1, 1),
                ("passport_info", 1, 1),
                ("passport_validity", 1, 1),
                ("work_certificate", 0, 3),
                ("supporting", 0, 3)
            ]
        );
        assert_eq!(
            parts(&requirements(CertificateType::ResidencePermit, PostStatus::OnPost))[1..3],
            [("id_front", 1, 1), ("id_back", 1, 1)]
        );
    }
}
