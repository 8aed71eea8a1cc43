//! The collection form (rules.md §4): raw input as it arrives
//! ([`RawBundle`], every field optional, straight from JSON) and the
//! validated [`Bundle`], which can only be built by [`validate`].

pub mod fields;
pub mod numbers;
pub mod regions;

use serde::{Deserialize, Serialize};

pub use fields::{FIELDS, Field, Kind, Section, When, field};
pub use numbers::{CertificateType, Date, Gender, NumberError};

use fields::known;

use crate::catalog::Code;
use crate::report::{Problem, Report};

// ---------------------------------------------------------------- raw input

/// The `bundle` part of a submission exactly as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RawBundle {
    /// The iXiamen identity as shown read-only; must equal the token's.
    pub identity: RawIdentity,
    /// `male` or `female`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<GenderChoice>))]
    pub gender: Option<String>,
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub birth_date: Option<String>,
    /// The employing unit: required on an accounting post; may be absent or partial when
    /// `post.status` is `off_post` (FAQ 9, 10: students, people out of work).
    pub unit: RawUnit,
    /// Post status and position.
    pub post: RawPost,
    /// Certificate and professional title.
    pub qualification: RawQualification,
    /// Education.
    pub education: RawEducation,
    /// Years of accounting work; read-only for certificate holders (FAQ 12).
    pub working_years: Option<u32>,
    /// Optional email.
    pub email: Option<String>,
}

/// Identity fields (FAQ 4: iXiamen's registration prevails).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RawIdentity {
    /// Name, possibly with pinyin for a rare character.
    pub name: Option<String>,
    /// `resident_id`, `residence_permit`, `foreign_permanent_resident` or `passport`.
    pub certificate_type: Option<String>,
    /// The certificate number.
    pub certificate_number: Option<String>,
    /// Mobile number.
    pub mobile: Option<String>,
}

/// The unit the person works for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RawUnit {
    /// Unit name.
    pub name: Option<String>,
    /// Unified social credit code.
    pub uscc: Option<String>,
    /// `organ`, `enterprise`, `institution`, `social_organization` or `other`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<UnitType>))]
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Post status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RawPost {
    /// `on_post` or `off_post`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<PostStatus>))]
    pub status: Option<String>,
    /// Position title.
    pub position: Option<String>,
}

/// Qualification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RawQualification {
    /// Holds the original accounting certificate.
    pub holds_certificate: Option<bool>,
    /// `xiamen` or `elsewhere`, when a certificate is held.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CertificateOrigin>))]
    pub certificate_origin: Option<String>,
    /// `none`, `junior`, `intermediate`, `senior` or `professor`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Title>))]
    pub title: Option<String>,
}

/// Education.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct RawEducation {
    /// See [`EducationLevel`].
    #[cfg_attr(feature = "openapi", schema(value_type = Option<EducationLevel>))]
    pub level: Option<String>,
    /// School.
    pub school: Option<String>,
    /// Major.
    pub major: Option<String>,
    /// `YYYY-MM-DD`.
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub graduation_date: Option<String>,
}

