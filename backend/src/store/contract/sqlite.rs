//! The suite against SQLite: each case on a fresh in-memory database and on a
//! fresh database file, the whole suite on one shared store, plus the
//! multi-connection race and the restart.

use std::path::PathBuf;
use std::sync::Arc;

use crate::store::Store;
use crate::store::sqlite::SqliteStore;

/// A database file in a unique temp directory, removed on drop.
struct TempDb {
    dir: PathBuf,
}

impl TempDb {
    fn new(name: &str) -> TempDb {
        TempDb { dir: std::env::temp_dir().join(format!("intake-contract-{name}-{}", uuid::Uuid::new_v4())) }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("db").join("intake.db")
    }

    fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path()).expect("open database file")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

macro_rules! each_case {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = crate::store::sqlite::SqliteStore::open_in_memory().expect("open in memory");
                    super::super::$case(&store).await;
                }
            )*
        }

        mod on_file {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::TempDb::new(stringify!($case));
                    super::super::$case(&db.open()).await;
                }
            )*
        }
    };
}

each_case!(
    insert_is_idempotent_per_subject,
    get_and_list_only_show_the_subjects_own,
    claim_leases_and_an_expired_lease_moves_on,
    claim_respects_due_time_order_and_limit,
    retry_schedules_the_next_attempt,
    attention_then_retry_now_requeues,
    forwarded_and_accepted_history,
    purge_removes_files_but_keeps_the_record,
    outbox_lists_undelivered_oldest_first,
    stats_count_the_queue,
    simultaneous_inserts_store_once,
);

#[tokio::test]
async fn run_all_in_memory() {
    let store = SqliteStore::open_in_memory().expect("open in memory");
    super::run_all(&store).await;
}

#[tokio::test]
async fn run_all_on_file() {
    let db = TempDb::new("run-all");
    super::run_all(&db.open()).await;
    assert!(db.path().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_same_key_in_memory() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().expect("open in memory"));
    super::concurrent_same_key(&[store]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_same_key_on_file() {
    let db = TempDb::new("concurrent");
    let store: Arc<dyn Store> = Arc::new(db.open());
    super::concurrent_same_key(&[store]).await;
}

/// Four connections to one file: the race is decided by SQLite's write lock, not our mutex.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_same_key_across_connections() {
    let db = TempDb::new("connections");
    let stores: Vec<Arc<dyn Store>> = (0..4).map(|_| Arc::new(db.open()) as Arc<dyn Store>).collect();
    super::concurrent_same_key(&stores).await;
}

#[tokio::test]
async fn file_database_survives_restart() {
    let db = TempDb::new("restart");
    let path = db.path();
    super::survives_restart(&|| Box::new(SqliteStore::open(&path).expect("reopen")) as Box<dyn Store>).await;
}
