//! Against a real PostgreSQL: `scripts/pg-test.sh cargo test -p intake postgres` starts a
//! throwaway server and sets `INTAKE_TEST_POSTGRES_URL`. Without that variable these tests
//! fail (they do not skip): a green run must have exercised PostgreSQL.
//!
//! Each test works in its own fresh schema (`search_path`), so they run in parallel on
//! one database; the schema is dropped when the test passes.

use std::sync::Arc;

use super::*;

use crate::store::contract;

const URL_VAR: &str = "INTAKE_TEST_POSTGRES_URL";

fn test_config() -> Config {
    let url = std::env::var(URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{URL_VAR} is not set. The PostgreSQL store tests need a database: run them with \
             `scripts/pg-test.sh cargo test -p intake postgres`, which starts a throwaway \
             PostgreSQL and sets {URL_VAR}"
        )
    });
    url.parse().unwrap_or_else(|e| panic!("{URL_VAR} is not a valid PostgreSQL URL: {e}"))
}

/// A fresh schema in the test database.
struct TestSchema {
    base: Config,
    name: String,
}

impl TestSchema {
    async fn create() -> TestSchema {
        let base = test_config();
        let name = format!("intake_test_{}", uuid::Uuid::new_v4().simple());
        let admin = open_client(&base).await.expect("connect to the test database");
        admin.batch_execute(&format!("CREATE SCHEMA {name}")).await.expect("create schema");
        TestSchema { base, name }
    }

    fn config(&self) -> Config {
        let mut config = self.base.clone();
        config.options(format!("-c search_path={}", self.name)).application_name(&self.name);
        config
    }

    async fn open(&self) -> PostgresStore {
        PostgresStore::connect_config(self.config()).await.expect("connect PostgresStore")
    }

    /// A plain connection working in this schema.
    async fn raw(&self) -> Client {
        open_client(&self.config()).await.expect("connect")
    }

    async fn drop_schema(self) {
        let admin = open_client(&self.base).await.expect("connect");
        admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name)).await.expect("drop schema");
    }
}

fn submission(subject: &str, key: &str, received_at_ms: i64) -> NewSubmission {
    NewSubmission {
        id: uuid::Uuid::new_v4().to_string(),
        subject: subject.to_owned(),
        kind: SubmissionKind::Submission,
        idempotency_key: key.to_owned(),
        body_hash: "h".to_owned(),
        identity_json: "{}".to_owned(),
        bundle_json: "{}".to_owned(),
        files: vec![StoredFile {
            part: "photo".to_owned(),
            index: 0,
            media_type: "image/jpeg".to_owned(),
            bytes: vec![0xFF, 0xD8, 0, 0xFF],
        }],
        received_at_ms,
    }
}

/// The shared contract suite: every case on one store, the same-key race across
/// one pooled store and across four stores (separate connections, as separate
/// processes would have), and a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_contract() {
    let schema = TestSchema::create().await;
    let store = schema.open().await;
    contract::run_all(&store).await;

    let pooled: Arc<dyn Store> = Arc::new(store);
    contract::concurrent_same_key(&[pooled]).await;
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(schema.open().await));
    }
    contract::concurrent_same_key(&stores).await;
    drop(stores);

    let open = || {
        let store = tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(schema.open()));
        Box::new(store) as Box<dyn Store>
    };
    contract::survives_restart(&open).await;
    schema.drop_schema().await;
}

