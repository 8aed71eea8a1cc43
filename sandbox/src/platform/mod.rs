//! A sandbox of the city's platform, for the demo and the tests.
//!
//! It implements the forwarding contract ("Forwarding contract to the platform" in the product API):
//!
//! - `POST /v1/collections` — a `multipart/form-data` delivery with the parts `identity` (JSON),
//!   `bundle` (JSON), `kind` (`submission` | `amendment`), optional `amends` (a submission id) and the
//!   file parts `photo`, `id_front`, `id_back`, `passport_info`, `passport_validity` (at most one
//!   each), `work_certificate` and `supporting` (at most three each), each `image/jpeg` or
//!   `application/pdf`. `Idempotency-Key` is required. The first delivery of a key answers `201
//!   {"status":"accepted","reference":"XMKJ-<n>"}`, a repeated key `409
//!   {"status":"duplicate","reference":<the original>}`. Both are recorded; contract violations
//!   answer `400 {"reason": ...}` and are not.
//! - `GET /v1/archives/{certificate_type}/{number}` — the sample person's archive (from
//!   `tests/fixtures/people.json`) or `404 {"reason":"no archive"}`.
//!
//! and a control API for the tests (also available as methods on [`PlatformSandbox`]):
//!
//! - `POST /_sandbox/faults` (a JSON array of [`Fault`]s, or a single one) appends to a FIFO queue;
//!   every request to `/v1/collections` takes the next fault, if any. `DELETE /_sandbox/faults`
//!   clears the queue.
//! - `GET /_sandbox/received` — the recorded [`Delivery`]s in arrival order (duplicates included).
//! - `GET /_sandbox/stats` — [`SandboxStats`].
//!
//! A request's whole body is read before its fault is applied, so an injected status reaches the
//! client as a status even for large uploads, and `close` drops a connection whose request was
//! completely received (the case a client cannot tell apart from "delivered, answer lost").

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::multipart::FormData;
use warp::reply::{Reply as _, Response};

use crate::people;

mod contract;
mod journal;
#[cfg(test)]
mod tests;

pub use contract::UNIT_KEYS;
use contract::{RawPart, Refusal, read_form, validate};
use journal::{append_journal, load_journal};

/// A fault injected into the next request to `/v1/collections`.
///
/// JSON: `{"kind":"status","status":500}`, `{"kind":"status","status":429,"retry_after":1}`,
/// `{"kind":"delay","ms":300}`, `{"kind":"hang","ms":30000}`,
/// `{"kind":"reject","status":422,"reason":"…"}`, `{"kind":"close"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer this status with `{"reason":"injected"}` (and `Retry-After` when given); not recorded.
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Wait, then handle the request normally.
    Delay { ms: u64 },
    /// Wait this long, then answer `503` (a client with a shorter timeout gives up first).
    /// Cut short when the server started by [`PlatformSandbox::serve`] shuts down.
    Hang { ms: u64 },
    /// A permanent refusal: this status with `{"reason": reason}`; not recorded.
    Reject { status: u16, reason: String },
    /// Drop the connection without any HTTP response; not recorded.
    Close,
}

/// One recorded delivery (first deliveries and duplicates alike).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The `Idempotency-Key` (the submission id).
    pub key: String,
    /// The key had been delivered before (answered `409`).
    pub duplicate: bool,
    /// The platform's reference: new for a first delivery, the original one for a duplicate.
    pub reference: String,
    /// Arrival time, milliseconds since the Unix epoch.
    pub at_ms: u64,
    pub identity: Value,
    pub bundle: Value,
    /// `submission` or `amendment`.
    pub kind: String,
    /// The submission id an amendment amends.
    pub amends: Option<String>,
    /// The file parts in the order received (the JSON and text parts are the fields above).
    pub parts: Vec<PartSummary>,
}

/// What the sandbox saw of one file part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSummary {
    pub name: String,
    pub content_type: String,
    pub bytes: u64,
    /// Pixel size from the image header (JPEG or PNG); `None` for a PDF or undecodable data.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// A JPEG carrying an APP1 `Exif` segment (metadata the backend should have stripped).
    pub has_exif: bool,
}

/// Counters for the tests. `requests` counts every request to `/v1/collections` that reached the
/// sandbox, whatever became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxStats {
    /// Distinct idempotency keys recorded (deliveries answered `201`).
    pub distinct: usize,
    /// Recorded deliveries of a key already seen (answered `409`).
    pub duplicates: usize,
    pub requests: u64,
    pub faults_pending: usize,
    /// Faults taken from the queue so far.
    pub faults_consumed: u64,
    /// Requests refused for breaking the contract (`400`/`413`, not recorded).
    pub invalid: u64,
}