// ---------------------------------------------------------------- choices

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $( $variant:ident = $wire:literal, $zh:literal, $en:literal; )* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $( #[doc = $en] #[serde(rename = $wire)] $variant, )* }
        impl $name {
            /// Every choice, in display order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant, )* ];
            /// The wire value.
            pub fn as_str(self) -> &'static str { match self { $( $name::$variant => $wire, )* } }
            /// Display labels, zh-CN and English.
            pub fn labels(self) -> (&'static str, &'static str) { match self { $( $name::$variant => ($zh, $en), )* } }
            /// Parses the wire value.
            pub fn parse(s: &str) -> Option<$name> { $name::ALL.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

choice!(
    /// Unit type (rules.md §4).
    UnitType {
        Organ = "organ", "机关", "Government organ";
        Enterprise = "enterprise", "企业", "Enterprise";
        Institution = "institution", "事业单位", "Public institution";
        SocialOrganization = "social_organization", "社会团体", "Social organization";
        Other = "other", "其他组织", "Other organization";
    }
);

choice!(
    /// Post status; drives the work-certificate rule (FAQ 10).
    PostStatus {
        OnPost = "on_post", "在会计岗位", "On an accounting post";
        OffPost = "off_post", "不在会计岗位", "Not on an accounting post";
    }
);

choice!(
    /// Where the original accounting certificate was issued (FAQ 11).
    CertificateOrigin {
        Xiamen = "xiamen", "厦门", "Xiamen";
        Elsewhere = "elsewhere", "厦门以外", "Outside Xiamen";
    }
);

choice!(
    /// Professional title.
    Title {
        None = "none", "无", "None";
        Junior = "junior", "初级", "Junior";
        Intermediate = "intermediate", "中级", "Intermediate";
        Senior = "senior", "副高级", "Senior";
        Professor = "professor", "正高级", "Professor-level senior";
    }
);

choice!(
    /// Highest education.
    EducationLevel {
        Secondary = "secondary", "高中/中专及以下", "Secondary or below";
        JuniorCollege = "junior_college", "大专", "Junior college";
        Bachelor = "bachelor", "本科", "Bachelor";
        Master = "master", "硕士研究生", "Master";
        Doctor = "doctor", "博士研究生", "Doctorate";
    }
);

choice!(
    /// Gender as entered.
    GenderChoice {
        Male = "male", "男", "Male";
        Female = "female", "女", "Female";
    }
);

// ---------------------------------------------------------------- context

/// The authenticated iXiamen identity, from the token (backend) or `/api/v1/me` (widget).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Registered name.
    pub name: String,
    /// Certificate type.
    pub certificate_type: CertificateType,
    /// Certificate number.
    pub certificate_number: String,
    /// Registered mobile, when iXiamen provides it.
    pub mobile: Option<String>,
}

/// What the archive lookup contributes to validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFacts {
    /// The person holds the original certificate according to the archive.
    pub holds_certificate: bool,
    /// Working years from the archive; read-only when present (FAQ 12).
    pub working_years: Option<u32>,
}

/// Everything validation needs besides the raw input.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The authenticated identity.
    pub identity: &'a Identity,
    /// Today's date (the birth-date and age bounds).
    pub today: Date,
    /// The archive, when the person has one.
    pub archive: Option<ArchiveFacts>,
}

// ---------------------------------------------------------------- validated

/// A validated form. Fields are private: the only way to get one is [`validate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bundle {
    name: String,
    certificate_type: CertificateType,
    certificate_number: String,
    mobile: String,
    gender: GenderChoice,
    birth_date: String,
    unit_name: Option<String>,
    unit_uscc: Option<String>,
    unit_type: Option<UnitType>,
    post_status: PostStatus,
    position: Option<String>,
    holds_certificate: bool,
    certificate_origin: Option<CertificateOrigin>,
    title: Title,
    education_level: EducationLevel,
    school: String,
    major: String,
    graduation_date: String,
    working_years: u32,
    email: Option<String>,
}

