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
    SubmissionKind, SubmissionRecord, check_schema_version, kind_text, parse_kind, parse_status,
};

/// Connections per store (per process).
pub const POOL_SIZE: usize = 4;

/// How long opening a connection may take, unless the URL says otherwise (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an operation waits for a free connection before it fails (a 503 for the request).
pub const POOL_WAIT: Duration = Duration::from_secs(15);

/// Advisory lock held while migrating, so processes starting together migrate one after another.
const MIGRATION_LOCK: i64 = 0x696e_7461_6b65; // "intake"

/// Schema migrations; entry `i` brings the database to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1: submissions, their files and their status history.
    "CREATE TABLE submissions (
        row_seq BIGINT GENERATED ALWAYS AS IDENTITY,
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        identity_json TEXT NOT NULL,
        bundle_json TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('received', 'forwarded', 'accepted', 'needs_attention')),
        received_at_ms BIGINT NOT NULL,
        updated_at_ms BIGINT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_ms BIGINT,
        lease_token TEXT,
        lease_until_ms BIGINT,
        last_error TEXT,
        delivered_at_ms BIGINT,
        files_purged BOOLEAN NOT NULL DEFAULT FALSE,
        UNIQUE (subject, idempotency_key)
    );
    CREATE INDEX submissions_due ON submissions (status, next_attempt_ms);
    CREATE INDEX submissions_by_subject ON submissions (subject, received_at_ms);
    CREATE INDEX submissions_unpurged ON submissions (delivered_at_ms)
        WHERE delivered_at_ms IS NOT NULL AND NOT files_purged;
    CREATE TABLE files (
        row_seq BIGINT GENERATED ALWAYS AS IDENTITY,
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        part TEXT NOT NULL,
        idx BIGINT NOT NULL,
        media_type TEXT NOT NULL,
        bytes BYTEA NOT NULL,
        PRIMARY KEY (submission_id, part, idx)
    );
    -- Images are already compressed: store them out of line without trying again.
    ALTER TABLE files ALTER COLUMN bytes SET STORAGE EXTERNAL;
    CREATE TABLE history (
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        seq BIGINT NOT NULL,
        at_ms BIGINT NOT NULL,
        status TEXT NOT NULL,
        note TEXT,
        PRIMARY KEY (submission_id, seq)
    );",
    // Version 2 (issue 13): the short receipt number people keep, unique; rows of version 1 keep
    // NULL (their number is derived from the id the same way).
    "ALTER TABLE submissions ADD COLUMN receipt_number TEXT;
    CREATE UNIQUE INDEX submissions_receipt_number ON submissions (receipt_number);",
];

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

/// Applies the migrations the database has not seen yet, in one transaction.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.db()?;
    tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")).await.db()?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version BIGINT PRIMARY KEY,
            applied_at_ms BIGINT NOT NULL
        )",
    )
    .await
    .db()?;
    let row = tx.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_version", &[]).await.db()?;
    let current = check_schema_version(col(&row, 0)?, MIGRATIONS.len())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    for (done, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i64::try_from(done + 1).map_err(|_| StoreError("too many migrations".to_owned()))?;
        tx.batch_execute(sql).await.db()?;
        tx.execute("INSERT INTO schema_version (version, applied_at_ms) VALUES ($1, $2)", &[&version, &now])
            .await
            .db()?;
    }
    tx.commit().await.db()
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

