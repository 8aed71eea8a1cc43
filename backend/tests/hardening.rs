//! The small hardening items of issue 11: exact redirect URIs in the demo
//! issuer, security headers on every answer (sandbox pages, the serve loop's
//! own 408 with its own code), JWT `crit` / future `iat` / overlong lifetimes,
//! a repeated `Idempotency-Key`, per-person upload slots, and uploads that
//! stall. Real sockets on 127.0.0.1 where the serve loop matters.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use intake_sandbox::idp::SandboxIdp;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warp::Filter;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

async fn raw(addr: std::net::SocketAddr, request: &[u8], wait: Duration) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut stream, mut wr) = stream.into_split();
    let request = request.to_vec();
    // Written while the answer is read: the server may answer before it has read everything.
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&request).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(wr);
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let started = std::time::Instant::now();
    while started.elapsed() < wait {
        match tokio::time::timeout(wait.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // One answer is enough: stop once a complete JSON or HTML body has arrived.
                let text = String::from_utf8_lossy(&out);
                if text.contains("\r\n\r\n") && (text.trim_end().ends_with('}') || text.trim_end().ends_with("</html>"))
                {
                    break;
                }
            }
        }
    }
    writer.abort();
    String::from_utf8_lossy(&out).into_owned()
}

fn assert_security_headers(answer: &str) {
    let lower = answer.to_ascii_lowercase();
    for h in [
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "content-security-policy: ",
        "frame-ancestors",
    ] {
        assert!(lower.contains(h), "{h} missing in:\n{answer}");
    }
}

