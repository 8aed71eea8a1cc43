//! `cargo bench -p intake --bench load`: accepting realistic bundles (about
//! 1 MB: photo, both ID sides, a work certificate) through the real `intake
//! serve` process, side by side in one run with `POST /bench/bare` of the same
//! binary, which only reads the same body and fsyncs it. Reports throughput,
//! p50/p99 latency and the server's peak RSS (VmHWM, reset before each phase).
//! 127.0.0.1 only; every phase is a fixed number of requests.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use intake::sandbox::idp::SandboxIdp;
use intake::sandbox::platform::PlatformSandbox;
use intake_rules::form::numbers::resident_id_check_char;
use serde_json::json;
use tokio::sync::Semaphore;
use warp::Filter;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(rel)).expect("fixture")
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

const BOUNDARY: &str = "----intake-bench-boundary";

fn multipart(parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, ct, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

struct Request {
    token: String,
    key: String,
    body: Arc<Vec<u8>>,
}

fn requests(idp: &SandboxIdp, issuer: &str, from: usize, n: usize, files: &[(&str, &str, Vec<u8>)]) -> Vec<Request> {
    (from..from + n)
        .map(|i| {
            let birth = format!("19{:02}{:02}{:02}", 70 + i % 10, 1 + i % 12, 1 + i % 28);
            let first17 = format!("350203{birth}{:03}", (2 * i + 1) % 1000);
            let number = format!("{first17}{}", resident_id_check_char(&first17).unwrap());
            let name = format!("压测{i}");
            let claims = json!({
                "iss": issuer, "aud": "intake-web", "sub": format!("bench-{i}"), "iat": 1_700_000_000u64, "exp": 4_000_000_000u64,
                "name": name, "cert_type": "resident_id", "cert_no": number, "phone_number": "13900139000"
            });
            let bundle = json!({
                "identity": { "name": name, "certificate_type": "resident_id", "certificate_number": number, "mobile": "13900139000" },
                "gender": "male", "birth_date": format!("{}-{}-{}", &birth[0..4], &birth[4..6], &birth[6..8]),
                "unit": { "name": "厦门测试会计服务有限公司", "uscc": "91350100M000100Y43", "type": "enterprise" },
                "post": { "status": "on_post", "position": "会计" },
                "qualification": { "holds_certificate": false, "title": "junior" },
                "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": "2000-07-01" },
                "working_years": 5
            });
            let bundle = serde_json::to_vec(&bundle).unwrap();
            let mut parts: Vec<(&str, &str, &[u8])> = vec![("bundle", "application/json", &bundle)];
            parts.extend(files.iter().map(|(n, c, b)| (*n, *c, b.as_slice())));
            Request { token: idp.signer().sign(&claims), key: format!("bench-key-{i}"), body: Arc::new(multipart(&parts)) }
        })
        .collect()
}

struct Phase {
    name: String,
    ok: usize,
    failed: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    peak_rss_kb: u64,
    bytes: usize,
}

fn clear_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn run(name: &str, http: &reqwest::Client, url: &str, reqs: Vec<Request>, concurrency: usize, pid: u32) -> Phase {
    clear_peak(pid);
    let permits = Arc::new(Semaphore::new(concurrency));
    let bytes = reqs.iter().map(|r| r.body.len()).sum();
    let start = Instant::now();
    let mut handles = Vec::new();
    for r in reqs {
        let permit = permits.clone().acquire_owned().await.unwrap();
        let http = http.clone();
        let url = url.to_owned();
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            let resp = http
                .post(&url)
                .header("authorization", format!("Bearer {}", r.token))
                .header("idempotency-key", r.key)
                .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
                .body(r.body.as_ref().clone())
                .send()
                .await;
            let ok = matches!(&resp, Ok(x) if x.status().as_u16() == 201);
            if let Ok(x) = resp
                && !ok
            {
                eprintln!("{url}: HTTP {}: {}", x.status(), x.text().await.unwrap_or_default());
            }
            drop(permit);
            (ok, t.elapsed())
        }));
    }
    let mut latencies = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for h in handles {
        let (good, lat) = h.await.unwrap();
        if good {
            ok += 1;
        } else {
            failed += 1;
        }
        latencies.push(lat);
    }
    let wall = start.elapsed();
    latencies.sort();
    Phase { name: name.to_owned(), ok, failed, wall, latencies, peak_rss_kb: peak_rss_kb(pid), bytes }
}

fn pct(v: &[Duration], p: f64) -> f64 {
    v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1].as_secs_f64() * 1000.0
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
    let idp_addr = free_port();
    let issuer = format!("http://{idp_addr}/idp");
    let idp = SandboxIdp::new(&issuer, "intake-web");
    tokio::spawn(warp::serve(warp::path("idp").and(idp.routes())).run(idp_addr));

    let addr = free_port();
    let config = dir.join("intake.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"{addr}\"\nbench_dir = \"{}\"\n[store]\nurl = \"sqlite://{}\"\n[identity]\nissuer = \"{issuer}\"\naudience = \"intake-web\"\n\
             [platform]\nbase_url = \"http://{platform}\"\n[forwarding]\nenabled = false\n",
            dir.join("bare").display(),
            dir.join("intake.db").display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("INTAKE_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("intake serve");
    let pid = child.id().unwrap();
    let http =
        reqwest::Client::builder().timeout(Duration::from_secs(300)).pool_max_idle_per_host(256).build().unwrap();
    let base = format!("http://{addr}");
    for _ in 0..200 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let files = vec![
        ("photo", "image/jpeg", fixture("photo/standard_295x413.jpg")),
        ("id_front", "image/jpeg", fixture("document/id_front.jpg")),
        ("id_back", "image/jpeg", fixture("document/id_back.jpg")),
        ("work_certificate", "image/jpeg", fixture("file/work_certificate.jpg")),
    ];
    let submit = format!("{base}/api/v1/submissions");
    let bare = format!("{base}/bench/bare");
    // Warm-up.
    let _ = run("warm-up bare", &http, &bare, requests(&idp, &issuer, 100_000, 10, &files), 4, pid).await;
    let _ = run("warm-up intake", &http, &submit, requests(&idp, &issuer, 100_000, 10, &files), 4, pid).await;
    let mut phases = Vec::new();
    phases.push(
        run("bare read + fsync, 8 concurrent", &http, &bare, requests(&idp, &issuer, 0, n, &files), 8, pid).await,
    );
    phases
        .push(run("intake submit, 8 concurrent", &http, &submit, requests(&idp, &issuer, 0, n, &files), 8, pid).await);
    phases.push(
        run(
            "bare read + fsync, 200 concurrent",
            &http,
            &bare,
            requests(&idp, &issuer, 10_000, wide, &files),
            wide,
            pid,
        )
        .await,
    );
    phases.push(
        run("intake submit, 200 concurrent", &http, &submit, requests(&idp, &issuer, 10_000, wide, &files), wide, pid)
            .await,
    );
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
    println!(
        "\nintake / bare throughput: {:.0} % at 8 concurrent, {:.0} % at 200 concurrent",
        100.0 * ratio(&phases[1], &phases[0]),
        100.0 * ratio(&phases[3], &phases[2])
    );
}
