//! Hostile files: each comes back with its code, and without a large
//! allocation (measured by a counting global allocator, not by time).

mod common;

use common::{counting, synth};
use intake_rules::Code;
use intake_rules::document::{self, DocumentKind};
use intake_rules::profile::ProfileSet;
use intake_rules::{attachment, photo};

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// Peak bytes allocated above the level at the start while `f` runs.
fn peak_during(f: impl FnOnce()) -> usize {
    counting::peak_during(f).1
}

/// A PNG header declaring `w`×`h` with a tiny IDAT.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut bomb = synth::png_bomb();
    // IHDR data starts at byte 16: width, height (big endian); fix its CRC.
    bomb[16..20].copy_from_slice(&w.to_be_bytes());
    bomb[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = synth::crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    bomb
}

const LIMIT: usize = 32 * 1024 * 1024;

#[test]
fn hostile_files_get_a_code_without_large_allocations() {
    let profile = ProfileSet::embedded().default_profile();
    let cases: Vec<(&str, Vec<u8>, Code)> = vec![
        ("png dimension bomb", synth::png_bomb(), Code::ImageDimensionsOverLimit),
        ("jpeg dimension bomb", synth::jpeg_bomb(), Code::ImageDimensionsOverLimit),
        (
            "png 11000x11000 within the side limit, over the allocation limit",
            png_declaring(11_000, 11_000),
            Code::ImageDimensionsOverLimit,
        ),
        ("png 10000x4000, tiny data", png_declaring(10_000, 4_000), Code::ImageCorrupt),
        ("truncated jpeg", synth::truncated_jpeg(), Code::ImageCorrupt),
        ("random bytes", synth::random_bytes(1 << 20, 3), Code::FileUnsupportedFormat),
        ("gif named .jpg", synth::gif_bytes(), Code::FileUnsupportedFormat),
        ("empty", Vec::new(), Code::FileEmpty),
        (
            "jpeg magic then garbage",
            [&[0xFF, 0xD8, 0xFF, 0xDB][..], &synth::random_bytes(4096, 9)].concat(),
            Code::ImageCorrupt,
        ),
    ];
    for (name, bytes, code) in &cases {
        let mut report = None;
        let peak = peak_during(|| report = Some(photo::check(bytes, profile)));
        let report = report.unwrap();
        assert!(report.has(*code), "{name}: expected {code}, got {report:#?}");
        assert!(!report.passes(), "{name}");
        // The hostile input itself is counted in neither: it was allocated before.
        assert!(peak < LIMIT, "{name}: peak allocation {peak} bytes");

        let peak = peak_during(|| {
            let d = document::check(DocumentKind::IdFront, bytes);
            assert!(d.report.has(*code), "{name} as a document: {:#?}", d.report);
            let a = attachment::check("work_certificate", bytes);
            assert!(!a.report.passes(), "{name} as an attachment");
        });
        assert!(peak < LIMIT, "{name} as a document: peak allocation {peak} bytes");
    }
}

/// A file of about 1 MB must never cost more than this to check.
const INFLATION_LIMIT: usize = 64 * 1024 * 1024;

#[test]
fn the_hostile_corpus_is_checked_within_64_mb_each() {
    // PNG iCCP / zTXt / iTXt chunks inflating to 64 MiB and a 512 KB eXIf (never inflated: the
    // decoder is given only the chunks decoding needs), and every hostile JPEG.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile/images");
    let profile = ProfileSet::embedded().default_profile();
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("corpus").map(|e| e.expect("entry").path()).collect();
    names.sort();
    let mut checked = 0;
    for path in names.iter().filter(|p| p.extension().is_some_and(|e| e == "png" || e == "jpg")) {
        let bytes = std::fs::read(path).expect("file");
        let name = path.display();
        let peak = peak_during(|| {
            let _ = photo::fix(&bytes, profile);
        });
        assert!(peak < INFLATION_LIMIT, "{name} as a photo: peak allocation {peak} bytes");
        let peak = peak_during(|| {
            let _ = document::check(DocumentKind::IdFront, &bytes);
        });
        assert!(peak < INFLATION_LIMIT, "{name} as a document: peak allocation {peak} bytes");
        let peak = peak_during(|| {
            let _ = attachment::check("work_certificate", &bytes);
        });
        assert!(peak < INFLATION_LIMIT, "{name} as an attachment: peak allocation {peak} bytes");
        checked += 1;
    }
    assert!(checked >= 25, "{checked} files");
}
