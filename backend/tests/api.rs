//! Route tests with `warp::test` for every status of api.md, driven through
//! the real API filters, a real SQLite store and the sandbox platform.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test]
async fn health_readiness_metrics_and_config() {
    let h = Harness::new("basics", |_| {}).await;
    assert_eq!(h.get("/healthz", None).await.0, 200);
    assert_eq!(h.get("/readyz", None).await.0, 200);
    let resp = warp::test::request().path("/metrics").reply(&h.app).await;
    assert_eq!(resp.status(), 200);
    let text = String::from_utf8_lossy(resp.body());
    assert!(text.contains("intake_queue_depth 0") && text.contains("intake_submissions_accepted_total 0"), "{text}");
    let (status, config) = h.get("/api/v1/config", None).await;
    assert_eq!(status, 200);
    assert_eq!(config["profile"]["id"], "intake-default");
    assert_eq!(config["features"]["modification_open"], false);
    assert_eq!(config["documents"]["passport"]["on_post"][1]["part"], "passport_info");
    assert_eq!(config["help"]["ixiamen_hotlines"], json!(["5051516", "5051180"]));
    let (status, body) = h.get("/nope", None).await;
    assert_eq!((status, codes(&body)), (404, vec!["request.not_found".to_owned()]));
}

#[tokio::test]
async fn identity_requires_a_valid_token() {
    let h = Harness::new("me", |_| {}).await;
    let resp = warp::test::request().path("/api/v1/me").reply(&h.app).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(codes(&body), vec!["auth.required"]);
    assert!(body["errors"][0]["message"]["zh"].as_str().unwrap().contains("i厦门"));

    let (status, body) = h.get("/api/v1/me", Some("not.a.jwt")).await;
    assert_eq!((status, codes(&body)), (401, vec!["auth.invalid_token".to_owned()]));

    let (status, me) = h.get("/api/v1/me", Some(&h.token("rare-name"))).await;
    assert_eq!(status, 200);
    assert_eq!(me["name"], "王bing", "names are shown exactly as registered");
    assert_eq!(me["name_has_pinyin"], true);
    assert_eq!(me["certificate_number_masked"], "350***********1014");
    // The full identity is the caller's own, for the bundle's read-only block.
    assert_eq!(me["identity"]["certificate_number"], "350203199306151014");
    assert_eq!(me["identity"]["certificate_type"], "resident_id");
    assert_eq!(me["identity"]["mobile"], "13800138004");
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    let h = Harness::new("tokens", |_| {}).await;
    let cases = [
        ("expired", h.token_with("xiamen-holder", |c| c["exp"] = json!(c["iat"].as_u64().unwrap() - 60))),
        ("not yet valid", h.token_with("xiamen-holder", |c| c["nbf"] = json!(c["iat"].as_u64().unwrap() + 600))),
        ("wrong issuer", h.token_with("xiamen-holder", |c| c["iss"] = json!("https://evil.example"))),
        ("wrong audience", h.token_with("xiamen-holder", |c| c["aud"] = json!("other-app"))),
        (
            "no sub",
            h.token_with("xiamen-holder", |c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
        (
            "no certificate claim",
            h.token_with("xiamen-holder", |c| {
                c.as_object_mut().unwrap().remove("cert_no");
            }),
        ),
    ];
    for (name, token) in cases {
        let (status, body) = h.get("/api/v1/me", Some(&token)).await;
        assert_eq!((status, codes(&body)), (401, vec!["auth.invalid_token".to_owned()]), "{name}");
    }
    // A forged signature: the payload of one token with the signature of another.
    let a = h.token("xiamen-holder");
    let b = h.token("rare-name");
    let forged = format!("{}.{}", a.rsplit_once('.').unwrap().0, b.rsplit_once('.').unwrap().1);
    assert_eq!(h.get("/api/v1/me", Some(&forged)).await.0, 401, "forged signature");
    // alg none.
    let payload = a.split('.').nth(1).unwrap();
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    assert_eq!(h.get("/api/v1/me", Some(&none)).await.0, 401, "alg none");
    // A key the issuer never published.
    let stranger = intake_sandbox::idp::Signer::generate("unknown-kid");
    let p = intake_sandbox::people::person("xiamen-holder").unwrap();
    let t = stranger.token_for(ISSUER, AUDIENCE, p, Duration::from_secs(60));
    assert_eq!(h.get("/api/v1/me", Some(&t)).await.0, 401, "unknown key");
}

#[tokio::test]
async fn archive_is_the_callers_own() {
    let h = Harness::new("archive", |_| {}).await;
    let (status, archive) = h.get("/api/v1/archive", Some(&h.token("xiamen-holder"))).await;
    assert_eq!(status, 200);
    assert_eq!(archive["working_years"], 12);
    assert_eq!(archive["name"], "陈静");
    let (status, body) = h.get("/api/v1/archive", Some(&h.token("new-applicant"))).await;
    assert_eq!((status, codes(&body)), (404, vec!["archive.not_found".to_owned()]));
}

#[tokio::test]
async fn archive_unavailable_is_503() {
    let h = Harness::new("archive-down", |c| c.platform.base_url = "http://127.0.0.1:9".into()).await;
    let (status, body) = h.get("/api/v1/archive", Some(&h.token("xiamen-holder"))).await;
    assert_eq!((status, codes(&body)), (503, vec!["archive.unavailable".to_owned()]));
}

#[tokio::test]
async fn a_valid_submission_is_201_and_idempotent() {
    let h = Harness::new("submit", |c| c.forwarding.enabled = false).await;
    let token = h.token("xiamen-holder");
    let parts = valid_parts("xiamen-holder");
    let (status, receipt) = h.submit("/api/v1/submissions", Some(&token), Some("key-00000001"), &parts).await;
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(receipt["status"], "received");
    let id = receipt["id"].as_str().unwrap().to_owned();
    assert!(receipt["received_at"].as_str().unwrap().ends_with('Z'));

    // Same key, same body: the same submission (200).
    let (status, again) = h.submit("/api/v1/submissions", Some(&token), Some("key-00000001"), &parts).await;
    assert_eq!((status, again["id"].as_str()), (200, Some(id.as_str())));
    // Same key, different body: 409.
    let mut other = parts.clone();
    other[0].bytes = serde_json::to_vec(&{
        let mut b = bundle_for(intake_sandbox::people::person("xiamen-holder").unwrap());
        b["post"]["position"] = json!("财务经理");
        b
    })
    .unwrap();
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("key-00000001"), &other).await;
    assert_eq!((status, codes(&body)), (409, vec!["submission.idempotency_conflict".to_owned()]));
    // A second, different submission by the same person: modification is not open.
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("key-00000002"), &other).await;
    assert_eq!((status, codes(&body)), (409, vec!["submission.already_submitted".to_owned()]));

    let (status, list) = h.get("/api/v1/submissions", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(list["submissions"].as_array().unwrap().len(), 1);
    assert_eq!(list["modification_open"], false);
    let (status, one) = h.get(&format!("/api/v1/submissions/{id}"), Some(&token)).await;
    assert_eq!((status, one["status"].as_str()), (200, Some("received")));
    assert_eq!(one["history"][0]["status"], "received");
}

#[tokio::test]
async fn nobody_reads_someone_elses_submissions() {
    let h = Harness::new("owners", |c| c.forwarding.enabled = false).await;
    let a = h.token("xiamen-holder");
    let b = h.token("rare-name");
    let (status, receipt) =
        h.submit("/api/v1/submissions", Some(&a), Some("owner-key-1"), &valid_parts("xiamen-holder")).await;
    assert_eq!(status, 201, "{receipt}");
    let id = receipt["id"].as_str().unwrap();
    let (status, body) = h.get(&format!("/api/v1/submissions/{id}"), Some(&b)).await;
    assert_eq!((status, codes(&body)), (404, vec!["submission.not_found".to_owned()]));
    let (_, list) = h.get("/api/v1/submissions", Some(&b)).await;
    assert!(list["submissions"].as_array().unwrap().is_empty());
    // B's bundle carrying A's identity is refused: identity comes from the token.
    let a_bundle = bundle_for(intake_sandbox::people::person("xiamen-holder").unwrap());
    let (status, body) =
        h.submit("/api/v1/submissions", Some(&b), Some("owner-key-2"), &parts_for("rare-name", &a_bundle)).await;
    assert_eq!(status, 422);
    assert!(codes(&body).contains(&"form.identity_mismatch".to_owned()), "{body}");
}

#[tokio::test]
async fn request_shape_errors() {
    let h = Harness::new("shape", |c| {
        c.forwarding.enabled = false;
        c.limits.max_part_bytes = 2 * 1024 * 1024;
        c.limits.max_body_bytes = 4 * 1024 * 1024;
    })
    .await;
    let token = h.token("xiamen-holder");
    let parts = valid_parts("xiamen-holder");
    // No token: 401 before anything is read.
    assert_eq!(h.submit("/api/v1/submissions", None, Some("key-shape-1"), &parts).await.0, 401);
    // No or bad idempotency key: 400.
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), None, &parts).await;
    assert_eq!((status, codes(&body)), (400, vec!["submission.idempotency_key".to_owned()]));
    assert_eq!(h.submit("/api/v1/submissions", Some(&token), Some("short"), &parts).await.0, 400);
    // Not multipart: 415.
    let resp = warp::test::request()
        .method("POST")
        .path("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", "key-shape-2")
        .header("content-type", "application/json")
        .body("{}")
        .reply(&h.app)
        .await;
    assert_eq!(resp.status(), 415);
    // One part over its limit: 413 naming the part.
    let mut big = parts.clone();
    big[1].bytes = vec![0xFF; 3 * 1024 * 1024];
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("key-shape-3"), &big).await;
    assert_eq!((status, codes(&body)), (413, vec!["request.too_large".to_owned()]));
    assert_eq!(body["errors"][0]["field"], "photo");
    // Malformed bundle JSON: 422 form.malformed; no bundle part: 400.
    let mut bad = parts.clone();
    bad[0].bytes = b"{not json".to_vec();
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("key-shape-5"), &bad).await;
    assert_eq!((status, codes(&body)), (422, vec!["form.malformed".to_owned()]));
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("key-shape-6"), &parts[1..]).await;
    assert_eq!((status, codes(&body)), (400, vec!["request.malformed".to_owned()]));
    // And the server keeps serving.
    assert_eq!(h.get("/healthz", None).await.0, 200);
}

