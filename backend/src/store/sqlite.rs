//! The default store: one SQLite file in WAL mode.
//!
//! rusqlite is synchronous, so every operation runs on tokio's blocking pool
//! (`spawn_blocking`) against one connection behind a mutex; the async
//! runtime is never blocked on disk. Every write is one `BEGIN IMMEDIATE`
//! transaction, which takes SQLite's write lock before the first read: a
//! lookup followed by an insert or update cannot interleave with another
//! writer, even one in another process (`intake outbox` opening the same
//! file), and `synchronous=FULL` makes a committed transaction survive a
//! power cut before `insert` returns.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use intake_rules::wire::SubmissionStatus;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{
    Claimed, HistoryEntry, InsertOutcome, NewSubmission, OutboxRow, QueueStats, Store, StoreError, StoredFile,
    SubmissionKind, SubmissionRecord, check_schema_version, kind_text, parse_kind, parse_status,
};

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// Schema migrations; entry `i` brings the database to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1: submissions, their files and their status history.
    "CREATE TABLE submissions (
        id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        body_hash TEXT NOT NULL,
        identity_json TEXT NOT NULL,
        bundle_json TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('received', 'forwarded', 'accepted', 'needs_attention')),
        received_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER,
        lease_token TEXT,
        lease_until_ms INTEGER,
        last_error TEXT,
        delivered_at_ms INTEGER,
        files_purged INTEGER NOT NULL DEFAULT 0,
        UNIQUE (subject, idempotency_key)
    );
    CREATE INDEX submissions_due ON submissions (status, next_attempt_ms);
    CREATE INDEX submissions_by_subject ON submissions (subject, received_at_ms);
    CREATE INDEX submissions_unpurged ON submissions (delivered_at_ms)
        WHERE delivered_at_ms IS NOT NULL AND files_purged = 0;
    CREATE TABLE files (
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        part TEXT NOT NULL,
        idx INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (submission_id, part, idx)
    );
    CREATE TABLE history (
        submission_id TEXT NOT NULL REFERENCES submissions (id),
        seq INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
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

/// The SQLite store. Cloning shares the connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if needed) the database
    /// at `path` and brings its schema up to date.
    ///
    /// This blocks on disk; call it at startup, not on a runtime thread that serves requests.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError(format!("cannot create directory {}: {e}", parent.display())))?;
        }
        let conn =
            Connection::open(path).map_err(|e| StoreError(format!("cannot open database {}: {e}", path.display())))?;
        conn.busy_timeout(BUSY_TIMEOUT).db()?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).db()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError(format!("database {} refused WAL journal mode (got {mode})", path.display())));
        }
        SqliteStore::setup(conn)
    }

    /// A private in-memory database (for tests): same schema, nothing persists.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().db()?;
        SqliteStore::setup(conn)
    }

    fn setup(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "synchronous", "FULL").db()?;
        // Deleted content is overwritten with zeros (purged images must not linger in free pages).
        conn.pragma_update(None, "secure_delete", "ON").db()?;
        conn.pragma_update(None, "foreign_keys", "ON").db()?;
        migrate(&mut conn)?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard =
                conn.lock().map_err(|_| StoreError("database connection unusable: a thread panicked".to_owned()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError(format!("database task failed: {e}")))?
    }
}

/// Maps rusqlite errors to `StoreError`.
trait Db<T> {
    fn db(self) -> Result<T, StoreError>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T, StoreError> {
        self.map_err(|e| StoreError(format!("sqlite: {e}")))
    }
}

/// Applies the migrations the database has not seen yet, in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            applied_at_ms INTEGER NOT NULL
        )",
    )
    .db()?;
    let current: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0)).db()?;
    let current = check_schema_version(current, MIGRATIONS.len())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    for (done, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql).db()?;
        tx.execute("INSERT INTO schema_version (version, applied_at_ms) VALUES (?1, ?2)", params![done + 1, now])
            .db()?;
    }
    tx.commit().db()
}

fn conversion_error(idx: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(StoreError(message)))
}

