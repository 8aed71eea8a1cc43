//! A person's submissions in PostgreSQL: the idempotent insert and the reads by key, by id and
//! by subject.

use intake_rules::wire::SubmissionStatus;
use tokio_postgres::Client;

use super::{Db as _, RECORD_COLUMNS, add_history, col, load_history, load_record, read_tx, record_from_row};
use crate::store::{InsertOutcome, NewSubmission, StoreError, SubmissionRecord, kind_text};

pub(super) async fn insert_tx(client: &mut Client, new: &NewSubmission) -> Result<InsertOutcome, StoreError> {
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
                &crate::store::receipt_key(&new.id),
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

pub(super) async fn find_by_key_tx(
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

pub(super) async fn get_tx(
    client: &mut Client,
    subject: &str,
    id: &str,
) -> Result<Option<SubmissionRecord>, StoreError> {
    let tx = read_tx(client).await?;
    let record = match load_record(&tx, id).await? {
        Some(record) if record.subject == subject => Some(record),
        _ => None,
    };
    tx.commit().await.db()?;
    Ok(record)
}

pub(super) async fn list_tx(client: &mut Client, subject: &str) -> Result<Vec<SubmissionRecord>, StoreError> {
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
