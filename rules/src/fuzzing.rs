//! Entry points shared by the fuzz targets (`fuzz/`) and the corpus replay
//! test (`tests/fuzz_corpus.rs`): whatever the fuzzer finds is replayed by
//! `cargo test` through exactly the same code. None of them may panic.

use crate::form::{self, CertificateType, Date};
use crate::profile::ProfileSet;
use crate::{attachment, document, photo};

/// Every image and file check on arbitrary bytes.
pub fn file_checks(data: &[u8]) {
    let profile = ProfileSet::embedded().default_profile();
    let _ = crate::decode::probe(data);
    let out = photo::fix(data, profile);
    if let Some(fixed) = out.output {
        // Whatever the fix produces must pass its own check.
        assert!(fixed.after.passes(), "fixed output fails its own check: {:?}", fixed.after);
    }
    let doc = document::check(document::DocumentKind::IdFront, data);
    if let Some(d) = doc.output {
        let _ = document::check_pair(&d, &d);
    }
    let _ = attachment::check("work_certificate", data);
    sanitize(data);
}

/// The PDF parser and rewrite (`pdf::sanitize`, through `attachment::check`) on arbitrary
/// bytes, also behind a `%PDF-1.7` header: never a panic, and an accepted file's rewrite is
/// accepted again unchanged (what the server re-checks is what the widget uploaded).
#[cfg(feature = "pdf")]
pub fn pdf_checks(data: &[u8]) {
    let with_header = [&b"%PDF-1.7\n"[..], data].concat();
    for input in [data, &with_header[..]] {
        if let Ok(cleaned) = crate::pdf::sanitize(input) {
            match crate::pdf::sanitize(&cleaned.bytes) {
                Ok(again) => assert!(again.bytes == cleaned.bytes, "the rewrite is not a fixed point"),
                Err(e) => panic!("the rewrite is refused: {e:?}"),
            }
        }
        let _ = attachment::check("supporting", input);
    }
}

/// Every number parser and the form on arbitrary text.
pub fn text_checks(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let today = Date::new(2026, 11, 26).unwrap_or(Date { year: 2026, month: 1, day: 1 });
    for kind in CertificateType::ALL {
        let _ = form::numbers::parse_certificate(kind, &text, today);
    }
    let _ = form::numbers::check_uscc(&text);
    let _ = form::numbers::check_mobile(&text);
    let _ = form::numbers::check_email(&text);
    let _ = form::numbers::mask(&text);
    let _ = form::has_pinyin(&text);
    let _ = form::parse_raw(data);
}

/// The sanitizer on arbitrary bytes: its audit never panics, and whatever it
/// rebuilds is clean under its own audit, is a fixed point, is never longer
/// than the input plus the JFIF header it writes, and decodes to the same pixels.
pub fn sanitize(data: &[u8]) {
    let audit = crate::sanitize::audit(data);
    if let Some(rebuilt) = crate::sanitize::rebuild_audited(data, &audit) {
        let again = crate::sanitize::audit(&rebuilt);
        assert!(again.is_clean(), "a rebuild is not clean: {again:?}");
        assert_eq!(Some(rebuilt.len()), audit.rebuilt_len());
        assert!(rebuilt.len() <= data.len() + crate::sanitize::JFIF_APP0.len() + 2);
        assert_eq!(crate::sanitize::rebuild(&rebuilt).as_deref(), Some(&rebuilt[..]), "not a fixed point");
        // Lossless: what decodes decodes to the same pixels after the rebuild.
        let limits = crate::decode::DecodeLimits { max_pixels: 1 << 20, ..crate::decode::DecodeLimits::DEFAULT };
        if let Ok(before) = crate::decode::decode(data, &limits) {
            let after = crate::decode::decode(&rebuilt, &limits).expect("the rebuild decodes");
            assert!(before.raw == after.raw, "the rebuild changed the pixels");
        }
    }
    // The PDF image-stream variant: one image, no metadata, nothing after EOI, a fixed point.
    if let Some(embedded) = crate::sanitize::rebuild_embedded(data) {
        let a = crate::sanitize::audit(&embedded);
        assert!(
            a.images == 1 && !a.has_exif && a.com == 0 && a.jpgn == 0 && a.trailing_bytes == 0,
            "an embedded rebuild is not clean: {a:?}"
        );
        assert!(a.app_segments <= 1, "more than the Adobe header: {a:?}");
        assert_eq!(crate::sanitize::rebuild_embedded(&embedded).as_deref(), Some(&embedded[..]), "not a fixed point");
    }
}
