//! The platform sandbox against its contract, in process (`warp::test`); `socket` serves it.

use std::io::{Cursor, Write as _};
use std::time::Instant;

use super::contract::{jpeg_has_exif, summarize};
use super::*;

mod socket;

/// A multipart part: name, content type, bytes.
type TestPart = (String, Option<String>, Vec<u8>);

const BOUNDARY: &str = "sandbox-test-boundary-7f3a";

/// A small camera-like JPEG; with `exif`, an APP1 `Exif` segment is spliced in after SOI.
fn jpeg(width: u32, height: u32, exif: bool) -> Vec<u8> {
    let pixels: Vec<u8> = (0..width * height).flat_map(|i| [(i % 251) as u8, 90, 160]).collect();
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 80)
        .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
        .expect("encode jpeg");
    if !exif {
        return plain;
    }
    // "Exif\0\0" + a big-endian TIFF header with an empty IFD0.
    let payload: &[u8] = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0\0\0\0\0";
    let len = u16::try_from(payload.len() + 2).expect("short segment");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::new(width, height)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode png");
    out
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn identity() -> Value {
    json!({
        "name": "陈静",
        "certificate_type": "resident_id",
        "certificate_number": "350203198507154321",
        "mobile": "13800138001",
    })
}

/// `(name, content type, bytes)` of every part of a valid submission.
fn valid_parts() -> Vec<TestPart> {
    vec![
        part_text("identity", Some("application/json"), &identity().to_string()),
        part_text("bundle", Some("application/json"), r#"{"profile":"accountant","answers":{"a":1}}"#),
        part_text("kind", None, "submission"),
        ("photo".to_owned(), Some("image/jpeg".to_owned()), jpeg(30, 40, true)),
        ("id_front".to_owned(), Some("image/jpeg".to_owned()), jpeg(64, 40, false)),
        ("work_certificate".to_owned(), Some("application/pdf".to_owned()), PDF.to_vec()),
    ]
}

fn part_text(name: &str, content_type: Option<&str>, text: &str) -> TestPart {
    (name.to_owned(), content_type.map(str::to_owned), text.as_bytes().to_vec())
}

fn multipart(parts: &[TestPart]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content_type, data) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let filename = if data.is_ascii() { String::new() } else { format!("; filename=\"{name}.bin\"") };
        body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\n").as_bytes());
        if let Some(ct) = content_type {
            body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post(sandbox: &PlatformSandbox, key: Option<&str>, parts: &[TestPart]) -> warp::http::Response<Bytes> {
    let mut request = warp::test::request()
        .method("POST")
        .path("/v1/collections")
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart(parts));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.reply(&sandbox.routes()).await
}

fn body_json(response: &warp::http::Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).expect("JSON body")
}

/// FAQ 9, 10: a person not on an accounting post may have no unit; the platform accepts the
/// bundle with the unit block `null` or left out, and a student ID and household registration
/// as `supporting` parts without a work certificate.
#[tokio::test]
async fn an_off_post_bundle_without_a_unit_is_accepted() {
    let sandbox = PlatformSandbox::new(None);
    let bundles = [
        r#"{"post_status":"off_post","unit_name":null,"unit_uscc":null,"unit_type":null,"position":null}"#,
        r#"{"post_status":"off_post"}"#,
    ];
    for (i, bundle) in bundles.iter().enumerate() {
        let mut parts: Vec<TestPart> = valid_parts()
            .into_iter()
            .filter(|p| p.0 != "work_certificate")
            .map(|p| if p.0 == "bundle" { part_text("bundle", p.1.as_deref(), bundle) } else { p })
            .collect();
        parts.push(("supporting".to_owned(), Some("image/jpeg".to_owned()), jpeg(8, 8, false)));
        parts.push(("supporting".to_owned(), Some("application/pdf".to_owned()), PDF.to_vec()));
        let response = post(&sandbox, Some(&format!("off-{i}")), &parts).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{bundle}: {:?}", response.body());
    }
    let received = sandbox.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|d| d.parts.iter().filter(|p| p.name == "supporting").count() == 2));
    assert_eq!(received[0].bundle["unit_name"], Value::Null);
}

