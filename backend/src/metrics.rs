//! Prometheus metrics (`GET /metrics`, OpenMetrics text) through `prometheus-client`: counters
//! since start, histograms of request duration by route, of the bundle re-check and of forwarding,
//! and the queue numbers read from the store at scrape time.
//!
//! Refusals are counted in one place, the rejection handler (`api::errors::handle_rejection`),
//! from the problem codes of the answer: a refusal cannot be answered without being counted.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::store::QueueStats;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// 1 ms to about 33 s, doubling.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Counters, histograms and gauges since start.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Counter,
    duplicates: Counter,
    refused: Family<CodeLabel, Counter>,
    forwarded: Counter,
    retries: Counter,
    dead_letters: Counter,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    recheck: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
    forward_attempts: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
    delivery_latency: Histogram,
    queue_depth: Gauge,
    queue_oldest: Gauge<f64, AtomicU64>,
    needs_attention: Gauge,
    /// Encoding reads the registry while the gauges are set: one scrape at a time.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            accepted: Counter::default(),
            duplicates: Counter::default(),
            refused: Family::default(),
            forwarded: Counter::default(),
            retries: Counter::default(),
            dead_letters: Counter::default(),
            requests: Family::new_with_constructor(seconds_buckets),
            recheck: Family::new_with_constructor(seconds_buckets),
            forward_attempts: Family::new_with_constructor(seconds_buckets),
            delivery_latency: Histogram::new(exponential_buckets(0.01, 2.0, 20)),
            queue_depth: Gauge::default(),
            queue_oldest: Gauge::default(),
            needs_attention: Gauge::default(),
            scrape: Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register("intake_submissions_accepted", "Submissions durably stored", m.accepted.clone());
        registry.register(
            "intake_submissions_duplicate",
            "Repeated submissions answered with the original",
            m.duplicates.clone(),
        );
        registry.register("intake_refused", "Requests refused, by problem code", m.refused.clone());
        registry.register("intake_forwarded", "Submissions delivered to the platform", m.forwarded.clone());
        registry.register("intake_forward_retries", "Delivery attempts that will be retried", m.retries.clone());
        registry.register(
            "intake_dead_letters",
            "Submissions the platform refused (needs attention)",
            m.dead_letters.clone(),
        );
        registry.register_with_unit(
            "intake_http_request_duration",
            "Time to answer a request, by route, method and status",
            Unit::Seconds,
            m.requests.clone(),
        );
        registry.register_with_unit(
            "intake_recheck_duration",
            "The server's re-check of a whole bundle (every part, the pairs, the sanitizer), by outcome",
            Unit::Seconds,
            m.recheck.clone(),
        );
        registry.register_with_unit(
            "intake_forward_attempt_duration",
            "One delivery attempt to the platform, by outcome",
            Unit::Seconds,
            m.forward_attempts.clone(),
        );
        registry.register_with_unit(
            "intake_delivery_latency",
            "From a submission's receipt to its delivery to the platform",
            Unit::Seconds,
            m.delivery_latency.clone(),
        );
        registry.register("intake_queue_depth", "Submissions waiting to be forwarded", m.queue_depth.clone());
        registry.register_with_unit(
            "intake_queue_oldest_age",
            "Age of the oldest waiting submission",
            Unit::Seconds,
            m.queue_oldest.clone(),
        );
        registry.register("intake_needs_attention", "Submissions needing attention", m.needs_attention.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// A submission was stored (201).
    pub fn accepted(&self) {
        self.accepted.inc();
    }
    /// A repeated submission returned the original (200).
    pub fn duplicate(&self) {
        self.duplicates.inc();
    }
    /// A request was refused with these codes (called by the rejection handler only).
    pub fn refused<'a>(&self, codes: impl IntoIterator<Item = &'a str>) {
        for code in codes {
            self.refused.get_or_create(&CodeLabel { code: code.to_owned() }).inc();
        }
    }
    /// A submission reached the platform, `latency` after it was received.
    pub fn forwarded(&self, latency: Duration) {
        self.forwarded.inc();
        self.delivery_latency.observe(latency.as_secs_f64());
    }
    /// A delivery attempt failed transiently.
    pub fn retry(&self) {
        self.retries.inc();
    }
    /// The platform refused a submission permanently.
    pub fn dead_letter(&self) {
        self.dead_letters.inc();
    }
    /// A request was answered.
    pub fn request(&self, route: &'static str, method: &'static str, status: u16, took: Duration) {
        self.requests.get_or_create(&RequestLabels { route, method, status }).observe(took.as_secs_f64());
    }
    /// A bundle was re-checked (`accepted` or `refused`).
    pub fn recheck(&self, outcome: &'static str, took: Duration) {
        self.recheck.get_or_create(&OutcomeLabel { outcome }).observe(took.as_secs_f64());
    }
    /// One delivery attempt ended (`delivered`, `retry` or `refused`).
    pub fn forward_attempt(&self, outcome: &'static str, took: Duration) {
        self.forward_attempts.get_or_create(&OutcomeLabel { outcome }).observe(took.as_secs_f64());
    }

    /// The OpenMetrics text exposition; the queue gauges from `queue` (absent when the store
    /// cannot answer: then they are left out).
    pub fn render(&self, queue: Option<QueueStats>, now_ms: i64) -> String {
        let _one = self.scrape.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        if let Some(q) = queue {
            self.queue_depth.set(i64::try_from(q.queued).unwrap_or(i64::MAX));
            self.queue_oldest.set(q.oldest_queued_ms.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0));
            self.needs_attention.set(i64::try_from(q.needs_attention).unwrap_or(i64::MAX));
            let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        } else {
            // Without the queue numbers: a registry of everything but the gauges would be a second
            // list of names; mark the gauges' lines instead and drop them.
            let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
            out = drop_metrics(
                &out,
                &["intake_queue_depth", "intake_queue_oldest_age_seconds", "intake_needs_attention"],
            );
        }
        out
    }
}