impl Bundle {
    /// The certificate type (drives the document rule, FAQ 7).
    pub fn certificate_type(&self) -> CertificateType {
        self.certificate_type
    }
    /// The normalised certificate number.
    pub fn certificate_number(&self) -> &str {
        &self.certificate_number
    }
    /// The name exactly as iXiamen registered it.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Post status (drives the work-certificate rule, FAQ 10).
    pub fn post_status(&self) -> PostStatus {
        self.post_status
    }
    /// Whether the unit block is complete (always on an accounting post; maybe off it).
    pub fn has_unit(&self) -> bool {
        self.unit_name.is_some() && self.unit_uscc.is_some() && self.unit_type.is_some() && self.position.is_some()
    }
    /// Working years.
    pub fn working_years(&self) -> u32 {
        self.working_years
    }
    /// The validated form as JSON for storage and forwarding.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Longest free text fields.
pub const MAX_NAME: usize = 50;
/// Longest unit, school and major names.
pub const MAX_TEXT: usize = 100;
/// Youngest age at which accounting work counts (working years ≤ age − 16).
pub const WORKING_AGE: u32 = 16;

/// Validates the whole form. On success returns the bundle with the warnings
/// found (pinyin name, certificate from elsewhere); on failure every problem.
/// Which fields are required, and the label every problem names, come from [`FIELDS`].
pub fn validate(raw: &RawBundle, ctx: &Context<'_>) -> Result<(Bundle, Report), Report> {
    let mut v = Validator { report: Report::new(), raw };

    // Identity: must equal iXiamen's (FAQ 4).
    let name = v.text("identity.name");
    if let Some(n) = &name {
        if n != ctx.identity.name.trim() {
            v.push(Problem::new("identity.name", Code::FormIdentityMismatch, &label_args(known("identity.name"))));
        } else if has_pinyin(n) {
            v.push(Problem::new("identity.name", Code::FormNamePinyin, &[("name", n)]));
        }
    }
    let kind = v.choice("identity.certificate_type", CertificateType::parse);
    if kind.is_some_and(|k| k != ctx.identity.certificate_type) {
        v.push(Problem::new(
            "identity.certificate_type",
            Code::FormIdentityMismatch,
            &label_args(known("identity.certificate_type")),
        ));
    }
    let mut facts = None;
    let mut number = None;
    if let Some(n) = v.present("identity.certificate_number") {
        let normalized = numbers::normalize(&n);
        if let Some(k) = kind {
            match numbers::parse_certificate(k, &normalized, ctx.today) {
                Ok(f) => facts = f,
                Err(e) => v.push(number_problem("identity.certificate_number", e)),
            }
        }
        if normalized != numbers::normalize(&ctx.identity.certificate_number) {
            v.push(Problem::new(
                "identity.certificate_number",
                Code::FormIdentityMismatch,
                &label_args(known("identity.certificate_number")),
            ));
        }
        number = Some(normalized);
    }
    let mut mobile = None;
    if let Some(m) = v.present("identity.mobile") {
        match numbers::check_mobile(&m) {
            Ok(m) => {
                let registered = ctx.identity.mobile.as_deref().and_then(|r| numbers::check_mobile(r).ok());
                if registered.is_some_and(|r| r != m) {
                    v.push(Problem::new(
                        "identity.mobile",
                        Code::FormIdentityMismatch,
                        &label_args(known("identity.mobile")),
                    ));
                }
                mobile = Some(m);
            }
            Err(_) => v.push(Problem::new("identity.mobile", Code::FormMobileInvalid, &[])),
        }
    }

    // Gender and birth date, consistent with an 18-digit number.
    let gender = v.choice("gender", GenderChoice::parse);
    let birth = v.date("birth_date");
    if let Some(b) = birth {
        let age = b.years_between(ctx.today);
        if b > ctx.today || !(WORKING_AGE..=100).contains(&age) {
            let f = known("birth_date");
            v.push(Problem::new(
                "birth_date",
                Code::FormDateOutOfRange,
                &[
                    ("label", &f.zh),
                    ("label_en", &f.en),
                    ("detail", &format!("年龄应在 {WORKING_AGE} 到 100 岁之间")),
                    ("detail_en", &format!("the age must be between {WORKING_AGE} and 100")),
                ],
            ));
        }
    }
    if let Some(f) = &facts {
        let expected = match f.gender {
            Gender::Male => GenderChoice::Male,
            Gender::Female => GenderChoice::Female,
        };
        if gender.is_some_and(|g| g != expected) {
            v.push(Problem::new("gender", Code::FormGenderMismatch, &[]));
        }
        if birth.is_some_and(|b| b != f.birth_date) {
            v.push(Problem::new("birth_date", Code::FormBirthDateMismatch, &[("expected", &f.birth_date)]));
        }
    }

    // Unit: required on an accounting post, optional off it (FAQ 9, 10); what is given is checked.
    let unit_name = v.text("unit.name");
    let mut uscc = None;
    if let Some(code) = v.present("unit.uscc") {
        let normalized = numbers::normalize(&code);
        match numbers::check_uscc(&normalized) {
            Ok(()) => uscc = Some(normalized),
            Err(e) => {
                let (zh, en) = match e {
                    NumberError::Length | NumberError::Empty => ("应为 18 位", "it must have 18 characters"),
                    NumberError::Characters => ("含有不允许的字符", "it contains characters that are not allowed"),
                    NumberError::Region => ("登记管理机关行政区划码无效", "the region part is invalid"),
                    NumberError::CheckDigit | NumberError::BirthDate => {
                        ("校验码不正确", "the check character is wrong")
                    }
                };
                v.push(Problem::new("unit.uscc", Code::FormUsccInvalid, &[("detail", &zh), ("detail_en", &en)]));
            }
        }
    }
    let unit_type = v.choice("unit.type", UnitType::parse);

    // Post.
    let post_status = v.choice("post.status", PostStatus::parse);
    let position = v.text("post.position");

    // Qualification.
    let holds = v.choice("qualification.holds_certificate", |s| s.parse::<bool>().ok());
    let mut origin = None;
    if known("qualification.certificate_origin").applies(raw) {
        origin = v.choice("qualification.certificate_origin", CertificateOrigin::parse);
        if origin == Some(CertificateOrigin::Elsewhere) {
            v.push(Problem::new("qualification.certificate_origin", Code::FormCertificateElsewhere, &[]));
        }
    }
    let title = v.choice("qualification.title", Title::parse);

    // Education.
    let level = v.choice("education.level", EducationLevel::parse);
    let school = v.text("education.school");
    let major = v.text("education.major");
    let graduation = v.date("education.graduation_date");
    if let Some(g) = graduation {
        let too_early = birth.is_some_and(|b| g < b || b.years_between(g) < 10);
        if g > ctx.today || too_early {
            let f = known("education.graduation_date");
            v.push(Problem::new(
                "education.graduation_date",
                Code::FormDateOutOfRange,
                &[
                    ("label", &f.zh),
                    ("label_en", &f.en),
                    ("detail", &"不能晚于今天，且应在出生 10 年之后"),
                    ("detail_en", &"it cannot be in the future or less than 10 years after birth"),
                ],
            ));
        }
    }

    // Working years (FAQ 12).
    let archive_years = ctx.archive.and_then(|a| a.working_years);
    let working_years = match (archive_years, raw.working_years) {
        (Some(locked), Some(given)) if given != locked => {
            v.push(Problem::new("working_years", Code::FormWorkingYearsLocked, &[("years", &locked)]));
            None
        }
        (Some(locked), _) => Some(locked),
        (None, Some(given)) => Some(given),
        (None, None) => {
            v.missing("working_years");
            None
        }
    };
    if let (Some(years), Some(b)) = (working_years, birth) {
        let max = b.years_between(ctx.today).saturating_sub(WORKING_AGE);
        if years > max && archive_years.is_none() {
            v.push(Problem::new("working_years", Code::FormWorkingYearsExceedAge, &[("years", &years), ("max", &max)]));
        }
    }

    let email = match v.present("email") {
        None => None,
        Some(e) => match numbers::check_email(&e) {
            Ok(e) => Some(e),
            Err(_) => {
                v.push(Problem::new("email", Code::FormEmailInvalid, &[]));
                None
            }
        },
    };

    let report = v.report;
    if !report.passes() {
        return Err(report);
    }
    // Every required `None` below pushed an error above, so passing means all are present;
    // the unit block and the position may stay empty off an accounting post.
    let built = (|| {
        Some(Bundle {
            name: name?,
            certificate_type: kind?,
            certificate_number: number?,
            mobile: mobile?,
            gender: gender?,
            birth_date: birth?.to_string(),
            unit_name,
            unit_uscc: uscc,
            unit_type,
            post_status: post_status?,
            position,
            holds_certificate: holds?,
            certificate_origin: origin,
            title: title?,
            education_level: level?,
            school: school?,
            major: major?,
            graduation_date: graduation?.to_string(),
            working_years: working_years?,
            email,
        })
    })();
    match built {
        Some(bundle) if post_status != Some(PostStatus::OnPost) || bundle.has_unit() => Ok((bundle, report)),
        _ => Err(report),
    }
}

/// Problems of a bundle that is not even valid JSON of the right shape.
pub fn parse_raw(json: &[u8]) -> Result<RawBundle, Report> {
    serde_json::from_slice(json).map_err(|e| {
        let detail = e.to_string();
        [Problem::new("bundle", Code::FormMalformed, &[("detail", &detail)])].into_iter().collect()
    })
}

/// Maps a number-format error to its problem.
pub fn number_problem(field: &str, e: NumberError) -> Problem {
    match e {
        NumberError::Empty => required_problem(known(field)),
        NumberError::Length => Problem::new(field, Code::FormCertificateNumberLength, &[]),
        NumberError::Characters => Problem::new(field, Code::FormCertificateNumberCharacters, &[]),
        NumberError::CheckDigit => Problem::new(field, Code::FormCertificateNumberCheckDigit, &[]),
        NumberError::BirthDate => Problem::new(field, Code::FormCertificateNumberBirthDate, &[]),
        NumberError::Region => Problem::new(field, Code::FormCertificateNumberRegion, &[]),
    }
}

/// The `form.required` problem of a field: "请选择…" for choices and dates, "请填写…" otherwise.
pub fn required_problem(f: &Field) -> Problem {
    let (action, action_en) = f.kind.action();
    Problem::new(
        f.path,
        Code::FormRequired,
        &[("label", &f.zh), ("label_en", &f.en), ("action", &action), ("action_en", &action_en)],
    )
}

/// True when a name mixes CJK characters with Latin letters (a rare
/// character registered as pinyin, FAQ 4). Never a reason to refuse.
pub fn has_pinyin(name: &str) -> bool {
    let cjk = name.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c));
    cjk && name.chars().any(|c| c.is_ascii_alphabetic())
}

