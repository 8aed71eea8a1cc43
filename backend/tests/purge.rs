//! "Purged means gone": after delivery and purge, nothing of a submission's
//! images or identity can be found in the SQLite database file or its WAL,
//! not even in free pages. Each test first finds its needles in the raw files
//! (so the search works), then finds none after the purge.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use intake::store::encrypted::{EncryptedStore, KeyRing};
use intake::store::sqlite::SqliteStore;
use intake::store::{InsertOutcome, NewSubmission, Store, StoredFile, SubmissionKind};

const GPS: &[u8] = b"GPSLatitude=24.4798N;GPSLongitude=118.0894E;home";
const CERT: &str = "350203198507154321";

fn raw_files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    ["", "-wal", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", db.display())))
        .filter(|p| p.exists())
        .map(|p| {
            let b = std::fs::read(&p).unwrap_or_default();
            (p, b)
        })
        .collect()
}

fn found(db: &Path, needles: &[(&str, Vec<u8>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, bytes) in raw_files(db) {
        for (what, needle) in needles {
            if bytes.windows(needle.len()).any(|w| w == &needle[..]) {
                out.push(format!("{what} in {}", path.display()));
            }
        }
    }
    out
}

/// Picture-like bytes: random-looking, with the GPS text inside (as an EXIF block would carry it).
fn picture(seed: u8) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    let mut x = u32::from(seed) | 0x9E37_0000;
    for _ in 0..150_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.push((x >> 8) as u8);
    }
    b.splice(5000..5000, GPS.iter().copied());
    b.extend([0xFF, 0xD9]);
    b
}

