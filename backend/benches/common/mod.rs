//! What `load.rs` and `scale.rs` share: the synthetic people and their multipart bundles, the identity provider,
//! starting `intake serve`, sending a burst of submissions and reading the results.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use intake_rules::form::numbers::resident_id_check_char;
use intake_sandbox::idp::SandboxIdp;
use serde_json::json;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use warp::Filter;

pub(crate) fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(rel)).expect("fixture")
}

pub(crate) fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// The identity provider, served by this process on 127.0.0.1 (so it survives any server kill), and its issuer.
pub(crate) fn start_idp() -> (SandboxIdp, String) {
    let idp_addr = free_addr();
    let issuer = format!("http://{idp_addr}/idp");
    let idp = SandboxIdp::new(&issuer, "intake-web");
    tokio::spawn(warp::serve(warp::path("idp").and(idp.routes())).run(idp_addr));
    (idp, issuer)
}

/// The files of every bundle: photo, ID front, ID back, work certificate.
pub(crate) fn files() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("photo", "image/jpeg", fixture("photo/standard_295x413.jpg")),
        ("id_front", "image/jpeg", fixture("document/id_front.jpg")),
        ("id_back", "image/jpeg", fixture("document/id_back.jpg")),
        ("work_certificate", "image/jpeg", fixture("file/work_certificate.jpg")),
    ]
}

fn multipart(boundary: &str, parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, ct, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// One person's complete submission.
#[derive(Clone)]
pub(crate) struct Request {
    pub(crate) token: String,
    pub(crate) key: String,
    #[allow(dead_code, reason = "only scale.rs reads it")]
    pub(crate) certificate_number: String,
    pub(crate) body: Bytes,
}

/// Everything the clients need to make person `i`'s submission, and what each benchmark puts in it.
pub(crate) struct Workload {
    pub(crate) idp: SandboxIdp,
    pub(crate) issuer: String,
    pub(crate) files: Vec<(&'static str, &'static str, Vec<u8>)>,
    /// The multipart boundary.
    pub(crate) boundary: &'static str,
    /// The subject is `{prefix}-{i}`, the Idempotency-Key `{prefix}-key-{i}`.
    pub(crate) prefix: &'static str,
    /// Person `i`'s birth date, `YYYYMMDD`.
    pub(crate) birth: fn(usize) -> String,
    pub(crate) graduation_date: &'static str,
}

impl Workload {
    /// Person `i`, a man (odd 17th character), with serial `2 * (i % 500) + 1` after the birth date.
    pub(crate) fn request(&self, i: usize) -> Request {
        let birth = (self.birth)(i);
        let first17 = format!("350203{birth}{:03}", 2 * (i % 500) + 1);
        let number = format!("{first17}{}", resident_id_check_char(&first17).unwrap());
        let name = format!("压测{i}");
        // Within the verifier's maximum token lifetime (identity.max_token_lifetime_secs, 24 h).
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = json!({
            "iss": self.issuer, "aud": "intake-web", "sub": format!("{}-{i}", self.prefix), "iat": now,
            "exp": now + 6 * 3600, "name": name, "cert_type": "resident_id", "cert_no": number,
            "phone_number": "13900139000"
        });
        let bundle = json!({
            "identity": { "name": name, "certificate_type": "resident_id", "certificate_number": number, "mobile": "13900139000" },
            "gender": "male", "birth_date": format!("{}-{}-{}", &birth[0..4], &birth[4..6], &birth[6..8]),
            "unit": { "name": "厦门测试会计服务有限公司", "uscc": "91350100M000100Y43", "type": "enterprise" },
            "post": { "status": "on_post", "position": "会计" },
            "qualification": { "holds_certificate": false, "title": "junior" },
            "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": self.graduation_date },
            "working_years": 5
        });
        let bundle = serde_json::to_vec(&bundle).unwrap();
        let mut parts: Vec<(&str, &str, &[u8])> = vec![("bundle", "application/json", &bundle)];
        parts.extend(self.files.iter().map(|(n, c, b)| (*n, *c, b.as_slice())));
        Request {
            token: self.idp.signer().sign(&claims),
            key: format!("{}-key-{i}", self.prefix),
            certificate_number: number,
            body: Bytes::from(multipart(self.boundary, &parts)),
        }
    }

    /// People `from..from + n`.
    pub(crate) fn requests(&self, from: usize, n: usize) -> Vec<Request> {
        (from..from + n).map(|i| self.request(i)).collect()
    }
}

/// `intake serve --config config`, logging errors only; killed when dropped.
pub(crate) async fn start_serve(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("INTAKE_LOG", "error")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("intake serve")
}

/// Asks `/readyz` on `addr` up to `attempts` times, 50 ms apart; whether it answered 200.
pub(crate) async fn ready(http: &reqwest::Client, addr: SocketAddr, attempts: u32) -> bool {
    for _ in 0..attempts {
        if http.get(format!("http://{addr}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Resets the process's peak RSS (VmHWM).
pub(crate) fn clear_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// A kB field of `/proc/{pid}/status` (`field` with its colon, e.g. `"VmHWM:"`); 0 when unreadable.
pub(crate) fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// The `p` percentile of sorted latencies, in ms (NaN when there are none).
pub(crate) fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// Awaits requests that each report (answered as hoped, latency): how many were, and every latency in the order sent.
pub(crate) async fn gather(handles: Vec<JoinHandle<(bool, Duration)>>) -> (usize, Vec<Duration>) {
    let mut ok = 0;
    let mut latencies = Vec::new();
    for h in handles {
        let (good, lat) = h.await.unwrap();
        ok += usize::from(good);
        latencies.push(lat);
    }
    (ok, latencies)
}

/// Posts `reqs` to `url`, `concurrency` at a time, each body handed to reqwest by `body` (load.rs gives it a fresh
/// copy of the bytes, as it always has; scale.rs the shared bytes). Returns how many were answered 201, the wall
/// time, and every latency in the order sent; any other answer is printed.
pub(crate) async fn burst(
    http: &reqwest::Client,
    url: &str,
    boundary: &'static str,
    reqs: Vec<Request>,
    concurrency: usize,
    body: fn(Bytes) -> reqwest::Body,
) -> (usize, Duration, Vec<Duration>) {
    let permits = Arc::new(Semaphore::new(concurrency));
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
                .header("idempotency-key", &r.key)
                .header("content-type", format!("multipart/form-data; boundary={boundary}"))
                .body(body(r.body))
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
    let (ok, latencies) = gather(handles).await;
    (ok, start.elapsed(), latencies)
}