async fn insert_tx(client: &mut Client, new: &NewSubmission) -> Result<InsertOutcome, StoreError> {
    let kind = kind_text(&new.kind)?;
    let tx = client.transaction().await.db()?;
    // Waits for a concurrent insert of the same key to commit or roll back, then inserts or not.
    let inserted = tx
        .query_opt(
            "INSERT INTO submissions (id, subject, kind, idempotency_key, body_hash, identity_json, bundle_json,
                                      status, received_at_ms, updated_at_ms, attempts, next_attempt_ms,
                                      receipt_number)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'received', $8, $8, 0, $8, $9)
             ON CONFLICT (subject, idempotency_key) DO NOTHING
             RETURNING id",
            &[
                &new.id,
                &new.subject,
                &kind,
                &new.idempotency_key,
                &new.body_hash,
                &new.identity_json,
                &new.bundle_json,
                &new.received_at_ms,
                &super::receipt_key(&new.id),
            ],
        )
        .await
        .db()?;
    if inserted.is_none() {
        // READ COMMITTED: this statement sees the row that won, committed.
        let row = tx
            .query_opt(
                "SELECT id, body_hash FROM submissions WHERE subject = $1 AND idempotency_key = $2",
                &[&new.subject, &new.idempotency_key],
            )
            .await
            .db()?
            .ok_or_else(|| StoreError("submission with a conflicting idempotency key vanished".to_owned()))?;
        let (id, body_hash): (String, &str) = (col(&row, 0)?, col(&row, 1)?);
        if body_hash != new.body_hash {
            tx.rollback().await.db()?;
            return Ok(InsertOutcome::Conflict);
        }
        let record = load_record(&tx, &id)
            .await?
            .ok_or_else(|| StoreError(format!("submission {id} vanished during lookup")))?;
        tx.rollback().await.db()?;
        return Ok(InsertOutcome::Existing(record));
    }
    let stmt = tx
        .prepare("INSERT INTO files (submission_id, part, idx, media_type, bytes) VALUES ($1, $2, $3, $4, $5)")
        .await
        .db()?;
    for file in &new.files {
        tx.execute(&stmt, &[&new.id, &file.part, &i64::from(file.index), &file.media_type, &file.bytes]).await.db()?;
    }
    add_history(&tx, &new.id, new.received_at_ms, SubmissionStatus::Received, None).await?;
    let record = load_record(&tx, &new.id)
        .await?
        .ok_or_else(|| StoreError(format!("submission {} vanished on insert", new.id)))?;
    tx.commit().await.db()?;
    Ok(InsertOutcome::Created(record))
}

async fn claim_tx(client: &mut Client, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let lease_until = now_ms.saturating_add(lease_ms);
    let tx = client.transaction().await.db()?;
    // SKIP LOCKED: rows another process is claiming right now are left to it, without waiting.
    let rows = tx
        .query(
            "SELECT id, kind, identity_json, bundle_json, attempts, received_at_ms FROM submissions
             WHERE status = 'received' AND next_attempt_ms <= $1
               AND (lease_until_ms IS NULL OR lease_until_ms < $1)
             ORDER BY next_attempt_ms, row_seq
             LIMIT $2
             FOR UPDATE SKIP LOCKED",
            &[&now_ms, &limit],
        )
        .await
        .db()?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        claimed.push(Claimed {
            id: col(row, 0)?,
            kind: kind_at(row, 1)?,
            identity_json: col(row, 2)?,
            bundle_json: col(row, 3)?,
            files: Vec::new(),
            attempts: u32_at(row, 4)?,
            received_at_ms: col(row, 5)?,
            lease_token: uuid::Uuid::new_v4().to_string(),
        });
    }
    for claim in &mut claimed {
        tx.execute(
            "UPDATE submissions SET lease_token = $2, lease_until_ms = $3, updated_at_ms = $4 WHERE id = $1",
            &[&claim.id, &claim.lease_token, &lease_until, &now_ms],
        )
        .await
        .db()?;
        claim.files = load_files(&tx, &claim.id).await?;
    }
    tx.commit().await.db()?;
    Ok(claimed)
}