fn submission(id: &str) -> NewSubmission {
    NewSubmission {
        id: id.to_owned(),
        subject: "https://issuer.example|purge-1".to_owned(),
        kind: SubmissionKind::Submission,
        idempotency_key: format!("key-{id}"),
        body_hash: "0".repeat(64),
        identity_json: format!(
            r#"{{"name":"欧阳测试","certificate_type":"resident_id","certificate_number":"{CERT}"}}"#
        ),
        bundle_json: format!(r#"{{"identity":{{"certificate_number":"{CERT}"}}}}"#),
        files: vec![
            StoredFile { part: "id_front".into(), index: 0, media_type: "image/jpeg".into(), bytes: picture(1) },
            StoredFile { part: "photo".into(), index: 0, media_type: "image/jpeg".into(), bytes: picture(2) },
        ],
        received_at_ms: 1_700_000_000_000,
    }
}

async fn deliver_and_purge(store: &dyn Store, id: &str) {
    assert!(matches!(store.insert(submission(id)).await.unwrap(), InsertOutcome::Created(_)));
    let claimed = store.claim_due(1_700_000_000_000, 30_000, 10).await.unwrap();
    let mine = claimed.iter().find(|c| c.id == id).expect("claimed");
    assert!(store.mark_forwarded(id, &mine.lease_token, true, 1_700_000_001_000).await.unwrap());
}

/// Raw blob and identity text as stored (ciphertext under encryption), read with a private connection.
fn stored(db: &Path, id: &str) -> (Vec<u8>, String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let blob: Vec<u8> = conn
        .query_row("SELECT bytes FROM files WHERE submission_id = ?1 AND part = 'photo'", [id], |r| r.get(0))
        .unwrap();
    let identity: String =
        conn.query_row("SELECT identity_json FROM submissions WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    (blob, identity)
}

#[tokio::test]
async fn a_plaintext_sqlite_store_keeps_nothing_after_the_purge() {
    let dir = temp_dir("purge-plain");
    let db = dir.join("intake.db");
    let store = SqliteStore::open(&db).unwrap();
    // A second submission stays (not delivered): the purge must not take it, and its bytes stay.
    let mut keep = submission("keep-1");
    keep.idempotency_key = "key-keep".into();
    keep.identity_json = r#"{"certificate_number":"KEPT-NUMBER"}"#.into();
    keep.bundle_json = "{}".into();
    keep.files.truncate(1);
    keep.files[0].bytes = b"KEEP-THESE-BYTES-0123456789".repeat(10);
    assert!(matches!(store.insert(keep).await.unwrap(), InsertOutcome::Created(_)));
    deliver_and_purge(&store, "gone-1").await;
    let photo = picture(2);
    let needles = [
        ("GPS text", GPS.to_vec()),
        ("certificate number", CERT.as_bytes().to_vec()),
        // 24 bytes, so most slices fall inside one overflow page (a slice across pages is not contiguous).
        ("photo bytes", photo[60_000..60_024].to_vec()),
        ("photo bytes", photo[100_000..100_024].to_vec()),
        ("ID card bytes", picture(1)[90_000..90_064].to_vec()),
    ];
    let before = found(&db, &needles);
    assert!(before.len() >= 4, "control: the needles are in the raw files before the purge: {before:?}");
    assert!(before.iter().any(|f| f.starts_with("photo")), "control: {before:?}");

    assert_eq!(store.purge_delivered_files(1_700_000_002_000).await.unwrap(), 2);
    let after = found(&db, &needles);
    assert!(after.is_empty(), "left after the purge: {after:?}");
    let wal = std::fs::metadata(format!("{}-wal", db.display())).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal, 0, "the WAL was truncated by the checkpoint");
    assert_eq!(found(&db, &[("kept", b"KEEP-THESE-BYTES-0123456789".to_vec())]).len(), 1, "the other one is intact");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_encrypted_store_keeps_neither_ciphertext_nor_the_wrapped_key() {
    let dir = temp_dir("purge-enc");
    let db = dir.join("intake.db");
    let inner = Arc::new(SqliteStore::open(&db).unwrap());
    let store = EncryptedStore::new(inner, KeyRing::new(("k1".into(), [9u8; 32]), Vec::new()));
    deliver_and_purge(&store, "enc-1").await;
    let (blob, identity) = stored(&db, "enc-1");
    let dk: serde_json::Value = serde_json::from_str(&identity).unwrap();
    let dk = dk["dk"].as_str().expect("the wrapped data key").to_owned();
    let needles = [
        ("ciphertext", blob[blob.len() / 2..blob.len() / 2 + 64].to_vec()),
        ("wrapped data key", dk.into_bytes()),
        ("GPS text", GPS.to_vec()),
        ("certificate number", CERT.as_bytes().to_vec()),
    ];
    let before = found(&db, &needles);
    assert!(before.iter().any(|f| f.starts_with("ciphertext")) && before.iter().any(|f| f.starts_with("wrapped")));
    assert!(!before.iter().any(|f| f.starts_with("GPS") || f.starts_with("certificate")), "{before:?}");
    assert_eq!(store.purge_delivered_files(1_700_000_002_000).await.unwrap(), 2);
    let after = found(&db, &needles);
    assert!(after.is_empty(), "left after the purge: {after:?}");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_delivery_through_the_api_the_forwarder_erases_the_images_and_identity() {
    let h = Harness::new("purge-api", |c| c.forwarding.enabled = false).await;
    let db = h.dir.join("intake.db");
    let token = h.token("xiamen-holder");
    let (status, receipt) =
        h.submit("/api/v1/submissions", Some(&token), Some("purge-key-1"), &valid_parts("xiamen-holder")).await;
    assert_eq!(status, 201, "{receipt}");
    let id = receipt["id"].as_str().unwrap().to_owned();
    let (photo, _) = stored(&db, &id); // this connection is closed again before the forwarder runs
    let cert = intake_sandbox::people::person("xiamen-holder").unwrap().certificate_number.clone();
    let needles = [
        ("photo bytes", photo[photo.len() / 2..photo.len() / 2 + 64].to_vec()),
        ("certificate number", cert.into_bytes()),
    ];
    assert!(!found(&db, &needles).is_empty(), "control: found before delivery");

    let stop = h.start_forwarder();
    assert!(
        eventually(Duration::from_secs(10), || h.sandbox.received().iter().any(|d| d.key == id)).await,
        "delivered"
    );
    // Retention 0: the forwarder purges within a couple of seconds of the delivery.
    let gone = eventually(Duration::from_secs(5), || found(&db, &needles).is_empty()).await;
    stop.notify_one();
    assert!(gone, "left after delivery: {:?}", found(&db, &needles));
    let (status, one) = h.get(&format!("/api/v1/submissions/{id}"), Some(&token)).await;
    assert_eq!(status, 200, "the receipt and history stay: {one}");
    assert!(matches!(one["status"].as_str(), Some("forwarded" | "accepted")), "{one}");
}
