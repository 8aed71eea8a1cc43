//! Architecture invariant: the sandboxes (the identity provider and the platform) cannot be
//! reached through `intake serve`. The real binary gets the same requests twice: from `intake
//! demo`, which mounts the sandbox identity provider and so answers them (the paths are the
//! sandbox's real ones, not guesses), and from `intake serve` with the pages configured, which
//! must answer 404 to every one of them.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{free_port, serve_config, spawn_serve, temp_dir, wait_ready};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The sandbox identity provider's routes as `intake demo` mounts them (sandbox/src/idp.rs).
const IDP_PATHS: [&str; 4] = [
    "/sandbox/idp/.well-known/openid-configuration",
    "/sandbox/idp/jwks",
    "/sandbox/idp/token/xiamen-holder",
    "/sandbox/idp/authorize?client_id=intake-web&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%2F&scope=openid&state=s&nonce=n&code_challenge=x&code_challenge_method=S256",
];
/// The platform sandbox's own routes (it listens on a port of its own, never on the server's).
const PLATFORM_PATHS: [&str; 3] = ["/_sandbox/received", "/_sandbox/stats", "/sandbox/platform/received"];

fn www() -> String {
    format!("{}/../www", env!("CARGO_MANIFEST_DIR"))
}

async fn status(http: &reqwest::Client, url: &str) -> u16 {
    http.get(url).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_serve_answers_404_on_every_sandbox_path_that_intake_demo_serves() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    // `intake demo`: the paths are live there.
    let demo_dir = temp_dir("sandbox-unreachable-demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["demo", "--addr", "127.0.0.1:0"])
        .current_dir(&demo_dir)
        .env("INTAKE_LOG", "warn")
        .env("INTAKE_WWW_DIR", www())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("intake demo starts");
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let demo_base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("page:") {
                return url.trim().trim_end_matches('/').to_owned();
            }
        }
        panic!("intake demo exited without printing its page URL");
    })
    .await
    .expect("intake demo prints its page URL within 60 s");
    wait_ready(&http, &demo_base).await;
    for p in IDP_PATHS {
        let s = status(&http, &format!("{demo_base}{p}")).await;
        // Routed (an answer of the sandbox's own, e.g. 400 for an unregistered redirect), not 404.
        assert!(s != 0 && s != 404, "intake demo serves {p} (got {s}): the path list is the sandbox's real one");
    }
    demo.kill().await.ok();

    // `intake serve`, configured with the pages, an issuer and a platform elsewhere: none of it.
    let dir = temp_dir("sandbox-unreachable-serve");
    let addr = free_port();
    let config = serve_config(&dir, addr, Path::new(&www()), "http://127.0.0.1:9/idp", "");
    let _serve = spawn_serve(Path::new(env!("CARGO_BIN_EXE_intake")), &config);
    let base = format!("http://{addr}");
    wait_ready(&http, &base).await;
    assert_eq!(status(&http, &format!("{base}/")).await, 200, "serve has its pages (so 404 is not just no pages)");
    for p in IDP_PATHS.iter().chain(&PLATFORM_PATHS).copied().chain(["/sandbox/", "/sandbox/idp"]) {
        assert_eq!(status(&http, &format!("{base}{p}")).await, 404, "intake serve must not answer {p}");
    }
}