fn status_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<SubmissionStatus> {
    let text: String = row.get(idx)?;
    parse_status(&text).map_err(|e| conversion_error(idx, e.0))
}

fn kind_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<SubmissionKind> {
    let text: String = row.get(idx)?;
    parse_kind(&text).map_err(|e| conversion_error(idx, e.0))
}

/// A record without its history, from a row of `RECORD_COLUMNS`.
fn record_from_row(row: &Row<'_>) -> rusqlite::Result<SubmissionRecord> {
    Ok(SubmissionRecord {
        id: row.get(0)?,
        subject: row.get(1)?,
        kind: kind_at(row, 2)?,
        status: status_at(row, 3)?,
        received_at_ms: row.get(4)?,
        attempts: row.get(5)?,
        last_error: row.get(6)?,
        history: Vec::new(),
    })
}

fn load_history(conn: &Connection, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT at_ms, status, note FROM history WHERE submission_id = ?1 ORDER BY seq").db()?;
    let rows = stmt
        .query_map([id], |row| Ok(HistoryEntry { at_ms: row.get(0)?, status: status_at(row, 1)?, note: row.get(2)? }))
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

fn load_record(conn: &Connection, id: &str) -> Result<Option<SubmissionRecord>, StoreError> {
    let record = conn
        .query_row(&format!("SELECT {RECORD_COLUMNS} FROM submissions WHERE id = ?1"), [id], record_from_row)
        .optional()
        .db()?;
    match record {
        Some(mut record) => {
            record.history = load_history(conn, id)?;
            Ok(Some(record))
        }
        None => Ok(None),
    }
}

/// The files of a submission, in the order they were stored.
fn load_files(conn: &Connection, id: &str) -> Result<Vec<StoredFile>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT part, idx, media_type, bytes FROM files WHERE submission_id = ?1 ORDER BY rowid")
        .db()?;
    let rows = stmt
        .query_map([id], |row| {
            Ok(StoredFile { part: row.get(0)?, index: row.get(1)?, media_type: row.get(2)?, bytes: row.get(3)? })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

/// Appends a status change to the history of `id`.
fn add_history(
    conn: &Connection,
    id: &str,
    at_ms: i64,
    status: SubmissionStatus,
    note: Option<&str>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO history (submission_id, seq, at_ms, status, note)
         VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM history WHERE submission_id = ?1), ?2, ?3, ?4)",
        params![id, at_ms, status.as_str(), note],
    )
    .db()?;
    Ok(())
}

fn insert_blocking(conn: &mut Connection, new: &NewSubmission) -> Result<InsertOutcome, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let existing: Option<(String, String)> = tx
        .query_row(
            "SELECT id, body_hash FROM submissions WHERE subject = ?1 AND idempotency_key = ?2",
            params![new.subject, new.idempotency_key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .db()?;
    if let Some((id, body_hash)) = existing {
        if body_hash != new.body_hash {
            return Ok(InsertOutcome::Conflict);
        }
        let record =
            load_record(&tx, &id)?.ok_or_else(|| StoreError(format!("submission {id} vanished during lookup")))?;
        return Ok(InsertOutcome::Existing(record));
    }
    tx.execute(
        "INSERT INTO submissions (id, subject, kind, idempotency_key, body_hash, identity_json, bundle_json,
                                  status, received_at_ms, updated_at_ms, attempts, next_attempt_ms, receipt_number)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'received', ?8, ?8, 0, ?8, ?9)",
        params![
            new.id,
            new.subject,
            kind_text(&new.kind)?,
            new.idempotency_key,
            new.body_hash,
            new.identity_json,
            new.bundle_json,
            new.received_at_ms,
            super::receipt_key(&new.id),
        ],
    )
    .db()?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO files (submission_id, part, idx, media_type, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .db()?;
        for file in &new.files {
            stmt.execute(params![new.id, file.part, file.index, file.media_type, file.bytes]).db()?;
        }
    }
    add_history(&tx, &new.id, new.received_at_ms, SubmissionStatus::Received, None)?;
    let record =
        load_record(&tx, &new.id)?.ok_or_else(|| StoreError(format!("submission {} vanished on insert", new.id)))?;
    tx.commit().db()?;
    Ok(InsertOutcome::Created(record))
}

