//! Identity against a real OpenID Connect server: the npm package
//! `oidc-provider` (tests/oidc/provider.mjs) issues real ID tokens through
//! the authorization-code flow with PKCE (tests/oidc/login.mjs). The backend
//! discovers the issuer, fetches its JWKS and verifies them. Needs `npm ci`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use intake::api;
use intake::app;
use intake::config::Config;
use intake::identity::Verifier;
use intake::store::sqlite::SqliteStore;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Provider {
    issuer: String,
    _child: Child,
}

async fn provider(ttl: Option<u64>) -> Provider {
    let root = root();
    assert!(
        root.join("node_modules/oidc-provider").exists(),
        "node_modules/oidc-provider is missing: run `npm ci` in {} (scripts/test.sh does)",
        root.display()
    );
    let mut cmd = Command::new("node");
    cmd.arg("tests/oidc/provider.mjs")
        .args(["--port", "0"])
        .current_dir(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if let Some(ttl) = ttl {
        cmd.env("OIDC_ID_TOKEN_TTL", ttl.to_string());
    }
    let mut child = cmd.spawn().expect("node runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("provider starts in time")
        .unwrap()
        .expect("a line");
    let v: Value = serde_json::from_str(&line).expect("the provider prints its issuer as JSON");
    Provider { issuer: v["issuer"].as_str().unwrap().to_owned(), _child: child }
}

async fn login(issuer: &str, person: &str, client: &str) -> String {
    let out = Command::new("node")
        .args(["tests/oidc/login.mjs", "--issuer", issuer, "--login", person, "--client", client])
        .current_dir(root())
        .output()
        .await
        .expect("node runs");
    assert!(out.status.success(), "login failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("login prints JSON");
    v["id_token"].as_str().expect("id_token").to_owned()
}

fn harness_for(
    issuer: &str,
    name: &str,
) -> (intake::api::AppState, warp::filters::BoxedFilter<(warp::reply::Response,)>) {
    let dir = temp_dir(name);
    let mut config = Config::default();
    config.identity.issuer = issuer.to_owned();
    config.identity.audience = "intake-web".into();
    config.forwarding.enabled = false;
    let store = Arc::new(SqliteStore::open(&dir.join("intake.db")).unwrap());
    let verifier = Verifier::new(config.identity.clone(), intake::net::http_client());
    let state = app::state(config, store, Some(verifier));
    let app = api::app(&state);
    (state, app)
}

async fn me(app: &warp::filters::BoxedFilter<(warp::reply::Response,)>, token: &str) -> (u16, Value) {
    let resp =
        warp::test::request().path("/api/v1/me").header("authorization", format!("Bearer {token}")).reply(app).await;
    (resp.status().as_u16(), serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_tokens_pass_and_tampered_ones_do_not() {
    let p = provider(None).await;
    let (_state, app) = harness_for(&p.issuer, "oidc");
    for person in ["xiamen-holder", "rare-name", "passport-holder"] {
        let token = login(&p.issuer, person, "intake-web").await;
        let (status, body) = me(&app, &token).await;
        assert_eq!(status, 200, "{person}: {body}");
        let expected = intake_sandbox::people::person(person).unwrap();
        assert_eq!(body["name"], expected.name.as_str());
        assert_eq!(body["certificate_type"], expected.certificate_type.as_str());
    }
    let token = login(&p.issuer, "xiamen-holder", "intake-web").await;
    // Forged signature: change one character of the payload.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = &mut parts[1];
    let flipped = if payload.ends_with('A') { 'B' } else { 'A' };
    payload.pop();
    payload.push(flipped);
    assert_eq!(me(&app, &parts.join(".")).await.0, 401, "forged signature");
    // alg none with the real payload.
    let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", token.split('.').nth(1).unwrap());
    assert_eq!(me(&app, &none).await.0, 401, "alg none");
    // A token the same issuer made for another client: wrong audience.
    let other = login(&p.issuer, "xiamen-holder", "other-app").await;
    assert_eq!(me(&app, &other).await.0, 401, "wrong audience");
    // Same claims, signed with a key the issuer never published (unknown kid).
    let stranger = intake_sandbox::idp::Signer::generate("not-in-jwks");
    let claims: Value = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(me(&app, &stranger.sign(&claims)).await.0, 401, "unknown key");
    // Another issuer (the same software on another port) is not ours.
    let q = provider(None).await;
    let foreign = login(&q.issuer, "xiamen-holder", "intake-web").await;
    assert_eq!(me(&app, &foreign).await.0, 401, "wrong issuer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_real_tokens_are_refused() {
    let p = provider(Some(2)).await;
    let (_state, app) = harness_for(&p.issuer, "oidc-exp");
    let token = login(&p.issuer, "new-applicant", "intake-web").await;
    assert_eq!(me(&app, &token).await.0, 200, "fresh");
    // TTL 2 s plus the configured leeway of 2 s, bounded wait.
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    let (status, body) = me(&app, &token).await;
    assert_eq!((status, codes(&body)), (401, vec!["auth.invalid_token".to_owned()]), "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_token_submits_and_reads_only_its_own() {
    let p = provider(None).await;
    let (state, app) = harness_for(&p.issuer, "oidc-submit");
    let a = login(&p.issuer, "new-applicant", "intake-web").await;
    let b = login(&p.issuer, "rare-name", "intake-web").await;
    let (ct, body) = multipart(&valid_parts("new-applicant"));
    let resp = warp::test::request()
        .method("POST")
        .path("/api/v1/submissions")
        .header("authorization", format!("Bearer {a}"))
        .header("idempotency-key", "oidc-submit-1")
        .header("content-type", ct)
        .body(body)
        .reply(&app)
        .await;
    assert_eq!(resp.status(), 201, "{}", String::from_utf8_lossy(resp.body()));
    let id = serde_json::from_slice::<Value>(resp.body()).unwrap()["id"].as_str().unwrap().to_owned();
    let resp = warp::test::request()
        .path(&format!("/api/v1/submissions/{id}"))
        .header("authorization", format!("Bearer {b}"))
        .reply(&app)
        .await;
    assert_eq!(resp.status(), 404, "B cannot read A's submission");
    assert_eq!(state.store.stats().await.unwrap().queued, 1);
}
