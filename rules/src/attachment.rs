//! Work certificates and supporting files (FAQ 10): no fixed format, any
//! JPEG, PNG or PDF that proves the work. Recognised by content. Pictures go
//! through the bounded decoder and are re-encoded (upright, long side at most
//! [`OUTPUT_LONG_SIDE`], no metadata); PDFs must be complete and unencrypted
//! and are kept as they are.

use crate::catalog::Code;
use crate::decode::{self, DecodeError, DecodeLimits, Decoded, Sniffed};
use crate::jpeg;
use crate::photo::{decode_problem, human_bytes};
use crate::report::{Problem, Report};
use crate::resample::{Rect, fit_within, render_from, shrink_for};

/// Largest accepted attachment.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Long side cap of a re-encoded picture.
pub const OUTPUT_LONG_SIDE: u32 = 2400;
/// JPEG quality of a re-encoded picture.
pub const OUTPUT_QUALITY: u8 = 85;
/// The trailer must end within this many bytes of the end of the file.
const EOF_WINDOW: usize = 2048;

/// A stored attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// `image/jpeg` or `application/pdf`.
    pub media_type: &'static str,
    /// The bytes to store and forward.
    pub bytes: Vec<u8>,
}

/// The outcome of [`check`].
#[derive(Debug, Clone)]
pub struct AttachmentOutcome {
    /// Every problem found.
    pub report: Report,
    /// What is stored, when the file is acceptable.
    pub output: Option<Attachment>,
}

/// Checks one attachment under the field name `field`.
pub fn check(field: &str, bytes: &[u8]) -> AttachmentOutcome {
    let mut report = Report::new();
    if bytes.is_empty() {
        report.push(Problem::new(field, Code::FileEmpty, &[]));
        return AttachmentOutcome { report, output: None };
    }
    if let Some(too_large) = size_problem(field, bytes) {
        report.push(too_large);
        return AttachmentOutcome { report, output: None };
    }
    match decode::sniff(bytes) {
        Sniffed::Pdf => {
            let problems = pdf_problems(field, bytes);
            let ok = problems.is_empty();
            report.extend(problems);
            let output = ok.then(|| Attachment { media_type: "application/pdf", bytes: bytes.to_vec() });
            AttachmentOutcome { report, output }
        }
        Sniffed::Jpeg | Sniffed::Png => {
            let limits = DecodeLimits { max_file_bytes: MAX_BYTES, ..DecodeLimits::DEFAULT };
            match decode::decode(bytes, &limits) {
                Ok(d) => check_decoded(field, bytes, &d),
                Err(e) => {
                    report.push(decode_problem(field, &e, "JPEG, PNG, PDF"));
                    AttachmentOutcome { report, output: None }
                }
            }
        }
        other => {
            report.push(decode_problem(field, &DecodeError::Unsupported(other), "JPEG, PNG, PDF"));
            AttachmentOutcome { report, output: None }
        }
    }
}

/// [`check`] for a picture decoded elsewhere (see [`Decoded::from_pixels`]): `bytes` are
/// the file as chosen (its size is judged), `decoded` its pixels, possibly downscaled.
pub fn check_decoded(field: &str, bytes: &[u8], decoded: &Decoded) -> AttachmentOutcome {
    match size_problem(field, bytes) {
        Some(too_large) => AttachmentOutcome { report: std::iter::once(too_large).collect(), output: None },
        None => AttachmentOutcome { report: Report::new(), output: Some(encode_picture(bytes, decoded)) },
    }
}

/// `file.too_large` when the file exceeds [`MAX_BYTES`].
fn size_problem(field: &str, bytes: &[u8]) -> Option<Problem> {
    (bytes.len() > MAX_BYTES).then(|| {
        Problem::new(
            field,
            Code::FileTooLarge,
            &[("size", &human_bytes(bytes.len())), ("limit", &human_bytes(MAX_BYTES))],
        )
    })
}

/// Upright, long side at most [`OUTPUT_LONG_SIDE`], no metadata.
fn encode_picture(bytes: &[u8], d: &Decoded) -> Attachment {
    // Renders work in the pixels' coordinates; the output has the file's size (capped).
    let (pw, ph) = d.upright_dimensions();
    let (w, h) = d.source_dimensions();
    let (ow, oh) = fit_within(w, h, OUTPUT_LONG_SIDE);
    let render = || render_from(&shrink_for(&d.raw, OUTPUT_LONG_SIDE), d.orientation, Rect::full(pw, ph), ow, oh);
    let bytes = if d.is_file_pixels() {
        jpeg::keep_or_encode(bytes, d, (ow, oh), render, OUTPUT_QUALITY)
    } else {
        jpeg::encode(&render(), OUTPUT_QUALITY)
    };
    Attachment { media_type: "image/jpeg", bytes }
}

/// A PDF must start with the signature, end with `%%EOF` and carry no
/// `/Encrypt` dictionary (a byte scan: no PDF parser runs on the server).
fn pdf_problems(field: &str, bytes: &[u8]) -> Vec<Problem> {
    let mut out = Vec::new();
    let tail = &bytes[bytes.len().saturating_sub(EOF_WINDOW)..];
    if !contains(tail, b"%%EOF") {
        out.push(Problem::new(field, Code::FilePdfInvalid, &[]));
    }
    if contains(bytes, b"/Encrypt") {
        out.push(Problem::new(field, Code::FilePdfEncrypted, &[]));
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdfs_are_checked_by_content() {
        let ok = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        let out = check("work_certificate", ok);
        assert!(out.report.is_empty(), "{:?}", out.report);
        assert_eq!(out.output.unwrap().media_type, "application/pdf");

        let truncated = &ok[..20];
        assert_eq!(check("work_certificate", truncated).report.codes(), vec![Code::FilePdfInvalid]);

        let enc = b"%PDF-1.7\ntrailer<</Encrypt 5 0 R>>\n%%EOF";
        let out = check("work_certificate", enc);
        assert_eq!(out.report.codes(), vec![Code::FilePdfEncrypted]);
        assert!(out.output.is_none());
    }

    #[test]
    fn other_formats_and_empty_files_are_refused() {
        assert_eq!(check("supporting", b"").report.codes(), vec![Code::FileEmpty]);
        assert_eq!(check("supporting", b"GIF89a......").report.codes(), vec![Code::FileUnsupportedFormat]);
        assert_eq!(check("supporting", b"PK\x03\x04 a zip").report.codes(), vec![Code::FileUnsupportedFormat]);
        let big = vec![b'%'; MAX_BYTES + 1];
        assert_eq!(check("supporting", &big).report.codes(), vec![Code::FileTooLarge]);
    }
}
