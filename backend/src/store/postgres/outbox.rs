//! The outbox in PostgreSQL: leased claims (`FOR UPDATE SKIP LOCKED`), the forwarder's marks,
//! the purge of delivered files and the operators' views (outbox, retry now, queue statistics).

use intake_rules::wire::SubmissionStatus;
use tokio_postgres::Client;

use super::{Db as _, add_history, col, kind_at, load_files, read_tx, status_at, u32_at};
use crate::store::{Claimed, OutboxRow, QueueStats, StoreError};

pub(super) async fn claim_tx(
    client: &mut Client,
    now_ms: i64,
    lease_ms: i64,
    limit: usize,
) -> Result<Vec<Claimed>, StoreError> {
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

pub(super) async fn forwarded_tx(
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

pub(super) async fn retry_tx(
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

pub(super) async fn attention_tx(
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

pub(super) async fn purge_tx(client: &mut Client, before_ms: i64) -> Result<u64, StoreError> {
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

pub(super) async fn outbox_query(client: &mut Client, only_attention: bool) -> Result<Vec<OutboxRow>, StoreError> {
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

pub(super) async fn retry_now_tx(client: &mut Client, id: &str, now_ms: i64) -> Result<bool, StoreError> {
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

pub(super) async fn stats_tx(client: &mut Client) -> Result<QueueStats, StoreError> {
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
