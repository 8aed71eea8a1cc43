//! Prometheus text metrics (`GET /metrics`), kept by hand: a few counters and
//! the queue numbers read from the store at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::QueueStats;

/// Counters since start.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    refused: Mutex<BTreeMap<String, u64>>,
    forwarded: AtomicU64,
    retries: AtomicU64,
    dead_letters: AtomicU64,
}

impl Metrics {
    /// A submission was stored (201).
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }
    /// A repeated submission returned the original (200).
    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }
    /// A request was refused with these codes.
    pub fn refused<'a>(&self, codes: impl IntoIterator<Item = &'a str>) {
        let mut map = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for code in codes {
            *map.entry(code.to_owned()).or_default() += 1;
        }
    }
    /// A submission reached the platform.
    pub fn forwarded(&self) {
        self.forwarded.fetch_add(1, Ordering::Relaxed);
    }
    /// A delivery attempt failed transiently.
    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }
    /// The platform refused a submission permanently.
    pub fn dead_letter(&self) {
        self.dead_letters.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, queue: Option<QueueStats>, now_ms: i64) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            "intake_submissions_accepted_total",
            "Submissions durably stored.",
            self.accepted.load(Ordering::Relaxed),
        );
        counter(
            "intake_submissions_duplicate_total",
            "Repeated submissions answered with the original.",
            self.duplicates.load(Ordering::Relaxed),
        );
        counter(
            "intake_forwarded_total",
            "Submissions delivered to the platform.",
            self.forwarded.load(Ordering::Relaxed),
        );
        counter(
            "intake_forward_retries_total",
            "Delivery attempts that will be retried.",
            self.retries.load(Ordering::Relaxed),
        );
        counter(
            "intake_dead_letters_total",
            "Submissions the platform refused (needs attention).",
            self.dead_letters.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP intake_refused_total Requests refused, by problem code.\n# TYPE intake_refused_total counter"
        );
        for (code, n) in self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "intake_refused_total{{code=\"{code}\"}} {n}");
        }
        if let Some(q) = queue {
            let age = q.oldest_queued_ms.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0);
            let _ = writeln!(
                out,
                "# HELP intake_queue_depth Submissions waiting to be forwarded.\n# TYPE intake_queue_depth gauge\nintake_queue_depth {}",
                q.queued
            );
            let _ = writeln!(
                out,
                "# HELP intake_queue_oldest_age_seconds Age of the oldest waiting submission.\n# TYPE intake_queue_oldest_age_seconds gauge\nintake_queue_oldest_age_seconds {age:.3}"
            );
            let _ = writeln!(
                out,
                "# HELP intake_needs_attention Submissions needing attention.\n# TYPE intake_needs_attention gauge\nintake_needs_attention {}",
                q.needs_attention
            );
        }
        out
    }
}
