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
    /// `{name}` placeholders of the message templates.
    pub fn new(field: impl Into<String>, code: Code, args: &[(&str, &dyn fmt::Display)]) -> Problem {
        let entry = code.entry();
        Problem {
            field: field.into(),
            code,
            severity: entry.severity,
            fixable: false,
            message: Text { zh: render(entry.zh, args), en: render(entry.en, args) },
            hint: Text { zh: render(entry.hint_zh, args), en: render(entry.hint_en, args) },
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

/// Replaces `{name}` placeholders; unknown placeholders stay visible so a
/// missing argument is caught by the catalog tests rather than hidden.
fn render(template: &str, args: &[(&str, &dyn fmt::Display)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => out.push_str(&value.to_string()),
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
        assert_eq!(render("{w}×{h} px", &[("w", &295), ("h", &413)]), "295×413 px");
        assert_eq!(render("at least {min}", &[]), "at least {min}");
        assert_eq!(render("unclosed {brace", &[]), "unclosed {brace");
    }

    #[test]
    fn passes_only_without_errors() {
        let mut report = Report::new();
        assert!(report.passes());
        report.push(Problem::new("id_front", Code::DocumentSidesSwapped, &[]));
        assert!(report.passes(), "a warning does not block");
        report.push(Problem::new("photo", Code::PhotoBlurry, &[]));
        assert!(!report.passes());
        assert!(!report.all_errors_fixable());
        assert_eq!(report.codes(), vec![Code::DocumentSidesSwapped, Code::PhotoBlurry]);
    }
}
