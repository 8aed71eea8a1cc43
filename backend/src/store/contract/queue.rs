//! The contract's cases for the queue: claims and leases, the forwarder's marks, purge, the outbox
//! and its statistics.

use super::*;

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
