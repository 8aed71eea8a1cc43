//! The outbox worker: claims due submissions with a lease, delivers them to
//! the platform with `Idempotency-Key: <submission id>`, retries transient
//! failures with exponential backoff and full jitter, and moves permanent
//! refusals to "needs attention". Because every state lives in the store and
//! every claim expires, a crash at any point resumes on restart; because the
//! platform deduplicates by key, a delivery repeated after a crash is still
//! received once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use crate::config::ForwardingConfig;
use crate::metrics::Metrics;
use crate::platform::{ForwardOutcome, PlatformClient};
use crate::store::{Claimed, Store};

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The delay before attempt `attempts + 1`: `base × 2^attempts`, capped, with
/// full jitter in its upper half; at least the platform's `Retry-After`.
pub fn backoff(config: &ForwardingConfig, attempts: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    let exp = config.base_delay_ms.saturating_mul(1u64 << attempts.min(20));
    let capped = exp.min(config.max_delay_ms) as f64;
    let delay = Duration::from_millis((capped * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u64);
    retry_after.map_or(delay, |r| delay.max(r))
}

/// The worker.
#[derive(Clone)]
pub struct Forwarder {
    store: Arc<dyn Store>,
    platform: PlatformClient,
    config: ForwardingConfig,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    /// Set by a delivery, so the purge runs soon after it (not only once a minute).
    delivered: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder").field("config", &self.config).finish()
    }
}

impl Forwarder {
    /// A worker over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        platform: PlatformClient,
        config: ForwardingConfig,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> Forwarder {
        Forwarder { store, platform, config, metrics, wake, delivered: Arc::default() }
    }

    /// Runs until `stop` is notified: claim, deliver, sleep until woken or the poll interval passes.
    pub async fn run(self, stop: Arc<Notify>) {
        let permits = Arc::new(Semaphore::new(self.config.concurrency));
        let mut last_purge = 0i64;
        loop {
            let now = now_ms();
            let free = permits.available_permits();
            if free > 0 {
                match self.store.claim_due(now, self.config.lease_secs as i64 * 1000, free).await {
                    Ok(claimed) => {
                        for c in claimed {
                            let Ok(permit) = permits.clone().acquire_owned().await else { return };
                            let this = self.clone();
                            tokio::spawn(async move {
                                this.deliver(c).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming due submissions failed"),
                }
            }
            // Image bytes go soon after delivery (within a second when kept for 0 hours), and
            // at least once a minute for those whose retention has just expired.
            let fresh = self.config.retention_hours == 0
                && self.delivered.load(std::sync::atomic::Ordering::Relaxed)
                && now - last_purge > 1000;
            if fresh || now - last_purge > 60_000 {
                last_purge = now;
                self.delivered.store(false, std::sync::atomic::Ordering::Relaxed);
                let before = now - self.config.retention_hours as i64 * 3_600_000;
                match self.store.purge_delivered_files(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(files = n, "deleted image bytes of delivered submissions"),
                    Err(e) => tracing::error!(error = %e, "purging delivered files failed"),
                }
            }
            tokio::select! {
                () = stop.notified() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(self.config.poll_interval_ms)) => {}
            }
        }
    }

    /// One delivery attempt and its bookkeeping.
    pub async fn deliver(&self, c: Claimed) {
        let started = std::time::Instant::now();
        let outcome = self.platform.forward(&c).await;
        let took = started.elapsed();
        let now = now_ms();
        let result = match &outcome {
            ForwardOutcome::Delivered { accepted } => {
                self.metrics.forward_attempt("delivered", took);
                self.metrics.forwarded(Duration::from_millis(u64::try_from(now - c.received_at_ms).unwrap_or(0)));
                tracing::info!(id = %c.id, attempts = c.attempts + 1, "forwarded to the platform");
                let marked = self.store.mark_forwarded(&c.id, &c.lease_token, *accepted, now).await;
                self.delivered.store(true, std::sync::atomic::Ordering::Relaxed);
                self.wake.notify_one();
                marked
            }
            ForwardOutcome::Retry { error, retry_after } => {
                self.metrics.forward_attempt("retry", took);
                self.metrics.retry();
                let delay = backoff(&self.config, c.attempts, *retry_after, rand::random::<f64>());
                tracing::warn!(id = %c.id, attempts = c.attempts + 1, %error, delay_ms = delay.as_millis() as u64, "forwarding failed, will retry");
                self.store.mark_retry(&c.id, &c.lease_token, now + delay.as_millis() as i64, error, now).await
            }
            ForwardOutcome::Permanent { reason } => {
                self.metrics.forward_attempt("refused", took);
                self.metrics.dead_letter();
                tracing::warn!(id = %c.id, %reason, "the platform refused the submission: needs attention");
                self.store.mark_attention(&c.id, &c.lease_token, reason, now).await
            }
        };
        match result {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(id = %c.id, "lease lost before the outcome was recorded; another worker owns it");
            }
            Err(e) => {
                tracing::error!(id = %c.id, error = %e, "recording the forwarding outcome failed; the lease will expire and it is retried");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let c = ForwardingConfig { base_delay_ms: 100, max_delay_ms: 1000, ..ForwardingConfig::default() };
        assert_eq!(backoff(&c, 0, None, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&c, 1, None, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(&c, 3, None, 1.0), Duration::from_millis(800));
        assert_eq!(backoff(&c, 10, None, 1.0), Duration::from_millis(1000), "capped");
        assert_eq!(backoff(&c, 1, None, 0.0), Duration::from_millis(100), "jitter keeps at least half");
        assert_eq!(backoff(&c, 0, Some(Duration::from_secs(3)), 1.0), Duration::from_secs(3));
        assert_eq!(backoff(&c, 60, None, 0.5), Duration::from_millis(750), "no overflow");
    }
}