/// `text` without the HELP, TYPE, UNIT and sample lines of `names`.
fn drop_metrics(text: &str, names: &[&str]) -> String {
    text.lines()
        .filter(|l| {
            let name = l
                .strip_prefix("# HELP ")
                .or_else(|| l.strip_prefix("# TYPE "))
                .or_else(|| l.strip_prefix("# UNIT "))
                .unwrap_or(l);
            let name = name.split([' ', '{']).next().unwrap_or_default();
            !names.contains(&name)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The route a request took, for the duration histogram's label (a fixed set: ids are not labels).
pub fn route_of(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["healthz"] => "healthz",
        ["readyz"] => "readyz",
        ["metrics"] => "metrics",
        ["api", "v1", "config"] => "config",
        ["api", "v1", "me"] => "me",
        ["api", "v1", "archive"] => "archive",
        ["api", "v1", "openapi.json"] => "openapi",
        ["api", "v1", "submissions"] => "submissions",
        ["api", "v1", "submissions", _] => "submission",
        ["api", "v1", "submissions", _, "amendments"] => "amendments",
        ["api", ..] => "api_other",
        ["bench", ..] => "bench",
        _ => "static",
    }
}

/// The method as a label (a fixed set).
pub fn method_of(method: &warp::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_fixed_set_and_ids_never_become_labels() {
        assert_eq!(route_of("/api/v1/submissions"), "submissions");
        assert_eq!(route_of("/api/v1/submissions/0192-abc"), "submission");
        assert_eq!(route_of("/api/v1/submissions/0192-abc/amendments"), "amendments");
        assert_eq!(route_of("/api/v1/nothing/here"), "api_other");
        assert_eq!(route_of("/pkg/intake_widget_bg.wasm"), "static");
        assert_eq!(route_of("/"), "static");
    }

    #[test]
    fn the_text_has_every_family_and_the_counts() {
        let m = Metrics::default();
        m.accepted();
        m.refused(["photo.too_small", "photo.too_small", "auth.required"]);
        m.request("submissions", "POST", 201, Duration::from_millis(40));
        m.recheck("accepted", Duration::from_millis(30));
        m.forwarded(Duration::from_secs(2));
        let text = m.render(Some(QueueStats { queued: 3, oldest_queued_ms: Some(1_000), needs_attention: 1 }), 3_500);
        for line in [
            "intake_submissions_accepted_total 1",
            "intake_refused_total{code=\"photo.too_small\"} 2",
            "intake_refused_total{code=\"auth.required\"} 1",
            "intake_http_request_duration_seconds_count{route=\"submissions\",method=\"POST\",status=\"201\"} 1",
            "intake_recheck_duration_seconds_count{outcome=\"accepted\"} 1",
            "intake_delivery_latency_seconds_count 1",
            "intake_forwarded_total 1",
            "intake_queue_depth 3",
            "intake_queue_oldest_age_seconds 2.5",
            "intake_needs_attention 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        let without = m.render(None, 0);
        assert!(!without.contains("intake_queue_depth") && without.contains("intake_forwarded_total 1"), "{without}");
    }
}
