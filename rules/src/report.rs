//! Problems as data: every check returns every problem it finds, each with a
//! stable code from [`crate::catalog`], a severity, whether the automatic fix
//! resolves it, and a zh-CN + English message with a fix hint.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::Code;

/// Whether a problem blocks the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the upload until it is fixed.
    Error,
    /// Informs; the accountant may acknowledge it and go on.
    Warning,
}

impl Severity {
    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A text in both languages the product speaks; zh-CN first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Text {
    /// Simplified Chinese (zh-CN), the default language.
    pub zh: String,
    /// English.
    pub en: String,
}

/// One value for a `{name}` placeholder of a catalog template.
///
/// Numbers, sizes, codes, file formats and the person's own data read the same in both
/// languages ([`Arg::Same`], what `From` gives for anything `Display`); a word of the
/// product's own (a field's label, a document's name, a colour, a reason) is given in both
/// ([`Arg::text`]) and each language's template gets its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// The same text in both languages.
    Same(String),
    /// A text in each language.
    Text {
        /// For the zh-CN template.
        zh: String,
        /// For the English template.
        en: String,
    },
}

impl Arg {
    /// A text in each language, zh-CN first.
    pub fn text(zh: impl Into<String>, en: impl Into<String>) -> Arg {
        Arg::Text { zh: zh.into(), en: en.into() }
    }

    /// The text for one language.
    fn get(&self, lang: Lang) -> &str {
        match (self, lang) {
            (Arg::Same(s), _) => s,
            (Arg::Text { zh, .. }, Lang::Zh) => zh,
            (Arg::Text { en, .. }, Lang::En) => en,
        }
    }
}

impl<T: fmt::Display> From<T> for Arg {
    fn from(value: T) -> Arg {
        Arg::Same(value.to_string())
    }
}

impl From<Text> for Arg {
    fn from(text: Text) -> Arg {
        Arg::Text { zh: text.zh, en: text.en }
    }
}

#[derive(Debug, Clone, Copy)]
enum Lang {
    Zh,
    En,
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// Which field or upload part the problem belongs to (`photo`, `id_front`, `unit.uscc`, …).
    pub field: String,
    /// The stable `area.problem` code (`docs/codes.md` lists every one).
    #[cfg_attr(feature = "openapi", schema(schema_with = code_schema))]
    pub code: Code,
    /// Error blocks, warning informs.
    pub severity: Severity,
    /// True when the automatic fix (crop, resize, re-encode, strip metadata) resolves it.
    #[serde(default)]
    pub fixable: bool,
    /// What is wrong, with the numbers that matter.
    pub message: Text,
    /// What the accountant can do about it.
    pub hint: Text,
}

impl Problem {
    /// A problem with the catalog's severity, message and hint; `args` fill the
    /// `{name}` placeholders of the templates, each language's template from the
    /// argument's text in that language ([`Arg`]).
    ///
    /// In debug builds a placeholder of the code's templates without an argument, or an
    /// argument no template names, panics: both depend only on the call site, never on the
    /// input, so every test that reaches a call site checks it
    /// (`rules/tests/messages.rs` reaches every code the rules produce). Release builds
    /// leave such a placeholder visible rather than hide it.
    pub fn new(field: impl Into<String>, code: Code, args: &[(&str, Arg)]) -> Problem {
        let entry = code.entry();
        #[cfg(debug_assertions)]
        check_args(entry, args);
        Problem {
            field: field.into(),
            code,
            severity: entry.severity,
            fixable: false,
            message: Text { zh: render(entry.zh, args, Lang::Zh), en: render(entry.en, args, Lang::En) },
            hint: Text { zh: render(entry.hint_zh, args, Lang::Zh), en: render(entry.hint_en, args, Lang::En) },
        }
    }

    /// Marks the problem as resolved by the automatic fix.
    #[must_use]
    pub fn fixable(mut self, fixable: bool) -> Problem {
        self.fixable = fixable;
        self
    }

    /// True when the problem blocks the upload.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}: {} / {}",
            self.severity.as_str(),
            self.code,
            self.field,
            self.message.zh,
            self.message.en
        )
    }
}

/// The OpenAPI schema of a problem code: a string, one of the catalog's codes.
#[cfg(feature = "openapi")]
fn code_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
        .examples([Code::PhotoBackgroundNotUniform.as_str()])
        .build()
}

/// Panics when a placeholder of the code's templates has no argument or an argument fills
/// no placeholder (see [`Problem::new`]).
#[cfg(debug_assertions)]
fn check_args(entry: &crate::catalog::Entry, args: &[(&str, Arg)]) {
    use crate::catalog::placeholders;
    let templates = entry.templates();
    for template in templates {
        for name in placeholders(template) {
            assert!(
                args.iter().any(|(n, _)| *n == name),
                "{}: the placeholder {{{name}}} has no argument in {template:?}",
                entry.code
            );
        }
    }
    for (name, _) in args {
        assert!(
            templates.iter().any(|t| placeholders(t).any(|p| p == *name)),
            "{}: the argument {name:?} fills no placeholder",
            entry.code
        );
    }
}