/// Two stores on one database (as two `intake serve` processes) claim at the same time:
/// every due submission is claimed exactly once. And a row another transaction holds
/// locked is skipped, not waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_claims_are_disjoint() {
    const COUNT: usize = 300;
    const NOW: i64 = 1_700_000_000_000;
    // Longer than the test: the first claims still hold their leases in the second part.
    const LEASE: i64 = 24 * 3_600_000;
    let schema = TestSchema::create().await;
    let (a, b) = (schema.open().await, schema.open().await);
    let subject = format!("iss|{}", uuid::Uuid::new_v4());
    let mut ids = Vec::new();
    for i in 0..COUNT {
        let new = submission(&subject, &format!("k{i}"), NOW - 1000);
        ids.push(new.id.clone());
        assert!(matches!(a.insert(new).await.expect("insert"), InsertOutcome::Created(_)));
    }

    // Four workers (two per store, each store pooling several connections) drain the queue.
    let mut workers = Vec::new();
    for store in [a.clone(), a.clone(), b.clone(), b.clone()] {
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_due(NOW, LEASE, 7).await.expect("claim_due");
                if claimed.is_empty() {
                    return mine;
                }
                for claim in &claimed {
                    assert_eq!(claim.files.len(), 1);
                }
                mine.extend(claimed.into_iter().map(|c| c.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    let mut busy_workers = 0;
    for worker in workers {
        let mine = worker.await.expect("worker");
        busy_workers += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let claimed_count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), claimed_count, "a submission was claimed twice");
    ids.sort();
    assert_eq!(all, ids, "every due submission is claimed");
    assert!(busy_workers >= 2, "the workers should have shared the queue ({busy_workers} claimed anything)");

    // SKIP LOCKED: with one due row locked by another transaction, a claim returns the
    // others at once instead of waiting for the lock.
    let later = NOW + 3_600_000;
    let locked = submission(&subject, "locked", later);
    let free = submission(&subject, "free", later + 1);
    a.insert(locked.clone()).await.expect("insert");
    a.insert(free.clone()).await.expect("insert");
    let mut holder = schema.raw().await;
    let tx = holder.transaction().await.expect("begin");
    tx.query("SELECT id FROM submissions WHERE id = $1 FOR UPDATE", &[&locked.id]).await.expect("lock row");
    let claimed = tokio::time::timeout(Duration::from_secs(10), b.claim_due(later + 10, 60_000, 10))
        .await
        .expect("claim_due waited for a locked row instead of skipping it")
        .expect("claim_due");
    let claimed: Vec<&str> = claimed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(claimed, vec![free.id.as_str()]);
    tx.rollback().await.expect("rollback");
    let claimed = a.claim_due(later + 10, 60_000, 10).await.expect("claim_due");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, locked.id, "once the lock is gone the row is claimable");
    drop(holder);
    schema.drop_schema().await;
}

/// Connecting again applies nothing twice; a database from a newer build is refused.
#[tokio::test]
async fn postgres_migrations_are_idempotent() {
    let schema = TestSchema::create().await;
    drop(schema.open().await);
    drop(schema.open().await);
    let raw = schema.raw().await;
    let versions: Vec<i64> = raw
        .query("SELECT version FROM schema_version ORDER BY version", &[])
        .await
        .expect("versions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, vec![1, 2]);
    raw.batch_execute("INSERT INTO schema_version VALUES (99, 0)").await.expect("insert version");
    let err = PostgresStore::connect_config(schema.config()).await.expect_err("newer schema");
    assert!(err.0.contains("newer"), "{err}");
    drop(raw);
    schema.drop_schema().await;
}

/// Connections the server closed (a restart, an idle timeout) are reopened on next use.
#[tokio::test]
async fn postgres_reconnects_after_the_server_closed_connections() {
    let schema = TestSchema::create().await;
    let store = schema.open().await;
    store.ping().await.expect("ping");
    let admin = open_client(&schema.base).await.expect("connect");
    let killed: i64 = admin
        .query_one(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&schema.name],
        )
        .await
        .expect("terminate")
        .get(0);
    assert!(killed >= 1, "the store's connection was terminated");
    // The client may learn of the close only on its next use: at most that use fails.
    let mut answered = false;
    for _ in 0..3 {
        if store.ping().await.is_ok() {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "the store reconnects");
    let new = submission("iss|reconnect", "k", 1000);
    assert!(matches!(store.insert(new).await.expect("insert"), InsertOutcome::Created(_)));
    drop((admin, store));
    schema.drop_schema().await;
}

#[tokio::test]
async fn connect_rejects_a_malformed_url() {
    let err = PostgresStore::connect("postgres://[::1").await.expect_err("malformed");
    assert!(err.0.contains("invalid PostgreSQL URL"), "{err}");
}
