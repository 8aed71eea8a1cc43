//! Encryption at rest on PostgreSQL: nothing personal is in clear in the database.
//!
//! A submission is stored through the store `intake serve` opens for a `postgres://` URL with master keys
//! (`app::open_configured_store`), then the test searches for its certificate number, name, mobile and a run of
//! its image bytes in
//!
//! - every table of the store's schema, exported raw with `COPY … TO STDOUT (FORMAT binary)` (text columns as
//!   UTF-8, `bytea` as the bytes themselves);
//! - the WAL segments on disk (`pg_wal` under `SHOW data_directory`);
//! - after a `CHECKPOINT`, the data files of every table, TOAST table and index of the schema
//!   (`pg_relation_filepath`).
//!
//! The control runs the same steps with encryption off, in another schema and with other values: there every
//! value is found in the export, in the WAL and in the data files, so the search itself works and the test fails
//! the moment the wrapper stops encrypting.
//!
//! Runs against a real server: `scripts/pg-test.sh cargo test -p intake --test postgres_plaintext` starts a
//! throwaway PostgreSQL and sets `INTAKE_TEST_POSTGRES_URL`. Without that variable the test fails (it does not
//! skip). It reads the server's files, so the server must run on this machine with a data directory this user can
//! read (pg-test.sh's cluster: owned by the user running the tests, or by `postgres` when they run as root).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use futures_util::StreamExt as _;
use intake::app;
use intake::config::{EncryptionConfig, StoreConfig};
use intake::store::{InsertOutcome, NewSubmission, Store, StoredFile, SubmissionKind};
use intake_rules::form::numbers::resident_id_check_char;
use rand::Rng as _;
use rand::RngCore as _;

const URL_VAR: &str = "INTAKE_TEST_POSTGRES_URL";
/// PostgreSQL splits an out-of-line value into TOAST chunks of this many bytes (8 kB pages); an image needle
/// taken inside one chunk is contiguous on disk and in the WAL.
const TOAST_CHUNK: usize = 1996;

fn base_url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set. This test needs a PostgreSQL server: run it with \
             `scripts/pg-test.sh cargo test -p intake --test postgres_plaintext`, which starts a throwaway \
             PostgreSQL and sets {URL_VAR}"
        )
    })
}

/// The URL with extra server options (schema, commits that write their WAL before they return).
fn url_with_options(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}%20-c%20synchronous_commit%3Don")
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// What a person's submission contains that must never be in clear, each a fresh value per run (other tests may
/// store sample people and fixture images in the same cluster, unencrypted).
struct Secrets {
    certificate_number: String,
    name: String,
    mobile: String,
    /// A real JPEG (random pixels, so its compressed bytes are this run's own).
    image: Vec<u8>,
}

impl Secrets {
    fn fresh() -> Secrets {
        let mut rng = rand::thread_rng();
        let first17 = format!(
            "350203{}{:02}{:02}{:03}",
            rng.gen_range(1960..2000),
            rng.gen_range(1..=12),
            rng.gen_range(1..=28),
            rng.gen_range(0..1000)
        );
        let certificate_number = format!("{first17}{}", resident_id_check_char(&first17).expect("check character"));
        // Four CJK unified ideographs (U+4E00..U+9FA5).
        let name: String = (0..4).map(|_| char::from_u32(rng.gen_range(0x4E00..=0x9FA5)).expect("ideograph")).collect();
        let mobile = format!("139{:08}", rng.gen_range(0..100_000_000));
        let mut pixels = vec![0u8; 320 * 240 * 3];
        rng.fill_bytes(&mut pixels);
        let mut image = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut image, 90)
            .encode(&pixels, 320, 240, image::ExtendedColorType::Rgb8)
            .expect("encode JPEG");
        assert!(image.len() > 4 * TOAST_CHUNK, "the image spans several TOAST chunks ({} bytes)", image.len());
        Secrets { certificate_number, name, mobile, image }
    }

    /// What to search for: the texts, and 64 bytes of compressed image data (past the encoder's fixed headers,
    /// inside one TOAST chunk).
    fn needles(&self) -> Vec<(&'static str, Vec<u8>)> {
        let at = 2 * TOAST_CHUNK + 500;
        vec![
            ("certificate number", self.certificate_number.as_bytes().to_vec()),
            ("name", self.name.as_bytes().to_vec()),
            ("mobile", self.mobile.as_bytes().to_vec()),
            ("image bytes", self.image[at..at + 64].to_vec()),
        ]
    }

    fn submission(&self) -> NewSubmission {
        let id = uuid::Uuid::now_v7().to_string();
        let identity = serde_json::json!({
            "name": self.name, "certificate_type": "resident_id",
            "certificate_number": self.certificate_number, "mobile": self.mobile,
        });
        let bundle = serde_json::json!({
            "identity": identity, "gender": "female", "birth_date": "1988-03-04",
            "unit": { "name": "厦门测试会计服务有限公司", "uscc": "91350100M000100Y43", "type": "enterprise" },
            "post": { "status": "on_post", "position": "会计" },
        });
        NewSubmission {
            id: id.clone(),
            subject: format!("https://id.ixiamen.test|plaintext-{id}"),
            kind: SubmissionKind::Submission,
            idempotency_key: format!("key-{id}"),
            body_hash: "0".repeat(64),
            identity_json: identity.to_string(),
            bundle_json: bundle.to_string(),
            files: vec![
                StoredFile {
                    part: "photo".into(),
                    index: 0,
                    media_type: "image/jpeg".into(),
                    bytes: self.image.clone(),
                },
                StoredFile {
                    part: "id_front".into(),
                    index: 0,
                    media_type: "image/jpeg".into(),
                    bytes: self.image.iter().rev().copied().collect(),
                },
            ],
            received_at_ms: 1_700_000_000_000,
        }
    }
}

