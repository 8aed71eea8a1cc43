//! `cargo bench -p intake --bench load`: accepting realistic bundles (about
//! 1 MB: photo, both ID sides, a work certificate) through the real `intake
//! serve` process, side by side in one run with two baselines of the same
//! binary: `POST /bench/decode` reads the same body, decodes every image part
//! with the rules' decoder (no checks) and fsyncs (the target: intake ≥ 70 % of
//! its throughput at 8 concurrent, issue 16); `POST /bench/bare` only reads and
//! fsyncs it (for reference). Reports throughput,
//! p50/p99 latency and the server's peak RSS (VmHWM, reset before each phase).
//! 127.0.0.1 only; every phase is a fixed number of requests.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Request, Workload, burst, clear_peak, files, free_addr, pct, ready, start_idp, start_serve, status_kb};
use intake_sandbox::platform::PlatformSandbox;

const BOUNDARY: &str = "----intake-bench-boundary";

struct Phase {
    name: String,
    ok: usize,
    failed: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    peak_rss_kb: u64,
    bytes: usize,
}

async fn run(name: &str, http: &reqwest::Client, url: &str, reqs: Vec<Request>, concurrency: usize, pid: u32) -> Phase {
    clear_peak(pid);
    let bytes = reqs.iter().map(|r| r.body.len()).sum();
    let (ok, wall, mut latencies) = burst(http, url, BOUNDARY, reqs, concurrency, |b| b.to_vec().into()).await;
    latencies.sort();
    let failed = latencies.len() - ok;
    Phase { name: name.to_owned(), ok, failed, wall, latencies, peak_rss_kb: status_kb(pid, "VmHWM:"), bytes }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var_os("INTAKE_BENCH_QUICK").is_some();
    let (n, wide) = if quick { (20, 20) } else { (200, 200) };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("intake-load-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bare")).unwrap();
    let sandbox = PlatformSandbox::new(None);
    let (platform, _) = sandbox.serve(SocketAddr::from(([127, 0, 0, 1], 0)), std::future::pending()).await.unwrap();
    let (idp, issuer) = start_idp();

    let addr = free_addr();
    let config = dir.join("intake.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"{addr}\"\nbench_dir = \"{}\"\n[store]\nurl = \"sqlite://{}\"\n[identity]\nissuer = \"{issuer}\"\naudience = \"intake-web\"\n\
             [platform]\nbase_url = \"http://{platform}\"\n[forwarding]\nenabled = false\n\
             [limits]\nmax_uploads_per_address = 0\n",
            dir.join("bare").display(),
            dir.join("intake.db").display()
        ),
    )
    .unwrap();
    let mut child = start_serve(&config).await;
    let pid = child.id().unwrap();
    let http =
        reqwest::Client::builder().timeout(Duration::from_secs(300)).pool_max_idle_per_host(256).build().unwrap();
    let base = format!("http://{addr}");
    let _ = ready(&http, addr, 200).await; // not ready in 10 s: the phases below report the failures
    let w = Workload {
        idp,
        issuer,
        files: files(),
        boundary: BOUNDARY,
        prefix: "bench",
        birth: |i| format!("19{:02}{:02}{:02}", 70 + i % 10, 1 + i % 12, 1 + i % 28),
        graduation_date: "2000-07-01",
    };
    let submit = format!("{base}/api/v1/submissions");
    let bare = format!("{base}/bench/bare");
    let decode = format!("{base}/bench/decode");
    // Warm-up.
    let _ = run("warm-up bare", &http, &bare, w.requests(100_000, 10), 4, pid).await;
    let _ = run("warm-up decode", &http, &decode, w.requests(100_000, 10), 4, pid).await;
    let _ = run("warm-up intake", &http, &submit, w.requests(100_000, 10), 4, pid).await;
    let mut phases = Vec::new();
    phases.push(run("bare read + fsync, 8 concurrent", &http, &bare, w.requests(0, n), 8, pid).await);
    phases.push(run("read + decode every image + fsync, 8 concurrent", &http, &decode, w.requests(0, n), 8, pid).await);
    phases.push(run("intake submit, 8 concurrent", &http, &submit, w.requests(0, n), 8, pid).await);
    phases.push(run("bare read + fsync, 200 concurrent", &http, &bare, w.requests(10_000, wide), wide, pid).await);
    phases.push(
        run("read + decode every image + fsync, 200 concurrent", &http, &decode, w.requests(10_000, wide), wide, pid)
            .await,
    );
    phases.push(run("intake submit, 200 concurrent", &http, &submit, w.requests(10_000, wide), wide, pid).await);
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);

    let body_kb = phases[0].bytes as f64 / phases[0].latencies.len() as f64 / 1024.0;
    println!("\nbody per request: {body_kb:.0} KB (bundle + photo + ID front + ID back + work certificate)\n");
    println!("| phase | ok / failed | throughput | p50 | p99 | server peak RSS |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for p in &phases {
        println!(
            "| {} | {} / {} | {:.1} req/s | {:.0} ms | {:.0} ms | {:.0} MB |",
            p.name,
            p.ok,
            p.failed,
            p.ok as f64 / p.wall.as_secs_f64(),
            pct(&p.latencies, 0.5),
            pct(&p.latencies, 0.99),
            p.peak_rss_kb as f64 / 1024.0
        );
    }
    let ratio = |a: &Phase, b: &Phase| (a.ok as f64 / a.wall.as_secs_f64()) / (b.ok as f64 / b.wall.as_secs_f64());
    let (i8, d8) = (&phases[2], &phases[1]);
    println!(
        "\nintake / decode baseline throughput: {:.0} % at 8 concurrent (target ≥ 70 %), {:.0} % at 200 concurrent; \
         intake p99 / p50 at 8 concurrent: {:.2} (target ≤ 2)",
        100.0 * ratio(i8, d8),
        100.0 * ratio(&phases[5], &phases[4]),
        pct(&i8.latencies, 0.99) / pct(&i8.latencies, 0.5)
    );
    println!(
        "intake / bare read + fsync throughput (reference): {:.0} % at 8 concurrent, {:.0} % at 200 concurrent",
        100.0 * ratio(i8, &phases[0]),
        100.0 * ratio(&phases[5], &phases[3])
    );
}