fn label_args(f: &'static Field) -> [(&'static str, &'static dyn std::fmt::Display); 2] {
    [("label", &f.zh), ("label_en", &f.en)]
}

struct Validator<'r> {
    report: Report,
    raw: &'r RawBundle,
}

impl Validator<'_> {
    fn push(&mut self, p: Problem) {
        self.report.push(p);
    }

    fn missing(&mut self, path: &str) {
        self.push(required_problem(known(path)));
    }

    /// The trimmed value of a field, or `None` when blank (a problem when the table requires it).
    fn present(&mut self, path: &str) -> Option<String> {
        let f = known(path);
        let value = (f.get)(self.raw);
        let v = value.trim();
        if v.is_empty() {
            if f.required(self.raw) {
                self.missing(path);
            }
            return None;
        }
        Some(v.to_owned())
    }

    fn text(&mut self, path: &str) -> Option<String> {
        let f = known(path);
        let v = self.present(path)?;
        let max = match f.kind {
            Kind::Text { max } => max,
            _ => MAX_TEXT,
        };
        let len = v.chars().count();
        if len > max {
            let [a, b] = label_args(f);
            self.push(Problem::new(path, Code::FormTooLong, &[a, b, ("length", &len), ("max", &max)]));
            return None;
        }
        if v.chars().any(|c| {
            c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        }) {
            self.push(Problem::new(path, Code::FormInvalidText, &label_args(f)));
            return None;
        }
        Some(v)
    }

    fn choice<T>(&mut self, path: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let v = self.present(path)?;
        let parsed = parse(&v);
        if parsed.is_none() {
            let [a, b] = label_args(known(path));
            self.push(Problem::new(path, Code::FormInvalidChoice, &[a, b, ("value", &v)]));
        }
        parsed
    }

    fn date(&mut self, path: &str) -> Option<Date> {
        let v = self.present(path)?;
        let d = Date::parse_iso(&v);
        if d.is_none() {
            self.push(Problem::new(path, Code::FormDateInvalid, &label_args(known(path))));
        }
        d
    }
}