#[tokio::test]
async fn hostile_uploads_are_refused_with_their_codes() {
    let h = Harness::new("hostile", |c| c.forwarding.enabled = false).await;
    let token = h.token("xiamen-holder");
    let person = "xiamen-holder";
    let cases: Vec<(&str, usize, Vec<u8>, &str)> = vec![
        ("dimension bomb as photo", 1, fixture("file/png_bomb.png"), "image.dimensions_over_limit"),
        ("truncated JPEG as ID front", 2, fixture("file/truncated.jpg"), "image.corrupt"),
        ("GIF named .jpg as photo", 1, fixture("file/gif_named.jpg"), "file.unsupported_format"),
        ("grayscale photo", 1, fixture("photo/grayscale.jpg"), "photo.not_colour"),
        ("same picture for both ID sides", 3, fixture("document/id_front.jpg"), "document.same_image_both_sides"),
    ];
    for (i, (name, index, bytes, code)) in cases.into_iter().enumerate() {
        let mut parts = valid_parts(person);
        parts[index].bytes = bytes;
        let (status, body) =
            h.submit("/api/v1/submissions", Some(&token), Some(&format!("hostile-key-{i}")), &parts).await;
        assert_eq!(status, 422, "{name}: {body}");
        assert!(codes(&body).contains(&code.to_owned()), "{name}: {body}");
    }
    // A missing required part.
    let mut parts = valid_parts(person);
    parts.retain(|p| p.name != "id_back");
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("hostile-key-missing"), &parts).await;
    assert_eq!(status, 422);
    assert!(codes(&body).contains(&"document.missing".to_owned()), "{body}");
    // A bundle whose certificate number differs from the token's.
    let mut bundle = bundle_for(intake_sandbox::people::person(person).unwrap());
    bundle["identity"]["certificate_number"] = json!("11010519491231002X");
    let (status, body) =
        h.submit("/api/v1/submissions", Some(&token), Some("hostile-key-number"), &parts_for(person, &bundle)).await;
    assert_eq!(status, 422);
    assert!(codes(&body).contains(&"form.identity_mismatch".to_owned()), "{body}");
    // Nothing was stored, and the server keeps serving.
    let (_, list) = h.get("/api/v1/submissions", Some(&token)).await;
    assert!(list["submissions"].as_array().unwrap().is_empty());
    let (status, _) = h.submit("/api/v1/submissions", Some(&token), Some("hostile-key-ok"), &valid_parts(person)).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn every_sample_person_can_submit() {
    let h = Harness::new("people", |c| c.forwarding.enabled = false).await;
    for p in intake_sandbox::people::people() {
        let (status, body) = h
            .submit(
                "/api/v1/submissions",
                Some(&h.token(&p.key)),
                Some(&format!("people-{}", p.key)),
                &valid_parts(&p.key),
            )
            .await;
        assert_eq!(status, 201, "{}: {body}", p.key);
    }
}

