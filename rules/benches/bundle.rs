//! `cargo bench -p intake-rules --bench bundle`: the server's whole re-check of a realistic bundle
//! (`submission::check`: the form, the standard photo, ID front and back, a work certificate, the
//! pair check) side by side with a bare `image` decode of the same files, interleaved in one run
//! (medians after a warm-up; the machine is noisy). Per part, the rules' check of that part against
//! the bare decode of its file. The target (issue 16): the whole bundle ≤ 1.5× the bare
//! decode of its images. `INTAKE_BENCH_QUICK=1` for a short run.
#![allow(clippy::print_stdout)]
#![allow(
    clippy::disallowed_methods,
    reason = "the bare `image` decode is the baseline this benchmark measures the rules against"
)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use intake_rules::document::{self, DocumentKind};
use intake_rules::form::numbers::resident_id_check_char;
use intake_rules::form::{CertificateType, Context, Date, Identity};
use intake_rules::profile::ProfileSet;
use intake_rules::{attachment, photo, submission};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(rel)).expect("fixture")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn bare(bytes: &[u8]) {
    black_box(image::load_from_memory(black_box(bytes)).expect("decodes"));
}

fn main() {
    let quick = std::env::var_os("INTAKE_BENCH_QUICK").is_some() || std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 31 };
    let profile = ProfileSet::embedded().default_profile();
    let first17 = "35020319900307123";
    let number = format!("{first17}{}", resident_id_check_char(first17).expect("check character"));
    let identity = Identity {
        name: "压测".into(),
        certificate_type: CertificateType::ResidentId,
        certificate_number: number.clone(),
        mobile: Some("13900139000".into()),
    };
    let bundle = serde_json::to_vec(&serde_json::json!({
        "identity": { "name": "压测", "certificate_type": "resident_id", "certificate_number": number, "mobile": "13900139000" },
        "gender": "male", "birth_date": "1990-03-07",
        "unit": { "name": "厦门测试会计服务有限公司", "uscc": "91350100M000100Y43", "type": "enterprise" },
        "post": { "status": "on_post", "position": "会计" },
        "qualification": { "holds_certificate": false, "title": "junior" },
        "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": "2012-07-01" },
        "working_years": 10
    }))
    .expect("json");
    let ctx = Context { identity: &identity, today: Date::new(2026, 11, 26).expect("date"), archive: None };
    // The load bench's bundle (backend/benches/common: `files`).
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("photo", fixture("photo/standard_295x413.jpg")),
        ("id_front", fixture("document/id_front.jpg")),
        ("id_back", fixture("document/id_back.jpg")),
        ("work_certificate", fixture("file/work_certificate.jpg")),
    ];
    let parts: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let check_part = |name: &str, bytes: &[u8]| match name {
        "photo" => {
            black_box(photo::check(bytes, profile));
        }
        "id_front" => {
            black_box(document::check(DocumentKind::IdFront, bytes));
        }
        "id_back" => {
            black_box(document::check(DocumentKind::IdBack, bytes));
        }
        _ => {
            black_box(attachment::check(name, bytes));
        }
    };
    // Warm-up, and a sanity check that the bench measures an accepted bundle.
    let accepted = submission::check(&bundle, &parts, &ctx, profile);
    assert!(accepted.is_ok(), "the bench bundle is accepted: {:?}", accepted.err());
    for (name, bytes) in &parts {
        bare(bytes);
        check_part(name, bytes);
    }
    let mut bare_t: Vec<Vec<Duration>> = vec![Vec::new(); parts.len()];
    let mut check_t: Vec<Vec<Duration>> = vec![Vec::new(); parts.len()];
    let (mut bare_all, mut bundle_all) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (i, (name, bytes)) in parts.iter().enumerate() {
            bare_t[i].push(time(|| bare(bytes)));
            check_t[i].push(time(|| check_part(name, bytes)));
        }
        bare_all.push(time(|| parts.iter().for_each(|(_, b)| bare(b))));
        bundle_all.push(time(|| {
            black_box(submission::check(black_box(&bundle), black_box(&parts), &ctx, profile).is_ok());
        }));
    }
    println!("| part | bytes | bare `image` decode (median) | rules' check (median) | ratio |");
    println!("| --- | --- | --- | --- | --- |");
    for (i, (name, bytes)) in parts.iter().enumerate() {
        let (b, c) = (median(bare_t[i].clone()), median(check_t[i].clone()));
        println!(
            "| {name} | {:.0} KB | {:.2} ms | {:.2} ms | {:.2}× |",
            bytes.len() as f64 / 1024.0,
            ms(b),
            ms(c),
            ms(c) / ms(b)
        );
    }
    let (b, c) = (median(bare_all), median(bundle_all));

    println!(
        "| **whole bundle** (`submission::check`, pair check) | {:.0} KB | {:.2} ms | {:.2} ms | **{:.2}×** |",
        parts.iter().map(|(_, b)| b.len()).sum::<usize>() as f64 / 1024.0,
        ms(b),
        ms(c),
        ms(c) / ms(b)
    );
    stages(&files[1].1, rounds);
}

