//! The scale-out store: PostgreSQL, shared by several `intake serve` processes.
//!
//! Same schema and semantics as `sqlite.rs`, with PostgreSQL's guarantees in
//! place of SQLite's single writer:
//!
//! - `insert` is one transaction: `INSERT … ON CONFLICT (subject,
//!   idempotency_key) DO NOTHING`, then (when nothing was inserted) a re-read
//!   of the row that holds the key. A concurrent insert of the same key waits
//!   for the first one to commit, so exactly one caller gets `Created`.
//! - `claim_due` selects with `FOR UPDATE SKIP LOCKED` in a transaction:
//!   processes claiming at the same moment get disjoint rows, and nobody
//!   waits for another's claim.
//! - Every mark is a single conditional `UPDATE` (lease token and status in
//!   the `WHERE`), which row-locks the submission; history is appended in the
//!   same transaction while that lock is held.
//! - Reads that combine several queries (a record and its history) run in one
//!   read-only `REPEATABLE READ` transaction, i.e. one snapshot.
//!
//! Where SQLite orders by `rowid` (insertion order), the tables here carry a
//! `row_seq` identity column for the same purpose.
//!
//! Connections: a `deadpool-postgres` pool of at most [`POOL_SIZE`]
//! `tokio_postgres` clients, opened lazily; a client the server closed is
//! dropped when it comes back to the pool and replaced by a new one (a
//! PostgreSQL restart costs the requests in flight a 503, not the process).
//! A request waits at most [`POOL_WAIT`] for a free client, then gets a 503.
//!
//! TLS: connections use `NoTls` for now; the database must be reached over a
//! trusted network (localhost, a private network or a Unix socket). Adding
//! TLS (`tokio-postgres-rustls`) is a later step of the hardening issue.

use std::time::Duration;

use async_trait::async_trait;
use intake_rules::wire::SubmissionStatus;
use tokio_postgres::types::FromSql;
use tokio_postgres::{Client, Config, IsolationLevel, NoTls, Row, Transaction};

use super::{
    Claimed, HistoryEntry, InsertOutcome, NewSubmission, OutboxRow, QueueStats, Store, StoreError, StoredFile,
    SubmissionKind, SubmissionRecord, parse_kind, parse_status,
};

mod outbox;
mod schema;
mod submissions;
#[cfg(test)]
mod tests;

use outbox::{attention_tx, claim_tx, forwarded_tx, outbox_query, purge_tx, retry_now_tx, retry_tx, stats_tx};
use schema::migrate;
use submissions::{find_by_key_tx, get_tx, insert_tx, list_tx};

/// Connections per store (per process).
pub const POOL_SIZE: usize = 4;

/// How long opening a connection may take, unless the URL says otherwise (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an operation waits for a free connection before it fails (a 503 for the request).
pub const POOL_WAIT: Duration = Duration::from_secs(15);

/// The columns `record_from_row` reads, in order.
const RECORD_COLUMNS: &str = "id, subject, kind, status, received_at_ms, attempts, last_error";

