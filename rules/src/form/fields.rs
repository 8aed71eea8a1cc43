//! The one table of form fields (issue 13): every field of the bundle with its
//! path, labels in both languages, kind (with the options of a choice), when it
//! is required, help text, and how to read and write it in a [`RawBundle`].
//!
//! Every other place that names a field reads it from here: [`super::validate`]
//! (its problems carry the field's own label), the widget's form, review and
//! `set_field`/`get_field`. A field is spelled once, in [`FIELDS`].

use super::{
    CertificateOrigin, CertificateType, EducationLevel, GenderChoice, MAX_NAME, MAX_TEXT, PostStatus, RawBundle, Title,
    UnitType,
};

/// One option of a choice: its wire value and its labels (zh-CN, English).
pub type Opt = (&'static str, (&'static str, &'static str));

/// What kind of input a field is.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Free text of at most `max` characters.
    Text {
        /// Longest value, in characters.
        max: usize,
    },
    /// An email address (free text, checked by [`super::numbers::check_email`]).
    Email,
    /// A mobile number (checked by [`super::numbers::check_mobile`]).
    Tel,
    /// One of fixed options.
    Choice(fn() -> Vec<Opt>),
    /// A `YYYY-MM-DD` date.
    Date,
    /// A whole number.
    Number,
}

impl Kind {
    /// The options of a choice (empty for other kinds).
    pub fn options(self) -> Vec<Opt> {
        match self {
            Kind::Choice(options) => options(),
            _ => Vec::new(),
        }
    }

    /// The verb a missing value asks for: "请选择" for choices and dates, "请填写" otherwise.
    pub fn action(self) -> (&'static str, &'static str) {
        match self {
            Kind::Choice(_) => ("选择", "Choose one"),
            Kind::Date => ("选择", "Pick the date"),
            _ => ("填写", "Fill it in"),
        }
    }
}

/// When a field must be given, as a function of the rest of the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Always.
    Always,
    /// Never (asked, optional).
    Optional,
    /// Required unless the person is not on an accounting post (FAQ 9, 10: the unit block).
    OnPost,
    /// Asked only of holders of the original certificate, and then required (FAQ 11).
    Holder,
}

/// The form's sections, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The read-only iXiamen identity (FAQ 4).
    Identity,
    /// Personal details.
    Personal,
    /// The employing unit.
    Unit,
    /// Post status and position.
    Post,
    /// Certificate, title, education and working years.
    Qualification,
}

impl Section {
    /// Every section, in display order.
    pub const ALL: [Section; 5] =
        [Section::Identity, Section::Personal, Section::Unit, Section::Post, Section::Qualification];

    /// The section's heading, zh-CN and English.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Section::Identity => ("身份信息", "Identity"),
            Section::Personal => ("个人信息", "Personal"),
            Section::Unit => ("工作单位", "Unit"),
            Section::Post => ("岗位", "Post"),
            Section::Qualification => ("资格与学历", "Qualification and education"),
        }
    }
}

/// One field of the form.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The bundle JSON path (`unit.uscc`); also the problem's `field` and the input's `name`.
    pub path: &'static str,
    /// Label, zh-CN.
    pub zh: &'static str,
    /// Label, English (starts a sentence in messages: "Unit name is required.").
    pub en: &'static str,
    /// Input kind.
    pub kind: Kind,
    /// When it is required.
    pub when: When,
    /// Where the form shows it.
    pub section: Section,
    /// Help shown under the input, zh-CN (empty: none).
    pub help_zh: &'static str,
    /// Help, English.
    pub help_en: &'static str,
    /// Reads the value as the input shows it (empty when absent).
    pub get: fn(&RawBundle) -> String,
    /// Writes the value as the input gives it (blank clears it).
    pub set: fn(&mut RawBundle, &str),
}

impl Field {
    /// The labels, zh-CN and English.
    pub fn labels(&self) -> (&'static str, &'static str) {
        (self.zh, self.en)
    }

    /// Whether the form asks this field at all, given the rest of the bundle.
    pub fn applies(&self, raw: &RawBundle) -> bool {
        match self.when {
            When::Holder => raw.qualification.holds_certificate == Some(true),
            _ => true,
        }
    }

