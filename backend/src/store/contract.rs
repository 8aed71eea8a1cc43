//! The store contract: what every `Store` must do, written once against
//! `&dyn Store` so each backend runs the same suite (SQLite below; the
//! PostgreSQL store calls [`run_all`], [`concurrent_same_key`] and
//! [`survives_restart`] the same way).
//!
//! Every case uses fresh random subjects, keys and ids, and ends by sweeping
//! whatever is still due out of the queue, so the cases can also run one
//! after another on one shared database ([`run_all`]). They assume nobody
//! else uses that database meanwhile (queue statistics are compared before
//! and after).

use std::sync::Arc;

use intake_rules::wire::SubmissionStatus;

use super::{
    Claimed, HistoryEntry, InsertOutcome, NewSubmission, OutboxRow, Store, StoredFile, SubmissionKind, SubmissionRecord,
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

/// Issue 13: the receipt number (derived from a UUID id's random bits) is unique in the store:
/// a second submission whose id has the same random bits is refused, whatever its subject, and
/// ids that are not UUIDs (no number) never collide.
pub(crate) async fn receipt_numbers_are_unique(store: &dyn Store) {
    let at = T0 + 20 * HOUR;
    let random = uuid::Uuid::new_v4().simple().to_string();
    let tail = &random[20..];
    let (a, b, c) = (subject(), subject(), subject());
    let first = NewSubmission {
        id: format!("0193a5b2-7c1e-7d3f-9a4b-{tail}"),
        ..submission(&a, "receipt-key-1", "hash-r1", at)
    };
    let same_number = NewSubmission {
        id: format!("0193a5b2-ffff-7d3f-9a4b-{tail}"),
        ..submission(&b, "receipt-key-2", "hash-r2", at)
    };
    assert_eq!(
        crate::store::receipt_key(&first.id),
        crate::store::receipt_key(&same_number.id),
        "the two ids share their receipt number"
    );
    assert!(matches!(store.insert(first.clone()).await, Ok(InsertOutcome::Created(_))));
    assert!(store.insert(same_number).await.is_err(), "the unique constraint refuses a second holder of a number");
    let other = NewSubmission {
        id: format!("0193a5b2-7c1e-7d3f-9a4c-{tail}"),
        ..submission(&b, "receipt-key-3", "hash-r3", at)
    };
    assert!(matches!(store.insert(other).await, Ok(InsertOutcome::Created(_))), "another number is stored");
    for i in 0..3 {
        let plain = submission(&c, &format!("receipt-plain-{i}"), "hash-p", at);
        assert!(matches!(store.insert(plain).await, Ok(InsertOutcome::Created(_))), "ids without a number");
    }
}

/// Created, then Existing for the same key and body, Conflict for another body,
/// and the same key from another subject is a separate submission.
pub(crate) async fn insert_is_idempotent_per_subject(store: &dyn Store) {
    let at = T0;
    let (alice, bob) = (subject(), subject());
    let key = unique("key");

    let mut first = submission(&alice, &key, "hash-1", at);
    first.kind = SubmissionKind::Amendment { of: unique("earlier") };
    let first_id = first.id.clone();
    let stored = created(store, first.clone()).await;
    assert_eq!(stored, fresh_record(&first));

    // A retry of the same request: the API generated a new id, the store answers with the original.
    let again = submission(&alice, &key, "hash-1", at + 5);
    match store.insert(again).await.expect("insert again") {
        InsertOutcome::Existing(existing) => {
            assert_eq!(existing.id, first_id);
            assert_eq!(existing, stored);
        }
        other => panic!("expected Existing, got {other:?}"),
    }

    // The API's early look-up finds it by key, with its body hash; only for its own subject.
    let (found, hash) = store.find_by_key(&alice, &key).await.expect("find_by_key").expect("found by key");
    assert_eq!((found, hash.as_str()), (stored.clone(), "hash-1"));
    assert_eq!(store.find_by_key(&bob, &key).await.expect("find_by_key"), None);
    assert_eq!(store.find_by_key(&alice, &unique("key")).await.expect("find_by_key"), None);

    let changed = submission(&alice, &key, "hash-2", at + 6);
    let changed_id = changed.id.clone();
    assert_eq!(store.insert(changed).await.expect("insert changed"), InsertOutcome::Conflict);
    assert!(store.get(&alice, &changed_id).await.expect("get").is_none(), "a conflict stores nothing");

    let bobs = submission(&bob, &key, "hash-1", at + 7);
    let bobs_id = bobs.id.clone();
    let bobs_record = created(store, bobs).await;
    assert_ne!(bobs_id, first_id);
    assert_eq!(bobs_record.subject, bob);
    let (found, _) = store.find_by_key(&bob, &key).await.expect("find_by_key").expect("found by key");
    assert_eq!(found.id, bobs_id);

    assert_eq!(store.list(&alice).await.expect("list").len(), 1);
    assert_eq!(store.list(&bob).await.expect("list").len(), 1);
    // The existing submission is still the one and only, with its history.
    assert_eq!(record(store, &alice, &first_id).await, stored);
    sweep(store).await;
}

/// `get` and `list` see only the subject's own submissions; list is newest first with history.
pub(crate) async fn get_and_list_only_show_the_subjects_own(store: &dyn Store) {
    let at = T0 + HOUR;
    let (alice, bob) = (subject(), subject());
    let older = submission(&alice, &unique("key"), "h", at);
    let newer = submission(&alice, &unique("key"), "h", at + 10);
    let bobs = submission(&bob, &unique("key"), "h", at + 5);
    // Inserted out of time order: list must order by receive time, not insertion.
    created(store, newer.clone()).await;
    created(store, older.clone()).await;
    created(store, bobs.clone()).await;

    assert_eq!(record(store, &alice, &older.id).await, fresh_record(&older));
    assert_eq!(store.get(&bob, &older.id).await.expect("get"), None, "another subject's id is not found");
    assert_eq!(store.get(&alice, &bobs.id).await.expect("get"), None);
    assert_eq!(store.get(&alice, &unique("missing")).await.expect("get"), None);

    let list = store.list(&alice).await.expect("list");
    assert_eq!(list, vec![fresh_record(&newer), fresh_record(&older)]);
    assert_eq!(store.list(&bob).await.expect("list"), vec![fresh_record(&bobs)]);
    assert_eq!(store.list(&subject()).await.expect("list"), vec![]);

    // History shows up in both views once there is more than one entry.
    let claim = claim_one(store, at + 20, &older.id).await;
    assert!(store.mark_forwarded(&older.id, &claim.lease_token, true, at + 30).await.expect("mark"));
    let got = record(store, &alice, &older.id).await;
    assert_eq!(got.history.len(), 3);
    let listed = store.list(&alice).await.expect("list");
    assert_eq!(listed[1], got);
    sweep(store).await;
}

/// A claim leases; a second claim during the lease gets nothing; after expiry the
/// submission is claimed again with a new token and the old token's marks fail.
pub(crate) async fn claim_leases_and_an_expired_lease_moves_on(store: &dyn Store) {
    let at = T0 + 2 * HOUR;
    let alice = subject();
    let new = submission(&alice, &unique("key"), "h", at);
    let id = new.id.clone();
    created(store, new.clone()).await;

    assert!(claim_of(store, at - 1, &[&id]).await.is_empty(), "not due before it was received");

    let first = claim_one(store, at, &id).await;
    assert_eq!(first.kind, new.kind);
    assert_eq!(first.identity_json, new.identity_json);
    assert_eq!(first.bundle_json, new.bundle_json);
    assert_eq!(sorted(first.files.clone()), sorted(new.files.clone()), "files come back byte for byte");
    assert_eq!(first.attempts, 0);
    assert_eq!(first.received_at_ms, at);
    assert!(!first.lease_token.is_empty());

    assert!(claim_of(store, at + 1, &[&id]).await.is_empty(), "leased: not claimable");
    assert!(claim_of(store, at + LEASE - 1, &[&id]).await.is_empty(), "still leased");

    let second = claim_one(store, at + LEASE + 1, &id).await;
    assert_ne!(second.lease_token, first.lease_token, "a new claim gets a new token");
    assert_eq!(second.attempts, 0, "an expired lease is not an attempt");
    assert_eq!(sorted(second.files.clone()), sorted(new.files.clone()));

    // The first worker comes back late: every mark with its token fails and changes nothing.
    let late = at + LEASE + 2;
    assert!(!store.mark_forwarded(&id, &first.lease_token, true, late).await.expect("mark"));
    assert!(!store.mark_retry(&id, &first.lease_token, late + 1000, "late", late).await.expect("mark"));
    assert!(!store.mark_attention(&id, &first.lease_token, "late", late).await.expect("mark"));
    assert!(!store.mark_forwarded(&id, "not-a-token", false, late).await.expect("mark"));
    assert!(!store.mark_forwarded(&unique("unknown"), &second.lease_token, false, late).await.expect("mark"));
    assert_eq!(record(store, &alice, &id).await, fresh_record(&new));

    // The current holder succeeds, once.
    assert!(store.mark_forwarded(&id, &second.lease_token, false, late + 1).await.expect("mark"));
    assert!(!store.mark_forwarded(&id, &second.lease_token, false, late + 2).await.expect("mark"), "lease released");
    let got = record(store, &alice, &id).await;
    assert_eq!(got.status, SubmissionStatus::Forwarded);
    assert_eq!(got.attempts, 1);
    assert!(claim_of(store, FAR, &[&id]).await.is_empty(), "delivered: never claimed again");
    sweep(store).await;
}

/// Claims take due submissions only, earliest due first, at most `limit`.
pub(crate) async fn claim_respects_due_time_order_and_limit(store: &dyn Store) {
    let at = T0 + 3 * HOUR;
    let alice = subject();
    let a = submission(&alice, &unique("key"), "h", at + 2);
    let b = submission(&alice, &unique("key"), "h", at);
    let c = submission(&alice, &unique("key"), "h", at + 1);
    let later = submission(&alice, &unique("key"), "h", at + 100);
    for new in [&a, &b, &c, &later] {
        created(store, new.clone()).await;
    }

    assert!(store.claim_due(at + 50, LEASE, 0).await.expect("claim").is_empty(), "limit 0 claims nothing");
    let claimed = store.claim_due(at + 50, LEASE, 2).await.expect("claim");
    let ids: Vec<&str> = claimed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![b.id.as_str(), c.id.as_str()], "earliest due first, at most the limit");
    let rest = store.claim_due(at + 50, LEASE, 10).await.expect("claim");
    let ids: Vec<&str> = rest.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec![a.id.as_str()], "the one not yet due stays");
    let tokens: Vec<&str> = claimed.iter().chain(&rest).map(|c| c.lease_token.as_str()).collect();
    for (i, token) in tokens.iter().enumerate() {
        assert!(!tokens[i + 1..].contains(token), "every claim gets its own token");
    }
    sweep(store).await;
}

