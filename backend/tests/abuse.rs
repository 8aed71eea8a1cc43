//! Upload abuse against the real `intake serve` process (127.0.0.1, bounded in
//! bytes and time): stalled uploads must not make a normal one wait, and a
//! multipart part header that never ends must be refused within seconds with
//! the server's memory staying flat (its VmRSS read from /proc).
//!
//! `INTAKE_BIN=/path/to/intake` runs the same tests against another build (the
//! baseline numbers in BENCHMARKS.md); each test prints its measurement.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::*;
use intake_rules::form::numbers::resident_id_check_char;
use intake_sandbox::idp::SandboxIdp;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Child;
use warp::Filter;

fn binary() -> PathBuf {
    std::env::var_os("INTAKE_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_intake")), PathBuf::from)
}

/// A fictitious accountant number `i`: subject, a valid resident ID and the birth date.
fn person(i: usize) -> (String, String, String) {
    let birth = format!("1991{:02}{:02}", 1 + i % 12, 1 + i % 28);
    let first17 = format!("350203{birth}{:03}", 100 + 2 * i % 900 + 1);
    let number = format!("{first17}{}", resident_id_check_char(&first17).unwrap());
    (format!("abuse-{i}"), number, format!("{}-{}-{}", &birth[0..4], &birth[4..6], &birth[6..8]))
}

fn bundle(name: &str, number: &str, birth: &str) -> serde_json::Value {
    json!({
        "identity": { "name": name, "certificate_type": "resident_id", "certificate_number": number, "mobile": "13900139000" },
        "gender": "male",
        "birth_date": birth,
        "unit": { "name": "厦门测试会计服务有限公司", "uscc": "91350100M000100Y43", "type": "enterprise" },
        "post": { "status": "on_post", "position": "会计" },
        "qualification": { "holds_certificate": false, "title": "junior" },
        "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": "2012-07-01" },
        "working_years": 5
    })
}

struct Server {
    child: Child,
    addr: SocketAddr,
    idp: SandboxIdp,
    issuer: String,
    _dir: PathBuf,
}

impl Server {
    async fn start(name: &str) -> Server {
        let dir = temp_dir(name);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let idp_addr = free_port();
        let issuer = format!("http://{idp_addr}/idp");
        let idp = SandboxIdp::new(&issuer, "intake-web");
        tokio::spawn(warp::serve(warp::path("idp").and(idp.routes())).run(idp_addr));
        let addr = free_port();
        let config = serve_config(
            &dir,
            addr,
            &dir.join("no-www"),
            &issuer,
            "[security]\nsubmissions_per_10_min = 1000\nrequests_per_minute = 100000\n",
        );
        let child = spawn_serve(&binary(), &config);
        wait_ready(&reqwest::Client::new(), &format!("http://{addr}")).await;
        Server { child, addr, idp, issuer, _dir: dir }
    }

    fn token(&self, i: usize) -> String {
        let (sub, number, _) = person(i);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        self.idp.signer().sign(&json!({
            "iss": self.issuer, "aud": "intake-web", "sub": sub, "iat": now, "exp": now + 600,
            "name": format!("测试{i}"), "cert_type": "resident_id", "cert_no": number, "phone_number": "13900139000"
        }))
    }

    fn parts(&self, i: usize) -> Vec<Part> {
        let (_, number, birth) = person(i);
        parts_for("xiamen-holder", &bundle(&format!("测试{i}"), &number, &birth))
    }

    fn rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        vm_rss_kib(pid)
    }
}

fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Reads whatever the server answers on `stream` until it closes or `limit` passes: the text, when
/// its first byte came, and when the connection ended (closed or reset; `None` if still open).
async fn read_answer(
    stream: &mut tokio::net::tcp::OwnedReadHalf,
    limit: Duration,
) -> (String, Option<Duration>, Option<Duration>) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut first = None;
    let mut ended = None;
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                ended = Some(started.elapsed());
                break;
            }
            Err(_) => break,
            Ok(Ok(n)) => {
                first.get_or_insert(started.elapsed());
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), first, ended)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the measurement, for BENCHMARKS.md
async fn two_stalled_uploads_do_not_make_a_normal_one_wait() {
    let server = Server::start("stalled").await;
    let declared = 48 * 1024 * 1024 - 4096; // just under max_body_bytes: the most a client may declare
    let mut stalled = Vec::new();
    let started = Instant::now();
    for i in 0..2 {
        let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (mut rd, mut wr) = stream.into_split();
        let head = format!(
            "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nIdempotency-Key: stalled-{i}-key\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared}\r\n\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\r\n",
            server.token(10 + i)
        );
        wr.write_all(head.as_bytes()).await.unwrap();
        // Then one byte a second (bounded: 40 bytes), while reading the answer.
        let writer = tokio::spawn(async move {
            for _ in 0..40 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if wr.write_all(b"x").await.is_err() {
                    return;
                }
            }
        });
        let reader = tokio::spawn(async move { read_answer(&mut rd, Duration::from_secs(45)).await });
        stalled.push((writer, reader));
    }
    // Let the stalled uploads take whatever they take.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (ct, body) = multipart(&server.parts(1));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let sent = Instant::now();
    let normal = http
        .post(format!("http://{}/api/v1/submissions", server.addr))
        .header("authorization", format!("Bearer {}", server.token(1)))
        .header("idempotency-key", "normal-upload-1")
        .header("content-type", ct)
        .body(body.clone())
        .send()
        .await;
    let waited = sent.elapsed();
    let status = normal.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
    eprintln!(
        "stalled-uploads: normal upload of {} KiB answered {} after {:.2} s (with 2 uploads declaring {} MiB at 1 byte/s)",
        body.len() / 1024,
        if status == 0 { "nothing (client timeout 30 s)".to_owned() } else { status.to_string() },
        waited.as_secs_f64(),
        declared / (1024 * 1024)
    );
    assert_eq!(status, 201, "the normal upload is stored: {normal:?}");
    assert!(waited < Duration::from_secs(5), "the normal upload waited {waited:?} behind stalled ones");

    // The stalled ones are cut (minimum rate) and told why, well before the request timeout.
    for (writer, reader) in stalled {
        let (answer, first, _) = reader.await.unwrap();
        writer.abort();
        let at = first.map_or(f64::NAN, |d| d.as_secs_f64());
        eprintln!(
            "stalled-uploads: a stalled upload was answered after {at:.1} s: {}",
            answer.lines().next().unwrap_or("")
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request.upload_too_slow"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("x-content-type-options: nosniff"), "{answer}");
    }
    assert!(started.elapsed() < Duration::from_secs(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the measurement, for BENCHMARKS.md
async fn a_part_header_that_never_ends_is_refused_quickly_with_bounded_memory() {
    const CAP: usize = 256 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let server = Server::start("header").await;
    let rss_before = server.rss_kib();
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nIdempotency-Key: header-bomb-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.token(20)
    );
    wr.write_all(head.as_bytes()).await.unwrap();
    let first = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"\r\nX-Pad: ");
    wr.write_all(format!("{:x}\r\n{first}\r\n", first.len()).as_bytes()).await.unwrap();
    let started = Instant::now();
    let reader = tokio::spawn(async move { read_answer(&mut rd, Duration::from_secs(40)).await });
    let pid = server.child.id().unwrap();
    let mut peak = rss_before;
    let mut sent = 0usize;
    let mut frame = format!("{CHUNK:x}\r\n").into_bytes();
    frame.extend(std::iter::repeat_n(b'a', CHUNK));
    frame.extend_from_slice(b"\r\n");
    while sent < CAP && started.elapsed() < Duration::from_secs(30) {
        match tokio::time::timeout(Duration::from_secs(5), wr.write_all(&frame)).await {
            Ok(Ok(())) => sent += CHUNK,
            _ => break, // refused (closed or reset), or the server stopped reading
        }
        if sent.is_multiple_of(4 * 1024 * 1024) {
            peak = peak.max(vm_rss_kib(pid));
        }
        if reader.is_finished() {
            break;
        }
    }
    let stopped_after = started.elapsed();
    peak = peak.max(vm_rss_kib(pid));
    drop(wr);
    let (answer, answered, ended) = reader.await.unwrap();
    let rss_after = vm_rss_kib(pid);
    eprintln!(
        "header-bomb: sent {} KiB of one part header in {:.2} s; answered after {}, connection ended after {}; \
         server VmRSS {} MB before, peak {} MB, {} MB after: {}",
        sent / 1024,
        stopped_after.as_secs_f64(),
        answered.map_or("never".to_owned(), |d| format!("{:.2} s", d.as_secs_f64())),
        ended.map_or("never".to_owned(), |d| format!("{:.2} s", d.as_secs_f64())),
        rss_before / 1024,
        peak / 1024,
        rss_after / 1024,
        answer.lines().next().unwrap_or("(no answer read: the connection was reset)")
    );
    // The server refuses and closes; the answer itself may be lost to the reset of a connection
    // closed with unread bytes (hardening.rs reads it deterministically).
    let ended = ended.expect("the server ends the connection");
    assert!(ended < Duration::from_secs(5), "ended after {ended:?}");
    if !answer.is_empty() {
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("request.part_header_too_large"), "{answer}");
    }
    assert!(sent < 64 * 1024 * 1024, "the server stopped the body early, not after {} MiB", sent >> 20);
    assert!(peak < rss_before + 32 * 1024, "RSS grew from {rss_before} kB to {peak} kB");
    // Still serving.
    let ok = reqwest::get(format!("http://{}/healthz", server.addr)).await.unwrap();
    assert_eq!(ok.status(), 200);
}