    /// Whether a value must be given, given the rest of the bundle.
    pub fn required(&self, raw: &RawBundle) -> bool {
        match self.when {
            When::Always => true,
            When::Optional => false,
            When::OnPost => raw.post.status.as_deref().and_then(PostStatus::parse) != Some(PostStatus::OffPost),
            When::Holder => self.applies(raw),
        }
    }

    /// The value as a person reads it: a choice's label (in English when `english`), else the value.
    pub fn display(&self, raw: &RawBundle, english: bool) -> String {
        let value = (self.get)(raw);
        match self.kind {
            Kind::Choice(options) => options()
                .into_iter()
                .find(|(wire, _)| *wire == value)
                .map(|(_, (zh, en))| if english { en } else { zh }.to_owned())
                .unwrap_or(value),
            _ => value,
        }
    }
}

/// The value as typed (validation trims it), or nothing when blank; kept untrimmed so a
/// controlled input does not eat the space a person is typing.
fn opt(value: &str) -> Option<String> {
    (!value.trim().is_empty()).then(|| value.to_owned())
}

fn s(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

macro_rules! options {
    ($ty:ty) => {
        || <$ty>::ALL.iter().map(|v| (v.as_str(), v.labels())).collect()
    };
}

const NO_HELP: (&str, &str) = ("", "");

macro_rules! field {
    ($path:literal, $zh:literal, $en:literal, $kind:expr, $when:ident, $section:ident, $help:expr,
     get: $get:expr, set: $set:expr) => {
        Field {
            path: $path,
            zh: $zh,
            en: $en,
            kind: $kind,
            when: When::$when,
            section: Section::$section,
            help_zh: $help.0,
            help_en: $help.1,
            get: $get,
            set: $set,
        }
    };
}

/// Every field of the bundle, in the form's order.
pub const FIELDS: &[Field] = &[
    field!("identity.name", "姓名", "Name", Kind::Text { max: MAX_NAME }, Always, Identity,
        ("以i厦门注册信息为准；生僻字如显示为拼音，需线下更正。", "As registered with iXiamen; a rare character shown as pinyin is corrected offline."),
        get: |r| s(&r.identity.name), set: |r, v| r.identity.name = opt(v)),
    field!("identity.certificate_type", "证件类型", "Certificate type", Kind::Choice(options!(CertificateType)), Always, Identity, NO_HELP,
        get: |r| s(&r.identity.certificate_type), set: |r, v| r.identity.certificate_type = opt(v)),
    field!("identity.certificate_number", "证件号码", "Certificate number", Kind::Text { max: MAX_NAME }, Always, Identity, NO_HELP,
        get: |r| s(&r.identity.certificate_number), set: |r, v| r.identity.certificate_number = opt(v)),
    field!("gender", "性别", "Gender", Kind::Choice(options!(GenderChoice)), Always, Personal, NO_HELP,
        get: |r| s(&r.gender), set: |r, v| r.gender = opt(v)),
    field!("birth_date", "出生日期", "Birth date", Kind::Date, Always, Personal, NO_HELP,
        get: |r| s(&r.birth_date), set: |r, v| r.birth_date = opt(v)),
    field!("identity.mobile", "手机号码", "Mobile number", Kind::Tel, Always, Personal,
        ("11 位中国大陆手机号。", "An 11-digit mainland China mobile number."),
        get: |r| s(&r.identity.mobile), set: |r, v| r.identity.mobile = opt(v)),
    field!("email", "电子邮箱", "Email", Kind::Email, Optional, Personal, NO_HELP,
        get: |r| s(&r.email), set: |r, v| r.email = opt(v)),
    field!("unit.name", "单位名称", "Unit name", Kind::Text { max: MAX_TEXT }, OnPost, Unit,
        ("不在会计岗位（如学生、待业）可不填工作单位。", "Not on an accounting post (a student, out of work)? The unit may be left empty."),
        get: |r| s(&r.unit.name), set: |r, v| r.unit.name = opt(v)),
    field!("unit.uscc", "统一社会信用代码", "Unified social credit code", Kind::Text { max: MAX_NAME }, OnPost, Unit,
        ("18 位，见营业执照。", "18 characters, as on the business licence."),
        get: |r| s(&r.unit.uscc), set: |r, v| r.unit.uscc = opt(&v.to_ascii_uppercase())),
    field!("unit.type", "单位类型", "Unit type", Kind::Choice(options!(UnitType)), OnPost, Unit, NO_HELP,
        get: |r| s(&r.unit.kind), set: |r, v| r.unit.kind = opt(v)),
    field!("post.status", "是否在会计岗位", "Post status", Kind::Choice(options!(PostStatus)), Always, Post,
        ("在会计岗位须上传工作证明；不在会计岗位可上传其他岗位工作证明，或学生证和户籍证明。", "On an accounting post, upload a work certificate; otherwise you may upload an other-post work certificate, or a student ID and household registration."),
        get: |r| s(&r.post.status), set: |r, v| r.post.status = opt(v)),
    field!("post.position", "职务", "Position", Kind::Text { max: MAX_NAME }, OnPost, Post, NO_HELP,
        get: |r| s(&r.post.position), set: |r, v| r.post.position = opt(v)),
    field!("qualification.holds_certificate", "是否持有原会计从业资格证书", "Holds the original accounting certificate",
    Kind::Choice(|| vec![("true", ("是", "Yes")), ("false", ("否", "No"))]), Always, Qualification, NO_HELP,
    get: |r| r.qualification.holds_certificate.map(|b| b.to_string()).unwrap_or_default(),
    set: |r, v| {
        r.qualification.holds_certificate = match v.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        if r.qualification.holds_certificate != Some(true) {
            r.qualification.certificate_origin = None;
        }
    }),
    field!("qualification.certificate_origin", "发证地", "Certificate issued in", Kind::Choice(options!(CertificateOrigin)), Holder, Qualification,
        ("厦门以外发证的，会计档案从本次采集年度起计算。", "With a certificate from outside Xiamen, the Xiamen archive counts from this collection year."),
        get: |r| s(&r.qualification.certificate_origin), set: |r, v| r.qualification.certificate_origin = opt(v)),
    field!("qualification.title", "专业技术资格", "Professional title", Kind::Choice(options!(Title)), Always, Qualification, NO_HELP,
        get: |r| s(&r.qualification.title), set: |r, v| r.qualification.title = opt(v)),
    field!("education.level", "学历", "Education level", Kind::Choice(options!(EducationLevel)), Always, Qualification, NO_HELP,
        get: |r| s(&r.education.level), set: |r, v| r.education.level = opt(v)),
    field!("education.school", "毕业院校", "School", Kind::Text { max: MAX_TEXT }, Always, Qualification, NO_HELP,
        get: |r| s(&r.education.school), set: |r, v| r.education.school = opt(v)),
    field!("education.major", "所学专业", "Major", Kind::Text { max: MAX_TEXT }, Always, Qualification, NO_HELP,
        get: |r| s(&r.education.major), set: |r, v| r.education.major = opt(v)),
    field!("education.graduation_date", "毕业日期", "Graduation date", Kind::Date, Always, Qualification, NO_HELP,
        get: |r| s(&r.education.graduation_date), set: |r, v| r.education.graduation_date = opt(v)),
    field!("working_years", "会计工作年限", "Years of accounting work", Kind::Number, Always, Qualification,
        ("持证人员以档案为准；新申请人按实际情况填写，不超过年龄减 16。", "Holders: taken from the archive. New applicants: your actual years, at most your age minus 16."),
        get: |r| r.working_years.map(|y| y.to_string()).unwrap_or_default(),
        set: |r, v| r.working_years = v.trim().parse().ok()),
];

/// The field at a bundle path.
pub fn field(path: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.path == path)
}

/// The field at a path the code itself names; a typo is a bug the table tests catch.
pub(crate) fn known(path: &str) -> &'static Field {
    match field(path) {
        Some(f) => f,
        None => &UNKNOWN,
    }
}

const UNKNOWN: Field = field!("", "字段", "Field", Kind::Text { max: 0 }, Optional, Personal, NO_HELP,
    get: |_| String::new(), set: |_, _| {});

/// Sets one field by its bundle path (unknown paths are ignored).
pub fn set(raw: &mut RawBundle, path: &str, value: &str) {
    if let Some(f) = field(path) {
        (f.set)(raw, value);
    }
}

/// Reads one field by its bundle path (empty for unknown paths).
pub fn get(raw: &RawBundle, path: &str) -> String {
    field(path).map(|f| (f.get)(raw)).unwrap_or_default()
}
