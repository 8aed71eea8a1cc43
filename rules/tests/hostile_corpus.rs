//! Replays every hostile corpus table (`tests/fixtures/hostile/*/expected.json`) through the
//! rules: each file gets exactly its codes, and every output that would be stored (the photo's
//! rebuild, a document's or attachment's output, a photo's fix) is clean under an independent
//! marker walker written here, not the sanitizer's code: no APPn but one JFIF APP0, no COM, no
//! JPGn, nothing after EOI, exactly one SOI..EOI image, none of the hidden strings, and it decodes.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::corpus::doc_kind;
use common::hostile_images::{GPS_MARKER, SECRET};
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The independent walker: Ok when `b` is one clean JPEG image.
pub fn clean_jpeg(b: &[u8]) -> Result<(), String> {
    if b.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err("no SOI".into());
    }
    let (mut i, mut jfif, mut frames, mut scans) = (2usize, 0, 0, 0);
    loop {
        if b.get(i) != Some(&0xFF) {
            return Err(format!("no marker at {i}"));
        }
        while b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let m = *b.get(i + 1).ok_or("ends in a marker")?;
        i += 2;
        if m == 0xD9 {
            if i != b.len() {
                return Err(format!("{} bytes after EOI", b.len() - i));
            }
            if frames != 1 || scans == 0 {
                return Err(format!("{frames} frames, {scans} scans"));
            }
            break;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(i).ok_or("short")?, *b.get(i + 1).ok_or("short")?]));
        let seg = b.get(i + 2..i + len).ok_or("segment past the end")?;
        match m {
            0xE0 if seg.starts_with(b"JFIF\0") && jfif == 0 => jfif += 1,
            0xE0..=0xEF => return Err(format!("APP{}", m - 0xE0)),
            0xFE => return Err("COM".into()),
            0xF0..=0xFD => return Err(format!("JPG{}", m - 0xF0)),
            0xC0..=0xC2 => {
                frames += 1;
                if seg[0] != 8 || !matches!(seg[5], 1 | 3) {
                    return Err(format!("frame: precision {}, {} components", seg[0], seg[5]));
                }
            }
            0xC4 | 0xDB | 0xDD => {}
            0xDA => scans += 1,
            other => return Err(format!("marker FF{other:02X}")),
        }
        i += len;
        if m == 0xDA {
            // Entropy-coded data: FF00 stuffing and RSTn belong to it.
            loop {
                let at = i + b[i..].iter().position(|&x| x == 0xFF).ok_or("scan without an end")?;
                match b.get(at + 1) {
                    Some(0x00 | 0xD0..=0xD7) => i = at + 2,
                    _ => {
                        i = at;
                        break;
                    }
                }
            }
        }
    }
    if contains(b, SECRET) || contains(b, GPS_MARKER) {
        return Err("a hidden string survived".into());
    }
    let img = image::load_from_memory(b).map_err(|e| format!("does not decode: {e}"))?;
    if img.color().channel_count() != 3 && img.color().channel_count() != 1 {
        return Err("not RGB or grey".into());
    }
    Ok(())
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
        let kind = case["kind"].as_str().expect("kind");
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