fn claim_blocking(conn: &mut Connection, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let lease_until = now_ms.saturating_add(lease_ms);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let mut claimed = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, kind, identity_json, bundle_json, attempts, received_at_ms FROM submissions
                 WHERE status = 'received' AND next_attempt_ms <= ?1
                   AND (lease_until_ms IS NULL OR lease_until_ms < ?1)
                 ORDER BY next_attempt_ms, rowid
                 LIMIT ?2",
            )
            .db()?;
        let rows = stmt
            .query_map(params![now_ms, limit], |row| {
                Ok(Claimed {
                    id: row.get(0)?,
                    kind: kind_at(row, 1)?,
                    identity_json: row.get(2)?,
                    bundle_json: row.get(3)?,
                    files: Vec::new(),
                    attempts: row.get(4)?,
                    received_at_ms: row.get(5)?,
                    lease_token: String::new(),
                })
            })
            .db()?;
        rows.collect::<rusqlite::Result<Vec<_>>>().db()?
    };
    for claim in &mut claimed {
        claim.lease_token = uuid::Uuid::new_v4().to_string();
        tx.execute(
            "UPDATE submissions SET lease_token = ?2, lease_until_ms = ?3, updated_at_ms = ?4 WHERE id = ?1",
            params![claim.id, claim.lease_token, lease_until, now_ms],
        )
        .db()?;
        claim.files = load_files(&tx, &claim.id)?;
    }
    tx.commit().db()?;
    Ok(claimed)
}

fn forwarded_blocking(
    conn: &mut Connection,
    id: &str,
    lease_token: &str,
    accepted: bool,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let status = if accepted { SubmissionStatus::Accepted } else { SubmissionStatus::Forwarded };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let changed = tx
        .execute(
            "UPDATE submissions
             SET status = ?3, delivered_at_ms = ?4, updated_at_ms = ?4, attempts = attempts + 1,
                 next_attempt_ms = NULL, lease_token = NULL, lease_until_ms = NULL
             WHERE id = ?1 AND lease_token = ?2 AND status = 'received'",
            params![id, lease_token, status.as_str(), now_ms],
        )
        .db()?;
    if changed == 0 {
        return Ok(false);
    }
    add_history(&tx, id, now_ms, SubmissionStatus::Forwarded, None)?;
    if accepted {
        add_history(&tx, id, now_ms, SubmissionStatus::Accepted, None)?;
    }
    tx.commit().db()?;
    Ok(true)
}

fn retry_blocking(
    conn: &mut Connection,
    id: &str,
    lease_token: &str,
    next_attempt_ms: i64,
    error: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn
        .execute(
            "UPDATE submissions
             SET attempts = attempts + 1, next_attempt_ms = ?3, last_error = ?4, updated_at_ms = ?5,
                 lease_token = NULL, lease_until_ms = NULL
             WHERE id = ?1 AND lease_token = ?2 AND status = 'received'",
            params![id, lease_token, next_attempt_ms, error, now_ms],
        )
        .db()?;
    Ok(changed > 0)
}

fn attention_blocking(
    conn: &mut Connection,
    id: &str,
    lease_token: &str,
    reason: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let changed = tx
        .execute(
            "UPDATE submissions
             SET status = 'needs_attention', attempts = attempts + 1, last_error = ?3, updated_at_ms = ?4,
                 next_attempt_ms = NULL, lease_token = NULL, lease_until_ms = NULL
             WHERE id = ?1 AND lease_token = ?2 AND status = 'received'",
            params![id, lease_token, reason, now_ms],
        )
        .db()?;
    if changed == 0 {
        return Ok(false);
    }
    add_history(&tx, id, now_ms, SubmissionStatus::NeedsAttention, Some(reason))?;
    tx.commit().db()?;
    Ok(true)
}