#[tokio::test]
async fn amendments_follow_the_modification_switch() {
    let closed = Harness::new("amend-closed", |c| c.forwarding.enabled = false).await;
    let token = closed.token("xiamen-holder");
    let (_, receipt) =
        closed.submit("/api/v1/submissions", Some(&token), Some("amend-key-1"), &valid_parts("xiamen-holder")).await;
    let id = receipt["id"].as_str().unwrap();
    let (status, body) = closed
        .submit(
            &format!("/api/v1/submissions/{id}/amendments"),
            Some(&token),
            Some("amend-key-2"),
            &valid_parts("xiamen-holder"),
        )
        .await;
    assert_eq!((status, codes(&body)), (403, vec!["modification.not_open".to_owned()]));

    let open = Harness::new("amend-open", |c| {
        c.forwarding.enabled = false;
        c.features.modification_open = true;
    })
    .await;
    let token = open.token("xiamen-holder");
    let (_, receipt) =
        open.submit("/api/v1/submissions", Some(&token), Some("amend-key-3"), &valid_parts("xiamen-holder")).await;
    let id = receipt["id"].as_str().unwrap();
    let (status, amended) = open
        .submit(
            &format!("/api/v1/submissions/{id}/amendments"),
            Some(&token),
            Some("amend-key-4"),
            &valid_parts("xiamen-holder"),
        )
        .await;
    assert_eq!(status, 201, "{amended}");
    let (_, list) = open.get("/api/v1/submissions", Some(&token)).await;
    let kinds: Vec<&str> =
        list["submissions"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&"amendment"));
    // Someone else's submission cannot be amended.
    let other = open.token("rare-name");
    let (status, _) = open
        .submit(
            &format!("/api/v1/submissions/{id}/amendments"),
            Some(&other),
            Some("amend-key-5"),
            &valid_parts("rare-name"),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_body_over_the_limit_is_413_before_it_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::new("declared", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
    })
    .await;
    let running = intake::app::serve(h.state.clone(), None, std::future::pending()).await.unwrap();
    let token = h.token("xiamen-holder");
    let mut stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: declared-1\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 999999999\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Not one byte of the body is sent: the answer must come anyway.
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("answered without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("request.too_large"), "{text}");
}

