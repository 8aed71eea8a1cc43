//! Replays the fuzz corpus (`fuzz/corpus/<target>/*`) through the same entry
//! points the fuzz targets call. A crash the fuzzer found stays fixed.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in &entries {
        let data = std::fs::read(path).expect("corpus file");
        run(&data);
    }
    entries.len()
}

#[test]
fn decode_corpus_replays_without_panics() {
    let n = replay("decode", intake_rules::fuzzing::file_checks);
    assert!(n >= 8, "the decode corpus has its seeds ({n})");
}

#[test]
fn numbers_corpus_replays_without_panics() {
    let n = replay("numbers", intake_rules::fuzzing::text_checks);
    assert!(n >= 8, "the numbers corpus has its seeds ({n})");
}

#[test]
fn pdf_corpus_replays_without_panics() {
    let n = replay("pdf", intake_rules::fuzzing::pdf_checks);
    assert!(n >= 20, "the pdf corpus has its seeds ({n})");
}

#[test]
fn sanitize_corpus_replays_without_panics() {
    let n = replay("sanitize", intake_rules::fuzzing::sanitize);
    assert!(n >= 10, "the sanitize corpus has its seeds ({n})");
}
