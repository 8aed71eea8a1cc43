//! "Purged means gone" on PostgreSQL, as far as PostgreSQL lets an
//! application go: after delivery and purge, no table of the store's schema
//! (exported raw with `COPY … TO STDOUT (FORMAT binary)`) holds the images,
//! the identity or the bundle of the purged submission. What PostgreSQL itself
//! keeps below the SQL level (dead tuples until VACUUM, freed TOAST chunks,
//! WAL segments until recycled, backups) is reported by this test, not
//! asserted: encryption at rest with retired master keys is the answer there
//! (ARCHITECTURE.md).
//!
//! `scripts/pg-test.sh cargo test -p intake --test postgres_purge`.

use std::path::PathBuf;
use std::sync::Arc;

use futures_util::StreamExt as _;
use intake::app;
use intake::config::StoreConfig;
use intake::store::{InsertOutcome, NewSubmission, Store, StoredFile, SubmissionKind};

const URL_VAR: &str = "INTAKE_TEST_POSTGRES_URL";
const GPS: &[u8] = b"GPSLatitude=24.4798N;GPSLongitude=118.0894E;pg-home";

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn export(admin: &tokio_postgres::Client, schema: &str) -> Vec<(String, Vec<u8>)> {
    let tables = admin
        .query("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename", &[&schema])
        .await
        .expect("list tables");
    let mut out = Vec::new();
    for row in &tables {
        let table: String = row.get(0);
        let stream =
            admin.copy_out(&format!("COPY {schema}.{table} TO STDOUT (FORMAT binary)")).await.expect("COPY TO STDOUT");
        let chunks: Vec<_> = stream.collect().await;
        out.push((table, chunks.into_iter().flat_map(|c| c.expect("COPY data").to_vec()).collect()));
    }
    out
}

#[tokio::test]
#[allow(clippy::print_stderr)] // what PostgreSQL keeps below SQL, for the notes
async fn purged_submissions_are_gone_from_every_table() {
    let base = std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!("{URL_VAR} is not set: run `scripts/pg-test.sh cargo test -p intake --test postgres_purge`")
    });
    let admin = connect(&base).await;
    let schema = format!("intake_purge_{}", uuid::Uuid::new_v4().simple());
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let store: Arc<dyn Store> =
        app::open_configured_store(&StoreConfig { url, encryption: None }).await.expect("open the store");

    let cert = format!("3502031985{:08}", rand::random::<u32>() % 100_000_000);
    let mut image: Vec<u8> = (0..40_000).map(|_| rand::random::<u8>()).collect();
    image.splice(1000..1000, GPS.iter().copied());
    let id = uuid::Uuid::now_v7().to_string();
    let new = NewSubmission {
        id: id.clone(),
        subject: "https://issuer.example|pg-purge".into(),
        kind: SubmissionKind::Submission,
        idempotency_key: format!("key-{id}"),
        body_hash: "0".repeat(64),
        identity_json: format!(r#"{{"certificate_number":"{cert}"}}"#),
        bundle_json: format!(r#"{{"identity":{{"certificate_number":"{cert}"}}}}"#),
        files: vec![StoredFile {
            part: "photo".into(),
            index: 0,
            media_type: "image/jpeg".into(),
            bytes: image.clone(),
        }],
        received_at_ms: 1_700_000_000_000,
    };
    assert!(matches!(store.insert(new).await.expect("insert"), InsertOutcome::Created(_)));
    let claimed = store.claim_due(1_700_000_000_001, 60_000, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(store.mark_forwarded(&id, &claimed[0].lease_token, true, 1_700_000_001_000).await.expect("mark"));
    let needles: [(&str, Vec<u8>); 3] = [
        ("image bytes", image[20_000..20_064].to_vec()),
        ("GPS text", GPS.to_vec()),
        ("certificate number", cert.clone().into_bytes()),
    ];
    let hits = |tables: &[(String, Vec<u8>)]| -> Vec<String> {
        let mut out = Vec::new();
        for (table, bytes) in tables {
            for (what, needle) in &needles {
                if find(bytes, needle) {
                    out.push(format!("{what} in {table}"));
                }
            }
        }
        out
    };
    let before = hits(&export(&admin, &schema).await);
    assert!(before.len() >= 3, "control: found before the purge: {before:?}");

    assert_eq!(store.purge_delivered_files(1_700_000_002_000).await.expect("purge"), 1);
    let after = hits(&export(&admin, &schema).await);
    assert!(after.is_empty(), "left in the tables after the purge: {after:?}");
    let one = store.get("https://issuer.example|pg-purge", &id).await.expect("get").expect("the record stays");
    assert_eq!(one.id, id);

    // Below SQL: report what the data files still hold after VACUUM and a CHECKPOINT.
    admin.batch_execute(&format!("VACUUM {schema}.files; VACUUM {schema}.submissions; CHECKPOINT")).await.ok();
    let data_dir: String = admin.query_one("SHOW data_directory", &[]).await.expect("data_directory").get(0);
    let mut below = Vec::new();
    for table in ["files", "submissions"] {
        let rows = admin
            .query(
                "SELECT pg_relation_filepath(c.oid), pg_relation_filepath(c.reltoastrelid) FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                &[&schema, &table],
            )
            .await
            .expect("relation paths");
        for row in rows {
            for i in 0..2 {
                let Some(rel): Option<String> = row.get(i) else { continue };
                let bytes = std::fs::read(PathBuf::from(&data_dir).join(&rel)).unwrap_or_default();
                for (what, needle) in &needles {
                    if find(&bytes, needle) {
                        below.push(format!("{what} in {table} ({rel})"));
                    }
                }
            }
        }
    }
    eprintln!("postgres purge: below SQL after VACUUM + CHECKPOINT: {below:?} (WAL segments not searched here)");
    admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.ok();
}