/// The platform sandbox. Cheap to clone; clones share the same state.
#[derive(Debug, Clone)]
pub struct PlatformSandbox {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Woken when a server started by `serve` shuts down, to cut hangs and delays short.
    shutdown: Notify,
    journal: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct State {
    faults: VecDeque<Fault>,
    /// Idempotency key → reference.
    references: HashMap<String, String>,
    deliveries: Vec<Delivery>,
    requests: u64,
    faults_consumed: u64,
    invalid: u64,
    next_reference: u64,
}

impl PlatformSandbox {
    /// A sandbox. Without `journal` the record lives in memory only. With it, every recorded
    /// delivery is also appended to that file as one JSON line, and a file that already exists is
    /// loaded first, so a restarted sandbox (`intake demo` with its `./data`) keeps its keys,
    /// references and record (the request and fault counters start from zero). Give a fresh path
    /// for an empty record.
    pub fn new(journal: Option<PathBuf>) -> PlatformSandbox {
        let state = journal.as_deref().map(load_journal).unwrap_or_default();
        PlatformSandbox { shared: Arc::new(Shared { state: Mutex::new(state), shutdown: Notify::new(), journal }) }
    }

    /// All routes (`/v1/...` and `/_sandbox/...`), for mounting in the demo server or running alone.
    /// Requests outside them are rejected (not found), so the filter can be combined with `or`.
    pub fn routes(&self) -> BoxedFilter<(Response,)> {
        let sandbox = self.clone();
        let with_sandbox = warp::any().map(move || sandbox.clone());

        let form = warp::multipart::form().max_length(None).map(Some).or(warp::any().map(|| None)).unify();
        let collections = warp::path!("v1" / "collections")
            .and(warp::post())
            .and(with_sandbox.clone())
            .and(warp::header::headers_cloned())
            .and(form)
            .then(|sandbox: PlatformSandbox, headers: HeaderMap, form: Option<FormData>| async move {
                sandbox.collect(&headers, form).await
            });

        let archives = warp::path!("v1" / "archives" / String / String)
            .and(warp::get())
            .map(|certificate_type: String, number: String| archive_reply(&certificate_type, &number));

        let push_faults = warp::path!("_sandbox" / "faults")
            .and(warp::post())
            .and(with_sandbox.clone())
            .and(warp::body::bytes())
            .map(|sandbox: PlatformSandbox, body: Bytes| match parse_faults(&body) {
                Ok(faults) => {
                    sandbox.push_faults(faults);
                    json_reply(StatusCode::OK, &json!({ "faults_pending": sandbox.stats().faults_pending }))
                }
                Err(reason) => reason_reply(StatusCode::BAD_REQUEST, &reason),
            });
        let clear_faults = warp::path!("_sandbox" / "faults").and(warp::delete()).and(with_sandbox.clone()).map(
            |sandbox: PlatformSandbox| {
                sandbox.clear_faults();
                json_reply(StatusCode::OK, &json!({ "faults_pending": 0 }))
            },
        );
        let received = warp::path!("_sandbox" / "received")
            .and(warp::get())
            .and(with_sandbox.clone())
            .map(|sandbox: PlatformSandbox| json_reply(StatusCode::OK, &sandbox.received()));
        let stats = warp::path!("_sandbox" / "stats")
            .and(warp::get())
            .and(with_sandbox)
            .map(|sandbox: PlatformSandbox| json_reply(StatusCode::OK, &sandbox.stats()));

        collections
            .or(archives)
            .unify()
            .or(push_faults)
            .unify()
            .or(clear_faults)
            .unify()
            .or(received)
            .unify()
            .or(stats)
            .unify()
            .boxed()
    }

    /// Binds `addr` (use `127.0.0.1:0` for any free port) and serves [`routes`](Self::routes) until
    /// `shutdown` resolves; returns the bound address once listening. On shutdown the listener
    /// closes, pending `hang`/`delay` faults are cut short and open requests are allowed to finish;
    /// the task then ends.
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let routes = self.routes();
        let shared = Arc::clone(&self.shared);
        let signal = async move {
            shutdown.await;
            shared.shutdown.notify_waiters();
        };
        let task = tokio::spawn(warp::serve(routes).incoming(listener).graceful(signal).run());
        tracing::debug!(%bound, "platform sandbox listening");
        Ok((bound, task))
    }

    /// Appends faults to the queue; each request to `/v1/collections` takes the oldest one.
    pub fn push_faults(&self, faults: Vec<Fault>) {
        self.lock().faults.extend(faults);
    }