/// Replaces `{name}` placeholders with the argument's text in `lang`; a placeholder without
/// an argument stays visible (debug builds never get here with one: [`Problem::new`]).
fn render(template: &str, args: &[(&str, Arg)], lang: Lang) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(value.get(lang)),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every problem one check (or one whole submission) found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    problems: Vec<Problem>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Adds one problem.
    pub fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Adds every problem of another report.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Problem>) {
        self.problems.extend(other);
    }

    /// True when nothing blocks: no problem of severity error.
    pub fn passes(&self) -> bool {
        !self.problems.iter().any(Problem::is_error)
    }

    /// True when no problem at all was found.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// True when every error would be resolved by the automatic fix.
    pub fn all_errors_fixable(&self) -> bool {
        self.problems.iter().filter(|p| p.is_error()).all(|p| p.fixable)
    }

    /// All problems, in the order found.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Mutable access, for checks that refine what they found.
    pub(crate) fn problems_mut(&mut self) -> &mut Vec<Problem> {
        &mut self.problems
    }

    /// The codes found, in order, duplicates kept.
    pub fn codes(&self) -> Vec<Code> {
        self.problems.iter().map(|p| p.code).collect()
    }

    /// True when a problem with this code was found.
    pub fn has(&self, code: Code) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }

    /// The report as the API's error envelope.
    pub fn into_envelope(self) -> crate::wire::ErrorEnvelope {
        crate::wire::ErrorEnvelope { errors: self.problems }
    }
}

impl IntoIterator for Report {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.problems.into_iter()
    }
}

impl FromIterator<Problem> for Report {
    fn from_iter<I: IntoIterator<Item = Problem>>(iter: I) -> Report {
        Report { problems: iter.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_fills_named_placeholders_and_keeps_unknown_ones() {
        assert_eq!(render("{w}×{h} px", &[("w", 295.into()), ("h", 413.into())], Lang::En), "295×413 px");
        assert_eq!(render("at least {min}", &[], Lang::En), "at least {min}");
        assert_eq!(render("unclosed {brace", &[], Lang::Zh), "unclosed {brace");
    }

    #[test]
    fn each_language_gets_its_own_text() {
        let side = [("first", Arg::text("身份证人像面", "ID card portrait side")), ("second", "B".into())];
        assert_eq!(render("{first}和{second}", &side, Lang::Zh), "身份证人像面和B");
        assert_eq!(render("The {first} and the {second}", &side, Lang::En), "The ID card portrait side and the B");
        let p = Problem::new("id_front", Code::DocumentSidesSwapped, &side);
        assert_eq!(p.message.zh, "身份证人像面和B看起来上传反了。");
        assert_eq!(p.message.en, "The ID card portrait side and the B look swapped.");
    }

    /// A placeholder without an argument is a bug of the call site: loud in debug builds.
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "photo.blurry: the placeholder {min} has no argument")]
    fn a_placeholder_without_an_argument_panics_in_debug_builds() {
        let _ = Problem::new("photo", Code::PhotoBlurry, &[("value", 3.into())]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "photo.blurry: the argument \"min_en\" fills no placeholder")]
    fn an_argument_without_a_placeholder_panics_in_debug_builds() {
        let _ =
            Problem::new("photo", Code::PhotoBlurry, &[("value", 3.into()), ("min", 4.into()), ("min_en", 4.into())]);
    }

    /// Release builds keep the placeholder visible.
    #[test]
    #[cfg(not(debug_assertions))]
    fn a_placeholder_without_an_argument_stays_visible_in_release_builds() {
        let p = Problem::new("photo", Code::PhotoBlurry, &[("value", 3.into())]);
        assert!(p.message.en.contains("{min}"), "{}", p.message.en);
    }

    #[test]
    fn passes_only_without_errors() {
        let mut report = Report::new();
        assert!(report.passes());
        let sides = [("first", Arg::text("甲", "a")), ("second", Arg::text("乙", "b"))];
        report.push(Problem::new("id_front", Code::DocumentSidesSwapped, &sides));
        assert!(report.passes(), "a warning does not block");
        report.push(Problem::new("photo", Code::PhotoBlurry, &[("value", 3.into()), ("min", 4.into())]));
        assert!(!report.passes());
        assert!(!report.all_errors_fixable());
        assert_eq!(report.codes(), vec![Code::DocumentSidesSwapped, Code::PhotoBlurry]);
    }
}
