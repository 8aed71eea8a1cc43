//! The API contract: the OpenAPI document served at `/api/v1/openapi.json`
//! is valid and complete (every route of api.md, every `$ref` resolves, the
//! shared error answers), and a live server keeps it: schemathesis (PyPI)
//! explores every operation from the document against the real socket and
//! must find no 5xx, no undocumented status, no body or header that breaks
//! the document, no ignored auth and no schema-invalid request accepted.
//!
//! The schemathesis test needs the tool: `bash scripts/contract.sh` installs
//! it in a virtual environment under `target/` and runs it (and
//! `scripts/test.sh` runs that script).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::*;
use intake_rules::Code;
use serde_json::Value;

/// The routes of api.md: method, path, bearer.
const API_MD_ROUTES: &[(&str, &str, bool)] = &[
    ("get", "/healthz", false),
    ("get", "/readyz", false),
    ("get", "/metrics", false),
    ("get", "/api/v1/config", false),
    ("get", "/api/v1/me", true),
    ("get", "/api/v1/archive", true),
    ("post", "/api/v1/submissions", true),
    ("get", "/api/v1/submissions", true),
    ("get", "/api/v1/submissions/{id}", true),
    ("post", "/api/v1/submissions/{id}/amendments", true),
];

async fn served_document(h: &Harness) -> Value {
    let resp = warp::test::request().path("/api/v1/openapi.json").reply(&h.app).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    serde_json::from_slice(resp.body()).expect("the document is JSON")
}

/// Follows a local `$ref` (`#/components/...`), or panics naming it.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("non-local $ref {r}"));
            doc.pointer(pointer).unwrap_or_else(|| panic!("$ref {r} does not resolve"))
        }
        None => v,
    }
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// `| \`GET /healthz\` | none | … |` rows of api.md, when the product folder is beside the repository.
fn api_md_rows() -> Option<Vec<(String, String, bool)>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/product/api.md");
    let text = std::fs::read_to_string(path).ok()?;
    let rows = text
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim).skip(1);
            let route = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let (method, path) = route.split_once(' ')?;
            let auth = cells.next()?;
            Some((method.to_ascii_lowercase(), path.to_owned(), auth.starts_with("bearer")))
        })
        .collect();
    Some(rows)
}

