//! Shared test support: an in-process backend over SQLite in a temp dir, a
//! sandbox platform on a real socket, tokens minted by a test issuer's key,
//! sample bundles and multipart bodies.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use intake::api::{self, AppState};
use intake::app;
use intake::config::Config;
use intake::identity::Verifier;
use intake::store::Store;
use intake::store::sqlite::SqliteStore;
use intake_sandbox::idp::{Signer, person_claims};
use intake_sandbox::people::{self, Person};
use intake_sandbox::platform::PlatformSandbox;
use serde_json::{Value, json};
use warp::filters::BoxedFilter;
use warp::reply::Response;

pub const ISSUER: &str = "https://id.ixiamen.test";
pub const AUDIENCE: &str = "intake-web";

pub fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("intake-test-{name}-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 % 1_000_000_007
}

/// An in-process backend.
pub struct Harness {
    pub state: AppState,
    pub app: BoxedFilter<(Response,)>,
    pub signer: Signer,
    pub sandbox: PlatformSandbox,
    pub sandbox_addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub dir: PathBuf,
}

impl Harness {
    pub async fn new(name: &str, tweak: impl FnOnce(&mut Config)) -> Harness {
        let dir = temp_dir(name);
        let sandbox = PlatformSandbox::new(None);
        let (sandbox_addr, _) =
            sandbox.clone().serve(SocketAddr::from(([127, 0, 0, 1], 0)), std::future::pending()).await.unwrap();
        let mut config = Config::default();
        config.identity.issuer = ISSUER.into();
        config.identity.audience = AUDIENCE.into();
        config.platform.base_url = format!("http://{sandbox_addr}");
        config.platform.timeout_secs = 2;
        config.store.url = format!("sqlite://{}", dir.join("intake.db").display());
        config.forwarding.base_delay_ms = 50;
        config.forwarding.max_delay_ms = 400;
        config.forwarding.poll_interval_ms = 50;
        config.forwarding.lease_secs = 3;
        tweak(&mut config);
        let signer = Signer::generate("test-key-1");
        let verifier = Verifier::with_jwks(config.identity.clone(), &signer.jwks());
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("intake.db")).unwrap());
        let state = app::state(config, store.clone(), Some(verifier));
        let app = api::app(&state);
        Harness { state, app, signer, sandbox, sandbox_addr, store, dir }
    }

    /// Starts the forwarder over this harness's store, platform and settings; notify the
    /// returned handle to stop it.
    pub fn start_forwarder(&self) -> Arc<tokio::sync::Notify> {
        let stop = Arc::new(tokio::sync::Notify::new());
        let f = intake::forwarder::Forwarder::new(
            self.store.clone(),
            self.state.platform.clone(),
            self.state.config.forwarding.clone(),
            self.state.metrics.clone(),
            self.state.wake.clone(),
        );
        tokio::spawn(f.run(stop.clone()));
        stop
    }

    pub fn token(&self, person: &str) -> String {
        let p = people::person(person).expect("sample person");
        self.signer.token_for(ISSUER, AUDIENCE, p, Duration::from_secs(600))
    }

    pub fn token_with(&self, person: &str, edit: impl FnOnce(&mut Value)) -> String {
        let p = people::person(person).expect("sample person");
        let mut claims = person_claims(ISSUER, AUDIENCE, p, Duration::from_secs(600));
        edit(&mut claims);
        self.signer.sign(&claims)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = warp::test::request().method("GET").path(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.reply(&self.app).await;
        let status = resp.status().as_u16();
        (status, serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
    }

    pub async fn submit(&self, path: &str, token: Option<&str>, key: Option<&str>, parts: &[Part]) -> (u16, Value) {
        let (ct, body) = multipart(parts);
        let mut req = warp::test::request().method("POST").path(path).header("content-type", ct).body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let resp = req.reply(&self.app).await;
        let status = resp.status().as_u16();
        (status, serde_json::from_slice(resp.body()).unwrap_or(Value::Null))
    }
}

/// One multipart part.
#[derive(Clone)]
pub struct Part {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub fn part(name: &str, content_type: &str, bytes: Vec<u8>) -> Part {
    Part { name: name.into(), content_type: content_type.into(), bytes }
}

pub const BOUNDARY: &str = "----intake-test-boundary-7f3a";

pub fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let filename = if p.name == "bundle" { String::new() } else { format!("; filename=\"{}.bin\"", p.name) };
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{}\"{filename}\r\nContent-Type: {}\r\n\r\n",
                p.name, p.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(&p.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// A valid bundle for a sample person (the widget would prefill it from the archive).
pub fn bundle_for(p: &Person) -> Value {
    let archive = p.archive.clone().unwrap_or(Value::Null);
    let holds = archive.get("holds_certificate").and_then(Value::as_bool).unwrap_or(false);
    let mut b = json!({
        "identity": {
            "name": p.name,
            "certificate_type": p.certificate_type,
            "certificate_number": p.certificate_number,
            "mobile": p.mobile,
        },
        "gender": p.gender,
        "birth_date": p.birth_date,
        "unit": { "name": "厦门测试会计服务有限公司", "uscc": "91350100M000100Y43", "type": "enterprise" },
        "post": { "status": "on_post", "position": "会计" },
        "qualification": { "holds_certificate": holds, "title": "junior" },
        "education": { "level": "bachelor", "school": "厦门大学", "major": "会计学", "graduation_date": "2015-07-01" },
        "email": null
    });
    if holds {
        b["qualification"]["certificate_origin"] = archive["certificate_origin"].clone();
    }
    match archive.get("working_years").and_then(Value::as_u64) {
        Some(y) => b["working_years"] = json!(y),
        None => b["working_years"] = json!(3),
    }
    b
}

/// The parts of a complete, valid submission for `person`.
pub fn parts_for(person: &str, bundle: &Value) -> Vec<Part> {
    let p = people::person(person).unwrap();
    let mut parts = vec![
        part("bundle", "application/json", serde_json::to_vec(bundle).unwrap()),
        part("photo", "image/jpeg", fixture("photo/standard_295x413.jpg")),
    ];
    if p.certificate_type == "passport" {
        parts.push(part("passport_info", "image/jpeg", fixture("document/passport_info.jpg")));
        parts.push(part("passport_validity", "image/jpeg", fixture("document/passport_validity.jpg")));
    } else {
        parts.push(part("id_front", "image/jpeg", fixture("document/id_front.jpg")));
        parts.push(part("id_back", "image/jpeg", fixture("document/id_back.jpg")));
    }
    parts.push(part("work_certificate", "application/pdf", fixture("file/work_certificate.pdf")));
    parts
}

pub fn valid_parts(person: &str) -> Vec<Part> {
    parts_for(person, &bundle_for(people::person(person).unwrap()))
}

pub fn codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Polls `f` every 50 ms until it returns true or `timeout` passes.
pub async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// `binary serve --config config`, the real process, quiet, killed when dropped.
pub fn spawn_serve(binary: &Path, config: &Path) -> tokio::process::Child {
    tokio::process::Command::new(binary)
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("INTAKE_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("intake serve starts")
}

/// Polls `{base}/readyz` every 50 ms (20 s at most) until it answers 200.
pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become ready");
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// Writes `dir/intake.toml` for `intake serve` on `addr`: pages from `www`, SQLite in `dir`, the
/// identity `issuer`, a platform nobody listens on, forwarding off, then `extra` (whole sections).
/// Only keys every build knows (the abuse test's baseline runs an older binary).
pub fn serve_config(dir: &Path, addr: SocketAddr, www: &Path, issuer: &str, extra: &str) -> PathBuf {
    let config = dir.join("intake.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\naddr = \"{addr}\"\nwww_dir = \"{}\"\n[store]\nurl = \"sqlite://{}\"\n\
             [identity]\nissuer = \"{issuer}\"\naudience = \"intake-web\"\n\
             [platform]\nbase_url = \"http://127.0.0.1:9\"\ntimeout_secs = 1\n[forwarding]\nenabled = false\n{extra}",
            www.display(),
            dir.join("intake.db").display()
        ),
    )
    .unwrap();
    config
}
