//! Personal information never reaches the logs: a full submission and its
//! forwarding with tracing at debug level, then the captured output is
//! searched for the certificate number, the mobile and the name.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_certificate_number_mobile_or_name_in_debug_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new("logs", |_| {}).await;
    let person = intake_sandbox::people::person("xiamen-holder").unwrap();
    let token = h.token("xiamen-holder");
    let (status, receipt) =
        h.submit("/api/v1/submissions", Some(&token), Some("logs-key-1"), &valid_parts("xiamen-holder")).await;
    assert_eq!(status, 201, "{receipt}");
    // A refused one too (its problems carry the fields), and an invalid token.
    let mut bad = valid_parts("xiamen-holder");
    bad.retain(|p| p.name != "id_back");
    let _ = h.submit("/api/v1/submissions", Some(&token), Some("logs-key-2"), &bad).await;
    let _ = h.get("/api/v1/me", Some("garbage")).await;
    // And its forwarding.
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let f = intake::forwarder::Forwarder::new(
        h.store.clone(),
        h.state.platform.clone(),
        h.state.config.forwarding.clone(),
        h.state.metrics.clone(),
        h.state.wake.clone(),
    );
    let worker = tokio::spawn(f.run(stop.clone()));
    assert!(eventually(Duration::from_secs(10), || h.sandbox.stats().distinct == 1).await);
    stop.notify_one();
    let _ = worker.await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("submission stored"), "the capture works: {logs}");
    for secret in [person.certificate_number.as_str(), person.mobile.as_str(), person.name.as_str()] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs:\n{logs}");
    }
}