#[tokio::test]
async fn first_delivery_is_accepted_and_recorded_with_part_summaries() {
    let sandbox = PlatformSandbox::new(None);
    let mut parts = valid_parts();
    parts.push(("supporting".to_owned(), Some("image/jpeg; charset=binary".to_owned()), jpeg(8, 8, false)));
    let response = post(&sandbox, Some("sub-1"), &parts).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(body_json(&response), json!({ "status": "accepted", "reference": "XMKJ-1" }));

    let received = sandbox.received();
    assert_eq!(received.len(), 1);
    let delivery = &received[0];
    assert_eq!(delivery.key, "sub-1");
    assert!(!delivery.duplicate);
    assert_eq!(delivery.reference, "XMKJ-1");
    assert_eq!(delivery.kind, "submission");
    assert_eq!(delivery.amends, None);
    assert_eq!(delivery.identity, identity());
    assert_eq!(delivery.bundle["profile"], "accountant");
    let now_ms =
        u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis()).expect("ms fit");
    assert!(delivery.at_ms <= now_ms && delivery.at_ms + 60_000 > now_ms, "at_ms {}", delivery.at_ms);

    let summary: Vec<_> = delivery
        .parts
        .iter()
        .map(|p| (p.name.as_str(), p.content_type.as_str(), p.width, p.height, p.has_exif))
        .collect();
    assert_eq!(
        summary,
        [
            ("photo", "image/jpeg", Some(30), Some(40), true),
            ("id_front", "image/jpeg", Some(64), Some(40), false),
            ("work_certificate", "application/pdf", None, None, false),
            ("supporting", "image/jpeg", Some(8), Some(8), false),
        ]
    );
    assert_eq!(delivery.parts[0].bytes, u64::try_from(parts[3].2.len()).expect("len"));
    assert_eq!(delivery.parts[2].bytes, u64::try_from(PDF.len()).expect("len"));

    // The control API shows the same record.
    let response = warp::test::request().path("/_sandbox/received").reply(&sandbox.routes()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let over_http: Vec<Delivery> = serde_json::from_slice(response.body()).expect("deliveries");
    assert_eq!(over_http, received);
    let raw = body_json(&response);
    assert_eq!(raw[0]["parts"][0]["has_exif"], true);
    assert_eq!(raw[0]["parts"][2]["width"], Value::Null);
    assert_eq!(raw[0]["amends"], Value::Null);
}

#[tokio::test]
async fn repeated_key_is_a_recorded_duplicate_with_the_original_reference() {
    let sandbox = PlatformSandbox::new(None);
    let parts = valid_parts();
    assert_eq!(post(&sandbox, Some("sub-a"), &parts).await.status(), StatusCode::CREATED);
    assert_eq!(post(&sandbox, Some("sub-b"), &parts).await.status(), StatusCode::CREATED);
    let again = post(&sandbox, Some("sub-a"), &parts).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(body_json(&again), json!({ "status": "duplicate", "reference": "XMKJ-1" }));
    let third = post(&sandbox, Some("sub-a"), &parts).await;
    assert_eq!(body_json(&third)["reference"], "XMKJ-1");

    let received = sandbox.received();
    let keys: Vec<_> = received.iter().map(|d| (d.key.as_str(), d.duplicate, d.reference.as_str())).collect();
    assert_eq!(
        keys,
        [("sub-a", false, "XMKJ-1"), ("sub-b", false, "XMKJ-2"), ("sub-a", true, "XMKJ-1"), ("sub-a", true, "XMKJ-1")]
    );
    let stats = sandbox.stats();
    assert_eq!((stats.distinct, stats.duplicates, stats.requests, stats.invalid), (2, 2, 4, 0));

    let response = warp::test::request().path("/_sandbox/stats").reply(&sandbox.routes()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(&response),
        json!({ "distinct": 2, "duplicates": 2, "requests": 4, "faults_pending": 0, "faults_consumed": 0, "invalid": 0 })
    );
}