#[tokio::test]
async fn the_served_document_is_valid_openapi_with_every_route_of_api_md() {
    let h = Harness::new("openapi-doc", |_| {}).await;
    let doc = served_document(&h).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // Every route of api.md, with its auth; the table in api.md itself when it is here.
    let mut routes: Vec<(String, String, bool)> =
        API_MD_ROUTES.iter().map(|(m, p, b)| ((*m).to_owned(), (*p).to_owned(), *b)).collect();
    if let Some(rows) = api_md_rows() {
        assert!(rows.len() >= API_MD_ROUTES.len(), "api.md's table was read: {rows:?}");
        routes.extend(rows);
    }
    for (method, path, bearer) in &routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        assert!(op["operationId"].is_string(), "{method} {path} has an operation id");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path} documents a success");
        let security = op["security"].as_array().map(Vec::as_slice).unwrap_or_default();
        if *bearer {
            assert_eq!(security, [serde_json::json!({ "bearer": [] })], "{method} {path} needs the bearer");
            let unauthorized = resolve(&doc, &responses["401"]);
            assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
        } else {
            assert!(security.is_empty(), "{method} {path} needs no auth");
        }
        if path.starts_with("/api/") {
            let limited = resolve(&doc, &responses["429"]);
            assert!(limited["headers"]["Retry-After"].is_object(), "{method} {path}: 429 with Retry-After");
        }
        // Every error answer is the one envelope.
        for (status, answer) in responses.iter().filter(|(s, _)| s.as_str() >= "400") {
            let schema = &resolve(&doc, answer)["content"]["application/json"]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/ErrorEnvelope", "{method} {path} {status}");
        }
    }
    // Nothing documented that the server does not have.
    let documented: BTreeSet<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    let known: BTreeSet<&str> = API_MD_ROUTES.iter().map(|r| r.1).chain(["/api/v1/openapi.json"]).collect();
    assert_eq!(documented, known);

    // Every $ref resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 30, "the document uses components: {}", all.len());
    for r in all {
        resolve(&doc, &serde_json::json!({ "$ref": r }));
    }

    // The upload: multipart with the bundle as JSON, the files as binary, the Idempotency-Key header.
    let submit = &doc["paths"]["/api/v1/submissions"]["post"];
    let form = &submit["requestBody"]["content"]["multipart/form-data"];
    assert_eq!(form["encoding"]["bundle"]["contentType"], "application/json");
    let form_schema = resolve(&doc, &form["schema"]);
    assert_eq!(form_schema["properties"]["bundle"]["$ref"], "#/components/schemas/RawBundle");
    assert_eq!(form_schema["properties"]["photo"]["format"], "binary");
    assert_eq!(form_schema["properties"]["work_certificate"]["maxItems"], 3);
    let key = submit["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "Idempotency-Key").unwrap();
    assert_eq!((&key["in"], &key["required"]), (&Value::from("header"), &Value::from(true)));
    assert_eq!((&key["schema"]["minLength"], &key["schema"]["maxLength"]), (&Value::from(8), &Value::from(128)));
    let raw = &doc["components"]["schemas"]["RawBundle"];
    assert_eq!(raw["additionalProperties"], false, "unknown bundle fields are refused");

    // The bearer scheme, and problem codes as the catalog's.
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((&bearer["type"], &bearer["scheme"]), (&Value::from("http"), &Value::from("bearer")));
    let codes: Vec<&str> = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(codes, Code::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_document_describes_the_answers_the_routes_give() {
    // A light, in-process cross-check of the `json!` answers against the documented required
    // fields (schemathesis below validates every answer in full).
    let h = Harness::new("openapi-answers", |_| {}).await;
    let doc = served_document(&h).await;
    let required = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has required fields"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let token = h.token("xiamen-holder");
    for (path, schema) in
        [("/api/v1/config", "ClientConfig"), ("/api/v1/me", "Me"), ("/api/v1/submissions", "SubmissionList")]
    {
        let (status, body) = h.get(path, Some(&token)).await;
        assert_eq!(status, 200, "{path}");
        for field in required(schema) {
            assert!(body.get(&field).is_some(), "{path} lacks {field}: {body}");
        }
    }
    let (status, body) = h.get("/api/v1/me", None).await;
    assert_eq!(status, 401);
    for field in required("Problem") {
        assert!(body["errors"][0].get(&field).is_some(), "the envelope lacks {field}");
    }
}

#[tokio::test]
async fn an_unreadable_header_on_a_post_route_is_400_not_405() {
    // Found by schemathesis: a POST whose Idempotency-Key held non-ASCII bytes was answered
    // 405 (the GET route on the same path wanted another method) instead of 400.
    let h = Harness::new("openapi-405", |_| {}).await;
    let token = h.token("new-applicant");
    let (ct, body) = multipart(&valid_parts("new-applicant"));
    let resp = warp::test::request()
        .method("POST")
        .path("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("idempotency-key", warp::http::HeaderValue::from_bytes(b"Q\xe6C\xe0\xc2\x8f\xab9\xa4\xb9").unwrap())
        .header("content-type", ct)
        .body(body)
        .reply(&h.app)
        .await;
    assert_eq!(resp.status(), 400, "{}", String::from_utf8_lossy(resp.body()));
    let body: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(codes(&body), vec!["request.malformed"]);
    // A method no route on the path has is still 405.
    let resp = warp::test::request().method("DELETE").path("/api/v1/submissions").reply(&h.app).await;
    assert_eq!(resp.status(), 405);
}

/// Runs schemathesis (`INTAKE_SCHEMATHESIS`, set by `scripts/contract.sh`) against a live server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs schemathesis from PyPI: bash scripts/contract.sh"]
#[allow(clippy::print_stderr)] // the run's summary
async fn schemathesis_finds_no_server_error_and_no_answer_that_breaks_the_document() {
    let st = std::env::var("INTAKE_SCHEMATHESIS").expect("INTAKE_SCHEMATHESIS: the schemathesis `st` command");
    let examples = std::env::var("INTAKE_CONTRACT_EXAMPLES").unwrap_or_else(|_| "100".into());
    let seed = std::env::var("INTAKE_CONTRACT_SEED").unwrap_or_else(|_| "20261126".into());
    let _ = rustls::crypto::ring::default_provider().install_default();

    let h = Harness::new("contract", |c| {
        c.server.addr = "127.0.0.1:0".parse().unwrap();
        // The explorer sends thousands of requests: the abuse limits are tested in api.rs.
        c.security.requests_per_minute = 1_000_000;
        c.security.submissions_per_10_min = 1_000_000;
        // Open, so amendments go past the switch into the upload and the store.
        c.features.modification_open = true;
    })
    .await;
    // A real submission, so the list and the one-submission answers carry a record with history.
    let person = "xiamen-holder";
    let token = h.token(person);
    let (status, receipt) =
        h.submit("/api/v1/submissions", Some(&token), Some("contract-0001"), &valid_parts(person)).await;
    assert_eq!(status, 201, "{receipt}");
    let id = receipt["id"].as_str().unwrap().to_owned();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = intake::app::serve(h.state.clone(), None, async move {
        let _ = stopped.await;
    })
    .await
    .expect("the server binds 127.0.0.1");
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let doc = http.get(format!("{base}/api/v1/openapi.json")).send().await.unwrap().text().await.unwrap();
    std::fs::write(h.dir.join("openapi.json"), &doc).unwrap();
    // The document against the OpenAPI 3.1 specification's own schema (same virtual environment).
    let validator = Path::new(&st).with_file_name("openapi-spec-validator");
    let checked = tokio::process::Command::new(&validator).arg(h.dir.join("openapi.json")).output().await;
    let checked = checked.unwrap_or_else(|e| panic!("{}: {e}", validator.display()));
    assert!(checked.status.success(), "openapi-spec-validator: {}", String::from_utf8_lossy(&checked.stdout));

    // Half the path ids are the real submission's (its record, its amendments); everything else
    // is generated from the document.
    let config = h.dir.join("schemathesis.toml");
    let toml = format!(
        "[dictionaries.ids]\nvalues = [\"{id}\"]\n\n[parameters]\n\"path.id\" = {{ dictionary = \"ids\", probability = 0.5 }}\n"
    );
    std::fs::write(&config, toml).unwrap();
    let args: Vec<String> = vec![
        "--config-file".into(),
        config.display().to_string(),
        "run".into(),
        format!("{base}/api/v1/openapi.json"),
        "--header".into(),
        format!("Authorization: Bearer {token}"),
        // Every check but two: a schema-valid bundle is still refused by the rules (422: the
        // document cannot say "a real photo of you"), and a 405 for an undocumented method
        // carries no `Allow` header (warp's; not part of the document).
        "--checks".into(),
        "all".into(),
        "--exclude-checks".into(),
        "positive_data_acceptance,unsupported_method".into(),
        "--max-examples".into(),
        examples,
        "--seed".into(),
        seed.clone(),
        "--workers".into(),
        "2".into(),
        "--request-timeout".into(),
        "30".into(),
        // Health checks judge the generator's efficiency, not the API: off, so a slow machine cannot fail the run.
        "--suppress-health-check".into(),
        "all".into(),
        "--generation-database".into(),
        "none".into(),
        "--no-color".into(),
        "--output-truncate".into(),
        "false".into(),
        "--report".into(),
        "junit".into(),
        "--report-dir".into(),
        h.dir.join("report").display().to_string(),
    ];
    let run = tokio::process::Command::new(&st).args(&args).current_dir(&h.dir).kill_on_drop(true).output();
    // Bounded: the run has a fixed number of cases per operation; this is the backstop.
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finishes within 10 minutes")
        .expect("schemathesis runs");
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), running.done).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: String =
        stdout.lines().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    eprintln!("schemathesis (seed {seed}):\n{summary}");
    assert!(out.status.success(), "schemathesis found failures (seed {seed}):\n{stdout}\n{stderr}");
    // Every route of api.md was explored (the JUnit report has one test case per operation).
    let report = std::fs::read_dir(h.dir.join("report"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("junit"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("a JUnit report");
    for (method, path, _) in API_MD_ROUTES {
        let case = format!("name=\"{} {path}\"", method.to_ascii_uppercase());
        assert!(report.contains(&case), "{method} {path} was not explored:\n{stdout}");
    }
}