/// Where one ID side's check spends its time, stage by stage (issue 16's profile), medians.
fn stages(bytes: &[u8], rounds: usize) {
    use intake_rules::decode::{self, DecodeLimits};
    use intake_rules::pixels;
    use intake_rules::resample::{Rect, fit_within, render_from, shrink_for};
    let d = decode::decode(bytes, &DecodeLimits::DEFAULT).expect("decodes");
    let (pw, ph) = d.upright_dimensions();
    let (ww, wh) = fit_within(pw, ph, document::WORK_LONG_SIDE);
    let mid = shrink_for(&d.raw, document::OUTPUT_LONG_SIDE);
    let work = render_from(&mid, d.orientation, Rect::full(pw, ph), ww, wh);
    let lum = pixels::luma_plane(&work);
    let mask: Vec<bool> = work.pixels().map(|p| p.0.iter().all(|c| *c >= 250)).collect();
    let mut t: Vec<(&str, Vec<Duration>)> = [
        "bare `image` decode",
        "rules' decode (audit, header, pixels)",
        "segment audit alone",
        "working copy 1024 px (exact area average)",
        "luma plane",
        "edge sharpness",
        "glare blob",
        "perceptual hash",
        "stored output (lossless rebuild)",
    ]
    .into_iter()
    .map(|n| (n, Vec::new()))
    .collect();
    for _ in 0..rounds {
        t[0].1.push(time(|| bare(bytes)));
        t[1].1.push(time(|| {
            black_box(decode::decode(black_box(bytes), &DecodeLimits::DEFAULT).is_ok());
        }));
        t[2].1.push(time(|| {
            black_box(intake_rules::sanitize::audit(black_box(bytes)));
        }));
        t[3].1.push(time(|| {
            black_box(render_from(&mid, d.orientation, Rect::full(pw, ph), ww, wh));
        }));
        t[4].1.push(time(|| {
            black_box(pixels::luma_plane(black_box(&work)));
        }));
        t[5].1.push(time(|| {
            black_box(pixels::edge_sharpness(black_box(&lum), ww, (0, 0, ww, wh)));
        }));
        t[6].1.push(time(|| {
            black_box(pixels::largest_interior_blob(black_box(&mask), ww, wh));
        }));
        t[7].1.push(time(|| {
            black_box(pixels::phash(black_box(&work)));
        }));
        t[8].1.push(time(|| {
            black_box(intake_rules::sanitize::rebuild(black_box(bytes)));
        }));
    }
    println!();
    println!("| stage (ID front, {pw}×{ph} → {ww}×{wh}) | median |");
    println!("| --- | --- |");
    for (name, v) in t {
        println!("| {name} | {:.2} ms |", ms(median(v)));
    }
}