#[tokio::test]
async fn missing_idempotency_key_is_400_and_not_recorded() {
    let sandbox = PlatformSandbox::new(None);
    let response = post(&sandbox, None, &valid_parts()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(&response), json!({ "reason": "missing Idempotency-Key" }));
    let blank = post(&sandbox, Some("  "), &valid_parts()).await;
    assert_eq!(body_json(&blank), json!({ "reason": "missing Idempotency-Key" }));
    assert!(sandbox.received().is_empty());
    let stats = sandbox.stats();
    assert_eq!((stats.distinct, stats.requests, stats.invalid), (0, 2, 2));
}

#[tokio::test]
async fn contract_violations_are_400_with_a_reason() {
    let sandbox = PlatformSandbox::new(None);
    let without = |name: &str| valid_parts().into_iter().filter(|p| p.0 != name).collect::<Vec<_>>();
    let with = |extra: Vec<TestPart>| {
        let mut parts = valid_parts();
        parts.extend(extra);
        parts
    };
    let replace = |name: &str, text: &str| {
        valid_parts()
            .into_iter()
            .map(|p| if p.0 == name { part_text(name, p.1.as_deref(), text) } else { p })
            .collect::<Vec<_>>()
    };
    let pdf = |name: &str| (name.to_owned(), Some("application/pdf".to_owned()), PDF.to_vec());
    let cases: Vec<(&str, Vec<TestPart>, &str)> = vec![
        ("no identity", without("identity"), "missing part identity"),
        ("no bundle", without("bundle"), "missing part bundle"),
        ("no kind", without("kind"), "missing part kind"),
        ("bad kind", replace("kind", "resubmission"), "neither submission nor amendment"),
        ("amendment without amends", replace("kind", "amendment"), "needs the part amends"),
        ("identity not JSON", replace("identity", "{"), "identity is not JSON"),
        (
            "identity without mobile",
            replace("identity", r#"{"name":"a","certificate_type":"b","certificate_number":"c"}"#),
            "identity.mobile is missing",
        ),
        ("bundle not JSON", replace("bundle", "nope"), "bundle is not JSON"),
        ("unknown part", with(vec![pdf("selfie")]), "unknown part selfie"),
        (
            "two photos",
            with(vec![("photo".to_owned(), Some("image/jpeg".to_owned()), jpeg(4, 4, false))]),
            "more than 1 photo",
        ),
        (
            "four work certificates",
            with(vec![pdf("work_certificate"), pdf("work_certificate"), pdf("work_certificate")]),
            "more than 3 work_certificate",
        ),
        (
            "png",
            with(vec![("id_back".to_owned(), Some("image/png".to_owned()), png(5, 6))]),
            "part id_back has content type \"image/png\"",
        ),
        (
            "no content type",
            with(vec![("id_back".to_owned(), None, jpeg(4, 4, false))]),
            "part id_back has content type \"\"",
        ),
        (
            "empty file",
            with(vec![("supporting".to_owned(), Some("application/pdf".to_owned()), Vec::new())]),
            "part supporting is empty",
        ),
        ("kind twice", with(vec![part_text("kind", None, "submission")]), "part kind given twice"),
        (
            "on post without a unit",
            replace(
                "bundle",
                r#"{"post_status":"on_post","unit_name":null,"unit_uscc":"x","unit_type":"enterprise","position":"会计"}"#,
            ),
            "bundle.unit_name is required on an accounting post",
        ),
        (
            "on post with a blank position",
            replace(
                "bundle",
                r#"{"post_status":"on_post","unit_name":"a","unit_uscc":"x","unit_type":"enterprise","position":" "}"#,
            ),
            "bundle.position is required",
        ),
        (
            "off post with a numeric unit type",
            replace("bundle", r#"{"post_status":"off_post","unit_type":7}"#),
            "bundle.unit_type must be a string or null",
        ),
        ("unknown post status", replace("bundle", r#"{"post_status":"retired"}"#), "neither"),
    ];
    for (i, (label, parts, reason)) in cases.iter().enumerate() {
        let response = post(&sandbox, Some(&format!("bad-{i}")), parts).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{label}");
        let got = body_json(&response)["reason"].as_str().unwrap_or_default().to_owned();
        assert!(got.contains(reason), "{label}: {got}");
    }

    let not_multipart = warp::test::request()
        .method("POST")
        .path("/v1/collections")
        .header("idempotency-key", "json-body")
        .json(&json!({ "identity": identity() }))
        .reply(&sandbox.routes())
        .await;
    assert_eq!(not_multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let mut amendment = replace("kind", "amendment");
    amendment.push(part_text("amends", None, "sub-original"));
    let response = post(&sandbox, Some("amend-1"), &amendment).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let received = sandbox.received();
    assert_eq!(received.len(), 1, "only the amendment is recorded");
    assert_eq!((received[0].kind.as_str(), received[0].amends.as_deref()), ("amendment", Some("sub-original")));
    let stats = sandbox.stats();
    assert_eq!(stats.invalid, u64::try_from(cases.len() + 1).expect("few"));
    assert_eq!(stats.requests, stats.invalid + 1);
}

#[tokio::test]
async fn archives_for_every_sample_person() {
    let sandbox = PlatformSandbox::new(None);
    let routes = sandbox.routes();
    for person in people::people() {
        let path = format!("/v1/archives/{}/{}", person.certificate_type, person.certificate_number);
        let response = warp::test::request().path(&path).reply(&routes).await;
        match &person.archive {
            Some(archive) => {
                assert_eq!(response.status(), StatusCode::OK, "{}", person.key);
                let body = body_json(&response);
                assert_eq!(body["name"], person.name.as_str());
                assert_eq!(body["certificate_type"], person.certificate_type.as_str());
                assert_eq!(body["certificate_number"], person.certificate_number.as_str());
                assert_eq!(body["gender"], person.gender.as_str());
                assert_eq!(body["birth_date"], person.birth_date.as_str());
                for (field, value) in archive.as_object().expect("archive object") {
                    assert_eq!(&body[field], value, "{}: {field}", person.key);
                }
            }
            None => {
                assert_eq!(response.status(), StatusCode::NOT_FOUND, "{}", person.key);
                assert_eq!(body_json(&response), json!({ "reason": "no archive" }));
            }
        }
    }
    assert!(people::people().iter().any(|p| p.archive.is_none()), "the fixture covers the 404 case");
    for path in ["/v1/archives/resident_id/110101199001010000", "/v1/archives/passport/350203198507154321"] {
        let response = warp::test::request().path(path).reply(&routes).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body_json(&response), json!({ "reason": "no archive" }));
    }
    let response = warp::test::request().path("/v1/nothing").reply(&routes).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn faults_are_consumed_in_order_one_per_request() {
    let sandbox = PlatformSandbox::new(None);
    let routes = sandbox.routes();
    let faults = json!([
        { "kind": "status", "status": 500 },
        { "kind": "status", "status": 429, "retry_after": 1 },
        { "kind": "reject", "status": 422, "reason": "单位信用代码与登记不符" },
        { "kind": "delay", "ms": 300 },
    ]);
    let response = warp::test::request().method("POST").path("/_sandbox/faults").json(&faults).reply(&routes).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response), json!({ "faults_pending": 4 }));
    assert_eq!(sandbox.stats().faults_pending, 4);

    let parts = valid_parts();
    let first = post(&sandbox, Some("k"), &parts).await;
    assert_eq!(first.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_json(&first), json!({ "reason": "injected" }));
    assert!(first.headers().get("retry-after").is_none());

    let second = post(&sandbox, Some("k"), &parts).await;
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.headers().get("retry-after").map(HeaderValue::as_bytes), Some(&b"1"[..]));
    assert_eq!(body_json(&second), json!({ "reason": "injected" }));

    let third = post(&sandbox, Some("k"), &parts).await;
    assert_eq!(third.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_json(&third), json!({ "reason": "单位信用代码与登记不符" }));
    assert!(sandbox.received().is_empty(), "faulted requests are not recorded");
    assert_eq!(sandbox.stats().faults_pending, 1);

    let started = Instant::now();
    let fourth = post(&sandbox, Some("k"), &parts).await;
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    assert_eq!(fourth.status(), StatusCode::CREATED);
    assert_eq!(body_json(&fourth)["reference"], "XMKJ-1");

    let fifth = post(&sandbox, Some("k"), &parts).await;
    assert_eq!(fifth.status(), StatusCode::CONFLICT, "queue empty: handled normally");

    let stats = sandbox.stats();
    assert_eq!(
        stats,
        SandboxStats { distinct: 1, duplicates: 1, requests: 5, faults_pending: 0, faults_consumed: 4, invalid: 0 }
    );

    // A single fault object is accepted too; DELETE clears the queue.
    let response = warp::test::request()
        .method("POST")
        .path("/_sandbox/faults")
        .json(&json!({ "kind": "close" }))
        .reply(&routes)
        .await;
    assert_eq!(body_json(&response), json!({ "faults_pending": 1 }));
    sandbox.push_faults(vec![Fault::Hang { ms: 10 }]);
    assert_eq!(sandbox.stats().faults_pending, 2);
    let response = warp::test::request().method("DELETE").path("/_sandbox/faults").reply(&routes).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(sandbox.stats().faults_pending, 0);
    assert_eq!(post(&sandbox, Some("k2"), &parts).await.status(), StatusCode::CREATED);

    let bad = warp::test::request()
        .method("POST")
        .path("/_sandbox/faults")
        .json(&json!([{ "kind": "explode" }]))
        .reply(&routes)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(body_json(&bad)["reason"].as_str().is_some_and(|r| r.starts_with("expected a JSON array")));
}

#[tokio::test]
async fn a_fault_applies_even_to_an_invalid_request_and_statuses_are_clamped() {
    let sandbox = PlatformSandbox::new(None);
    sandbox.push_faults(vec![
        Fault::Status { status: 503, retry_after: None },
        Fault::Status { status: 9999, retry_after: None },
    ]);
    assert_eq!(post(&sandbox, None, &[]).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(post(&sandbox, None, &[]).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(post(&sandbox, None, &[]).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sandbox.stats().invalid, 1);
}

#[test]
fn faults_round_trip_as_documented() {
    let text = r#"[{"kind":"status","status":500},{"kind":"status","status":429,"retry_after":1},
        {"kind":"delay","ms":300},{"kind":"hang","ms":30000},
        {"kind":"reject","status":422,"reason":"单位信用代码与登记不符"},{"kind":"close"}]"#;
    let faults: Vec<Fault> = serde_json::from_str(text).expect("faults");
    assert_eq!(
        faults,
        [
            Fault::Status { status: 500, retry_after: None },
            Fault::Status { status: 429, retry_after: Some(1) },
            Fault::Delay { ms: 300 },
            Fault::Hang { ms: 30000 },
            Fault::Reject { status: 422, reason: "单位信用代码与登记不符".to_owned() },
            Fault::Close,
        ]
    );
    let back = serde_json::to_value(&faults).expect("serialize");
    assert_eq!(back[0], json!({ "kind": "status", "status": 500 }));
    assert_eq!(back[5], json!({ "kind": "close" }));
}

#[test]
fn exif_detection_is_the_rules_full_parse() {
    assert!(jpeg_has_exif(&jpeg(16, 16, true)));
    assert!(!jpeg_has_exif(&jpeg(16, 16, false)));
    assert!(!jpeg_has_exif(PDF));
    assert!(!jpeg_has_exif(&png(3, 3)));
    // APP1 that is XMP, not Exif.
    let mut xmp = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x0C];
    xmp.extend_from_slice(b"http://ns\0");
    xmp.extend_from_slice(&jpeg(4, 4, false)[2..]);
    assert!(!jpeg_has_exif(&xmp));
    // A scan before any frame is not a JPEG structure: nothing after it is read as metadata.
    let mut after_scan = vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
    after_scan.extend_from_slice(b"\xFF\xE1\x00\x08Exif\0\0");
    assert!(!jpeg_has_exif(&after_scan));
    // EXIF placed after the scan of a real JPEG (as between progressive scans), or appended
    // after EOI, is found: the parse follows the entropy-coded data to the next marker.
    let plain = jpeg(16, 16, false);
    let eoi = plain.len() - 2;
    let mut between = plain[..eoi].to_vec();
    between.extend_from_slice(b"\xFF\xE1\x00\x08Exif\0\0\xFF\xD9");
    assert!(jpeg_has_exif(&between));
    let mut appended = plain;
    appended.extend_from_slice(b"\xFF\xD8\xFF\xE1\x00\x08Exif\0\0");
    assert!(jpeg_has_exif(&appended));
    // Fill bytes before a marker are allowed.
    let mut filled = vec![0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xE1, 0x00, 0x08];
    filled.extend_from_slice(b"Exif\0\0");
    assert!(jpeg_has_exif(&filled));
    // Truncated and corrupt input ends the scan.
    let exif = jpeg(16, 16, true);
    for cut in 0..16 {
        let _ = jpeg_has_exif(&exif[..cut]);
    }
    assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0, 0]));
    assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0x00, 0xE1]));
    assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF]));
    assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, b'E', b'x']));
}

