//! The hostile image corpora through the HTTP API, against a capturing platform: a valid
//! bundle is submitted with the part under test replaced by each hostile file. Refused files
//! answer 422 with exactly their codes; accepted ones are forwarded, and every image byte the
//! platform receives (captured on the wire by a proxy in front of the platform sandbox) is
//! clean under the independent walker (no APPn but JFIF, no COM, no JPGn, nothing after EOI,
//! one image, no hidden string, decodes), and the sandbox's own `has_exif` record is false.
//! The PDF table likewise: every PDF on the wire is judged by qpdf (`pdfcheck`).

mod common;

#[path = "../../rules/tests/common/pdfcheck.rs"]
mod pdfcheck;
#[path = "../../rules/tests/common/walker.rs"]
mod walker;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use intake_sandbox::platform::PlatformSandbox;
use serde_json::Value;
use warp::Filter;

fn hostile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile")
}

fn cases(table: &str) -> Vec<Value> {
    let table: Value = serde_json::from_slice(&std::fs::read(hostile().join(table)).expect("table")).expect("json");
    table["files"].as_array().expect("files").clone()
}

type Captured = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A proxy on 127.0.0.1 that records every request body (with its content type) and passes it
/// on to `target`, answering with the target's status and body.
async fn capturing_proxy(target: SocketAddr) -> (SocketAddr, Captured) {
    let captured: Captured = Arc::default();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let cap = captured.clone();
    let route = warp::any()
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .and_then(
            move |method: warp::http::Method,
                  path: warp::path::FullPath,
                  headers: warp::http::HeaderMap,
                  body: bytes::Bytes| {
                let client = client.clone();
                let cap = cap.clone();
                async move {
                    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    cap.lock().unwrap().push((ct, body.to_vec()));
                    let method =
                        reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::POST);
                    let mut req = client.request(method, format!("http://{target}{}", path.as_str()));
                    for (k, v) in &headers {
                        if k != "host" && k != "content-length" {
                            req = req.header(k.as_str(), v.as_bytes());
                        }
                    }
                    let reply = match req.body(body.to_vec()).send().await {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
                            let bytes = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                            let mut b = warp::http::Response::builder().status(status);
                            if let Some(ct) = ct {
                                b = b.header("content-type", ct);
                            }
                            b.body(bytes).unwrap()
                        }
                        Err(_) => warp::http::Response::builder().status(502).body(Vec::new()).unwrap(),
                    };
                    Ok::<_, warp::Rejection>(reply)
                }
            },
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    (addr, captured)
}

/// The parts of a multipart body: (name, content type, bytes).
fn multipart_parts(content_type: &str, body: &[u8]) -> Vec<(String, String, Vec<u8>)> {
    let Some(boundary) = content_type.split("boundary=").nth(1) else { return Vec::new() };
    let boundary = boundary.trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(p) = body[i..].windows(delim.len()).position(|w| w == delim.as_slice()) {
        starts.push(i + p);
        i += p + delim.len();
    }
    let mut out = Vec::new();
    for w in starts.windows(2) {
        let chunk = &body[w[0] + delim.len()..w[1]];
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let Some(split) = chunk.windows(4).position(|x| x == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&chunk[..split]).to_lowercase();
        let data = &chunk[split + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let name = head.split("name=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_owned();
        let ct =
            head.lines().find_map(|l| l.strip_prefix("content-type:")).map(|s| s.trim().to_owned()).unwrap_or_default();
        out.push((name, ct, data.to_vec()));
    }
    out
}

fn part_name(kind: &str) -> &'static str {
    match kind {
        "photo" => "photo",
        "id-front" => "id_front",
        "id-back" => "id_back",
        "passport-info" => "passport_info",
        "passport-validity" => "passport_validity",
        // The API has no separate supporting-file part: supporting files get the work certificate's check.
        "work-certificate" | "supporting" => "work_certificate",
        other => panic!("kind {other}"),
    }
}

fn media_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        _ => "image/jpeg",
    }
}

/// A platform sandbox behind a capturing proxy, and a backend (forwarding off) that sends to it.
async fn setup(name: &str) -> (PlatformSandbox, Captured, Harness) {
    let sandbox = PlatformSandbox::new(None);
    let (sandbox_addr, _) =
        sandbox.clone().serve(SocketAddr::from(([127, 0, 0, 1], 0)), std::future::pending()).await.unwrap();
    let (proxy, captured) = capturing_proxy(sandbox_addr).await;
    let h = Harness::new(name, |c| {
        c.forwarding.enabled = false;
        c.platform.base_url = format!("http://{proxy}");
        // One person sends every case: no per-person submission limit here.
        c.security.submissions_per_10_min = 0;
    })
    .await;
    (sandbox, captured, h)
}

