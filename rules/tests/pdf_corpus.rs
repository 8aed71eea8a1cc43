//! The hostile PDF corpus (`tests/fixtures/hostile/pdf/`, written by
//! `scripts/hostile/gen_pdf.py`) replayed through `attachment::check`: every file gets
//! exactly the codes of `expected.json`; every accepted file is stored as a rewrite that
//! an independent PDF implementation (Debian's `qpdf`, not our parser) finds valid and
//! free of the refused keys, of `/Info` and `/Metadata`, of the corpus' LEFTOVER marker and
//! of bytes after `%%EOF`. Checking any PDF stays under `pdf::MEMORY_BOUND` (a counting
//! allocator, as in `hostile.rs`).
//!
//! Without `qpdf` the independent half is skipped with a loud message, unless `CI` is set:
//! then it fails (`scripts/test.sh` installs qpdf).
#![allow(clippy::print_stderr)] // the loud skip message and the measured peaks

#[path = "common/counting.rs"]
mod counting;
#[path = "common/pdfcheck.rs"]
mod pdfcheck;
#[path = "common/pdfgen.rs"]
mod pdfgen;
#[path = "common/walker.rs"]
mod walker;

use counting::peak_during;
use pdfcheck::{independent_check, nothing_after_eof, qpdf};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use intake_rules::{attachment, pdf};

/// One test at a time: the allocator's counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile")
}

struct Case {
    file: String,
    field: &'static str,
    codes: BTreeSet<String>,
    accepted: bool,
}

fn table() -> Vec<Case> {
    let text = std::fs::read_to_string(hostile_dir().join("pdf/expected.json")).expect("expected.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| Case {
            file: f["file"].as_str().expect("file").to_owned(),
            field: if f["kind"] == "work-certificate" { "work_certificate" } else { "supporting" },
            codes: f["codes"].as_array().expect("codes").iter().map(|c| c.as_str().expect("code").to_owned()).collect(),
            accepted: f["accepted"].as_bool().expect("accepted"),
        })
        .collect()
}

#[test]
fn the_hostile_pdf_corpus_gets_its_codes_and_accepted_files_are_clean_rewrites() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let qpdf = qpdf();
    let cases = table();
    assert!(cases.len() >= 25, "the corpus has its cases ({})", cases.len());
    let mut accepted = 0;
    for case in &cases {
        let bytes = std::fs::read(hostile_dir().join(&case.file)).expect("fixture");
        let (out, peak) = peak_during(|| attachment::check(case.field, &bytes));
        assert!(peak < pdf::MEMORY_BOUND, "{}: {peak} bytes allocated", case.file);
        let codes: BTreeSet<String> = out.report.codes().iter().map(|c| c.entry().code.to_owned()).collect();
        assert_eq!(codes, case.codes, "{}: codes {:?}", case.file, out.report);
        assert_eq!(out.output.is_some(), case.accepted, "{}", case.file);
        let Some(stored) = out.output else { continue };
        accepted += 1;
        assert_eq!(stored.media_type, "application/pdf");
        nothing_after_eof(&case.file, &stored.bytes);
        // What the server re-checks is what it stores: the rewrite is a fixed point.
        let again = attachment::check(case.field, &stored.bytes);
        assert_eq!(again.output.map(|a| a.bytes).as_ref(), Some(&stored.bytes), "{}: not a fixed point", case.file);
        if let Some(q) = qpdf {
            let images = independent_check(q, &case.file, &stored.bytes);
            if case.file.starts_with("pdf/jpeg_image") {
                assert_eq!(images, 1, "{}: its JPEG image stream was found and judged", case.file);
            }
        }
    }
    assert!(accepted >= 6, "ordinary files are accepted too ({accepted})");
    // The product's own fixture, the first work certificate.
    let cert = std::fs::read(hostile_dir().join("../file/work_certificate.pdf")).expect("fixture");
    let stored = attachment::check("work_certificate", &cert).output.expect("accepted");
    nothing_after_eof("work_certificate.pdf", &stored.bytes);
    if let Some(q) = qpdf {
        independent_check(q, "work_certificate.pdf", &stored.bytes);
    }
}

/// The worst inputs for each bound, each near the attachment size limit.
#[test]
fn checking_any_pdf_stays_under_the_memory_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let size = attachment::MAX_BYTES - 4096;
    let content = pdfgen::stream("", b"0 0 10 10 re f");
    let filler = |unit: &[u8]| unit.repeat(size / unit.len());
    let wrap = |open: &[u8], body: Vec<u8>, close: &[u8]| [open, &body, close].concat();
    let flate_bomb = {
        // Streams of 4 MiB of zeros each (4 KB compressed): the total bound is reached.
        let zeros = vec![0u8; 4 << 20];
        let z = miniz_compress(&zeros);
        (0..16).map(|_| pdfgen::stream("/Filter/FlateDecode", &z)).collect::<Vec<_>>()
    };
    let many_refs = (5..5 + 19_000).map(|_| b"[0 0 0 0 0 0 0 0 0 0]".to_vec()).collect::<Vec<_>>();
    let refs_list: String = (5..5 + 19_000).map(|n| format!("{n} 0 R ")).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "one array of integers",
            pdfgen::one_page(&String::from_utf8(wrap(b"/X[", filler(b"0 "), b"]")).unwrap(), content.clone(), vec![]),
        ),
        (
            "one array of long names",
            pdfgen::one_page(
                &String::from_utf8(wrap(b"/X[", filler(b"/abcdefghijklmnopqrstuvwxyz012345 "), b"]")).unwrap(),
                content.clone(),
                vec![],
            ),
        ),
        (
            "one huge string",
            pdfgen::one_page(&String::from_utf8(wrap(b"/X(", filler(b"a"), b")")).unwrap(), content.clone(), vec![]),
        ),
        (
            "flate streams up to the total",
            pdfgen::one_page(
                &format!("/X[{}]", (5..21).map(|n| format!("{n} 0 R")).collect::<Vec<_>>().join(" ")),
                content.clone(),
                flate_bomb,
            ),
        ),
        ("nineteen thousand objects", pdfgen::one_page(&format!("/X[{refs_list}]"), content, many_refs)),
        ("a 9 MiB multi-page file", pdfgen::multi_page(150, size - 128 * 1024)),
    ];
    for (name, bytes) in cases {
        assert!(bytes.len() <= attachment::MAX_BYTES, "{name}: {} bytes", bytes.len());
        let (out, peak) = peak_during(|| attachment::check("supporting", &bytes));
        eprintln!("{name}: {} bytes in, peak {} KiB, codes {:?}", bytes.len(), peak / 1024, out.report.codes());
        assert!(peak < pdf::MEMORY_BOUND, "{name}: {peak} bytes allocated, bound {}", pdf::MEMORY_BOUND);
    }
}

fn miniz_compress(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
}
