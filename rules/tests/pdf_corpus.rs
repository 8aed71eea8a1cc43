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

#[path = "common/pdfgen.rs"]
mod pdfgen;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use intake_rules::{attachment, pdf};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// One test at a time: the allocator's counters are global.
static SERIAL: Mutex<()> = Mutex::new(());

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

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

/// `qpdf`, or None (with a loud message) when it is missing outside CI; missing in CI fails.
fn qpdf() -> Option<&'static str> {
    if Command::new("qpdf").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some("qpdf");
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "qpdf is required in CI for the independent check of rewritten PDFs (apt-get install -y qpdf)"
    );
    eprintln!("\n\n*** pdf_corpus: qpdf NOT INSTALLED: the independent check of rewritten PDFs is SKIPPED ***\n\n");
    None
}

/// Names (`/Key`) in a PDF's text, decoded as qpdf writes them in QDF mode.
fn names(text: &[u8]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'/' {
            let start = i + 1;
            let mut j = start;
            while j < text.len() && !b" \t\r\n\x0c\0()<>[]{}/%".contains(&text[j]) {
                j += 1;
            }
            out.insert(String::from_utf8_lossy(&text[start..j]).into_owned());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The independent check of bytes we store: qpdf validates them, and its uncompressed QDF
/// rewrite has none of the refused or stripped keys and no leftover text.
fn independent_check(qpdf: &str, name: &str, stored: &[u8]) {
    let dir = std::env::temp_dir().join(format!("intake-pdf-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name.replace('/', "_"));
    let qdf = path.with_extension("qdf");
    std::fs::write(&path, stored).expect("write");
    let check = Command::new(qpdf).arg("--check").arg(&path).output().expect("qpdf runs");
    assert!(
        check.status.success(),
        "{name}: qpdf --check refuses our rewrite: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let out = Command::new(qpdf)
        .args(["--qdf", "--object-streams=disable"])
        .arg(&path)
        .arg(&qdf)
        .output()
        .expect("qpdf runs");
    assert!(out.status.success(), "{name}: qpdf --qdf: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read(&qdf).expect("qdf output");
    let found = names(&text);
    for key in [
        "JavaScript",
        "JS",
        "OpenAction",
        "AA",
        "Launch",
        "EmbeddedFiles",
        "EmbeddedFile",
        "EF",
        "RichMedia",
        "RichMediaContent",
        "XFA",
        "Info",
        "Metadata",
        "PieceInfo",
        "Encrypt",
    ] {
        assert!(!found.contains(key), "{name}: the rewrite still has /{key}");
    }
    assert!(find(&text, b"INTAKE-LEFTOVER").is_none(), "{name}: leftover text survived the rewrite");
    let lower = text.to_ascii_lowercase();
    assert!(find(&lower, b"javascript:").is_none(), "{name}: a javascript: URI survived");
    assert!(found.contains("Page"), "{name}: qpdf sees no page");
    let pages = Command::new(qpdf).arg("--show-npages").arg(&path).output().expect("qpdf runs");
    let n: usize = String::from_utf8_lossy(&pages.stdout).trim().parse().unwrap_or(0);
    assert!(n >= 1, "{name}: qpdf counts {n} pages");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&qdf);
}

fn nothing_after_eof(name: &str, stored: &[u8]) {
    let last = stored.windows(5).rposition(|w| w == b"%%EOF").expect("an %%EOF");
    assert!(stored[last + 5..].iter().all(|&b| b == b'\n' || b == b'\r'), "{name}: bytes after the last %%EOF");
    assert_eq!(stored.windows(5).filter(|w| *w == b"%%EOF").count(), 1, "{name}: one %%EOF, one revision");
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
            independent_check(q, &case.file, &stored.bytes);
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
