//! The committed fixture corpus: `tests/fixtures` and its hand-written verdicts in `expected.json`.

use std::path::{Path, PathBuf};

use intake_rules::document::DocumentKind;
use serde_json::Value;

/// `tests/fixtures` of the repository.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// `expected.json`.
pub fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(root().join("expected.json")).expect("expected.json")).expect("json")
}

/// A fixture's bytes by its path relative to `tests/fixtures`.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The document kind of an `expected.json` kind name (`id-front`, …); `None` for the other kinds.
pub fn doc_kind(kind: &str) -> Option<DocumentKind> {
    match kind {
        "id-front" => Some(DocumentKind::IdFront),
        "id-back" => Some(DocumentKind::IdBack),
        "passport-info" => Some(DocumentKind::PassportInfo),
        "passport-validity" => Some(DocumentKind::PassportValidity),
        _ => None,
    }
}
