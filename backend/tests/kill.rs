//! Kill test: the real `intake serve` process is SIGKILLed repeatedly (a
//! bounded loop) while a client submits. Every submission that got a 2xx
//! reaches the sandbox platform exactly once after restarts; nothing is
//! half-stored (every stored submission has all its files).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use intake_rules::form::numbers::resident_id_check_char;
use intake_sandbox::idp::SandboxIdp;
use intake_sandbox::platform::PlatformSandbox;
use serde_json::json;
use tokio::process::Child;
use warp::Filter;

const ROUNDS: usize = 5;
const PER_ROUND: usize = 6;

/// A fictitious accountant number `i`: a valid resident ID and a token for it.
fn person(i: usize) -> (String, String, String) {
    let birth = format!("1990{:02}{:02}", 1 + i % 12, 1 + i % 28);
    let first17 = format!("350203{birth}{:03}", 100 + 2 * i % 900 + 1);
    let number = format!("{first17}{}", resident_id_check_char(&first17).unwrap());
    (format!("kill-{i}"), number, format!("{}-{}-{}", &birth[0..4], &birth[4..6], &birth[6..8]))
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

fn start_intake(config: &Path) -> Child {
    spawn_serve(Path::new(env!("CARGO_BIN_EXE_intake")), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)] // the run's numbers, for BENCHMARKS.md and the issue note
async fn sigkill_loses_nothing_acknowledged_and_duplicates_nothing() {
    let dir = temp_dir("kill");
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The platform sandbox and the identity provider live in this process: they survive the kills.
    let sandbox = PlatformSandbox::new(None);
    let (platform, _) =
        sandbox.clone().serve(SocketAddr::from(([127, 0, 0, 1], 0)), std::future::pending()).await.unwrap();
    let idp_addr = free_port();
    let issuer = format!("http://{idp_addr}/idp");
    let idp = SandboxIdp::new(&issuer, "intake-web");
    let idp_routes = warp::path("idp").and(idp.routes());
    tokio::spawn(warp::serve(idp_routes).run(idp_addr));

    let addr = free_port();
    let base = format!("http://{addr}");
    let config = dir.join("intake.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"{addr}\"\nshutdown_grace_secs = 1\n[store]\nurl = \"sqlite://{}\"\n[identity]\nissuer = \"{issuer}\"\naudience = \"intake-web\"\n\
             [platform]\nbase_url = \"http://{platform}\"\ntimeout_secs = 2\n[forwarding]\npoll_interval_ms = 50\nlease_secs = 2\nbase_delay_ms = 100\nmax_delay_ms = 500\n",
            dir.join("intake.db").display()
        ),
    )
    .unwrap();

    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut unanswered = 0usize;
    let mut next = 0usize;
    for round in 0..ROUNDS {
        let mut child = start_intake(&config);
        wait_ready(&http, &base).await;
        let mut clients = Vec::new();
        for _ in 0..PER_ROUND {
            let i = next;
            next += 1;
            let (sub, number, birth) = person(i);
            let name = format!("测试{i}");
            // Within the verifier's maximum token lifetime (identity.max_token_lifetime_secs).
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let claims = json!({
                "iss": issuer, "aud": "intake-web", "sub": sub, "iat": now, "exp": now + 3600,
                "name": name, "cert_type": "resident_id", "cert_no": number, "phone_number": "13900139000"
            });
            let token = idp.signer().sign(&claims);
            let parts = parts_for("xiamen-holder", &bundle(&name, &number, &birth));
            let (ct, body) = multipart(&parts);
            let http = http.clone();
            let base = base.clone();
            let acknowledged = acknowledged.clone();
            clients.push(tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/api/v1/submissions"))
                    .header("authorization", format!("Bearer {token}"))
                    .header("idempotency-key", format!("kill-key-{i}"))
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => {
                        let v: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(id) = v["id"].as_str() {
                            acknowledged.lock().unwrap().push(id.to_owned());
                        }
                        true
                    }
                    Ok(r) => panic!("unexpected refusal {}", r.status()),
                    Err(_) => false,
                }
            }));
        }
        // Kill while requests are in flight or being forwarded (a different moment each round).
        tokio::time::sleep(Duration::from_millis(150 + 170 * round as u64)).await;
        child.kill().await.unwrap();
        for c in clients {
            if !c.await.unwrap() {
                unanswered += 1;
            }
        }
    }
    // A last, undisturbed run drains the queue.
    let mut child = start_intake(&config);
    wait_ready(&http, &base).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    let all_delivered = eventually(Duration::from_secs(40), || {
        let received = sandbox.received();
        acknowledged.iter().all(|id| received.iter().any(|d| &d.key == id))
    })
    .await;
    child.kill().await.unwrap();
    assert!(all_delivered, "every acknowledged submission reached the platform");
    let received = sandbox.received();
    for id in &acknowledged {
        let n = received.iter().filter(|d| &d.key == id && !d.duplicate).count();
        assert_eq!(n, 1, "{id} was received {n} times as new");
    }
    // Nothing half-stored: every stored submission has its 4 files (photo, both ID sides, work certificate)
    // or was delivered and its images purged.
    let db = rusqlite::Connection::open(dir.join("intake.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT s.id, s.files_purged, (SELECT COUNT(*) FROM files f WHERE f.submission_id = s.id) FROM submissions s")
        .unwrap();
    let rows: Vec<(String, i64, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    for (id, purged, files) in &rows {
        assert!(*purged == 1 || *files == 4, "{id}: {files} files, purged {purged}");
    }
    // Every stored one is acknowledged or was simply never answered; none is delivered twice.
    assert!(rows.len() >= acknowledged.len());
    assert!(acknowledged.len() + unanswered >= ROUNDS * PER_ROUND / 2, "the test exercised the server");
    eprintln!(
        "kill test: {} submissions sent, {} acknowledged, {} unanswered (killed in flight), {} stored, {} deliveries ({} duplicates)",
        ROUNDS * PER_ROUND,
        acknowledged.len(),
        unanswered,
        rows.len(),
        received.len(),
        received.iter().filter(|d| d.duplicate).count()
    );
}
