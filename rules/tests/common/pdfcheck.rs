//! The independent check of a PDF we store or forward: Debian's `qpdf` (not our parser)
//! validates it, and its uncompressed QDF rewrite holds none of the refused or stripped keys,
//! no leftover text, no `javascript:` URI, and at least one page; nothing follows the one
//! `%%EOF`. Shared by `rules/tests/pdf_corpus.rs` and `backend/tests/hostile_api.rs`.
#![allow(dead_code, unreachable_pub, clippy::print_stderr)]

use std::collections::BTreeSet;
use std::process::Command;

/// `qpdf`, or None (with a loud message) when it is missing outside CI; missing in CI fails.
pub fn qpdf() -> Option<&'static str> {
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
/// Returns how many JPEG image streams it judged.
pub fn independent_check(qpdf: &str, name: &str, stored: &[u8]) -> usize {
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
    assert!(find(&text, super::walker::SECRET).is_none(), "{name}: the corpus' hidden number survived");
    assert!(find(&text, super::walker::GPS_MARKER).is_none(), "{name}: the corpus' GPS text survived");
    // Every JPEG image stream (qpdf leaves /DCTDecode data as it is) is one clean image.
    let jpegs = jpeg_streams(&text);
    for jpeg in &jpegs {
        if let Err(e) = super::walker::clean_embedded_jpeg(jpeg) {
            panic!("{name}: an image stream is not clean: {e}");
        }
    }
    let lower = text.to_ascii_lowercase();
    assert!(find(&lower, b"javascript:").is_none(), "{name}: a javascript: URI survived");
    assert!(found.contains("Page"), "{name}: qpdf sees no page");
    let pages = Command::new(qpdf).arg("--show-npages").arg(&path).output().expect("qpdf runs");
    let n: usize = String::from_utf8_lossy(&pages.stdout).trim().parse().unwrap_or(0);
    assert!(n >= 1, "{name}: qpdf counts {n} pages");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&qdf);
    jpegs.len()
}

/// The data of every stream in `text` that starts like a JPEG, up to its `endstream`.
pub fn jpeg_streams(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = find(&text[at..], b"stream\n") {
        let start = at + p + 7;
        at = start;
        if text[start..].starts_with(&[0xFF, 0xD8, 0xFF]) {
            let Some(end) = find(&text[start..], b"endstream") else { break };
            let data = &text[start..start + end];
            let data = data.strip_suffix(b"\n").unwrap_or(data);
            out.push(data);
            at = start + end;
        }
    }
    out
}

pub fn nothing_after_eof(name: &str, stored: &[u8]) {
    let last = stored.windows(5).rposition(|w| w == b"%%EOF").expect("an %%EOF");
    assert!(stored[last + 5..].iter().all(|&b| b == b'\n' || b == b'\r'), "{name}: bytes after the last %%EOF");
    assert_eq!(stored.windows(5).filter(|w| *w == b"%%EOF").count(), 1, "{name}: one %%EOF, one revision");
}