/// A retry counts the attempt, keeps the error, adds no history, and is due again at `next_attempt_ms`.
pub(crate) async fn retry_schedules_the_next_attempt(store: &dyn Store) {
    let at = T0 + 4 * HOUR;
    let alice = subject();
    let new = submission(&alice, &unique("key"), "h", at);
    let id = new.id.clone();
    created(store, new.clone()).await;

    let first = claim_one(store, at, &id).await;
    let next = at + 60_000;
    assert!(store.mark_retry(&id, &first.lease_token, next, "platform: 503", at + 10).await.expect("retry"));
    assert!(!store.mark_retry(&id, &first.lease_token, next, "again", at + 11).await.expect("retry"), "lease released");

    let got = record(store, &alice, &id).await;
    assert_eq!(got.status, SubmissionStatus::Received);
    assert_eq!(got.attempts, 1);
    assert_eq!(got.last_error.as_deref(), Some("platform: 503"));
    assert_eq!(got.history, fresh_record(&new).history, "a retry is not a status change");

    let row = outbox_of(store, false, &[&id]).await;
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].next_attempt_ms, Some(next));
    assert_eq!(row[0].attempts, 1);
    assert_eq!(row[0].last_error.as_deref(), Some("platform: 503"));

    assert!(claim_of(store, next - 1, &[&id]).await.is_empty(), "not before the next attempt");
    let second = claim_one(store, next, &id).await;
    assert_eq!(second.attempts, 1);
    assert_ne!(second.lease_token, first.lease_token);

    assert!(store.mark_retry(&id, &second.lease_token, next + 120_000, "timeout", next + 5).await.expect("retry"));
    let got = record(store, &alice, &id).await;
    assert_eq!(got.attempts, 2);
    assert_eq!(got.last_error.as_deref(), Some("timeout"));
    sweep(store).await;
}