fn purge_blocking(conn: &mut Connection, before_ms: i64) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let deleted = tx
        .execute(
            "DELETE FROM files WHERE submission_id IN (
                 SELECT id FROM submissions
                 WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms < ?1 AND files_purged = 0)",
            [before_ms],
        )
        .db()?;
    // The identity and the bundle were only kept for forwarding: the platform has them now.
    // (Under encryption at rest the identity JSON holds the wrapped data key: it goes too.)
    let rows = tx
        .execute(
            "UPDATE submissions SET files_purged = 1, identity_json = '{}', bundle_json = '{}'
             WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms < ?1 AND files_purged = 0",
            [before_ms],
        )
        .db()?;
    tx.commit().db()?;
    if deleted > 0 || rows > 0 {
        erase_leftovers(conn)?;
    }
    Ok(u64::try_from(deleted).unwrap_or(u64::MAX))
}

/// After a purge: with `secure_delete` the freed pages are zeros in the WAL; a `TRUNCATE`
/// checkpoint copies them into the database file and empties the WAL, so neither file keeps
/// the old frames. A checkpoint blocked by a reader in another process (`intake outbox`) is
/// logged and done again at the next purge.
fn erase_leftovers(conn: &mut Connection) -> Result<(), StoreError> {
    let (busy, log, done): (i64, i64, i64) = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .db()?;
    if busy != 0 {
        tracing::warn!(log, done, "the WAL checkpoint after a purge was blocked; it is retried at the next purge");
    }
    Ok(())
}

fn outbox_blocking(conn: &mut Connection, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = if only_attention {
        "SELECT id, status, attempts, received_at_ms, next_attempt_ms, last_error FROM submissions
         WHERE status = 'needs_attention' ORDER BY received_at_ms, rowid"
    } else {
        "SELECT id, status, attempts, received_at_ms, next_attempt_ms, last_error FROM submissions
         WHERE status IN ('received', 'needs_attention') ORDER BY received_at_ms, rowid"
    };
    let mut stmt = conn.prepare_cached(sql).db()?;
    let rows = stmt
        .query_map([], |row| {
            Ok(OutboxRow {
                id: row.get(0)?,
                status: status_at(row, 1)?,
                attempts: row.get(2)?,
                received_at_ms: row.get(3)?,
                next_attempt_ms: row.get(4)?,
                last_error: row.get(5)?,
            })
        })
        .db()?;
    rows.collect::<rusqlite::Result<Vec<_>>>().db()
}

fn retry_now_blocking(conn: &mut Connection, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).db()?;
    let found: Option<(String, bool)> = tx
        .query_row("SELECT status, files_purged FROM submissions WHERE id = ?1", [id], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
        .db()?;
    let Some((status, files_purged)) = found else {
        return Ok(false);
    };
    let was_attention = match status.as_str() {
        "needs_attention" => true,
        "received" => false,
        _ => return Ok(false),
    };
    if files_purged {
        return Ok(false);
    }
    tx.execute(
        "UPDATE submissions
         SET status = 'received', next_attempt_ms = ?2, updated_at_ms = ?2, lease_token = NULL, lease_until_ms = NULL
         WHERE id = ?1",
        params![id, now_ms],
    )
    .db()?;
    if was_attention {
        add_history(&tx, id, now_ms, SubmissionStatus::Received, Some("retried by operator"))?;
    }
    tx.commit().db()?;
    Ok(true)
}

