//! What the image pipeline makes of one chosen file ([`ImageResult`], [`ImageOutput`]) and the
//! pair check between two results: plain data and pure functions over `intake_rules`, no web
//! API, so the reducer (state.rs) can hold them (imaging/ re-exports them and adds the object-URL
//! handling).

use intake_rules::document::{self, DocumentKind, ProcessedDocument};
use intake_rules::report::{Problem, Report};
use intake_rules::submission::Part;

/// What the pipeline made of one chosen file.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageResult {
    /// The part the file was chosen for.
    pub part: Part,
    /// The file name as chosen.
    pub file_name: String,
    /// Problems of the file as chosen (what was fixed is visible here: fixable problems).
    pub before: Report,
    /// `intake_rules`' check of the upload-ready bytes with the server's decoder;
    /// `passes()` means the server will accept this part.
    pub verdict: Report,
    /// Upload-ready bytes (JPEG re-encoded, metadata stripped; PDFs rewritten by the rules); None when not fixable.
    pub output: Option<ImageOutput>,
    /// Object URL for the "before" preview (None when the browser cannot show it, e.g. HEIC).
    pub before_url: Option<String>,
    /// Documents: perceptual hash and emblem score of the upload-ready picture, for pair checks.
    pub fingerprint: Option<(u64, f32)>,
}

/// Upload-ready bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageOutput {
    /// The bytes to upload.
    pub bytes: Vec<u8>,
    /// `image/jpeg` or `application/pdf`.
    pub media_type: String,
    /// File name for the upload (`photo.jpg`, or the PDF's own name).
    pub file_name: String,
    /// Width in pixels (0 for PDFs).
    pub width: u32,
    /// Height in pixels (0 for PDFs).
    pub height: u32,
    /// Object URL of `bytes`, for the "after" preview.
    pub url: String,
}

/// Problems between two results (same picture for front and back, sides
/// swapped), as the server's submission check finds them. Order does not
/// matter; results that are not the two sides of one document give nothing.
pub fn pair_problems(a: &ImageResult, b: &ImageResult) -> Vec<Problem> {
    let doc = |r: &ImageResult| -> Option<ProcessedDocument> {
        let kind = r.part.document_kind()?;
        let (phash, emblem_score) = r.fingerprint?;
        let (width, height) = r.output.as_ref().map_or((0, 0), |o| (o.width, o.height));
        Some(ProcessedDocument { kind, jpeg: Vec::new(), width, height, phash, emblem_score })
    };
    let (Some(a), Some(b)) = (doc(a), doc(b)) else { return Vec::new() };
    let first_of_pair = |k: DocumentKind| matches!(k, DocumentKind::IdFront | DocumentKind::PassportInfo);
    let second_of = |k: DocumentKind| match k {
        DocumentKind::IdFront => DocumentKind::IdBack,
        _ => DocumentKind::PassportValidity,
    };
    let (first, second) = if first_of_pair(a.kind) { (a, b) } else { (b, a) };
    if !first_of_pair(first.kind) || second.kind != second_of(first.kind) {
        return Vec::new();
    }
    document::check_pair(&first, &second)
}
