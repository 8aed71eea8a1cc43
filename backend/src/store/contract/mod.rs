//! The store contract: what every `Store` must do, written once against
//! `&dyn Store` so each backend runs the same suite (SQLite in `sqlite.rs`; the
//! PostgreSQL store calls [`run_all`], [`concurrent_same_key`] and
//! [`survives_restart`] the same way).
//!
//! Every case uses fresh random subjects, keys and ids, and ends by sweeping
//! whatever is still due out of the queue, so the cases can also run one
//! after another on one shared database ([`run_all`]). They assume nobody
//! else uses that database meanwhile (queue statistics are compared before
//! and after).
//!
//! The cases by concern: `submissions.rs` (the idempotent insert, the reads, receipt numbers),
//! `queue.rs` (claims and leases, the forwarder's marks, purge, outbox, statistics), `races.rs`
//! (simultaneous inserts of one key, a restart).

use intake_rules::wire::SubmissionStatus;

use super::{
    Claimed, HistoryEntry, InsertOutcome, NewSubmission, OutboxRow, Store, StoredFile, SubmissionKind, SubmissionRecord,
};

mod queue;
mod races;
mod sqlite;
mod submissions;

pub(crate) use queue::{
    attention_then_retry_now_requeues, claim_leases_and_an_expired_lease_moves_on,
    claim_respects_due_time_order_and_limit, forwarded_and_accepted_history, outbox_lists_undelivered_oldest_first,
    purge_removes_files_but_keeps_the_record, retry_schedules_the_next_attempt, stats_count_the_queue,
};
pub(crate) use races::{concurrent_same_key, simultaneous_inserts_store_once, survives_restart};
pub(crate) use submissions::{
    get_and_list_only_show_the_subjects_own, insert_is_idempotent_per_subject, receipt_numbers_are_unique,
};

/// A receive time; each case works in its own hour after it.
const T0: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
/// Lease length used by the cases.
const LEASE: i64 = 30_000;
/// Later than any time a case uses: everything still queued is due then.
const FAR: i64 = 4_000_000_000_000;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4())
}

fn subject() -> String {
    unique("https://issuer.example|user")
}

fn files() -> Vec<StoredFile> {
    vec![
        StoredFile {
            part: "photo".to_owned(),
            index: 0,
            media_type: "image/jpeg".to_owned(),
            bytes: vec![0xFF, 0xD8, 0, 1],
        },
        StoredFile {
            part: "id_front".to_owned(),
            index: 0,
            media_type: "image/jpeg".to_owned(),
            bytes: vec![0xFF, 2, 0],
        },
        StoredFile {
            part: "attachment".to_owned(),
            index: 1,
            media_type: "image/png".to_owned(),
            bytes: vec![0x89, 1],
        },
        StoredFile {
            part: "attachment".to_owned(),
            index: 0,
            media_type: "image/png".to_owned(),
            bytes: vec![0x89, 0],
        },
    ]
}

fn submission(subject: &str, key: &str, body_hash: &str, received_at_ms: i64) -> NewSubmission {
    NewSubmission {
        id: unique("sub"),
        subject: subject.to_owned(),
        kind: SubmissionKind::Submission,
        idempotency_key: key.to_owned(),
        body_hash: body_hash.to_owned(),
        identity_json: r#"{"sub":"user","name":"张三"}"#.to_owned(),
        bundle_json: format!(r#"{{"key":"{key}","given_name":"三"}}"#),
        files: files(),
        received_at_ms,
    }
}

/// The record `insert` must report for a submission it just stored.
fn fresh_record(new: &NewSubmission) -> SubmissionRecord {
    SubmissionRecord {
        id: new.id.clone(),
        subject: new.subject.clone(),
        kind: new.kind.clone(),
        status: SubmissionStatus::Received,
        received_at_ms: new.received_at_ms,
        attempts: 0,
        last_error: None,
        history: vec![entry(new.received_at_ms, SubmissionStatus::Received, None)],
    }
}

fn entry(at_ms: i64, status: SubmissionStatus, note: Option<&str>) -> HistoryEntry {
    HistoryEntry { at_ms, status, note: note.map(str::to_owned) }
}

fn sorted(mut files: Vec<StoredFile>) -> Vec<StoredFile> {
    files.sort_by(|a, b| (&a.part, a.index).cmp(&(&b.part, b.index)));
    files
}

async fn created(store: &dyn Store, new: NewSubmission) -> SubmissionRecord {
    match store.insert(new).await.expect("insert") {
        InsertOutcome::Created(record) => record,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn record(store: &dyn Store, subject: &str, id: &str) -> SubmissionRecord {
    store.get(subject, id).await.expect("get").unwrap_or_else(|| panic!("submission {id} not found"))
}

/// Claims at `now` and keeps only the claims of `ids`.
async fn claim_of(store: &dyn Store, now_ms: i64, ids: &[&str]) -> Vec<Claimed> {
    let claimed = store.claim_due(now_ms, LEASE, 1000).await.expect("claim_due");
    claimed.into_iter().filter(|c| ids.contains(&c.id.as_str())).collect()
}

/// Claims `id` at `now`, which must succeed.
async fn claim_one(store: &dyn Store, now_ms: i64, id: &str) -> Claimed {
    let mut claimed = claim_of(store, now_ms, &[id]).await;
    assert_eq!(claimed.len(), 1, "{id} should be claimable at {now_ms}");
    claimed.remove(0)
}

async fn outbox_of(store: &dyn Store, only_attention: bool, ids: &[&str]) -> Vec<OutboxRow> {
    let rows = store.outbox(only_attention).await.expect("outbox");
    rows.into_iter().filter(|r| ids.contains(&r.id.as_str())).collect()
}

/// Takes everything still queued out of the queue (needs attention), so the next case starts empty.
async fn sweep(store: &dyn Store) {
    loop {
        let claimed = store.claim_due(FAR, LEASE, 1000).await.expect("sweep claim");
        if claimed.is_empty() {
            return;
        }
        for claim in claimed {
            let marked = store.mark_attention(&claim.id, &claim.lease_token, "contract sweep", FAR).await;
            assert!(marked.expect("sweep mark"));
        }
    }
}

/// Every case that takes one `&dyn Store`, one after another on the same store.
pub(crate) async fn run_all(store: &dyn Store) {
    store.ping().await.expect("ping");
    insert_is_idempotent_per_subject(store).await;
    get_and_list_only_show_the_subjects_own(store).await;
    claim_leases_and_an_expired_lease_moves_on(store).await;
    claim_respects_due_time_order_and_limit(store).await;
    retry_schedules_the_next_attempt(store).await;
    attention_then_retry_now_requeues(store).await;
    forwarded_and_accepted_history(store).await;
    purge_removes_files_but_keeps_the_record(store).await;
    outbox_lists_undelivered_oldest_first(store).await;
    stats_count_the_queue(store).await;
    simultaneous_inserts_store_once(store).await;
    receipt_numbers_are_unique(store).await;
}