fn stats_blocking(conn: &mut Connection) -> Result<QueueStats, StoreError> {
    let tx = conn.transaction().db()?;
    let (queued, oldest_queued_ms) = tx
        .query_row("SELECT COUNT(*), MIN(received_at_ms) FROM submissions WHERE status = 'received'", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .db()?;
    let needs_attention =
        tx.query_row("SELECT COUNT(*) FROM submissions WHERE status = 'needs_attention'", [], |row| row.get(0)).db()?;
    tx.commit().db()?;
    Ok(QueueStats { queued, oldest_queued_ms, needs_attention })
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert(&self, new: NewSubmission) -> Result<InsertOutcome, StoreError> {
        self.with_conn(move |conn| insert_blocking(conn, &new)).await
    }

    async fn find_by_key(&self, subject: &str, key: &str) -> Result<Option<(SubmissionRecord, String)>, StoreError> {
        let (subject, key) = (subject.to_owned(), key.to_owned());
        self.with_conn(move |conn| {
            let tx = conn.transaction().db()?;
            let found: Option<(String, String)> = tx
                .query_row(
                    "SELECT id, body_hash FROM submissions WHERE subject = ?1 AND idempotency_key = ?2",
                    params![subject, key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .db()?;
            let found = match found {
                Some((id, body_hash)) => load_record(&tx, &id)?.map(|record| (record, body_hash)),
                None => None,
            };
            tx.commit().db()?;
            Ok(found)
        })
        .await
    }

    async fn get(&self, subject: &str, id: &str) -> Result<Option<SubmissionRecord>, StoreError> {
        let (subject, id) = (subject.to_owned(), id.to_owned());
        self.with_conn(move |conn| {
            let tx = conn.transaction().db()?;
            let record = match load_record(&tx, &id)? {
                Some(record) if record.subject == subject => Some(record),
                _ => None,
            };
            tx.commit().db()?;
            Ok(record)
        })
        .await
    }

    async fn list(&self, subject: &str) -> Result<Vec<SubmissionRecord>, StoreError> {
        let subject = subject.to_owned();
        self.with_conn(move |conn| {
            let tx = conn.transaction().db()?;
            let mut records = {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {RECORD_COLUMNS} FROM submissions WHERE subject = ?1
                         ORDER BY received_at_ms DESC, rowid DESC"
                    ))
                    .db()?;
                let rows = stmt.query_map([&subject], record_from_row).db()?;
                rows.collect::<rusqlite::Result<Vec<_>>>().db()?
            };
            for record in &mut records {
                record.history = load_history(&tx, &record.id)?;
            }
            tx.commit().db()?;
            Ok(records)
        })
        .await
    }

    async fn claim_due(&self, now_ms: i64, lease_ms: i64, limit: usize) -> Result<Vec<Claimed>, StoreError> {
        self.with_conn(move |conn| claim_blocking(conn, now_ms, lease_ms, limit)).await
    }

    async fn mark_forwarded(
        &self,
        id: &str,
        lease_token: &str,
        accepted: bool,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (id, lease_token) = (id.to_owned(), lease_token.to_owned());
        self.with_conn(move |conn| forwarded_blocking(conn, &id, &lease_token, accepted, now_ms)).await
    }

    async fn mark_retry(
        &self,
        id: &str,
        lease_token: &str,
        next_attempt_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (id, lease_token, error) = (id.to_owned(), lease_token.to_owned(), error.to_owned());
        self.with_conn(move |conn| retry_blocking(conn, &id, &lease_token, next_attempt_ms, &error, now_ms)).await
    }

    async fn mark_attention(&self, id: &str, lease_token: &str, reason: &str, now_ms: i64) -> Result<bool, StoreError> {
        let (id, lease_token, reason) = (id.to_owned(), lease_token.to_owned(), reason.to_owned());
        self.with_conn(move |conn| attention_blocking(conn, &id, &lease_token, &reason, now_ms)).await
    }

    async fn purge_delivered_files(&self, before_ms: i64) -> Result<u64, StoreError> {
        self.with_conn(move |conn| purge_blocking(conn, before_ms)).await
    }

    async fn outbox(&self, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError> {
        self.with_conn(move |conn| outbox_blocking(conn, only_attention)).await
    }

    async fn retry_now(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.with_conn(move |conn| retry_now_blocking(conn, &id, now_ms)).await
    }

    async fn stats(&self) -> Result<QueueStats, StoreError> {
        self.with_conn(stats_blocking).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| conn.query_row("SELECT 1", [], |row| row.get::<_, i64>(0)).db().map(drop)).await
    }
}

#[cfg(test)]
mod tests {
    //! SQLite specifics; the behaviour every store shares is in `contract.rs`.

    use super::*;
    use std::path::PathBuf;

    /// A unique directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            TempDir(std::env::temp_dir().join(format!("intake-sqlite-{name}-{}", uuid::Uuid::new_v4())))
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn pragma(store: &SqliteStore, name: &str) -> String {
        let conn = store.conn.lock().unwrap();
        conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, rusqlite::types::Value>(0))
            .map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .unwrap()
    }

    fn schema_versions(store: &SqliteStore) -> Vec<i64> {
        let conn = store.conn.lock().unwrap();
        let mut stmt = conn.prepare("SELECT version FROM schema_version ORDER BY version").unwrap();
        stmt.query_map([], |row| row.get(0)).unwrap().collect::<rusqlite::Result<Vec<i64>>>().unwrap()
    }

    #[test]
    fn open_creates_directories_and_sets_pragmas() {
        let dir = TempDir::new("pragmas");
        let path = dir.0.join("a").join("b").join("intake.db");
        let store = SqliteStore::open(&path).unwrap();
        assert!(path.exists());
        assert_eq!(pragma(&store, "journal_mode"), "wal");
        assert_eq!(pragma(&store, "synchronous"), "2", "FULL");
        assert_eq!(pragma(&store, "foreign_keys"), "1");
        assert_eq!(pragma(&store, "busy_timeout"), "5000");
    }

    #[test]
    fn migrations_are_idempotent() {
        let dir = TempDir::new("migrations");
        let path = dir.0.join("intake.db");
        drop(SqliteStore::open(&path).unwrap());
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(schema_versions(&store), vec![1, 2]);
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(schema_versions(&store), vec![1, 2]);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = TempDir::new("newer");
        let path = dir.0.join("intake.db");
        let store = SqliteStore::open(&path).unwrap();
        store.conn.lock().unwrap().execute("INSERT INTO schema_version VALUES (99, 0)", []).unwrap();
        drop(store);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.0.contains("newer"), "{err}");
    }

    #[test]
    fn files_require_their_submission() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.conn.lock().unwrap();
        let err = conn
            .execute("INSERT INTO files VALUES ('nope', 'photo', 0, 'image/jpeg', x'00')", [])
            .expect_err("foreign keys are enforced");
        assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    }

    #[tokio::test]
    async fn purge_flags_the_row_and_deletes_the_bytes() {
        let store = SqliteStore::open_in_memory().unwrap();
        let new = NewSubmission {
            id: "s1".to_owned(),
            subject: "iss|alice".to_owned(),
            kind: SubmissionKind::Submission,
            idempotency_key: "k1".to_owned(),
            body_hash: "h1".to_owned(),
            identity_json: "{}".to_owned(),
            bundle_json: "{}".to_owned(),
            files: vec![StoredFile {
                part: "photo".to_owned(),
                index: 0,
                media_type: "image/jpeg".to_owned(),
                bytes: vec![1, 2, 3],
            }],
            received_at_ms: 1000,
        };
        assert!(matches!(store.insert(new).await.unwrap(), InsertOutcome::Created(_)));
        let claim = store.claim_due(1000, 10, 1).await.unwrap().remove(0);
        assert!(store.mark_forwarded("s1", &claim.lease_token, false, 1001).await.unwrap());
        assert_eq!(store.purge_delivered_files(2000).await.unwrap(), 1);
        let conn = store.conn.lock().unwrap();
        let (purged, files): (bool, i64) = conn
            .query_row(
                "SELECT files_purged, (SELECT COUNT(*) FROM files WHERE submission_id = 's1') FROM submissions",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert!(purged);
        assert_eq!(files, 0);
    }

    #[tokio::test]
    async fn a_poisoned_connection_is_an_error_not_a_panic() {
        let store = SqliteStore::open_in_memory().unwrap();
        let poisoner = store.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.conn.lock().unwrap();
            panic!("poison the mutex");
        })
        .join();
        let err = store.ping().await.unwrap_err();
        assert!(err.0.contains("unusable"), "{err}");
    }
}