#[tokio::test]
async fn security_headers_cors_and_rate_limits() {
    let h = Harness::new("security", |c| {
        c.forwarding.enabled = false;
        c.security.cors_origins = vec!["https://www.ixiamen.example".into()];
        c.security.frame_ancestors = vec!["https://www.ixiamen.example".into()];
        c.security.submissions_per_10_min = 1;
        c.server.www_dir = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../www").into());
    })
    .await;
    let resp = warp::test::request().path("/api/v1/config").reply(&h.app).await;
    let headers = resp.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'self' https://www.ixiamen.example"), "{csp}");
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'"), "{csp}");
    assert!(!headers.contains_key("set-cookie"), "no cookies");
    assert_eq!(headers["cross-origin-resource-policy"], "same-site", "the API is not readable cross-site without CORS");
    // Page assets are embedded by host pages on other sites.
    let resp = warp::test::request().path("/intake-embed.js").reply(&h.app).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cross-origin-resource-policy"], "cross-origin");

    // CORS: the configured host page may call the API, another origin may not.
    let preflight = |origin: &'static str| {
        warp::test::request()
            .method("OPTIONS")
            .path("/api/v1/submissions")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, idempotency-key, content-type")
    };
    let ok = preflight("https://www.ixiamen.example").reply(&h.app).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://www.ixiamen.example");
    let no = preflight("https://evil.example").reply(&h.app).await;
    assert_eq!(no.status(), 403);
    // Our own pages send Origin too (module scripts, POSTs): same-origin requests are not refused.
    let own = |origin: &'static str| {
        warp::test::request().path("/api/v1/config").header("host", "intake.example:8443").header("origin", origin)
    };
    assert_eq!(own("https://intake.example:8443").reply(&h.app).await.status(), 200, "same origin");
    assert_eq!(own("https://elsewhere.example").reply(&h.app).await.status(), 403, "a foreign origin");

    // One submission per 10 minutes here: the second attempt is 429 with Retry-After.
    let token = h.token("xiamen-holder");
    assert_eq!(
        h.submit("/api/v1/submissions", Some(&token), Some("limit-key-1"), &valid_parts("xiamen-holder")).await.0,
        201
    );
    let (ct, body) = multipart(&valid_parts("xiamen-holder"));
    let resp = warp::test::request()
        .method("POST")
        .path("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", "limit-key-2")
        .header("content-type", ct)
        .body(body)
        .reply(&h.app)
        .await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    let v: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(codes(&v), vec!["request.rate_limited"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_loris_client_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::new("loris", |c| {
        c.forwarding.enabled = false;
        c.server.addr = "127.0.0.1:0".parse().unwrap();
        c.server.header_read_timeout_secs = 1;
    })
    .await;
    let running = intake::app::serve(h.state.clone(), None, std::future::pending()).await.unwrap();
    let mut stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    // Half a request head, then silence.
    stream.write_all(b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout(Duration::from_secs(6), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // an error response before closing is fine too
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server still holds the slow connection after 6 s");
    assert!(started.elapsed() >= Duration::from_millis(900), "not closed before the header timeout");
    // The server keeps serving others.
    let resp = reqwest::get(format!("http://{}/healthz", running.addr)).await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// Issue 13, FAQ 9 and 10: a student not on an accounting post, without a unit, submits with a
/// student ID and household registration (`supporting`) and no work certificate; the server
/// accepts it, stores the unit block as null and forwards it, and the platform sandbox accepts
/// it. On an accounting post the same bundle is refused with the unit fields' own labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_post_student_without_a_unit_submits_with_a_student_id_and_household_registration() {
    let h = Harness::new("off-post", |_| {}).await;
    let person = intake_sandbox::people::person("new-applicant").unwrap();
    let token = h.token("new-applicant");
    let mut bundle = bundle_for(person);
    bundle.as_object_mut().unwrap().remove("unit");
    bundle["post"] = json!({ "status": "off_post" });
    bundle["working_years"] = json!(0);

    let student = |bundle: &serde_json::Value| {
        let mut parts: Vec<Part> =
            parts_for("new-applicant", bundle).into_iter().filter(|p| p.name != "work_certificate").collect();
        parts.push(part("supporting", "image/jpeg", fixture("document/id_front.jpg")));
        parts.push(part("supporting", "application/pdf", fixture("file/work_certificate.pdf")));
        parts
    };

    // On an accounting post, the missing unit block is refused, field by field, in the table's words.
    let mut on_post = bundle.clone();
    on_post["post"]["status"] = json!("on_post");
    let (status, body) = h.submit("/api/v1/submissions", Some(&token), Some("off-post-0001"), &student(&on_post)).await;
    assert_eq!(status, 422, "{body}");
    let mut fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "form.required")
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, vec!["post.position", "unit.name", "unit.type", "unit.uscc"], "{body}");
    let type_error = body["errors"].as_array().unwrap().iter().find(|e| e["field"] == "unit.type").unwrap();
    assert_eq!(type_error["message"]["zh"], "请选择单位类型。");

    // Off the post: accepted.
    let (status, receipt) =
        h.submit("/api/v1/submissions", Some(&token), Some("off-post-0002"), &student(&bundle)).await;
    assert_eq!(status, 201, "{receipt}");
    let id = receipt["id"].as_str().unwrap().to_owned();

    // Forwarded and accepted by the platform sandbox.
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let forwarder = intake::forwarder::Forwarder::new(
        h.store.clone(),
        h.state.platform.clone(),
        h.state.config.forwarding.clone(),
        h.state.metrics.clone(),
        h.state.wake.clone(),
    );
    tokio::spawn(forwarder.run(stop.clone()));
    let delivered = eventually(Duration::from_secs(20), || h.sandbox.received().iter().any(|d| d.key == id)).await;
    assert!(delivered, "the submission reaches the platform");
    let delivery = h.sandbox.received().into_iter().find(|d| d.key == id).unwrap();
    assert!(!delivery.duplicate);
    assert_eq!(delivery.bundle["post_status"], "off_post");
    for key in intake_sandbox::platform::UNIT_KEYS {
        assert_eq!(delivery.bundle[key], serde_json::Value::Null, "{key}");
    }
    let names: Vec<&str> = delivery.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.iter().filter(|n| **n == "supporting").count(), 2, "{names:?}");
    assert!(!names.contains(&"work_certificate"), "{names:?}");
    let mut status = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, one) = h.get(&format!("/api/v1/submissions/{id}"), Some(&token)).await;
        status = one["status"].clone();
        if status == "accepted" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.notify_one();
    assert_eq!(status, "accepted", "the platform accepted it");
}