/// The PostgreSQL store. Cloning shares the connection pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: deadpool_postgres::Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the config: it holds the password.
        f.debug_struct("PostgresStore").field("pool_size", &self.pool.status().max_size).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/dbname?…`
    /// or the `key=value` form) and brings its schema up to date.
    ///
    /// Connections are unencrypted (`NoTls`); see the module docs.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let config: Config = url.parse().map_err(|e| StoreError(format!("invalid PostgreSQL URL: {e}")))?;
        PostgresStore::connect_config(config).await
    }

    async fn connect_config(mut config: Config) -> Result<PostgresStore, StoreError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // Migrate on a connection of its own, so the pool only ever holds clients of an up-to-date schema.
        let mut first = open_client(&config).await?;
        migrate(&mut first).await?;
        drop(first);
        let manager = deadpool_postgres::Manager::from_config(
            config,
            NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|e| StoreError(format!("PostgreSQL pool: {e}")))?;
        Ok(PostgresStore { pool })
    }

    /// A connection for one operation, back in the pool when dropped.
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError(format!("cannot get a PostgreSQL connection: {e}")))
    }
}

/// Opens a connection and drives it on the runtime until the client is dropped.
async fn open_client(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) =
        config.connect(NoTls).await.map_err(|e| StoreError(format!("cannot connect to PostgreSQL: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection failed");
        }
    });
    Ok(client)
}

/// Maps tokio-postgres errors to `StoreError`.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for Result<T, tokio_postgres::Error> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError(format!("postgres: {e}")))
    }
}

/// Column `idx` of `row`.
fn col<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, StoreError> {
    row.try_get(idx).map_err(|e| StoreError(format!("postgres: column {idx}: {e}")))
}

/// A read-only transaction on one snapshot, for reads made of several queries.
async fn read_tx(client: &mut Client) -> Result<Transaction<'_>, StoreError> {
    client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).read_only(true).start().await.db()
}

fn status_at(row: &Row, idx: usize) -> Result<SubmissionStatus, StoreError> {
    parse_status(col(row, idx)?)
}

fn kind_at(row: &Row, idx: usize) -> Result<SubmissionKind, StoreError> {
    parse_kind(col(row, idx)?)
}

/// A `BIGINT` count column as the `u32` of the API.
fn u32_at(row: &Row, idx: usize) -> Result<u32, StoreError> {
    let value: i64 = col(row, idx)?;
    u32::try_from(value).map_err(|_| StoreError(format!("column {idx}: {value} out of range")))
}

/// A record without its history, from a row of `RECORD_COLUMNS`.
fn record_from_row(row: &Row) -> Result<SubmissionRecord, StoreError> {
    Ok(SubmissionRecord {
        id: col(row, 0)?,
        subject: col(row, 1)?,
        kind: kind_at(row, 2)?,
        status: status_at(row, 3)?,
        received_at_ms: col(row, 4)?,
        attempts: u32_at(row, 5)?,
        last_error: col(row, 6)?,
        history: Vec::new(),
    })
}

async fn load_history(tx: &Transaction<'_>, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
    let rows =
        tx.query("SELECT at_ms, status, note FROM history WHERE submission_id = $1 ORDER BY seq", &[&id]).await.db()?;
    rows.iter()
        .map(|row| Ok(HistoryEntry { at_ms: col(row, 0)?, status: status_at(row, 1)?, note: col(row, 2)? }))
        .collect()
}

async fn load_record(tx: &Transaction<'_>, id: &str) -> Result<Option<SubmissionRecord>, StoreError> {
    let row = tx.query_opt(&format!("SELECT {RECORD_COLUMNS} FROM submissions WHERE id = $1"), &[&id]).await.db()?;
    match row {
        Some(row) => {
            let mut record = record_from_row(&row)?;
            record.history = load_history(tx, id).await?;
            Ok(Some(record))
        }
        None => Ok(None),
    }
}

/// The files of a submission, in the order they were stored.
async fn load_files(tx: &Transaction<'_>, id: &str) -> Result<Vec<StoredFile>, StoreError> {
    let rows = tx
        .query("SELECT part, idx, media_type, bytes FROM files WHERE submission_id = $1 ORDER BY row_seq", &[&id])
        .await
        .db()?;
    rows.iter()
        .map(|row| {
            Ok(StoredFile { part: col(row, 0)?, index: u32_at(row, 1)?, media_type: col(row, 2)?, bytes: col(row, 3)? })
        })
        .collect()
}

/// Appends a status change to the history of `id`. Call it holding the submission's row lock
/// (after updating the row), so two appends cannot pick the same `seq`.
async fn add_history(
    tx: &Transaction<'_>,
    id: &str,
    at_ms: i64,
    status: SubmissionStatus,
    note: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO history (submission_id, seq, at_ms, status, note)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM history WHERE submission_id = $1), $2, $3, $4)",
        &[&id, &at_ms, &status.as_str(), &note],
    )
    .await
    .db()?;
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert(&self, new: NewSubmission) -> Result<InsertOutcome, StoreError> {
        insert_tx(&mut **self.client().await?, &new).await
    }

    async fn find_by_key(&self, subject: &str, key: &str) -> Result<Option<(SubmissionRecord, String)>, StoreError> {
        find_by_key_tx(&mut **self.client().await?, subject, key).await
    }

    async fn get(&self, subject: &str, id: &str) -> Result<Option<SubmissionRecord>, StoreError> {
        get_tx(&mut **self.client().await?, subject, id).await
    }

    async fn list(&self, subject: &str) -> Result<Vec<SubmissionRecord>, StoreError> {
        list_tx(&mut **self.client().await?, subject).await
    }

    async fn claim_due(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>, StoreError> {
        claim_tx(&mut **self.client().await?, now_ms, lease_ms, limit).await
    }

    async fn mark_forwarded(
        &self,
        id: &str,
        lease_token: &str,
        accepted: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        forwarded_tx(&mut **self.client().await?, id, lease_token, accepted, now_ms).await
    }

    async fn mark_retry(
        &self,
        id: &str,
        lease_token: &str,
        next_attempt_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        retry_tx(&mut **self.client().await?, id, lease_token, next_attempt_ms, error, now_ms).await
    }

    async fn mark_attention(&self, id: &str, lease_token: &str, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        attention_tx(&mut **self.client().await?, id, lease_token, reason, now_ms).await
    }

    async fn purge_delivered_files(&self, before_ms: i64) -> Result<u64, StoreError> {
        purge_tx(&mut **self.client().await?, before_ms).await
    }

    async fn outbox(&self, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError> {
        outbox_query(&mut **self.client().await?, only_attention).await
    }

    async fn retry_now(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        retry_now_tx(&mut **self.client().await?, id, now_ms).await
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        stats_tx(&mut **self.client().await?).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client().await?.batch_execute("SELECT 1").await.db()
    }
}
