//! Work certificates and supporting files (FAQ 10): no fixed format, any
//! JPEG, PNG or PDF that proves the work. Recognised by content. Pictures go
//! through the bounded decoder and are re-encoded (upright, long side at most
//! [`OUTPUT_LONG_SIDE`], no metadata); PDFs are parsed, refused or cleaned and
//! written out fresh by `pdf::sanitize`: what is stored is the rewrite,
//! never the file as given.
//!
//! The PDF parser is the `pdf` feature (on by default; the backend, the CLI and the
//! lazily loaded `intake-pdf` module have it). Built without it (the widget's first
//! load), [`check`] refuses every PDF with `file.pdf_checker_unavailable` and never
//! stores one: there is no code path that accepts a PDF it has not parsed. The widget's
//! worker asks [`needs_pdf_module`] first and hands those files to `intake-pdf`.
//!
//! Architecture Invariant: a build of these rules without the `pdf` feature never
//! accepts a PDF (`attachment::tests::without_the_parser_a_pdf_is_refused_never_kept`,
//! run by `cargo test -p intake-rules --no-default-features --lib attachment`).

use crate::catalog::Code;
use crate::decode::{self, DecodeError, DecodeLimits, Decoded, Sniffed};
use crate::jpeg;
#[cfg(feature = "pdf")]
use crate::pdf::{self, Limit, Refusal};
use crate::photo::{decode_problem, human_bytes};
use crate::report::{Problem, Report};
use crate::resample::{Rect, fit_within, render_from, shrink_for};

/// Largest accepted attachment.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// Long side cap of a re-encoded picture.
pub const OUTPUT_LONG_SIDE: u32 = 2400;
/// JPEG quality of a re-encoded picture.
pub const OUTPUT_QUALITY: u8 = 85;

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

/// True when these rules were built with the PDF parser (the `pdf` feature).
pub const READS_PDF: bool = cfg!(feature = "pdf");