/// A refusal needs attention with its reason; `retry_now` puts it back in the queue, due now.
pub(crate) async fn attention_then_retry_now_requeues(store: &dyn Store) {
    let at = T0 + 5 * HOUR;
    let alice = subject();
    let new = submission(&alice, &unique("key"), "h", at);
    let id = new.id.clone();
    created(store, new.clone()).await;

    let claim = claim_one(store, at, &id).await;
    let reason = "platform: photo is blurred";
    assert!(store.mark_attention(&id, &claim.lease_token, reason, at + 10).await.expect("attention"));
    assert!(!store.mark_attention(&id, &claim.lease_token, reason, at + 11).await.expect("attention"), "released");

    let got = record(store, &alice, &id).await;
    assert_eq!(got.status, SubmissionStatus::NeedsAttention);
    assert_eq!(got.attempts, 1);
    assert_eq!(got.last_error.as_deref(), Some(reason));
    assert_eq!(
        got.history,
        vec![
            entry(at, SubmissionStatus::Received, None),
            entry(at + 10, SubmissionStatus::NeedsAttention, Some(reason))
        ]
    );
    assert!(claim_of(store, FAR, &[&id]).await.is_empty(), "needs attention: not forwarded");
    let attention = outbox_of(store, true, &[&id]).await;
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0].status, SubmissionStatus::NeedsAttention);
    assert_eq!(attention[0].last_error.as_deref(), Some(reason));
    assert_eq!(outbox_of(store, false, &[&id]).await, attention);

    let requeued = at + HOUR / 2;
    assert!(store.retry_now(&id, requeued).await.expect("retry_now"));
    let got = record(store, &alice, &id).await;
    assert_eq!(got.status, SubmissionStatus::Received);
    assert_eq!(got.attempts, 1, "retry_now does not count an attempt");
    assert_eq!(got.history.len(), 3);
    assert_eq!(got.history[2], entry(requeued, SubmissionStatus::Received, Some("retried by operator")));
    assert!(outbox_of(store, true, &[&id]).await.is_empty());
    assert_eq!(outbox_of(store, false, &[&id]).await[0].next_attempt_ms, Some(requeued));

    assert!(claim_of(store, requeued - 1, &[&id]).await.is_empty(), "due at the retry, not before");
    let again = claim_one(store, requeued, &id).await;
    assert_eq!(again.attempts, 1);
    assert_eq!(sorted(again.files), sorted(new.files.clone()));

    // retry_now on a waiting submission: due now, releasing the lease; no history entry.
    assert!(store.retry_now(&id, requeued + 1).await.expect("retry_now"));
    assert_eq!(record(store, &alice, &id).await.history.len(), 3);
    let third = claim_one(store, requeued + 1, &id).await;
    assert!(!store.mark_forwarded(&id, &again.lease_token, true, requeued + 2).await.expect("mark"), "lease was reset");
    assert!(store.mark_forwarded(&id, &third.lease_token, true, requeued + 2).await.expect("mark"));

    assert!(!store.retry_now(&id, requeued + 3).await.expect("retry_now"), "delivered");
    assert!(!store.retry_now(&unique("unknown"), requeued + 3).await.expect("retry_now"), "unknown");
    assert_eq!(record(store, &alice, &id).await.status, SubmissionStatus::Accepted);
    sweep(store).await;
}

