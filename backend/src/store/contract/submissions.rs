//! The contract's cases for a person's submissions: the idempotent insert, the reads, receipt numbers.

use super::*;

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