    /// Empties the fault queue.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The recorded deliveries in arrival order, duplicates included.
    pub fn received(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn stats(&self) -> SandboxStats {
        let state = self.lock();
        let duplicates = state.deliveries.iter().filter(|d| d.duplicate).count();
        SandboxStats {
            distinct: state.references.len(),
            duplicates,
            requests: state.requests,
            faults_pending: state.faults.len(),
            faults_consumed: state.faults_consumed,
            invalid: state.invalid,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `POST /v1/collections`.
    async fn collect(&self, headers: &HeaderMap, form: Option<FormData>) -> Response {
        let body = match form {
            Some(form) => read_form(form).await,
            None => Err(Refusal {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                reason: "expected multipart/form-data with a boundary".to_owned(),
            }),
        };

        let fault = {
            let mut state = self.lock();
            state.requests += 1;
            let fault = state.faults.pop_front();
            if fault.is_some() {
                state.faults_consumed += 1;
            }
            fault
        };
        if let Some(fault) = fault {
            tracing::debug!(?fault, "platform sandbox: injecting fault");
            match fault {
                Fault::Status { status, retry_after } => {
                    let mut reply = reason_reply(status_code(status), "injected");
                    if let Some(seconds) = retry_after {
                        reply.headers_mut().insert("retry-after", HeaderValue::from(seconds));
                    }
                    return reply;
                }
                Fault::Reject { status, reason } => return reason_reply(status_code(status), &reason),
                Fault::Hang { ms } => {
                    self.pause(ms).await;
                    return reason_reply(StatusCode::SERVICE_UNAVAILABLE, "injected hang");
                }
                Fault::Close => return abort_connection(),
                Fault::Delay { ms } => self.pause(ms).await,
            }
        }

        match self.record(headers, body) {
            Ok((status, reference)) => {
                let word = if status == StatusCode::CREATED { "accepted" } else { "duplicate" };
                json_reply(status, &json!({ "status": word, "reference": reference }))
            }
            Err(refusal) => {
                self.lock().invalid += 1;
                tracing::debug!(status = %refusal.status, reason = %refusal.reason, "platform sandbox: refused");
                reason_reply(refusal.status, &refusal.reason)
            }
        }
    }

    /// Sleeps `ms`, or less when the server shuts down.
    async fn pause(&self, ms: u64) {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => {}
            () = self.shared.shutdown.notified() => {}
        }
    }

    /// Validates a delivery and records it; returns `201`/`409` and the reference.
    fn record(
        &self,
        headers: &HeaderMap,
        body: Result<Vec<RawPart>, Refusal>,
    ) -> Result<(StatusCode, String), Refusal> {
        let key = match headers.get("idempotency-key").map(|v| v.to_str().map(str::trim)) {
            None | Some(Ok("")) => return Err(Refusal::bad_request("missing Idempotency-Key")),
            Some(Err(_)) => return Err(Refusal::bad_request("invalid Idempotency-Key")),
            Some(Ok(key)) => key.to_owned(),
        };
        let submission = validate(body?)?;
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));

        let mut state = self.lock();
        let (status, duplicate, reference) = match state.references.get(&key) {
            Some(reference) => (StatusCode::CONFLICT, true, reference.clone()),
            None => {
                state.next_reference += 1;
                let reference = format!("XMKJ-{}", state.next_reference);
                state.references.insert(key.clone(), reference.clone());
                (StatusCode::CREATED, false, reference)
            }
        };
        let delivery = Delivery {
            key,
            duplicate,
            reference: reference.clone(),
            at_ms,
            identity: submission.identity,
            bundle: submission.bundle,
            kind: submission.kind,
            amends: submission.amends,
            parts: submission.parts,
        };
        tracing::debug!(key = %delivery.key, %reference, duplicate, "platform sandbox: delivery");
        // Appended while the lock is held, so the journal's order is the record's order.
        if let Some(path) = &self.shared.journal {
            append_journal(path, &delivery);
        }
        state.deliveries.push(delivery);
        Ok((status, reference))
    }
}

/// `GET /v1/archives/{certificate_type}/{number}`.
fn archive_reply(certificate_type: &str, number: &str) -> Response {
    let Some(person) = people::by_certificate(certificate_type, number) else {
        return reason_reply(StatusCode::NOT_FOUND, "no archive");
    };
    let Some(archive) = &person.archive else {
        return reason_reply(StatusCode::NOT_FOUND, "no archive");
    };
    let mut body = match archive {
        Value::Object(map) => map.clone(),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("archive".to_owned(), other.clone());
            map
        }
    };
    body.insert("name".to_owned(), Value::from(person.name.as_str()));
    body.insert("certificate_type".to_owned(), Value::from(person.certificate_type.as_str()));
    body.insert("certificate_number".to_owned(), Value::from(person.certificate_number.as_str()));
    body.insert("gender".to_owned(), Value::from(person.gender.as_str()));
    body.insert("birth_date".to_owned(), Value::from(person.birth_date.as_str()));
    json_reply(StatusCode::OK, &Value::Object(body))
}

/// The body of `POST /_sandbox/faults`: an array of faults or a single one.
fn parse_faults(body: &[u8]) -> Result<Vec<Fault>, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Faults {
        Many(Vec<Fault>),
        One(Fault),
    }
    match serde_json::from_slice::<Faults>(body) {
        Ok(Faults::Many(faults)) => Ok(faults),
        Ok(Faults::One(fault)) => Ok(vec![fault]),
        Err(e) => Err(format!("expected a JSON array of faults: {e}")),
    }
}

/// A response hyper cannot send: the body fails before its first byte, so hyper drops the
/// connection with the status line and headers still unsent (HTTP/1.1; under HTTP/2 the stream
/// would be reset after the headers).
fn abort_connection() -> Response {
    let failing = futures_util::stream::once(std::future::ready(Err::<Bytes, _>(std::io::Error::other(
        "platform sandbox: injected connection close",
    ))));
    warp::reply::stream(failing).into_response()
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn json_reply(status: StatusCode, body: &impl Serialize) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

fn reason_reply(status: StatusCode, reason: &str) -> Response {
    json_reply(status, &json!({ "reason": reason }))
}
