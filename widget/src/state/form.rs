//! The form: what the field table and the form rules say about the bundle now (read-only
//! fields, problems shown), the form as it starts ([`prefill`]), field access by path and the
//! review's rows.

use intake_rules::form::numbers::{CertificateType, Date, Gender, parse_certificate};
use intake_rules::form::{Context, FIELDS, PostStatus, RawBundle, Section, fields, validate};
use intake_rules::report::Problem;
use intake_rules::submission::{Requirement, requirements};

use super::{State, Step};
use crate::model::{Archive, Me};

impl State {
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