/// Issue 13 item 7: the 201 answer carries a short receipt number beside the UUID id; the list and
/// the single view carry the same number; it is 12 characters in groups of four with a valid check
/// character, and the id stays the UUID.
#[tokio::test]
async fn the_receipt_number_is_short_checked_and_shown_beside_the_uuid() {
    let h = Harness::new("receipt-number", |c| c.forwarding.enabled = false).await;
    let mut numbers = std::collections::HashSet::new();
    for p in intake_sandbox::people::people() {
        let token = h.token(&p.key);
        let (status, receipt) = h
            .submit("/api/v1/submissions", Some(&token), Some(&format!("receipt-{}", p.key)), &valid_parts(&p.key))
            .await;
        assert_eq!(status, 201, "{receipt}");
        let id = receipt["id"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "the id stays a UUID: {id}");
        let number = receipt["receipt_number"].as_str().unwrap().to_owned();
        let groups: Vec<&str> = number.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![4, 4, 4], "{number}");
        let parsed = intake_rules::receipt::ReceiptNumber::parse(&number).expect("a valid check character");
        assert_eq!(parsed.to_string(), number);
        assert_eq!(intake_rules::receipt::ReceiptNumber::for_id(id), Some(parsed), "derived from the id's random bits");
        assert!(numbers.insert(number.clone()), "numbers differ between submissions");
        let (_, list) = h.get("/api/v1/submissions", Some(&token)).await;
        assert_eq!(list["submissions"][0]["receipt_number"], number.as_str());
        let (_, one) = h.get(&format!("/api/v1/submissions/{id}"), Some(&token)).await;
        assert_eq!(one["receipt_number"], number.as_str());
    }
}