/// Forwarded adds one history entry; accepted adds forwarded then accepted.
pub(crate) async fn forwarded_and_accepted_history(store: &dyn Store) {
    let at = T0 + 6 * HOUR;
    let alice = subject();
    let only_forwarded = submission(&alice, &unique("key"), "h", at);
    let accepted = submission(&alice, &unique("key"), "h", at + 1);
    created(store, only_forwarded.clone()).await;
    created(store, accepted.clone()).await;

    let claims = claim_of(store, at + 10, &[&only_forwarded.id, &accepted.id]).await;
    assert_eq!(claims.len(), 2);
    for claim in &claims {
        let is_accepted = claim.id == accepted.id;
        assert!(store.mark_forwarded(&claim.id, &claim.lease_token, is_accepted, at + 20).await.expect("mark"));
    }

    let got = record(store, &alice, &only_forwarded.id).await;
    assert_eq!(got.status, SubmissionStatus::Forwarded);
    assert_eq!(got.attempts, 1);
    assert_eq!(
        got.history,
        vec![entry(at, SubmissionStatus::Received, None), entry(at + 20, SubmissionStatus::Forwarded, None)]
    );
    let got = record(store, &alice, &accepted.id).await;
    assert_eq!(got.status, SubmissionStatus::Accepted);
    assert_eq!(got.attempts, 1);
    assert_eq!(
        got.history,
        vec![
            entry(at + 1, SubmissionStatus::Received, None),
            entry(at + 20, SubmissionStatus::Forwarded, None),
            entry(at + 20, SubmissionStatus::Accepted, None),
        ]
    );
    assert!(outbox_of(store, false, &[&only_forwarded.id, &accepted.id]).await.is_empty(), "delivered");
    assert!(claim_of(store, FAR, &[&only_forwarded.id, &accepted.id]).await.is_empty());
    sweep(store).await;
}