#[test]
fn png_dimensions_are_read_too() {
    let summary = summarize("photo", "image/jpeg".to_owned(), &png(7, 9));
    assert_eq!((summary.width, summary.height, summary.has_exif), (Some(7), Some(9), false));
    let summary = summarize("photo", "image/jpeg".to_owned(), b"\xFF\xD8\xFF\xE0 not really");
    assert_eq!((summary.width, summary.height), (None, None));
}

#[tokio::test]
async fn journal_appends_every_recorded_delivery() {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").subsec_nanos();
    let path = std::env::temp_dir().join(format!("platform-sandbox-{}-{nanos}.jsonl", std::process::id()));
    let sandbox = PlatformSandbox::new(Some(path.clone()));
    let parts = valid_parts();
    assert_eq!(post(&sandbox, Some("j-1"), &parts).await.status(), StatusCode::CREATED);
    sandbox.push_faults(vec![Fault::Status { status: 500, retry_after: None }]);
    assert_eq!(post(&sandbox, Some("j-2"), &parts).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(post(&sandbox, Some("j-1"), &parts).await.status(), StatusCode::CONFLICT);
    assert_eq!(post(&sandbox, None, &parts).await.status(), StatusCode::BAD_REQUEST);

    let text = std::fs::read_to_string(&path).expect("journal written");
    let _ = std::fs::remove_file(&path);
    let lines: Vec<Delivery> =
        text.lines().map(|line| serde_json::from_str(line).expect("one delivery per line")).collect();
    assert_eq!(lines, sandbox.received());
    assert_eq!(lines.len(), 2);
    assert!(lines[1].duplicate);
}

#[tokio::test]
async fn a_restarted_sandbox_reloads_its_journal() {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").subsec_nanos();
    let path = std::env::temp_dir().join(format!("platform-sandbox-reload-{}-{nanos}.jsonl", std::process::id()));
    let parts = valid_parts();
    let first = PlatformSandbox::new(Some(path.clone()));
    assert_eq!(post(&first, Some("r-1"), &parts).await.status(), StatusCode::CREATED);
    assert_eq!(post(&first, Some("r-2"), &parts).await.status(), StatusCode::CREATED);
    assert_eq!(post(&first, Some("r-1"), &parts).await.status(), StatusCode::CONFLICT);
    let before = first.received();
    // A crash mid-write leaves a partial line behind.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(br#"{"key":"r-3","dupl"#))
        .expect("append garbage");

    let second = PlatformSandbox::new(Some(path.clone()));
    assert_eq!(second.received(), before);
    let stats = second.stats();
    assert_eq!((stats.distinct, stats.duplicates, stats.requests), (2, 1, 0));
    let again = post(&second, Some("r-2"), &parts).await;
    assert_eq!(body_json(&again), json!({ "status": "duplicate", "reference": "XMKJ-2" }));
    let new = post(&second, Some("r-3"), &parts).await;
    assert_eq!(body_json(&new), json!({ "status": "accepted", "reference": "XMKJ-3" }));

    let third = PlatformSandbox::new(Some(path.clone()));
    let _ = std::fs::remove_file(&path);
    assert_eq!(third.received(), second.received(), "the partial line did not swallow the next append");
    assert_eq!(third.received().len(), 5);
}