async fn forwarded_tx(
    client: &mut Client,
    id: &str,
    lease_token: &str,
    accepted: bool,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let status = if accepted { SubmissionStatus::Accepted } else { SubmissionStatus::Forwarded };
    let tx = client.transaction().await.db()?;
    let changed = tx
        .execute(
            "UPDATE submissions
             SET status = $3, delivered_at_ms = $4, updated_at_ms = $4, attempts = attempts + 1,
                 next_attempt_ms = NULL, lease_token = NULL, lease_until_ms = NULL
             WHERE id = $1 AND lease_token = $2 AND status = 'received'",
            &[&id, &lease_token, &status.as_str(), &now_ms],
        )
        .await
        .db()?;
    if changed == 0 {
        return Ok(false);
    }
    add_history(&tx, id, now_ms, SubmissionStatus::Forwarded, None).await?;
    if accepted {
        add_history(&tx, id, now_ms, SubmissionStatus::Accepted, None).await?;
    }
    tx.commit().await.db()?;
    Ok(true)
}

async fn retry_tx(
    client: &mut Client,
    id: &str,
    lease_token: &str,
    next_attempt_ms: i64,
    error: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = client
        .execute(
            "UPDATE submissions
             SET attempts = attempts + 1, next_attempt_ms = $3, last_error = $4, updated_at_ms = $5,
                 lease_token = NULL, lease_until_ms = NULL
             WHERE id = $1 AND lease_token = $2 AND status = 'received'",
            &[&id, &lease_token, &next_attempt_ms, &error, &now_ms],
        )
        .await
        .db()?;
    Ok(changed > 0)
}

async fn attention_tx(
    client: &mut Client,
    id: &str,
    lease_token: &str,
    reason: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let tx = client.transaction().await.db()?;
    let changed = tx
        .execute(
            "UPDATE submissions
             SET status = 'needs_attention', attempts = attempts + 1, last_error = $3, updated_at_ms = $4,
                 next_attempt_ms = NULL, lease_token = NULL, lease_until_ms = NULL
             WHERE id = $1 AND lease_token = $2 AND status = 'received'",
            &[&id, &lease_token, &reason, &now_ms],
        )
        .await
        .db()?;
    if changed == 0 {
        return Ok(false);
    }
    add_history(&tx, id, now_ms, SubmissionStatus::NeedsAttention, Some(reason)).await?;
    tx.commit().await.db()?;
    Ok(true)
}

async fn purge_tx(client: &mut Client, before_ms: i64) -> Result<u64, StoreError> {
    let tx = client.transaction().await.db()?;
    let deleted = tx
        .execute(
            "DELETE FROM files WHERE submission_id IN (
                 SELECT id FROM submissions
                 WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms < $1 AND NOT files_purged)",
            &[&before_ms],
        )
        .await
        .db()?;
    // The identity and bundle were kept for forwarding only (see the SQLite store). What
    // PostgreSQL keeps of deleted rows (dead tuples until VACUUM, TOAST chunks, WAL segments) is
    // not erased by this: encryption at rest with retired master keys is what makes it unreadable.
    tx.execute(
        "UPDATE submissions SET files_purged = TRUE, identity_json = '{}', bundle_json = '{}'
         WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms < $1 AND NOT files_purged",
        &[&before_ms],
    )
    .await
    .db()?;
    tx.commit().await.db()?;
    Ok(deleted)
}

async fn outbox_query(client: &mut Client, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = if only_attention {
        "SELECT id, status, attempts, received_at_ms, next_attempt_ms, last_error FROM submissions
         WHERE status = 'needs_attention' ORDER BY received_at_ms, row_seq"
    } else {
        "SELECT id, status, attempts, received_at_ms, next_attempt_ms, last_error FROM submissions
         WHERE status IN ('received', 'needs_attention') ORDER BY received_at_ms, row_seq"
    };
    let rows = client.query(sql, &[]).await.db()?;
    rows.iter()
        .map(|row| {
            Ok(OutboxRow {
                id: col(row, 0)?,
                status: status_at(row, 1)?,
                attempts: u32_at(row, 2)?,
                received_at_ms: col(row, 3)?,
                next_attempt_ms: col(row, 4)?,
                last_error: col(row, 5)?,
            })
        })
        .collect()
}