/// True when `bytes` is a PDF (by content) and these rules cannot read it: [`check`] would
/// refuse it with `file.pdf_checker_unavailable`. The widget's worker then hands the file to the
/// `intake-pdf` module (these rules with the parser) instead.
pub fn needs_pdf_module(bytes: &[u8]) -> bool {
    !READS_PDF && decode::sniff(bytes) == Sniffed::Pdf
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
        Sniffed::Pdf => check_pdf(field, bytes, report),
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

/// A PDF: parsed, refused or rewritten by `pdf::sanitize`; what is stored is the rewrite.
#[cfg(feature = "pdf")]
fn check_pdf(field: &str, bytes: &[u8], mut report: Report) -> AttachmentOutcome {
    match pdf::sanitize(bytes) {
        Ok(cleaned) => AttachmentOutcome {
            report,
            output: Some(Attachment { media_type: "application/pdf", bytes: cleaned.bytes }),
        },
        Err(refusal) => {
            report.push(pdf_problem(field, &refusal));
            AttachmentOutcome { report, output: None }
        }
    }
}

/// Without the parser a PDF is refused, never stored: nothing here can accept one.
#[cfg(not(feature = "pdf"))]
fn check_pdf(field: &str, _bytes: &[u8], mut report: Report) -> AttachmentOutcome {
    report.push(Problem::new(field, Code::FilePdfCheckerUnavailable, &[]));
    AttachmentOutcome { report, output: None }
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

/// The problem a refused PDF gets.
#[cfg(feature = "pdf")]
pub fn pdf_problem(field: &str, refusal: &Refusal) -> Problem {
    match refusal {
        Refusal::Invalid(_) => Problem::new(field, Code::FilePdfInvalid, &[]),
        Refusal::Encrypted => Problem::new(field, Code::FilePdfEncrypted, &[]),
        Refusal::Active(what) => Problem::new(field, Code::FilePdfActiveContent, &[("what", &what.join(", "))]),
        Refusal::NoPages => Problem::new(field, Code::FilePdfNoPages, &[]),
        Refusal::TooMuch(Limit::Pages) => Problem::new(field, Code::FilePdfTooManyPages, &[("max", &pdf::MAX_PAGES)]),
        Refusal::TooMuch(limit) => {
            let code = match limit {
                Limit::StreamDecoded | Limit::TotalDecoded => Code::FilePdfStreamTooLarge,
                _ => Code::FilePdfTooComplex,
            };
            let (zh, en) = limit.what();
            let max = match limit {
                Limit::StreamDecoded | Limit::TotalDecoded => human_bytes(limit.max()),
                _ => limit.max().to_string(),
            };
            Problem::new(field, code, &[("what", &zh), ("what_en", &en), ("max", &max)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERTIFICATE: &[u8] = include_bytes!("../../tests/fixtures/file/work_certificate.pdf");

    #[test]
    fn without_the_parser_a_pdf_is_refused_never_kept() {
        // Every PDF-looking input, valid or not: with the parser it is parsed; without it it is
        // refused with its own code and nothing is stored, and the widget's worker routes it out.
        let enc = include_bytes!("../../tests/fixtures/file/encrypted.pdf");
        for bytes in
            [CERTIFICATE, &enc[..], &b"%PDF-1.7 %%EOF"[..], &b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"[..]]
        {
            let out = check("work_certificate", bytes);
            assert_eq!(needs_pdf_module(bytes), !READS_PDF);
            if READS_PDF {
                assert!(!out.report.has(Code::FilePdfCheckerUnavailable), "{:?}", out.report);
            } else {
                assert_eq!(out.report.codes(), vec![Code::FilePdfCheckerUnavailable]);
                assert!(out.output.is_none() && !out.report.passes());
            }
        }
        // Pictures and other formats never need the PDF module.
        assert!(!needs_pdf_module(include_bytes!("../../tests/fixtures/file/work_certificate.jpg")));
        assert!(!needs_pdf_module(b"PK\x03\x04 a zip"));
        assert_eq!(READS_PDF, cfg!(feature = "pdf"));
    }

    #[test]
    #[cfg(feature = "pdf")]
    fn pdfs_are_parsed_and_the_rewrite_is_stored() {
        let out = check("work_certificate", CERTIFICATE);
        assert!(out.report.is_empty(), "{:?}", out.report);
        let stored = out.output.expect("accepted");
        assert_eq!(stored.media_type, "application/pdf");
        // The stored bytes are the rewrite (no Info, one %%EOF), and pass the same check unchanged.
        assert_ne!(stored.bytes, CERTIFICATE);
        assert!(stored.bytes.ends_with(b"%%EOF\n"));
        assert_eq!(check("work_certificate", &stored.bytes).output.map(|a| a.bytes), Some(stored.bytes));

        // What the byte scan let through: a stub, a structure-less file, an escaped /Encrypt.
        let stub = b"%PDF-1.7 %%EOF";
        assert_eq!(check("work_certificate", stub).report.codes(), vec![Code::FilePdfInvalid]);
        let scan_ok = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        assert_eq!(check("work_certificate", scan_ok).report.codes(), vec![Code::FilePdfInvalid]);
        let truncated = &CERTIFICATE[..CERTIFICATE.len() / 2];
        assert_eq!(check("work_certificate", truncated).report.codes(), vec![Code::FilePdfInvalid]);

        let enc = include_bytes!("../../tests/fixtures/file/encrypted.pdf");
        let out = check("work_certificate", enc);
        assert_eq!(out.report.codes(), vec![Code::FilePdfEncrypted]);
        assert!(out.output.is_none());
    }

    #[test]
    #[cfg(feature = "pdf")]
    fn every_refusal_has_its_code_and_a_message_without_placeholders() {
        let cases = [
            (Refusal::Invalid("x"), Code::FilePdfInvalid),
            (Refusal::Encrypted, Code::FilePdfEncrypted),
            (Refusal::Active(vec!["JavaScript", "Launch"]), Code::FilePdfActiveContent),
            (Refusal::NoPages, Code::FilePdfNoPages),
            (Refusal::TooMuch(Limit::Pages), Code::FilePdfTooManyPages),
            (Refusal::TooMuch(Limit::Depth), Code::FilePdfTooComplex),
            (Refusal::TooMuch(Limit::Objects), Code::FilePdfTooComplex),
            (Refusal::TooMuch(Limit::StreamDecoded), Code::FilePdfStreamTooLarge),
        ];
        for (refusal, code) in cases {
            let p = pdf_problem("supporting", &refusal);
            assert_eq!(p.code, code);
            for text in [&p.message.zh, &p.message.en, &p.hint.zh, &p.hint.en] {
                assert!(!text.contains('{'), "{code:?}: {text}");
            }
        }
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