/// Raw bytes from one place, named for the failure message.
struct Blob {
    place: String,
    bytes: Vec<u8>,
}

impl Blob {
    fn read(path: &Path, what: &str) -> Blob {
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "cannot read {what} {}: {e}. The test reads the server's files: run the server on this machine \
                 as this user (or run the tests as root), as scripts/pg-test.sh does",
                path.display()
            )
        });
        Blob { place: format!("{what} {}", path.display()), bytes }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    let mut from = 0;
    while let Some(pos) = haystack[from..].iter().position(|&b| b == first) {
        let start = from + pos;
        if haystack.len() - start < needle.len() {
            return false;
        }
        if &haystack[start + 1..start + needle.len()] == rest {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Where the stored submission could be found in clear.
struct Raw {
    /// `COPY … TO STDOUT (FORMAT binary)` of every table in the schema.
    export: Vec<Blob>,
    /// Every WAL segment.
    wal: Vec<Blob>,
    /// The data files of the schema's tables, TOAST tables and indexes, after a checkpoint.
    data_files: Vec<Blob>,
}

/// Stores one submission in a fresh schema (encrypted or not), checks that it reads back as stored, and collects
/// the raw bytes.
async fn store_and_collect(secrets: &Secrets, encrypted: bool) -> Raw {
    let base = base_url();
    let admin = connect(&base).await;
    let schema = format!("intake_plaintext_{}", uuid::Uuid::new_v4().simple());
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
    let key = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>());
    let config = StoreConfig {
        url: url_with_options(&base, &schema),
        encryption: encrypted
            .then(|| EncryptionConfig { active_key_id: "k1".into(), keys: HashMap::from([("k1".into(), key)]) }),
    };
    let store: Arc<dyn Store> = app::open_configured_store(&config).await.expect("open the configured store");
    let new = secrets.submission();
    assert!(matches!(store.insert(new.clone()).await.expect("insert"), InsertOutcome::Created(_)));
    // The forwarder's view: the plaintext comes back (so what is on disk is the submission, encrypted).
    let claimed = store.claim_due(new.received_at_ms + 1, 60_000, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!((&claimed[0].identity_json, &claimed[0].bundle_json), (&new.identity_json, &new.bundle_json));
    let mut files: Vec<_> = claimed[0].files.iter().map(|f| (f.part.clone(), f.bytes.clone())).collect();
    files.sort();
    let mut expected: Vec<_> = new.files.iter().map(|f| (f.part.clone(), f.bytes.clone())).collect();
    expected.sort();
    assert!(files == expected, "the files read back as stored");
    drop(claimed);

    let mut export = Vec::new();
    let tables = admin
        .query("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", &[&schema])
        .await
        .expect("list tables");
    for row in &tables {
        let table: String = row.get(0);
        let stream =
            admin.copy_out(&format!("COPY {schema}.{table} TO STDOUT (FORMAT binary)")).await.expect("COPY TO STDOUT");
        let chunks: Vec<_> = stream.collect().await;
        let bytes = chunks.into_iter().flat_map(|c| c.expect("COPY data").to_vec()).collect();
        export.push(Blob { place: format!("COPY {table}"), bytes });
    }
    assert!(export.iter().any(|b| b.place == "COPY files"), "the store has a files table");

    let data_dir: String = admin.query_one("SHOW data_directory", &[]).await.expect("data_directory").get(0);
    let data_dir = PathBuf::from(data_dir);
    // Commits were synchronous (options above), so the WAL files hold them already; read them before a
    // checkpoint may recycle the segments.
    let mut wal = Vec::new();
    let segments = std::fs::read_dir(data_dir.join("pg_wal")).unwrap_or_else(|e| {
        panic!(
            "cannot list {}/pg_wal: {e}. The test reads the server's files: run the server on this machine as \
             this user (or run the tests as root), as scripts/pg-test.sh does",
            data_dir.display()
        )
    });
    for entry in segments {
        let entry = entry.expect("WAL entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            wal.push(Blob::read(&entry.path(), "WAL segment"));
        }
    }
    assert!(!wal.is_empty(), "found WAL segments in {}", data_dir.display());

    admin.batch_execute("CHECKPOINT").await.expect("CHECKPOINT");
    let relations = admin
        .query(
            &format!(
                "WITH own AS (SELECT oid FROM pg_class WHERE relnamespace = '{schema}'::regnamespace),
                      toast AS (SELECT reltoastrelid AS oid FROM pg_class
                                WHERE oid IN (SELECT oid FROM own) AND reltoastrelid <> 0),
                      idx AS (SELECT indexrelid AS oid FROM pg_index WHERE indrelid IN (SELECT oid FROM toast))
                 SELECT oid::regclass::text, pg_relation_filepath(oid) FROM pg_class
                 WHERE oid IN (SELECT oid FROM own UNION SELECT oid FROM toast UNION SELECT oid FROM idx)
                   AND pg_relation_filepath(oid) IS NOT NULL"
            ),
            &[],
        )
        .await
        .expect("relation files");
    let mut data_files = Vec::new();
    for row in &relations {
        let (relation, file): (String, String) = (row.get(0), row.get(1));
        let main = data_dir.join(&file);
        data_files.push(Blob::read(&main, &format!("data file of {relation}:")));
        // Segments past 1 GB, if any.
        for n in 1.. {
            let segment = PathBuf::from(format!("{}.{n}", main.display()));
            if !segment.exists() {
                break;
            }
            data_files.push(Blob::read(&segment, &format!("data file of {relation}:")));
        }
    }
    assert!(data_files.iter().any(|b| !b.bytes.is_empty()), "the schema's data files were written");

    drop(store);
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.expect("drop schema");
    Raw { export, wal, data_files }
}

/// Where each needle was found, as "what in place" lines.
fn findings(raw: &Raw, needles: &[(&str, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for blob in raw.export.iter().chain(&raw.wal).chain(&raw.data_files) {
        for (what, needle) in needles {
            if find(&blob.bytes, needle) {
                found.push(format!("{what} in {}", blob.place));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_nothing_personal_in_clear_when_encrypted() {
    let secrets = Secrets::fresh();
    let needles = secrets.needles();
    let raw = store_and_collect(&secrets, true).await;
    let found = findings(&raw, &needles);
    assert!(found.is_empty(), "personal data in clear with encryption at rest on:\n{}", found.join("\n"));

    // The control: the same steps with encryption off find every value in each place, so the search works.
    let control = Secrets::fresh();
    let needles = control.needles();
    let raw = store_and_collect(&control, false).await;
    for (what, needle) in &needles {
        for (place, blobs) in
            [("the table export", &raw.export), ("the WAL", &raw.wal), ("the data files", &raw.data_files)]
        {
            assert!(
                blobs.iter().any(|b| find(&b.bytes, needle)),
                "control without encryption: {what} not found in {place}, so the search would miss it"
            );
        }
    }
}

#[test]
fn find_finds_only_what_is_there() {
    assert!(find(b"abcabd", b"abd"));
    assert!(find(b"abd", b"abd"));
    assert!(!find(b"abcab", b"abd"));
    assert!(!find(b"ab", b"abd"));
    assert!(find(b"x", b""));
}
