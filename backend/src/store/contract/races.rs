//! The contract's races and crashes: inserts of one key at the same moment (one task, then
//! threads and connections), and a restart with a claim in flight.

use std::sync::Arc;

use super::*;

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