/// Submits a valid bundle with the case's part replaced by each case's file: refused cases must
/// answer 422 with exactly their codes on that part, accepted ones 201. Returns the problems
/// found and the ids accepted.
async fn replay(h: &Harness, cases: &[Value]) -> (Vec<String>, Vec<String>) {
    let person = "xiamen-holder";
    let mut failures = Vec::new();
    let mut accepted_ids = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let rel = case["file"].as_str().unwrap();
        let name = part_name(case["kind"].as_str().unwrap());
        let bytes = std::fs::read(hostile().join(rel)).unwrap();
        let mut parts = valid_parts(person);
        parts.retain(|p| p.name != name);
        parts.push(part(name, media_type(rel), bytes));
        // A subject of its own per case: a person submits once (a second one is 409).
        let token = h.token_with(person, |claims| claims["sub"] = format!("hostile-{rel}-{i}").into());
        let (status, v) =
            h.submit("/api/v1/submissions", Some(&token), Some(&format!("hostile-{rel}-{i}")), &parts).await;
        let want: BTreeSet<String> =
            case["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        if case["accepted"].as_bool().unwrap() {
            if status == 201 {
                accepted_ids.push(v["id"].as_str().unwrap_or_default().to_owned());
            } else {
                failures.push(format!("{rel} as {name}: {status} {v}"));
            }
        } else {
            let found: BTreeSet<String> = v["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|e| e["field"] == name)
                        .filter_map(|e| e["code"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let errors: BTreeSet<String> = want.iter().filter(|c| *c != "photo.metadata_present").cloned().collect();
            if status != 422 || !errors.is_subset(&found) || found.iter().any(|c| !want.contains(c)) {
                failures.push(format!(
                    "{rel} as {name}: expected 422 {want:?}, got {status} {found:?} ({})",
                    codes(&v).join(",")
                ));
            }
        }
    }
    (failures, accepted_ids)
}

/// Runs the forwarder until the sandbox holds `n` distinct submissions.
async fn deliver(h: &Harness, sandbox: &PlatformSandbox, n: usize) {
    let stop = h.start_forwarder();
    let delivered = eventually(Duration::from_secs(60), || sandbox.stats().distinct >= n).await;
    stop.notify_one();
    assert!(delivered, "all delivered: {:?}", sandbox.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_images_are_refused_or_reach_the_platform_clean() {
    let (sandbox, captured, h) = setup("hostile-api").await;
    let cases = cases("images/expected.json");
    assert!(cases.len() >= 25);
    let (mut failures, accepted_ids) = replay(&h, &cases).await;
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
    assert!(accepted_ids.len() >= 15, "{} accepted", accepted_ids.len());
    deliver(&h, &sandbox, accepted_ids.len()).await;
    // The sandbox's own record, by the rules' full parse.
    for d in sandbox.received() {
        for p in &d.parts {
            assert!(!p.has_exif, "{}: {} has EXIF", d.key, p.name);
        }
    }
    // The bytes on the wire.
    let mut images = 0;
    for (ct, body) in captured.lock().unwrap().iter() {
        for (name, media, data) in multipart_parts(ct, body) {
            if media.starts_with("image/") {
                images += 1;
                assert_eq!(media, "image/jpeg", "{name}: only JPEG leaves Intake");
                if let Err(e) = walker::clean_jpeg(&data) {
                    failures.push(format!("{name}: {e}"));
                }
            }
        }
    }
    assert!(images >= 3 * accepted_ids.len(), "{images} image parts captured for {} submissions", accepted_ids.len());
    assert!(failures.is_empty(), "{} unclean part(s) reached the platform:\n{}", failures.len(), failures.join("\n"));
}

/// The hostile PDF corpus through the API: refused files get exactly their codes; every PDF the
/// platform receives is judged on the wire by qpdf (valid, at least one page, none of the refused
/// or stripped keys, no leftover text) and has nothing after its one `%%EOF`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pdfs_are_refused_or_reach_the_platform_as_clean_rewrites() {
    let qpdf = pdfcheck::qpdf();
    let (sandbox, captured, h) = setup("hostile-api-pdf").await;
    let cases = cases("pdf/expected.json");
    assert!(cases.len() >= 25);
    let (failures, accepted_ids) = replay(&h, &cases).await;
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
    let accepted_pdfs = cases.iter().filter(|c| c["accepted"] == true).count();
    assert_eq!(accepted_ids.len(), accepted_pdfs);
    assert!(accepted_pdfs >= 6, "ordinary PDFs are accepted too ({accepted_pdfs})");
    deliver(&h, &sandbox, accepted_ids.len()).await;
    let mut pdfs = 0;
    for (ct, body) in captured.lock().unwrap().iter() {
        for (name, media, data) in multipart_parts(ct, body) {
            if data.starts_with(b"%PDF-") || media == "application/pdf" {
                pdfs += 1;
                assert_eq!(media, "application/pdf", "{name}");
                let label = format!("wire-{pdfs}-{name}.pdf");
                pdfcheck::nothing_after_eof(&label, &data);
                if let Some(q) = qpdf {
                    pdfcheck::independent_check(q, &label, &data);
                }
            }
        }
    }
    assert!(pdfs >= accepted_pdfs, "{pdfs} PDF parts captured for {accepted_pdfs} accepted PDFs");
}