#[tokio::test]
async fn the_demo_issuer_matches_redirect_uris_exactly() {
    let idp = SandboxIdp::new("http://127.0.0.1:8080/sandbox/idp", "intake-web");
    let routes = idp.routes();
    let authorize = |redirect: &str| {
        let q = format!(
            "/authorize?client_id=intake-web&code_challenge=abc&code_challenge_method=S256&redirect_uri={}",
            redirect
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect::<String>()
        );
        warp::test::request().path(&q).reply(&routes)
    };
    for ok in ["http://127.0.0.1:8080/", "http://localhost:8080/index.html", "http://127.0.0.1:8080/embed-demo.html"] {
        assert_eq!(authorize(ok).await.status(), 200, "{ok} is registered");
    }
    for bad in [
        "http://127.0.0.1:1@evil.example/cb",
        "http://127.0.0.1:8080@evil.example/",
        "http://127.0.0.1:8080.evil.example/",
        "http://127.0.0.1:8080/elsewhere",
        "http://127.0.0.1:8081/",
        "https://127.0.0.1:8080/",
        "http://127.0.0.1:8080/#frag",
        "http://user@127.0.0.1:8080/",
        "not a url",
    ] {
        assert_eq!(authorize(bad).await.status(), 400, "{bad} must be refused");
    }
    let only = SandboxIdp::new("http://127.0.0.1:8080/sandbox/idp", "intake-web")
        .with_redirect_uris(&["http://127.0.0.1:9000/cb"]);
    assert!(only.is_registered_redirect("http://127.0.0.1:9000/cb"));
    assert!(!only.is_registered_redirect("http://127.0.0.1:8080/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_pages_and_the_408_carry_the_security_headers() {
    let h = Harness::new("headers-408", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
        c.server.request_timeout_secs = 1;
        c.limits.upload_idle_timeout_secs = 30;
        c.limits.upload_rate_grace_secs = 30;
    })
    .await;
    let idp = SandboxIdp::new("http://127.0.0.1:8080/sandbox/idp", "intake-web");
    let extra = warp::path("sandbox").and(warp::path("idp")).and(idp.routes()).boxed();
    let running = intake::app::serve(h.state.clone(), Some(extra), std::future::pending()).await.unwrap();

    let page = raw(
        running.addr,
        b"GET /sandbox/idp/authorize?client_id=intake-web&code_challenge=abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2F HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("data-person"), "the login page");
    assert_security_headers(&page);
    let jwks = raw(
        running.addr,
        b"GET /sandbox/idp/jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(jwks.starts_with("HTTP/1.1 200"), "{jwks}");
    assert_security_headers(&jwks);

    // A body that never finishes: the serve loop's own 408, with its own code and the headers.
    let token = h.token("xiamen-holder");
    let head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: slow-key-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 5000\r\n\r\n--{BOUNDARY}\r\n"
    );
    let started = std::time::Instant::now();
    let answer = raw(running.addr, head.as_bytes(), Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request.timeout\""), "{answer}");
    assert!(!answer.contains("request.malformed"), "{answer}");
    assert_security_headers(&answer);
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn crit_future_iat_and_overlong_tokens_are_refused() {
    let h = Harness::new("jwt", |c| c.identity.max_token_lifetime_secs = 24 * 3600).await;
    let p = intake_sandbox::people::person("xiamen-holder").unwrap();
    let claims = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut c = intake_sandbox::idp::person_claims(ISSUER, AUDIENCE, p, Duration::from_secs(600));
        edit(&mut c);
        c
    };
    let hr = &h;
    let me = |t: String| async move { hr.get("/api/v1/me", Some(&t)).await };
    // Controls: the same shapes within the limits pass.
    let ok = h.signer.sign(&claims(&|_| {}));
    assert_eq!(me(ok).await.0, 200);
    let t = now();
    let day_less = h.signer.sign(&claims(&|c| {
        c["iat"] = json!(t);
        c["exp"] = json!(t + 23 * 3600);
    }));
    assert_eq!(me(day_less).await.0, 200, "23 h is within the 24 h maximum");

    let crit = h.signer.sign_with_header(
        |hd| {
            hd.crit = Some(vec!["http://example.invalid/ext".into()]);
            hd.extras.insert("http://example.invalid/ext", true);
        },
        &claims(&|_| {}),
    );
    let future_iat = h.signer.sign(&claims(&|c| c["iat"] = json!(t + 600)));
    let long = h.signer.sign(&claims(&|c| {
        c["iat"] = json!(t);
        c["exp"] = json!(t + 25 * 3600);
    }));
    let long_no_iat = h.signer.sign(&claims(&|c| {
        c.as_object_mut().unwrap().remove("iat");
        c["exp"] = json!(t + 30 * 24 * 3600);
    }));
    for (name, token) in
        [("crit", crit), ("iat in the future", future_iat), ("25 h", long), ("30 d without iat", long_no_iat)]
    {
        let (status, body) = me(token).await;
        assert_eq!((status, codes(&body)), (401, vec!["auth.invalid_token".to_owned()]), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_idempotency_key_is_400_with_its_code() {
    let h = Harness::new("two-keys", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
    })
    .await;
    let running = intake::app::serve(h.state.clone(), None, std::future::pending()).await.unwrap();
    let (ct, body) = multipart(&valid_parts("xiamen-holder"));
    // The head only: the answer must come before any of the body is read.
    let request = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nIdempotency-Key: first-key-1\r\n\
         Idempotency-Key: second-key-2\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        h.token("xiamen-holder"),
        body.len()
    );
    let answer = raw(running.addr, request.as_bytes(), Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"submission.idempotency_key_repeated\""), "{answer}");
    assert!(h.store.list(&format!("{ISSUER}|xiamen-holder")).await.unwrap().is_empty(), "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_gets_a_bounded_number_of_uploads_at_once() {
    let h = Harness::new("slots", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
        c.limits.max_uploads_per_person = 1;
    })
    .await;
    let running = intake::app::serve(h.state.clone(), None, std::future::pending()).await.unwrap();
    let token = h.token("xiamen-holder");
    // One upload in progress (its body unfinished) …
    let mut first = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: slot-key-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 100000\r\n\r\n--{BOUNDARY}\r\n"
    );
    first.write_all(head.as_bytes()).await.unwrap();
    assert!(
        eventually(Duration::from_secs(5), || h.state.uploads_per_person.held(&format!("{ISSUER}|xiamen-holder")) == 1)
            .await
    );
    // … so the same person's second one is 429 at once, before its body is read.
    let (ct, body) = multipart(&valid_parts("xiamen-holder"));
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/v1/submissions", running.addr))
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", "slot-key-2")
        .header("content-type", ct.clone())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(codes(&v), vec!["request.too_many_uploads"]);
    assert!(v["errors"][0]["message"]["zh"].as_str().unwrap().contains("上传"));
    // Another person is not affected.
    let other = reqwest::Client::new()
        .post(format!("http://{}/api/v1/submissions", running.addr))
        .header("authorization", format!("Bearer {}", h.token("rare-name")))
        .header("idempotency-key", "slot-key-3")
        .header("content-type", ct)
        .body(multipart(&valid_parts("rare-name")).1)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 201);
    // Once the first connection goes away its slot is free again.
    drop(first);
    assert!(
        eventually(Duration::from_secs(5), || h.state.uploads_per_person.held(&format!("{ISSUER}|xiamen-holder")) == 0)
            .await,
        "the slot is released when the upload ends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_upload_is_cut_and_releases_its_budget() {
    let h = Harness::new("idle", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
        c.limits.upload_idle_timeout_secs = 1;
    })
    .await;
    let running = intake::app::serve(h.state.clone(), None, std::future::pending()).await.unwrap();
    let full = h.state.upload_budget.available_permits();
    let token = h.token("xiamen-holder");
    let mut head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: idle-key-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 3000000\r\n\r\n--{BOUNDARY}\r\n\
         Content-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n\r\n"
    )
    .into_bytes();
    head.extend(std::iter::repeat_n(0xAB, 200 * 1024));
    let started = std::time::Instant::now();
    let answer = raw(running.addr, &head, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request.upload_too_slow\""), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(4), "cut after {:?}", started.elapsed());
    assert!(
        eventually(Duration::from_secs(2), || h.state.upload_budget.available_permits() == full).await,
        "the 200 KiB it held are back in the budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_header_over_its_limit_is_400_with_its_code() {
    let h = Harness::new("part-header", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
    })
    .await;
    let running = intake::app::serve(h.state.clone(), None, std::future::pending()).await.unwrap();
    let limit = h.state.config.limits.max_part_header_bytes;
    // A chunked body whose first part header never ends: a little over the limit is sent (all of it
    // is read, so the answer is not lost to a reset), then nothing.
    let first =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"\r\nX-Pad: {}", "a".repeat(limit + 100));
    let request = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nIdempotency-Key: header-key-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n",
        h.token("xiamen-holder"),
        first.len()
    );
    let started = std::time::Instant::now();
    let answer = raw(running.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"request.part_header_too_large\""), "{answer}");
    assert!(answer.contains("\"zh\""), "bilingual: {answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
