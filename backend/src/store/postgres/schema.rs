//! The PostgreSQL schema: its migrations, applied in order under an advisory lock.

use tokio_postgres::Client;

use super::{Db as _, col};
use crate::store::{StoreError, check_schema_version};

/// Advisory lock held while migrating, so processes starting together migrate one after another.
const MIGRATION_LOCK: i64 = 0x696e_7461_6b65; // "intake"

/// Schema migrations; entry `i` brings the database to version `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
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

/// Applies the migrations the database has not seen yet, in one transaction.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
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
