//! Replays every hostile corpus table (`tests/fixtures/hostile/*/expected.json`) through the
//! rules: each file gets exactly its codes, and every output that would be stored (the photo's
//! rebuild, a document's or attachment's output, a photo's fix) is clean under an independent
//! marker walker written here, not the sanitizer's code: no APPn but one JFIF APP0, no COM, no
//! JPGn, nothing after EOI, exactly one SOI..EOI image, none of the hidden strings, and it decodes.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::corpus::doc_kind;
use common::walker::clean_jpeg;
use intake_rules::profile::ProfileSet;
use intake_rules::{attachment, document, photo};
use serde_json::Value;

fn hostile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile")
}

/// Every `tests/fixtures/hostile/*/expected.json`'s cases.
fn tables() -> Vec<Value> {
    let mut dirs: Vec<_> =
        std::fs::read_dir(hostile()).expect("hostile dir").map(|e| e.expect("entry").path()).collect();
    dirs.sort();
    let mut out = Vec::new();
    for dir in dirs {
        let path = dir.join("expected.json");
        if let Ok(text) = std::fs::read(&path) {
            let table: Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            out.extend(table["files"].as_array().expect("files").iter().cloned());
        }
    }
    out
}

/// Output cleanliness for a stored file of any media type.
fn clean(media_type: &str, bytes: &[u8]) -> Result<(), String> {
    match media_type {
        "image/jpeg" => clean_jpeg(bytes),
        "application/pdf" => {
            let last = bytes.windows(5).rposition(|w| w == b"%%EOF").ok_or("no %%EOF")?;
            let rest = &bytes[last + 5..];
            if !bytes.starts_with(b"%PDF-") || rest.iter().any(|c| !c.is_ascii_whitespace()) {
                return Err("not a PDF or bytes after the last %%EOF".into());
            }
            Ok(())
        }
        other => Err(format!("unexpected media type {other}")),
    }
}

#[test]
fn every_hostile_file_gets_its_codes_and_every_stored_output_is_clean() {
    let profile = ProfileSet::embedded().default_profile();
    let cases = tables();
    assert!(cases.len() >= 25, "the hostile corpus is complete ({})", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let rel = case["file"].as_str().expect("file");
        // A supporting file gets the work certificate's check (the same `attachment::check`).
        let kind = match case["kind"].as_str().expect("kind") {
            "supporting" => "work-certificate",
            k => k,
        };
        let bytes = std::fs::read(hostile().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let want: BTreeSet<String> =
            case["codes"].as_array().expect("codes").iter().map(|c| c.as_str().expect("code").to_owned()).collect();
        let accepted = case["accepted"].as_bool().expect("accepted");
        // (report, stored outputs: media type and bytes)
        let (report, stored): (intake_rules::Report, Vec<(&str, Vec<u8>)>) = match kind {
            "photo" => {
                let fix = photo::fix(&bytes, profile);
                let mut stored = Vec::new();
                if fix.before.passes() {
                    match photo::stored(&bytes) {
                        Some(s) => stored.push(("image/jpeg", s)),
                        None => failures.push(format!("{rel}: a passing photo has no stored form")),
                    }
                }
                if let Some(f) = fix.output {
                    stored.push(("image/jpeg", f.jpeg));
                }
                (fix.before, stored)
            }
            "work-certificate" => {
                let out = attachment::check("work_certificate", &bytes);
                let stored = out.output.map(|a| (a.media_type, a.bytes)).into_iter().collect();
                (out.report, stored)
            }
            other => {
                let out = document::check(doc_kind(other).expect("document kind"), &bytes);
                let stored = out.output.map(|d| ("image/jpeg", d.jpeg)).into_iter().collect();
                (out.report, stored)
            }
        };
        let found: BTreeSet<String> = report.codes().iter().map(|c| c.as_str().to_owned()).collect();
        if found != want {
            failures.push(format!("{rel} as {kind}: expected {want:?}, found {found:?}"));
        }
        if report.passes() != accepted {
            failures.push(format!("{rel}: accepted {accepted} expected, passes {}", report.passes()));
        }
        if accepted && stored.is_empty() {
            failures.push(format!("{rel}: accepted without a stored output"));
        }
        for (media_type, out) in &stored {
            if let Err(e) = clean(media_type, out) {
                failures.push(format!("{rel}: stored output not clean: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_committed_image_corpus_is_what_the_generator_writes() {
    let cases = common::hostile_images::corpus();
    let table: Value =
        serde_json::from_slice(&std::fs::read(hostile().join("images/expected.json")).expect("table")).expect("json");
    let files = table["files"].as_array().expect("files");
    assert_eq!(files.len(), cases.len(), "the table lists every generated file");
    for (case, row) in cases.iter().zip(files) {
        assert_eq!(row["file"], case.file);
        let committed = std::fs::read(hostile().join(case.file)).unwrap_or_else(|e| panic!("{}: {e}", case.file));
        assert!(committed == case.bytes, "{} differs from the generator's bytes: regenerate", case.file);
    }
}

#[test]
fn the_independent_walker_refuses_what_it_must() {
    let good = intake_rules::jpeg::encode(&image::RgbImage::from_pixel(16, 16, image::Rgb([9, 99, 199])), 90);
    assert_eq!(clean_jpeg(&good), Ok(()));
    let with = |at: usize, what: &[u8]| [&good[..at], what, &good[at..]].concat();
    assert!(clean_jpeg(&with(2, b"\xFF\xE1\x00\x04ab")).is_err(), "APP1");
    assert!(clean_jpeg(&with(2, b"\xFF\xFE\x00\x04ab")).is_err(), "COM");
    assert!(clean_jpeg(&with(2, b"\xFF\xF3\x00\x04ab")).is_err(), "JPGn");
    assert!(clean_jpeg(&[&good[..], b"PK"].concat()).is_err(), "trailing");
    assert!(clean_jpeg(&[&good[..], &good[..]].concat()).is_err(), "second image");
    let eoi = good.len() - 2;
    assert!(clean_jpeg(&with(eoi, b"\xFF\xEC\x00\x04ab")).is_err(), "APPn after the scan");
}