/// Purging deletes the files of submissions delivered before the cut-off only;
/// records and history stay.
///
/// Works at times before every other case so the counts are exact on a shared database.
pub(crate) async fn purge_removes_files_but_keeps_the_record(store: &dyn Store) {
    let at = 1_000_000;
    // Whatever an earlier run left delivered in this range goes first.
    store.purge_delivered_files(at + 1000).await.expect("purge");
    let alice = subject();
    let early = submission(&alice, &unique("key"), "h", at);
    let mut late = submission(&alice, &unique("key"), "h", at);
    late.files.truncate(1);
    // Received after the claim below, so that claim does not lease it.
    let waiting = submission(&alice, &unique("key"), "h", at + 500);
    for new in [&early, &late, &waiting] {
        created(store, new.clone()).await;
    }
    for claim in claim_of(store, at, &[&early.id, &late.id]).await {
        let delivered_at = if claim.id == early.id { at + 100 } else { at + 200 };
        assert!(store.mark_forwarded(&claim.id, &claim.lease_token, true, delivered_at).await.expect("mark"));
    }
    let early_record = record(store, &alice, &early.id).await;
    let late_record = record(store, &alice, &late.id).await;

    assert_eq!(store.purge_delivered_files(at + 100).await.expect("purge"), 0, "delivered at the cut-off: kept");
    assert_eq!(store.purge_delivered_files(at + 101).await.expect("purge"), 4, "the four files of `early`");
    assert_eq!(store.purge_delivered_files(at + 101).await.expect("purge"), 0, "nothing left to purge");
    assert_eq!(store.purge_delivered_files(at + 1000).await.expect("purge"), 1, "the one file of `late`");

    assert_eq!(record(store, &alice, &early.id).await, early_record, "record and history stay");
    assert_eq!(record(store, &alice, &late.id).await, late_record);
    assert_eq!(store.list(&alice).await.expect("list").len(), 3);
    assert!(!store.retry_now(&early.id, at + 2000).await.expect("retry_now"), "purged: cannot be forwarded again");

    // The waiting submission's files were not touched.
    let claim = claim_one(store, at + 2000, &waiting.id).await;
    assert_eq!(sorted(claim.files), sorted(waiting.files.clone()));
    sweep(store).await;
}

/// The outbox shows waiting and refused submissions, oldest first; only refused ones on request.
pub(crate) async fn outbox_lists_undelivered_oldest_first(store: &dyn Store) {
    let at = T0 + 7 * HOUR;
    let alice = subject();
    let refused = submission(&alice, &unique("key"), "h", at + 2);
    let waiting = submission(&alice, &unique("key"), "h", at + 1);
    let delivered = submission(&alice, &unique("key"), "h", at);
    let newest = submission(&alice, &unique("key"), "h", at + 3);
    for new in [&newest, &refused, &waiting, &delivered] {
        created(store, new.clone()).await;
    }
    let ids = [refused.id.as_str(), waiting.id.as_str(), delivered.id.as_str(), newest.id.as_str()];
    for claim in claim_of(store, at + 10, &[&refused.id, &delivered.id]).await {
        if claim.id == refused.id {
            assert!(store.mark_attention(&claim.id, &claim.lease_token, "refused", at + 20).await.expect("mark"));
        } else {
            assert!(store.mark_forwarded(&claim.id, &claim.lease_token, false, at + 20).await.expect("mark"));
        }
    }

    let all = outbox_of(store, false, &ids).await;
    assert_eq!(
        all,
        vec![
            OutboxRow {
                id: waiting.id.clone(),
                status: SubmissionStatus::Received,
                attempts: 0,
                received_at_ms: at + 1,
                next_attempt_ms: Some(at + 1),
                last_error: None,
            },
            OutboxRow {
                id: refused.id.clone(),
                status: SubmissionStatus::NeedsAttention,
                attempts: 1,
                received_at_ms: at + 2,
                next_attempt_ms: None,
                last_error: Some("refused".to_owned()),
            },
            OutboxRow {
                id: newest.id.clone(),
                status: SubmissionStatus::Received,
                attempts: 0,
                received_at_ms: at + 3,
                next_attempt_ms: Some(at + 3),
                last_error: None,
            },
        ]
    );
    let attention = outbox_of(store, true, &ids).await;
    assert_eq!(attention, vec![all[1].clone()]);
    sweep(store).await;
}