async fn retry_now_tx(client: &mut Client, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let tx = client.transaction().await.db()?;
    // FOR UPDATE: the status checked is the status replaced (a forwarder cannot deliver it in between).
    let found =
        tx.query_opt("SELECT status, files_purged FROM submissions WHERE id = $1 FOR UPDATE", &[&id]).await.db()?;
    let Some(row) = found else {
        return Ok(false);
    };
    let (status, files_purged): (&str, bool) = (col(&row, 0)?, col(&row, 1)?);
    let was_attention = match status {
        "needs_attention" => true,
        "received" => false,
        _ => return Ok(false),
    };
    if files_purged {
        return Ok(false);
    }
    tx.execute(
        "UPDATE submissions
         SET status = 'received', next_attempt_ms = $2, updated_at_ms = $2, lease_token = NULL, lease_until_ms = NULL
         WHERE id = $1",
        &[&id, &now_ms],
    )
    .await
    .db()?;
    if was_attention {
        add_history(&tx, id, now_ms, SubmissionStatus::Received, Some("retried by operator")).await?;
    }
    tx.commit().await.db()?;
    Ok(true)
}

async fn stats_tx(client: &mut Client) -> Result<QueueStats, StoreError> {
    let tx = read_tx(client).await?;
    let row = tx
        .query_one("SELECT COUNT(*), MIN(received_at_ms) FROM submissions WHERE status = 'received'", &[])
        .await
        .db()?;
    let (queued, oldest_queued_ms): (i64, Option<i64>) = (col(&row, 0)?, col(&row, 1)?);
    let row = tx.query_one("SELECT COUNT(*) FROM submissions WHERE status = 'needs_attention'", &[]).await.db()?;
    let needs_attention: i64 = col(&row, 0)?;
    tx.commit().await.db()?;
    let count = |n: i64| u64::try_from(n).map_err(|_| StoreError(format!("negative count {n}")));
    Ok(QueueStats { queued: count(queued)?, oldest_queued_ms, needs_attention: count(needs_attention)? })
}

async fn find_by_key_tx(
    client: &mut Client,
    subject: &str,
    key: &str,
) -> Result<Option<(SubmissionRecord, String)>, StoreError> {
    let tx = read_tx(client).await?;
    let found = tx
        .query_opt(
            "SELECT id, body_hash FROM submissions WHERE subject = $1 AND idempotency_key = $2",
            &[&subject, &key],
        )
        .await
        .db()?;
    let found = match found {
        Some(row) => {
            let (id, body_hash): (&str, String) = (col(&row, 0)?, col(&row, 1)?);
            load_record(&tx, id).await?.map(|record| (record, body_hash))
        }
        None => None,
    };
    tx.commit().await.db()?;
    Ok(found)
}

async fn get_tx(client: &mut Client, subject: &str, id: &str) -> Result<Option<SubmissionRecord>, StoreError> {
    let tx = read_tx(client).await?;
    let record = match load_record(&tx, id).await? {
        Some(record) if record.subject == subject => Some(record),
        _ => None,
    };
    tx.commit().await.db()?;
    Ok(record)
}

async fn list_tx(client: &mut Client, subject: &str) -> Result<Vec<SubmissionRecord>, StoreError> {
    let tx = read_tx(client).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM submissions WHERE subject = $1
                 ORDER BY received_at_ms DESC, row_seq DESC"
            ),
            &[&subject],
        )
        .await
        .db()?;
    let mut records = rows.iter().map(record_from_row).collect::<Result<Vec<_>, _>>()?;
    for record in &mut records {
        record.history = load_history(&tx, &record.id).await?;
    }
    tx.commit().await.db()?;
    Ok(records)
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

#[cfg(test)]
mod tests {
    //! Against a real PostgreSQL: `scripts/pg-test.sh cargo test -p intake postgres` starts a
    //! throwaway server and sets `INTAKE_TEST_POSTGRES_URL`. Without that variable these tests
    //! fail (they do not skip): a green run must have exercised PostgreSQL.
    //!
    //! Each test works in its own fresh schema (`search_path`), so they run in parallel on
    //! one database; the schema is dropped when the test passes.

    use super::*;
    use std::sync::Arc;

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
}