/// `GET /metrics` as lines.
async fn metrics_text(h: &Harness) -> String {
    let resp = warp::test::request().path("/metrics").reply(&h.app).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    String::from_utf8_lossy(resp.body()).into_owned()
}

/// The value of the sample line starting with `series ` (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn every_refusal_is_counted_once_by_its_codes_and_requests_are_timed_by_route() {
    let h = Harness::new("metrics-refusals", |c| c.forwarding.enabled = false).await;
    let token = h.token("xiamen-holder");
    let parts = valid_parts("xiamen-holder");
    // Each request is refused with the codes beside it; the counters must rise by exactly that.
    let mut expected: std::collections::BTreeMap<String, f64> = std::collections::BTreeMap::new();
    let mut answered = |body: &serde_json::Value| {
        for c in codes(body) {
            *expected.entry(c).or_default() += 1.0;
        }
    };
    let (s, b) = h.get("/api/v1/me", None).await;
    assert_eq!(s, 401);
    answered(&b);
    let (s, b) = h.get("/api/v1/me", Some("not.a.jwt")).await;
    assert_eq!(s, 401);
    answered(&b);
    let (s, b) = h.get("/nope", None).await;
    assert_eq!(s, 404);
    answered(&b);
    let (s, b) = h.submit("/api/v1/submissions", Some(&token), None, &parts).await;
    assert_eq!(s, 400);
    answered(&b);
    let (s, b) = h.submit("/api/v1/submissions", Some(&token), Some("key-metrics-1"), &parts[1..]).await;
    assert_eq!(s, 400);
    answered(&b);
    // A re-check that refuses: the photo replaced by a grey square (every error code counted).
    let mut bad = parts.clone();
    let grey = image::RgbImage::from_pixel(300, 420, image::Rgb([128, 128, 128]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&grey).unwrap();
    bad[1].bytes = jpeg;
    let (s, b) = h.submit("/api/v1/submissions", Some(&token), Some("key-metrics-2"), &bad).await;
    assert_eq!(s, 422, "{b}");
    let errors: Vec<String> = b["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["severity"] == "error")
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(!errors.is_empty(), "{b}");
    for c in errors {
        *expected.entry(c).or_default() += 1.0;
    }
    let (s, _) = h.submit("/api/v1/submissions", Some(&token), Some("key-metrics-3"), &parts).await;
    assert_eq!(s, 201);

    let text = metrics_text(&h).await;
    for (code, n) in &expected {
        assert_eq!(sample(&text, &format!("intake_refused_total{{code=\"{code}\"}}")), *n, "{code} in\n{text}");
    }
    let counted: f64 = text
        .lines()
        .filter(|l| l.starts_with("intake_refused_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(counted, expected.values().sum::<f64>(), "nothing else was counted as refused:\n{text}");
    assert_eq!(sample(&text, "intake_submissions_accepted_total"), 1.0);
    assert_eq!(sample(&text, "intake_recheck_duration_seconds_count{outcome=\"refused\"}"), 1.0, "{text}");
    assert_eq!(sample(&text, "intake_recheck_duration_seconds_count{outcome=\"accepted\"}"), 1.0, "{text}");
    for series in [
        "intake_http_request_duration_seconds_count{route=\"me\",method=\"GET\",status=\"401\"}",
        "intake_http_request_duration_seconds_count{route=\"submissions\",method=\"POST\",status=\"201\"}",
        "intake_http_request_duration_seconds_count{route=\"submissions\",method=\"POST\",status=\"422\"}",
    ] {
        assert!(sample(&text, series) >= 1.0, "{series} in\n{text}");
    }
    assert_eq!(
        sample(&text, "intake_http_request_duration_seconds_count{route=\"me\",method=\"GET\",status=\"401\"}"),
        2.0
    );
}

#[tokio::test]
async fn a_failing_store_is_503_server_unavailable_with_retry_after_on_every_route_that_reads_it() {
    let h = Harness::new("store-fails", |c| c.forwarding.enabled = false).await;
    let token = h.token("xiamen-holder");
    let (s, _) = h.get("/api/v1/submissions", Some(&token)).await;
    assert_eq!(s, 200, "the store answers before it breaks");
    // Break the store under the server: its tables are gone.
    let db = rusqlite::Connection::open(h.dir.join("intake.db")).unwrap();
    db.execute_batch("DROP TABLE history; DROP TABLE files; DROP TABLE submissions;").unwrap();
    drop(db);
    let unavailable = |what: &str, status: u16, body: &serde_json::Value| {
        assert_eq!((status, codes(body)), (503, vec!["server.unavailable".to_owned()]), "{what}: {body}");
    };
    let (s, b) = h.get("/api/v1/submissions", Some(&token)).await;
    unavailable("list", s, &b);
    let (s, b) = h.get("/api/v1/submissions/0192e1a2-0000-7000-8000-000000000000", Some(&token)).await;
    unavailable("one", s, &b);
    let (s, b) =
        h.submit("/api/v1/submissions", Some(&token), Some("key-store-1"), &valid_parts("xiamen-holder")).await;
    unavailable("submit", s, &b);
    let resp = warp::test::request()
        .method("GET")
        .path("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .reply(&h.app)
        .await;
    assert_eq!(resp.headers()["retry-after"], "5", "the client is told when to retry");
    let text = metrics_text(&h).await;
    assert_eq!(sample(&text, "intake_refused_total{code=\"server.unavailable\"}"), 4.0, "{text}");
}