/// Queue statistics count waiting and refused submissions and find the oldest waiting one.
pub(crate) async fn stats_count_the_queue(store: &dyn Store) {
    let at = T0 + 8 * HOUR;
    let before = store.stats().await.expect("stats");
    let alice = subject();
    let a = submission(&alice, &unique("key"), "h", at + 5);
    let b = submission(&alice, &unique("key"), "h", at + 1);
    let c = submission(&alice, &unique("key"), "h", at + 3);
    let d = submission(&alice, &unique("key"), "h", at + 4);
    for new in [&a, &b, &c, &d] {
        created(store, new.clone()).await;
    }
    let oldest = |ours: i64| Some(before.oldest_queued_ms.map_or(ours, |theirs| theirs.min(ours)));

    let after_insert = store.stats().await.expect("stats");
    assert_eq!(after_insert.queued, before.queued + 4);
    assert_eq!(after_insert.needs_attention, before.needs_attention);
    assert_eq!(after_insert.oldest_queued_ms, oldest(at + 1));

    // b is refused, c delivered, a and d wait (one of them leased: still queued).
    for claim in claim_of(store, at + 10, &[&b.id, &c.id, &d.id]).await {
        if claim.id == b.id {
            assert!(store.mark_attention(&claim.id, &claim.lease_token, "refused", at + 20).await.expect("mark"));
        } else if claim.id == c.id {
            assert!(store.mark_forwarded(&claim.id, &claim.lease_token, true, at + 20).await.expect("mark"));
        }
    }
    let after = store.stats().await.expect("stats");
    assert_eq!(after.queued, before.queued + 2);
    assert_eq!(after.needs_attention, before.needs_attention + 1);
    assert_eq!(after.oldest_queued_ms, oldest(at + 4));

    assert!(store.retry_now(&b.id, at + 30).await.expect("retry_now"));
    let requeued = store.stats().await.expect("stats");
    assert_eq!(requeued.queued, before.queued + 3);
    assert_eq!(requeued.needs_attention, before.needs_attention);
    assert_eq!(requeued.oldest_queued_ms, oldest(at + 1), "the receive time counts, not the retry");
    sweep(store).await;
}

/// Eight inserts of one key at the same moment on one store: one Created, seven Existing.
/// (Polled together on one task; [`concurrent_same_key`] spreads them over threads.)
pub(crate) async fn simultaneous_inserts_store_once(store: &dyn Store) {
    let at = T0 + 9 * HOUR;
    let alice = subject();
    let key = unique("key");
    let new = || submission(&alice, &key, "h", at);
    let (r0, r1, r2, r3, r4, r5, r6, r7) = tokio::join!(
        store.insert(new()),
        store.insert(new()),
        store.insert(new()),
        store.insert(new()),
        store.insert(new()),
        store.insert(new()),
        store.insert(new()),
        store.insert(new()),
    );
    let outcomes: Vec<InsertOutcome> =
        [r0, r1, r2, r3, r4, r5, r6, r7].into_iter().map(|r| r.expect("insert")).collect();
    check_one_created(&outcomes, &store.list(&alice).await.expect("list"));
    sweep(store).await;
}

/// Exactly one `Created`, the rest `Existing` of it, and the subject has just that submission.
fn check_one_created(outcomes: &[InsertOutcome], listed: &[SubmissionRecord]) {
    let created: Vec<&SubmissionRecord> =
        outcomes.iter().filter_map(|o| if let InsertOutcome::Created(r) = o { Some(r) } else { None }).collect();
    assert_eq!(created.len(), 1, "exactly one insert creates: {outcomes:?}");
    for outcome in outcomes {
        match outcome {
            InsertOutcome::Created(_) => {}
            InsertOutcome::Existing(existing) => assert_eq!(existing.id, created[0].id),
            InsertOutcome::Conflict => panic!("same body reported as a conflict"),
        }
    }
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, created[0].id);
}

