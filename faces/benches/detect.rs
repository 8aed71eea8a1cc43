//! `cargo bench -p intake-faces --bench detect`: the face detector's per-photo time natively (release), on
//! scikit-image's astronaut framed as a 295 × 413 ID photo (the server's re-check size) and the same photo
//! enlarged to 3000 × 4000 (a 12 MP camera photo, shrunk by the detector to 480 × 640 first), with the
//! model's prepare time and `measure_roll`. Medians of wall time and of this thread's CPU time (Linux
//! schedstat, updated at scheduler ticks: a few ms granularity; the machine is shared, CPU time is the
//! steadier number).
#![allow(clippy::print_stdout)]
#![allow(
    clippy::disallowed_methods,
    reason = "the bench decodes its own committed fixture; intake-faces depends on no decoder"
)]

use std::hint::black_box;
use std::time::Instant;

use intake_faces::{Detector, Options};

/// This thread's CPU time in ms (0 where /proc is not there).
fn cpu_ms() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()))
        .map_or(0.0, |ns| ns / 1e6)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> (f64, f64) {
    black_box(f());
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (t, c) = (Instant::now(), cpu_ms());
        black_box(f());
        cpu.push(cpu_ms() - c);
        wall.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (median(wall), median(cpu))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick") || std::env::var_os("INTAKE_BENCH_QUICK").is_some();
    let rounds = if quick { 3 } else { 15 };
    let jpeg = format!("{}/tests/fixtures/astronaut_295x413.jpg", env!("CARGO_MANIFEST_DIR"));
    let photo = image::open(&jpeg).expect("the fixture decodes").to_rgb8();
    let (w, h) = (photo.width() as usize, photo.height() as usize);
    let (bw, bh) = (3000usize, 4000usize);
    let big: Vec<u8> = (0..bh)
        .flat_map(|y| (0..bw).map(move |x| (y * h / bh, x * w / bw)))
        .flat_map(|(y, x)| photo.get_pixel(x as u32, y as u32).0)
        .collect();
    let (prepare_wall, _) = time(rounds, || Detector::new().expect("model"));
    let det = Detector::new().expect("model");
    let options = Options::default();
    println!("| input | detect, wall (median) | detect, CPU (median) | measure_roll, CPU | faces |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, rgb, iw, ih) in [
        ("astronaut, 295×413 (the server's re-check size)", photo.as_raw().as_slice(), w, h),
        ("astronaut enlarged to 3000×4000 (12 MP; detected at 480×640)", big.as_slice(), bw, bh),
    ] {
        let faces = det.detect(rgb, iw, ih, &options).expect("detects");
        assert_eq!(faces.len(), 1, "{name}: {faces:?}");
        let (wall, cpu) = time(rounds, || det.detect(rgb, iw, ih, &options));
        let (_, roll_cpu) = time(rounds, || det.measure_roll(rgb, iw, ih, &faces[0], &options));
        println!("| {name} | {wall:.1} ms | {cpu:.1} ms | {roll_cpu:.1} ms | {} |", faces.len());
    }
    println!();
    println!("model prepare (parse the ONNX file, build the plan): {prepare_wall:.2} ms wall");
}
