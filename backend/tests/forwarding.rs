//! Forwarding through outages: the sandbox platform refuses connections,
//! answers 500/429/503, hangs past the timeout and drops connections, then
//! recovers; everything is delivered exactly once. A permanent 4xx lands in
//! "needs attention" with its reason, and an operator's retry delivers it.

mod common;

use std::time::Duration;

use common::*;
use intake_sandbox::platform::{Fault, PlatformSandbox};
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_then_recovery_delivers_everything_exactly_once() {
    let addr = free_port();
    let h = Harness::new("outage", |c| {
        c.forwarding.enabled = false;
        c.platform.base_url = format!("http://{addr}");
        c.platform.timeout_secs = 1;
    })
    .await;
    let people = ["xiamen-holder", "rare-name", "passport-holder"];
    let mut ids = Vec::new();
    for p in people {
        let (status, receipt) =
            h.submit("/api/v1/submissions", Some(&h.token(p)), Some(&format!("outage-{p}")), &valid_parts(p)).await;
        assert_eq!(status, 201, "{receipt}");
        ids.push(receipt["id"].as_str().unwrap().to_owned());
    }
    let stop = h.start_forwarder();
    // Phase 1: nothing listens (connection refused) for a while.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let refused = h.state.metrics.render(None, 0);
    assert!(!refused.contains("intake_forward_retries_total 0"), "refused connections were retried:\n{refused}");

    // Phase 2: the platform comes up but fails in every way, then recovers.
    let sandbox = PlatformSandbox::new(None);
    sandbox.push_faults(vec![
        Fault::Status { status: 500, retry_after: None },
        Fault::Status { status: 429, retry_after: Some(1) },
        Fault::Hang { ms: 3000 },
        Fault::Close,
        Fault::Status { status: 503, retry_after: None },
    ]);
    let (tx, rx) = oneshot::channel::<()>();
    let (_bound, server) = sandbox
        .clone()
        .serve(addr, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();

    let delivered = eventually(Duration::from_secs(30), || sandbox.stats().distinct == ids.len()).await;
    assert!(delivered, "all delivered: {:?}", sandbox.stats());
    // Exactly once per submission id, whatever was retried.
    let received = sandbox.received();
    for id in &ids {
        let n = received.iter().filter(|d| &d.key == id && !d.duplicate).count();
        assert_eq!(n, 1, "{id} received {n} times as new");
    }
    assert_eq!(sandbox.stats().faults_pending, 0, "every fault was exercised");
    // Statuses reach "accepted" and the images are gone (retention 0) while the receipt stays.
    for (p, id) in people.iter().zip(&ids) {
        let ok = {
            let mut done = false;
            for _ in 0..60 {
                let (_, one) = h.get(&format!("/api/v1/submissions/{id}"), Some(&h.token(p))).await;
                if one["status"] == "accepted" {
                    done = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            done
        };
        assert!(ok, "{id} accepted");
    }
    // What the platform received: the photo at the profile's pixels, no EXIF anywhere.
    let photo = received[0].parts.iter().find(|p| p.name == "photo").expect("photo part");
    assert_eq!((photo.width, photo.height), (Some(295), Some(413)));
    assert!(received.iter().all(|d| d.parts.iter().all(|p| !p.has_exif)));
    stop.notify_one();
    let _ = tx.send(());
    let _ = server.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_needs_attention_and_an_operator_retry_delivers_it() {
    let h = Harness::new("attention", |c| c.forwarding.enabled = false).await;
    h.sandbox.push_faults(vec![Fault::Reject { status: 422, reason: "单位信用代码与登记不符".into() }]);
    let token = h.token("xiamen-holder");
    let (status, receipt) =
        h.submit("/api/v1/submissions", Some(&token), Some("attention-key"), &valid_parts("xiamen-holder")).await;
    assert_eq!(status, 201);
    let id = receipt["id"].as_str().unwrap().to_owned();
    let stop = h.start_forwarder();
    let mut seen = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, one) = h.get(&format!("/api/v1/submissions/{id}"), Some(&token)).await;
        if one["status"] == "needs_attention" {
            seen = one;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen["reason"], "单位信用代码与登记不符", "{seen}");
    let dead = h.store.outbox(true).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    // Needing attention, the person may submit again; an operator may also retry it.
    assert!(h.store.retry_now(&id, intake::forwarder::now_ms()).await.unwrap());
    h.state.wake.notify_one();
    assert!(eventually(Duration::from_secs(10), || h.sandbox.stats().distinct == 1).await);
    stop.notify_one();
}