/// Eight tasks on the runtime's threads insert one key at once, through the given
/// handles in turn (several handles of one database race across connections).
/// Then eight more race with two different bodies: one is stored, the same body
/// is Existing, the other Conflict.
pub(crate) async fn concurrent_same_key(stores: &[Arc<dyn Store>]) {
    assert!(!stores.is_empty());
    let at = T0 + 10 * HOUR;
    let alice = subject();

    let key = unique("key");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::clone(&stores[i % stores.len()]);
        let new = submission(&alice, &key, "same", at);
        tasks.push(tokio::spawn(async move { store.insert(new).await }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task").expect("insert"));
    }
    check_one_created(&outcomes, &stores[0].list(&alice).await.expect("list"));

    let bob = subject();
    let key = unique("key");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::clone(&stores[i % stores.len()]);
        let hash = if i % 2 == 0 { "even" } else { "odd" };
        let new = submission(&bob, &key, hash, at);
        tasks.push(tokio::spawn(async move { (hash, store.insert(new).await) }));
    }
    let mut results = Vec::new();
    for task in tasks {
        let (hash, outcome) = task.await.expect("task");
        results.push((hash, outcome.expect("insert")));
    }
    let winner = results
        .iter()
        .find_map(|(hash, o)| matches!(o, InsertOutcome::Created(_)).then_some(*hash))
        .expect("one insert creates");
    let mut created = 0;
    for (hash, outcome) in &results {
        match outcome {
            InsertOutcome::Created(_) => created += 1,
            InsertOutcome::Existing(_) => assert_eq!(*hash, winner, "Existing only for the stored body"),
            InsertOutcome::Conflict => assert_ne!(*hash, winner, "Conflict only for the other body"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(stores[0].list(&bob).await.expect("list").len(), 1);
    sweep(&*stores[0]).await;
}

/// Everything acknowledged survives a restart, and a claim in flight when the
/// process died becomes claimable again once its lease expires.
/// `open` opens the same database anew each time.
pub(crate) async fn survives_restart(open: &dyn Fn() -> Box<dyn Store>) {
    let at = T0 + 11 * HOUR;
    let alice = subject();
    let delivered = submission(&alice, &unique("key"), "h", at);
    let in_flight = submission(&alice, &unique("key"), "h", at + 1);
    {
        let store = open();
        created(&*store, delivered.clone()).await;
        created(&*store, in_flight.clone()).await;
        for claim in claim_of(&*store, at + 10, &[&delivered.id, &in_flight.id]).await {
            if claim.id == delivered.id {
                assert!(store.mark_forwarded(&claim.id, &claim.lease_token, true, at + 20).await.expect("mark"));
            }
        }
        // Dropped here with `in_flight` leased, as if the process died mid-forward.
    }

    let store = open();
    let got = record(&*store, &alice, &delivered.id).await;
    assert_eq!(got.status, SubmissionStatus::Accepted);
    assert_eq!(got.history.len(), 3);
    assert_eq!(record(&*store, &alice, &in_flight.id).await, fresh_record(&in_flight));
    match store.insert(submission(&alice, &delivered.idempotency_key, "h", at + 30)).await.expect("insert") {
        InsertOutcome::Existing(existing) => assert_eq!(existing.id, delivered.id),
        other => panic!("the idempotency key must survive a restart, got {other:?}"),
    }
    assert!(claim_of(&*store, at + 11, &[&in_flight.id]).await.is_empty(), "the lease survives too");
    let claim = claim_one(&*store, at + 10 + LEASE + 1, &in_flight.id).await;
    assert_eq!(sorted(claim.files), sorted(in_flight.files.clone()));
    assert!(store.mark_forwarded(&in_flight.id, &claim.lease_token, false, at + LEASE + 20).await.expect("mark"));
    drop(store);

    let store = open();
    let list = store.list(&alice).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, in_flight.id);
    assert_eq!(list[0].status, SubmissionStatus::Forwarded);
    sweep(&*store).await;
}

/// The suite against SQLite: each case on a fresh in-memory database and on a
/// fresh database file, the whole suite on one shared store, plus the
/// multi-connection race and the restart.
mod sqlite {
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
}
