//! `cargo bench -p intake-rules --bench photo`: check + auto-fix of camera
//! JPEGs against the default profile, side by side with a bare `image` decode
//! of the same file, interleaved in one run (the machine is noisy: medians
//! after a warm-up). The target: check + fix ≤ 1.5× the bare decode.
#![allow(clippy::print_stdout)]
#![allow(
    clippy::disallowed_methods,
    reason = "the bare `image` decode is the baseline this benchmark measures the rules against"
)]

#[path = "../tests/common/synth.rs"]
mod synth;

use std::hint::black_box;
use std::time::{Duration, Instant};

use intake_rules::photo;
use intake_rules::profile::ProfileSet;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo test --benches` passes `--bench`-less args; keep the run short then.
    let quick = std::env::args().any(|a| a == "--quick") || std::env::var_os("INTAKE_BENCH_QUICK").is_some();
    let rounds = if quick { 3 } else { 15 };
    let profile = ProfileSet::embedded().default_profile();
    println!("| input | bytes | bare `image` decode (median) | check + fix (median) | ratio | fixed output |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (name, bytes) in [
        ("12 MP camera JPEG (4000×3000, EXIF 6, GPS, 4:2:0)", synth::camera_photo_12mp(7)),
        ("1.4 MP camera JPEG (1440×1080, EXIF 6, GPS, 4:2:0)", synth::camera_photo_1_4mp(7)),
    ] {
        // Warm-up, and a sanity check that the benchmark measures a successful fix.
        let warm = photo::fix(&bytes, profile);
        let fixed = warm.output.as_ref().expect("the camera photo is fixable");
        assert!(fixed.after.passes(), "fixed output passes: {:?}", fixed.after);
        black_box(image::load_from_memory(&bytes).expect("decodes"));
        let (mut bare, mut full) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            black_box(image::load_from_memory(black_box(&bytes)).expect("decodes"));
            bare.push(t.elapsed());
            let t = Instant::now();
            black_box(photo::fix(black_box(&bytes), profile));
            full.push(t.elapsed());
        }
        let (b, f) = (median(bare), median(full));
        println!(
            "| {name} | {:.1} MB | {:.1} ms | {:.1} ms | {:.2}× | {}×{}, {:.1} KB, q{} |",
            bytes.len() as f64 / 1e6,
            ms(b),
            ms(f),
            ms(f) / ms(b),
            fixed.width,
            fixed.height,
            fixed.jpeg.len() as f64 / 1024.0,
            fixed.quality
        );
    }

    // The sanitizer (full parse + lossless rebuild) against one encode of the same pixels: the
    // issue's bound is that sanitizing never costs more than an encode.
    println!();
    println!("| input | sanitize: audit + rebuild (median) | encode of its pixels, q85 (median) | ratio |");
    println!("| --- | --- | --- | --- |");
    for (name, bytes) in [
        ("12 MP camera JPEG (4000×3000, EXIF, GPS)", synth::camera_photo_12mp(7)),
        ("1.4 MP camera JPEG (1440×1080, EXIF, GPS)", synth::camera_photo_1_4mp(7)),
    ] {
        let pixels = image::load_from_memory(&bytes).expect("decodes").into_rgb8();
        let rebuilt = intake_rules::sanitize::rebuild(&bytes).expect("a camera JPEG is rebuilt");
        assert!(intake_rules::sanitize::audit(&rebuilt).is_clean());
        let (mut san, mut enc) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let t = Instant::now();
            black_box(intake_rules::sanitize::rebuild(black_box(&bytes)));
            san.push(t.elapsed());
            let t = Instant::now();
            black_box(intake_rules::jpeg::encode(black_box(&pixels), 85));
            enc.push(t.elapsed());
        }
        let (s, e) = (median(san), median(enc));
        println!("| {name} | {:.2} ms | {:.1} ms | {:.3}× |", ms(s), ms(e), ms(s) / ms(e));
    }
}
