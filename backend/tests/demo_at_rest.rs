//! `intake demo` encrypts at rest, end to end: a real `intake demo` process (what `npm start`
//! runs) in a fresh directory, a sample person signed in by its sandbox identity provider, a
//! whole submission through the API. While the submission waits for the platform (the platform
//! sandbox is told to answer 503), neither the person's name and certificate number nor any
//! window of the bytes the rules store for the ID card and the work certificate can be found in
//! `./data/intake.db` or its WAL; after delivery and purge, still none. The needles are taken
//! from the rules' own output for the same files (what a plaintext store would hold), and a
//! control search finds them in the request body that carried them.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{fixture, multipart, temp_dir, valid_parts};
use intake_rules::attachment;
use intake_rules::document::{self, DocumentKind};
use intake_sandbox::people;
use serde_json::Value;

struct Demo {
    child: Child,
    dir: PathBuf,
    page: String,
    platform: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `intake demo --addr 127.0.0.1:0` in a fresh directory and reads the URLs it prints.
fn start_demo() -> Demo {
    let dir = temp_dir("demo-at-rest");
    let mut child = Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["demo", "--addr", "127.0.0.1:0"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("intake demo starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut page, mut platform) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(30);
    while page.is_none() || platform.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("intake demo prints its page and platform URLs within 30 s");
        let url = |l: &str| l.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_owned);
        if line.starts_with("page:") {
            page = url(&line).map(|u| u.trim_end_matches('/').to_owned());
        } else if line.starts_with("platform sandbox") {
            platform = url(&line).map(|u| u.trim_end_matches("/_sandbox/received").to_owned());
        }
    }
    Demo { child, dir, page: page.unwrap(), platform: platform.unwrap() }
}

fn db_files(data: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["intake.db", "intake.db-wal", "intake.db-journal"]
        .iter()
        .map(|f| data.join(f))
        .filter(|p| p.exists())
        .map(|p| {
            let b = std::fs::read(&p).unwrap_or_default();
            (p, b)
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Windows of 48 bytes at eight places of `bytes` (past any header a re-encode would share).
fn windows(what: &str, bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    (1..=8)
        .map(|k| {
            let at = bytes.len() * k / 10;
            (format!("{what}[{at}..]"), bytes[at..at + 48].to_vec())
        })
        .collect()
}

fn found(data: &Path, needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in db_files(data) {
        for (what, needle) in needles {
            if contains(&bytes, needle) {
                out.push(format!("{what} in {}", path.display()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_keeps_no_plaintext_of_a_submission_in_its_database() {
    let demo = start_demo();
    let data = demo.dir.join("data");
    assert!(data.join("demo-master-key.txt").is_file(), "the demo made its key");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();

    // The platform answers 503 three times (the retries take seconds): the submission waits, stored.
    let faults: Vec<Value> = (0..3).map(|_| serde_json::json!({"kind": "status", "status": 503})).collect();
    let r = http.post(format!("{}/_sandbox/faults", demo.platform)).json(&faults).send().await.unwrap();
    assert!(r.status().is_success(), "faults queued: {}", r.status());

    let person = people::person("xiamen-holder").unwrap();
    let token: Value =
        http.get(format!("{}/sandbox/idp/token/xiamen-holder", demo.page)).send().await.unwrap().json().await.unwrap();
    let token = token["token"].as_str().expect("a token").to_owned();

    let parts = valid_parts("xiamen-holder");
    let (content_type, body) = multipart(&parts);
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("name".into(), person.name.as_bytes().to_vec()),
        ("certificate number".into(), person.certificate_number.as_bytes().to_vec()),
    ];
    let id_front =
        document::check(DocumentKind::IdFront, &fixture("document/id_front.jpg")).output.expect("accepted").jpeg;
    needles.extend(windows("stored ID front", &id_front));
    let cert =
        attachment::check("work_certificate", &fixture("file/work_certificate.pdf")).output.expect("accepted").bytes;
    needles.extend(windows("stored work certificate", &cert));
    // Control: the search finds the identity in the request that carried it.
    assert!(needles[..2].iter().all(|(_, n)| contains(&body, n)), "the identity is in the request body");

    let r = http
        .post(format!("{}/api/v1/submissions", demo.page))
        .bearer_auth(&token)
        .header("content-type", content_type)
        .header("idempotency-key", "demo-at-rest-1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201, "accepted: {}", r.text().await.unwrap_or_default());
    let id = r.json::<Value>().await.unwrap()["id"].as_str().expect("an id").to_owned();

    // Stored, not yet delivered: the database holds it, encrypted.
    let status = |http: reqwest::Client, token: String| {
        let url = format!("{}/api/v1/submissions/{id}", demo.page);
        async move {
            let v: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
            v["status"].as_str().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(status(http.clone(), token.clone()).await, "received", "the platform still refuses");
    let db = db_files(&data);
    assert!(db.iter().map(|(_, b)| b.len()).sum::<usize>() > 200_000, "the pictures are in the database files");
    let plain = found(&data, &needles);
    assert!(plain.is_empty(), "plaintext at rest while waiting:\n{}", plain.join("\n"));

    // The platform recovers: delivered, then purged; still nothing.
    let r = http.delete(format!("{}/_sandbox/faults", demo.platform)).send().await.unwrap();
    assert!(r.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = status(http.clone(), token.clone()).await;
        if now == "forwarded" || now == "accepted" {
            break;
        }
        assert!(Instant::now() < deadline, "delivered within 60 s (status {now})");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let plain = found(&data, &needles);
    assert!(plain.is_empty(), "plaintext after delivery:\n{}", plain.join("\n"));
    // The needles were the stored bytes: the platform received files of exactly their sizes.
    let received: Value =
        http.get(format!("{}/_sandbox/received", demo.platform)).send().await.unwrap().json().await.unwrap();
    let delivery = received.as_array().unwrap().iter().find(|d| d["key"] == id.as_str()).expect("the delivery");
    let size = |name: &str| {
        delivery["parts"].as_array().unwrap().iter().find(|p| p["name"] == name).map(|p| p["bytes"].clone())
    };
    assert_eq!(size("id_front"), Some(Value::from(id_front.len())), "{delivery}");
    assert_eq!(size("work_certificate"), Some(Value::from(cert.len())), "{delivery}");
}
