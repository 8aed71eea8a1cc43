//! `cargo bench -p intake-rules --bench pdf`: the PDF check (`attachment::check`: parse,
//! refuse or clean, rewrite) on the product's work certificate fixture and on a 2 MB
//! multi-page PDF; medians after a warm-up.
#![allow(clippy::print_stdout)]

#[path = "../tests/common/pdfgen.rs"]
mod pdfgen;

use std::hint::black_box;
use std::time::{Duration, Instant};

use intake_rules::attachment;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick") || std::env::var_os("INTAKE_BENCH_QUICK").is_some();
    let rounds = if quick { 3 } else { 31 };
    let cert = include_bytes!("../../tests/fixtures/file/work_certificate.pdf").to_vec();
    let fpdf2 = include_bytes!("../../tests/fixtures/hostile/pdf/real_fpdf2.pdf").to_vec();
    let big = pdfgen::multi_page(40, 2 * 1024 * 1024);
    println!("| input | bytes | PDF check (median of {rounds}) | stored rewrite |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, bytes) in [("work_certificate.pdf", &cert), ("real_fpdf2.pdf", &fpdf2), ("2 MB, 40 pages", &big)] {
        let _ = attachment::check("work_certificate", bytes);
        let mut times = Vec::with_capacity(rounds);
        let mut stored = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let out = black_box(attachment::check("work_certificate", black_box(bytes)));
            times.push(t.elapsed());
            stored = out.output.map_or(0, |a| a.bytes.len());
        }
        println!("| {name} | {} | {:.3} ms | {stored} |", bytes.len(), median(times).as_secs_f64() * 1000.0);
    }
}
