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
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Notify;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, StatusCode};
use warp::multipart::FormData;
use warp::reply::{Reply as _, Response};

use super::people;

/// Largest accepted `/v1/collections` body (all parts together).
const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Most parts accepted in one delivery (the contract has at most 15).
const MAX_PARTS: usize = 32;
/// File parts and how many of each one delivery may carry.
const FILE_PARTS: [(&str, usize); 7] = [
    ("photo", 1),
    ("id_front", 1),
    ("id_back", 1),
    ("passport_info", 1),
    ("passport_validity", 1),
    ("work_certificate", 3),
    ("supporting", 3),
];
const FILE_CONTENT_TYPES: [&str; 2] = ["image/jpeg", "application/pdf"];
const IDENTITY_FIELDS: [&str; 4] = ["name", "certificate_type", "certificate_number", "mobile"];

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

/// A refusal of the request: status and reason.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    reason: String,
}

impl Refusal {
    fn bad_request(reason: impl Into<String>) -> Refusal {
        Refusal { status: StatusCode::BAD_REQUEST, reason: reason.into() }
    }
}

/// A body part as received.
#[derive(Debug)]
struct RawPart {
    name: String,
    content_type: Option<String>,
    data: Bytes,
}

/// A delivery that satisfies the contract, before it is recorded.
#[derive(Debug)]
struct Submission {
    identity: Value,
    bundle: Value,
    kind: String,
    amends: Option<String>,
    parts: Vec<PartSummary>,
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

/// Reads every part of the form (up to [`MAX_BODY_BYTES`] in all).
async fn read_form(form: FormData) -> Result<Vec<RawPart>, Refusal> {
    let mut form = pin!(form);
    let mut parts = Vec::new();
    let mut total: u64 = 0;
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| Refusal::bad_request(format!("malformed multipart body: {e}")))?;
        if parts.len() == MAX_PARTS {
            return Err(Refusal::bad_request(format!("more than {MAX_PARTS} parts")));
        }
        let name = part.name().to_owned();
        let content_type = part.content_type().map(str::to_owned);
        let mut data = BytesMut::new();
        while let Some(chunk) = part.data().await {
            let chunk = chunk.map_err(|e| Refusal::bad_request(format!("malformed multipart body: {e}")))?;
            total = total.saturating_add(u64::try_from(bytes::Buf::remaining(&chunk)).unwrap_or(u64::MAX));
            if total > MAX_BODY_BYTES {
                return Err(Refusal {
                    status: StatusCode::PAYLOAD_TOO_LARGE,
                    reason: format!("body larger than {MAX_BODY_BYTES} bytes"),
                });
            }
            data.put(chunk);
        }
        parts.push(RawPart { name, content_type, data: data.freeze() });
    }
    Ok(parts)
}

/// Checks the parts against the contract.
fn validate(raw: Vec<RawPart>) -> Result<Submission, Refusal> {
    let mut identity = None;
    let mut bundle = None;
    let mut kind = None;
    let mut amends = None;
    let mut parts: Vec<PartSummary> = Vec::new();

    for part in raw {
        let name = part.name.as_str();
        match name {
            "identity" | "bundle" | "kind" | "amends" => {
                let slot_taken = match name {
                    "identity" => identity.is_some(),
                    "bundle" => bundle.is_some(),
                    "kind" => kind.is_some(),
                    _ => amends.is_some(),
                };
                if slot_taken {
                    return Err(Refusal::bad_request(format!("part {name} given twice")));
                }
                let text = std::str::from_utf8(&part.data)
                    .map_err(|_| Refusal::bad_request(format!("part {name} is not UTF-8")))?;
                match name {
                    "identity" => identity = Some(parse_identity(text)?),
                    "bundle" => {
                        bundle = Some(
                            serde_json::from_str::<Value>(text)
                                .map_err(|e| Refusal::bad_request(format!("part bundle is not JSON: {e}")))?,
                        );
                    }
                    "kind" => kind = Some(text.trim().to_owned()),
                    _ => amends = Some(text.trim().to_owned()).filter(|s| !s.is_empty()),
                }
            }
            _ => {
                let Some(&(_, most)) = FILE_PARTS.iter().find(|(n, _)| *n == name) else {
                    return Err(Refusal::bad_request(format!("unknown part {name}")));
                };
                if parts.iter().filter(|p| p.name == name).count() == most {
                    return Err(Refusal::bad_request(format!("more than {most} {name} part(s)")));
                }
                let content_type = part
                    .content_type
                    .as_deref()
                    .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
                    .unwrap_or_default();
                if !FILE_CONTENT_TYPES.contains(&content_type.as_str()) {
                    return Err(Refusal::bad_request(format!(
                        "part {name} has content type {content_type:?}, expected image/jpeg or application/pdf"
                    )));
                }
                if part.data.is_empty() {
                    return Err(Refusal::bad_request(format!("part {name} is empty")));
                }
                parts.push(summarize(name, content_type, &part.data));
            }
        }
    }

    let identity = identity.ok_or_else(|| Refusal::bad_request("missing part identity"))?;
    let bundle = bundle.ok_or_else(|| Refusal::bad_request("missing part bundle"))?;
    if let Some(reason) = unit_contract(&bundle) {
        return Err(Refusal::bad_request(reason));
    }
    let kind = kind.ok_or_else(|| Refusal::bad_request("missing part kind"))?;
    match kind.as_str() {
        "submission" => {}
        "amendment" if amends.is_some() => {}
        "amendment" => return Err(Refusal::bad_request("an amendment needs the part amends")),
        other => {
            return Err(Refusal::bad_request(format!("kind {other:?} is neither submission nor amendment")));
        }
    }
    Ok(Submission { identity, bundle, kind, amends, parts })
}

/// The unit block of a validated bundle (the keys `intake_rules::form::Bundle` writes).
pub const UNIT_KEYS: [&str; 4] = ["unit_name", "unit_uscc", "unit_type", "position"];

/// The unit rule of the contract (api.md, extended by issue 13; rules.md §4, FAQ 9 and 10): a
/// bundle that states `post_status` carries a non-empty unit block when it is `on_post`, and may
/// carry `null` (or nothing) for it when it is `off_post`. A bundle without `post_status` is
/// opaque to the sandbox, as before.
fn unit_contract(bundle: &Value) -> Option<String> {
    let status = bundle.get("post_status")?;
    let given = |key: &str| bundle.get(key).and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
    match status.as_str() {
        Some("on_post") => UNIT_KEYS
            .iter()
            .find(|key| !given(key))
            .map(|key| format!("bundle.{key} is required on an accounting post")),
        Some("off_post") => UNIT_KEYS
            .iter()
            .find(|key| bundle.get(**key).is_some_and(|v| !v.is_null() && !v.is_string()))
            .map(|key| format!("bundle.{key} must be a string or null")),
        _ => Some(format!("bundle.post_status {status} is neither \"on_post\" nor \"off_post\"")),
    }
}

fn parse_identity(text: &str) -> Result<Value, Refusal> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| Refusal::bad_request(format!("part identity is not JSON: {e}")))?;
    for field in IDENTITY_FIELDS {
        match value.get(field).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => {}
            _ => return Err(Refusal::bad_request(format!("identity.{field} is missing"))),
        }
    }
    Ok(value)
}

fn summarize(name: &str, content_type: String, data: &[u8]) -> PartSummary {
    // The header only, through the rules' bounded decoder like every other picture.
    let dimensions = intake_rules::decode::probe(data).ok().map(|(_, w, h)| (w, h));
    PartSummary {
        name: name.to_owned(),
        content_type,
        bytes: u64::try_from(data.len()).unwrap_or(u64::MAX),
        width: dimensions.map(|(w, _)| w),
        height: dimensions.map(|(_, h)| h),
        has_exif: jpeg_has_exif(data),
    }
}

/// Whether a JPEG carries an EXIF block anywhere: the rules' full segment parse
/// (`intake_rules::sanitize::audit`: every segment, between and after the scans, and
/// trailing bytes after EOI), not a scan that stops at the first start of scan.
fn jpeg_has_exif(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8]) && intake_rules::sanitize::audit(data).has_exif
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

/// The record kept in an existing journal (unreadable lines are skipped with a warning).
fn load_journal(path: &Path) -> State {
    let mut state = State::default();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "platform sandbox: cannot read the journal");
            }
            return state;
        }
    };
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Delivery>(line) {
            Ok(delivery) => {
                if let Some(n) = delivery.reference.strip_prefix("XMKJ-").and_then(|n| n.parse::<u64>().ok()) {
                    state.next_reference = state.next_reference.max(n);
                }
                state.references.entry(delivery.key.clone()).or_insert_with(|| delivery.reference.clone());
                state.deliveries.push(delivery);
            }
            Err(e) => tracing::warn!(
                path = %path.display(), line = number + 1, error = %e,
                "platform sandbox: skipping an unreadable journal line"
            ),
        }
    }
    // A line cut short by a crash must not swallow the next append.
    if !text.is_empty() && !text.ends_with('\n') {
        let ended = std::fs::OpenOptions::new().append(true).open(path).and_then(|mut file| file.write_all(b"\n"));
        if let Err(e) = ended {
            tracing::warn!(path = %path.display(), error = %e, "platform sandbox: cannot append to the journal");
        }
    }
    if !state.deliveries.is_empty() {
        tracing::info!(path = %path.display(), deliveries = state.deliveries.len(), "platform sandbox: journal loaded");
    }
    state
}

fn append_journal(path: &Path, delivery: &Delivery) {
    let result = serde_json::to_string(delivery).map_err(std::io::Error::other).and_then(|mut line| {
        line.push('\n');
        std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(line.as_bytes())
    });
    if let Err(e) = result {
        tracing::warn!(path = %path.display(), error = %e, "platform sandbox: cannot append to the journal");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    use std::time::Instant;

    /// A multipart part: name, content type, bytes.
    type TestPart = (String, Option<String>, Vec<u8>);

    const BOUNDARY: &str = "sandbox-test-boundary-7f3a";

    /// A small camera-like JPEG; with `exif`, an APP1 `Exif` segment is spliced in after SOI.
    fn jpeg(width: u32, height: u32, exif: bool) -> Vec<u8> {
        let pixels: Vec<u8> = (0..width * height).flat_map(|i| [(i % 251) as u8, 90, 160]).collect();
        let mut plain = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 80)
            .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .expect("encode jpeg");
        if !exif {
            return plain;
        }
        // "Exif\0\0" + a big-endian TIFF header with an empty IFD0.
        let payload: &[u8] = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\0\0\0\0\0";
        let len = u16::try_from(payload.len() + 2).expect("short segment");
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&plain[2..]);
        out
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(width, height)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode png");
        out
    }

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

    fn identity() -> Value {
        json!({
            "name": "陈静",
            "certificate_type": "resident_id",
            "certificate_number": "350203198507154321",
            "mobile": "13800138001",
        })
    }

    /// `(name, content type, bytes)` of every part of a valid submission.
    fn valid_parts() -> Vec<TestPart> {
        vec![
            part_text("identity", Some("application/json"), &identity().to_string()),
            part_text("bundle", Some("application/json"), r#"{"profile":"accountant","answers":{"a":1}}"#),
            part_text("kind", None, "submission"),
            ("photo".to_owned(), Some("image/jpeg".to_owned()), jpeg(30, 40, true)),
            ("id_front".to_owned(), Some("image/jpeg".to_owned()), jpeg(64, 40, false)),
            ("work_certificate".to_owned(), Some("application/pdf".to_owned()), PDF.to_vec()),
        ]
    }

    fn part_text(name: &str, content_type: Option<&str>, text: &str) -> TestPart {
        (name.to_owned(), content_type.map(str::to_owned), text.as_bytes().to_vec())
    }

    fn multipart(parts: &[TestPart]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, content_type, data) in parts {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            let filename = if data.is_ascii() { String::new() } else { format!("; filename=\"{name}.bin\"") };
            body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\n").as_bytes());
            if let Some(ct) = content_type {
                body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    async fn post(sandbox: &PlatformSandbox, key: Option<&str>, parts: &[TestPart]) -> warp::http::Response<Bytes> {
        let mut request = warp::test::request()
            .method("POST")
            .path("/v1/collections")
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(multipart(parts));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.reply(&sandbox.routes()).await
    }

    fn body_json(response: &warp::http::Response<Bytes>) -> Value {
        serde_json::from_slice(response.body()).expect("JSON body")
    }

    /// FAQ 9, 10: a person not on an accounting post may have no unit; the platform accepts the
    /// bundle with the unit block `null` or left out, and a student ID and household registration
    /// as `supporting` parts without a work certificate.
    #[tokio::test]
    async fn an_off_post_bundle_without_a_unit_is_accepted() {
        let sandbox = PlatformSandbox::new(None);
        let bundles = [
            r#"{"post_status":"off_post","unit_name":null,"unit_uscc":null,"unit_type":null,"position":null}"#,
            r#"{"post_status":"off_post"}"#,
        ];
        for (i, bundle) in bundles.iter().enumerate() {
            let mut parts: Vec<TestPart> = valid_parts()
                .into_iter()
                .filter(|p| p.0 != "work_certificate")
                .map(|p| if p.0 == "bundle" { part_text("bundle", p.1.as_deref(), bundle) } else { p })
                .collect();
            parts.push(("supporting".to_owned(), Some("image/jpeg".to_owned()), jpeg(8, 8, false)));
            parts.push(("supporting".to_owned(), Some("application/pdf".to_owned()), PDF.to_vec()));
            let response = post(&sandbox, Some(&format!("off-{i}")), &parts).await;
            assert_eq!(response.status(), StatusCode::CREATED, "{bundle}: {:?}", response.body());
        }
        let received = sandbox.received();
        assert_eq!(received.len(), 2);
        assert!(received.iter().all(|d| d.parts.iter().filter(|p| p.name == "supporting").count() == 2));
        assert_eq!(received[0].bundle["unit_name"], Value::Null);
    }

    #[tokio::test]
    async fn first_delivery_is_accepted_and_recorded_with_part_summaries() {
        let sandbox = PlatformSandbox::new(None);
        let mut parts = valid_parts();
        parts.push(("supporting".to_owned(), Some("image/jpeg; charset=binary".to_owned()), jpeg(8, 8, false)));
        let response = post(&sandbox, Some("sub-1"), &parts).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(body_json(&response), json!({ "status": "accepted", "reference": "XMKJ-1" }));

        let received = sandbox.received();
        assert_eq!(received.len(), 1);
        let delivery = &received[0];
        assert_eq!(delivery.key, "sub-1");
        assert!(!delivery.duplicate);
        assert_eq!(delivery.reference, "XMKJ-1");
        assert_eq!(delivery.kind, "submission");
        assert_eq!(delivery.amends, None);
        assert_eq!(delivery.identity, identity());
        assert_eq!(delivery.bundle["profile"], "accountant");
        let now_ms =
            u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis()).expect("ms fit");
        assert!(delivery.at_ms <= now_ms && delivery.at_ms + 60_000 > now_ms, "at_ms {}", delivery.at_ms);

        let summary: Vec<_> = delivery
            .parts
            .iter()
            .map(|p| (p.name.as_str(), p.content_type.as_str(), p.width, p.height, p.has_exif))
            .collect();
        assert_eq!(
            summary,
            [
                ("photo", "image/jpeg", Some(30), Some(40), true),
                ("id_front", "image/jpeg", Some(64), Some(40), false),
                ("work_certificate", "application/pdf", None, None, false),
                ("supporting", "image/jpeg", Some(8), Some(8), false),
            ]
        );
        assert_eq!(delivery.parts[0].bytes, u64::try_from(parts[3].2.len()).expect("len"));
        assert_eq!(delivery.parts[2].bytes, u64::try_from(PDF.len()).expect("len"));

        // The control API shows the same record.
        let response = warp::test::request().path("/_sandbox/received").reply(&sandbox.routes()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let over_http: Vec<Delivery> = serde_json::from_slice(response.body()).expect("deliveries");
        assert_eq!(over_http, received);
        let raw = body_json(&response);
        assert_eq!(raw[0]["parts"][0]["has_exif"], true);
        assert_eq!(raw[0]["parts"][2]["width"], Value::Null);
        assert_eq!(raw[0]["amends"], Value::Null);
    }

    #[tokio::test]
    async fn repeated_key_is_a_recorded_duplicate_with_the_original_reference() {
        let sandbox = PlatformSandbox::new(None);
        let parts = valid_parts();
        assert_eq!(post(&sandbox, Some("sub-a"), &parts).await.status(), StatusCode::CREATED);
        assert_eq!(post(&sandbox, Some("sub-b"), &parts).await.status(), StatusCode::CREATED);
        let again = post(&sandbox, Some("sub-a"), &parts).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        assert_eq!(body_json(&again), json!({ "status": "duplicate", "reference": "XMKJ-1" }));
        let third = post(&sandbox, Some("sub-a"), &parts).await;
        assert_eq!(body_json(&third)["reference"], "XMKJ-1");

        let received = sandbox.received();
        let keys: Vec<_> = received.iter().map(|d| (d.key.as_str(), d.duplicate, d.reference.as_str())).collect();
        assert_eq!(
            keys,
            [
                ("sub-a", false, "XMKJ-1"),
                ("sub-b", false, "XMKJ-2"),
                ("sub-a", true, "XMKJ-1"),
                ("sub-a", true, "XMKJ-1")
            ]
        );
        let stats = sandbox.stats();
        assert_eq!((stats.distinct, stats.duplicates, stats.requests, stats.invalid), (2, 2, 4, 0));

        let response = warp::test::request().path("/_sandbox/stats").reply(&sandbox.routes()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            body_json(&response),
            json!({ "distinct": 2, "duplicates": 2, "requests": 4, "faults_pending": 0, "faults_consumed": 0, "invalid": 0 })
        );
    }

    #[tokio::test]
    async fn missing_idempotency_key_is_400_and_not_recorded() {
        let sandbox = PlatformSandbox::new(None);
        let response = post(&sandbox, None, &valid_parts()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(&response), json!({ "reason": "missing Idempotency-Key" }));
        let blank = post(&sandbox, Some("  "), &valid_parts()).await;
        assert_eq!(body_json(&blank), json!({ "reason": "missing Idempotency-Key" }));
        assert!(sandbox.received().is_empty());
        let stats = sandbox.stats();
        assert_eq!((stats.distinct, stats.requests, stats.invalid), (0, 2, 2));
    }

    #[tokio::test]
    async fn contract_violations_are_400_with_a_reason() {
        let sandbox = PlatformSandbox::new(None);
        let without = |name: &str| valid_parts().into_iter().filter(|p| p.0 != name).collect::<Vec<_>>();
        let with = |extra: Vec<TestPart>| {
            let mut parts = valid_parts();
            parts.extend(extra);
            parts
        };
        let replace = |name: &str, text: &str| {
            valid_parts()
                .into_iter()
                .map(|p| if p.0 == name { part_text(name, p.1.as_deref(), text) } else { p })
                .collect::<Vec<_>>()
        };
        let pdf = |name: &str| (name.to_owned(), Some("application/pdf".to_owned()), PDF.to_vec());
        let cases: Vec<(&str, Vec<TestPart>, &str)> = vec![
            ("no identity", without("identity"), "missing part identity"),
            ("no bundle", without("bundle"), "missing part bundle"),
            ("no kind", without("kind"), "missing part kind"),
            ("bad kind", replace("kind", "resubmission"), "neither submission nor amendment"),
            ("amendment without amends", replace("kind", "amendment"), "needs the part amends"),
            ("identity not JSON", replace("identity", "{"), "identity is not JSON"),
            (
                "identity without mobile",
                replace("identity", r#"{"name":"a","certificate_type":"b","certificate_number":"c"}"#),
                "identity.mobile is missing",
            ),
            ("bundle not JSON", replace("bundle", "nope"), "bundle is not JSON"),
            ("unknown part", with(vec![pdf("selfie")]), "unknown part selfie"),
            (
                "two photos",
                with(vec![("photo".to_owned(), Some("image/jpeg".to_owned()), jpeg(4, 4, false))]),
                "more than 1 photo",
            ),
            (
                "four work certificates",
                with(vec![pdf("work_certificate"), pdf("work_certificate"), pdf("work_certificate")]),
                "more than 3 work_certificate",
            ),
            (
                "png",
                with(vec![("id_back".to_owned(), Some("image/png".to_owned()), png(5, 6))]),
                "part id_back has content type \"image/png\"",
            ),
            (
                "no content type",
                with(vec![("id_back".to_owned(), None, jpeg(4, 4, false))]),
                "part id_back has content type \"\"",
            ),
            (
                "empty file",
                with(vec![("supporting".to_owned(), Some("application/pdf".to_owned()), Vec::new())]),
                "part supporting is empty",
            ),
            ("kind twice", with(vec![part_text("kind", None, "submission")]), "part kind given twice"),
            (
                "on post without a unit",
                replace(
                    "bundle",
                    r#"{"post_status":"on_post","unit_name":null,"unit_uscc":"x","unit_type":"enterprise","position":"会计"}"#,
                ),
                "bundle.unit_name is required on an accounting post",
            ),
            (
                "on post with a blank position",
                replace(
                    "bundle",
                    r#"{"post_status":"on_post","unit_name":"a","unit_uscc":"x","unit_type":"enterprise","position":" "}"#,
                ),
                "bundle.position is required",
            ),
            (
                "off post with a numeric unit type",
                replace("bundle", r#"{"post_status":"off_post","unit_type":7}"#),
                "bundle.unit_type must be a string or null",
            ),
            ("unknown post status", replace("bundle", r#"{"post_status":"retired"}"#), "neither"),
        ];
        for (i, (label, parts, reason)) in cases.iter().enumerate() {
            let response = post(&sandbox, Some(&format!("bad-{i}")), parts).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{label}");
            let got = body_json(&response)["reason"].as_str().unwrap_or_default().to_owned();
            assert!(got.contains(reason), "{label}: {got}");
        }

        let not_multipart = warp::test::request()
            .method("POST")
            .path("/v1/collections")
            .header("idempotency-key", "json-body")
            .json(&json!({ "identity": identity() }))
            .reply(&sandbox.routes())
            .await;
        assert_eq!(not_multipart.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

        let mut amendment = replace("kind", "amendment");
        amendment.push(part_text("amends", None, "sub-original"));
        let response = post(&sandbox, Some("amend-1"), &amendment).await;
        assert_eq!(response.status(), StatusCode::CREATED);

        let received = sandbox.received();
        assert_eq!(received.len(), 1, "only the amendment is recorded");
        assert_eq!((received[0].kind.as_str(), received[0].amends.as_deref()), ("amendment", Some("sub-original")));
        let stats = sandbox.stats();
        assert_eq!(stats.invalid, u64::try_from(cases.len() + 1).expect("few"));
        assert_eq!(stats.requests, stats.invalid + 1);
    }

    #[tokio::test]
    async fn archives_for_every_sample_person() {
        let sandbox = PlatformSandbox::new(None);
        let routes = sandbox.routes();
        for person in people::people() {
            let path = format!("/v1/archives/{}/{}", person.certificate_type, person.certificate_number);
            let response = warp::test::request().path(&path).reply(&routes).await;
            match &person.archive {
                Some(archive) => {
                    assert_eq!(response.status(), StatusCode::OK, "{}", person.key);
                    let body = body_json(&response);
                    assert_eq!(body["name"], person.name.as_str());
                    assert_eq!(body["certificate_type"], person.certificate_type.as_str());
                    assert_eq!(body["certificate_number"], person.certificate_number.as_str());
                    assert_eq!(body["gender"], person.gender.as_str());
                    assert_eq!(body["birth_date"], person.birth_date.as_str());
                    for (field, value) in archive.as_object().expect("archive object") {
                        assert_eq!(&body[field], value, "{}: {field}", person.key);
                    }
                }
                None => {
                    assert_eq!(response.status(), StatusCode::NOT_FOUND, "{}", person.key);
                    assert_eq!(body_json(&response), json!({ "reason": "no archive" }));
                }
            }
        }
        assert!(people::people().iter().any(|p| p.archive.is_none()), "the fixture covers the 404 case");
        for path in ["/v1/archives/resident_id/110101199001010000", "/v1/archives/passport/350203198507154321"] {
            let response = warp::test::request().path(path).reply(&routes).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(body_json(&response), json!({ "reason": "no archive" }));
        }
        let response = warp::test::request().path("/v1/nothing").reply(&routes).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn faults_are_consumed_in_order_one_per_request() {
        let sandbox = PlatformSandbox::new(None);
        let routes = sandbox.routes();
        let faults = json!([
            { "kind": "status", "status": 500 },
            { "kind": "status", "status": 429, "retry_after": 1 },
            { "kind": "reject", "status": 422, "reason": "单位信用代码与登记不符" },
            { "kind": "delay", "ms": 300 },
        ]);
        let response = warp::test::request().method("POST").path("/_sandbox/faults").json(&faults).reply(&routes).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_json(&response), json!({ "faults_pending": 4 }));
        assert_eq!(sandbox.stats().faults_pending, 4);

        let parts = valid_parts();
        let first = post(&sandbox, Some("k"), &parts).await;
        assert_eq!(first.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body_json(&first), json!({ "reason": "injected" }));
        assert!(first.headers().get("retry-after").is_none());

        let second = post(&sandbox, Some("k"), &parts).await;
        assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(second.headers().get("retry-after").map(HeaderValue::as_bytes), Some(&b"1"[..]));
        assert_eq!(body_json(&second), json!({ "reason": "injected" }));

        let third = post(&sandbox, Some("k"), &parts).await;
        assert_eq!(third.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body_json(&third), json!({ "reason": "单位信用代码与登记不符" }));
        assert!(sandbox.received().is_empty(), "faulted requests are not recorded");
        assert_eq!(sandbox.stats().faults_pending, 1);

        let started = Instant::now();
        let fourth = post(&sandbox, Some("k"), &parts).await;
        assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
        assert_eq!(fourth.status(), StatusCode::CREATED);
        assert_eq!(body_json(&fourth)["reference"], "XMKJ-1");

        let fifth = post(&sandbox, Some("k"), &parts).await;
        assert_eq!(fifth.status(), StatusCode::CONFLICT, "queue empty: handled normally");

        let stats = sandbox.stats();
        assert_eq!(
            stats,
            SandboxStats { distinct: 1, duplicates: 1, requests: 5, faults_pending: 0, faults_consumed: 4, invalid: 0 }
        );

        // A single fault object is accepted too; DELETE clears the queue.
        let response = warp::test::request()
            .method("POST")
            .path("/_sandbox/faults")
            .json(&json!({ "kind": "close" }))
            .reply(&routes)
            .await;
        assert_eq!(body_json(&response), json!({ "faults_pending": 1 }));
        sandbox.push_faults(vec![Fault::Hang { ms: 10 }]);
        assert_eq!(sandbox.stats().faults_pending, 2);
        let response = warp::test::request().method("DELETE").path("/_sandbox/faults").reply(&routes).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(sandbox.stats().faults_pending, 0);
        assert_eq!(post(&sandbox, Some("k2"), &parts).await.status(), StatusCode::CREATED);

        let bad = warp::test::request()
            .method("POST")
            .path("/_sandbox/faults")
            .json(&json!([{ "kind": "explode" }]))
            .reply(&routes)
            .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(body_json(&bad)["reason"].as_str().is_some_and(|r| r.starts_with("expected a JSON array")));
    }

    #[tokio::test]
    async fn a_fault_applies_even_to_an_invalid_request_and_statuses_are_clamped() {
        let sandbox = PlatformSandbox::new(None);
        sandbox.push_faults(vec![
            Fault::Status { status: 503, retry_after: None },
            Fault::Status { status: 9999, retry_after: None },
        ]);
        assert_eq!(post(&sandbox, None, &[]).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(post(&sandbox, None, &[]).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(post(&sandbox, None, &[]).await.status(), StatusCode::BAD_REQUEST);
        assert_eq!(sandbox.stats().invalid, 1);
    }

    #[test]
    fn faults_round_trip_as_documented() {
        let text = r#"[{"kind":"status","status":500},{"kind":"status","status":429,"retry_after":1},
            {"kind":"delay","ms":300},{"kind":"hang","ms":30000},
            {"kind":"reject","status":422,"reason":"单位信用代码与登记不符"},{"kind":"close"}]"#;
        let faults: Vec<Fault> = serde_json::from_str(text).expect("faults");
        assert_eq!(
            faults,
            [
                Fault::Status { status: 500, retry_after: None },
                Fault::Status { status: 429, retry_after: Some(1) },
                Fault::Delay { ms: 300 },
                Fault::Hang { ms: 30000 },
                Fault::Reject { status: 422, reason: "单位信用代码与登记不符".to_owned() },
                Fault::Close,
            ]
        );
        let back = serde_json::to_value(&faults).expect("serialize");
        assert_eq!(back[0], json!({ "kind": "status", "status": 500 }));
        assert_eq!(back[5], json!({ "kind": "close" }));
    }

    #[test]
    fn exif_detection_is_the_rules_full_parse() {
        assert!(jpeg_has_exif(&jpeg(16, 16, true)));
        assert!(!jpeg_has_exif(&jpeg(16, 16, false)));
        assert!(!jpeg_has_exif(PDF));
        assert!(!jpeg_has_exif(&png(3, 3)));
        // APP1 that is XMP, not Exif.
        let mut xmp = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x0C];
        xmp.extend_from_slice(b"http://ns\0");
        xmp.extend_from_slice(&jpeg(4, 4, false)[2..]);
        assert!(!jpeg_has_exif(&xmp));
        // A scan before any frame is not a JPEG structure: nothing after it is read as metadata.
        let mut after_scan = vec![0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02];
        after_scan.extend_from_slice(b"\xFF\xE1\x00\x08Exif\0\0");
        assert!(!jpeg_has_exif(&after_scan));
        // EXIF placed after the scan of a real JPEG (as between progressive scans), or appended
        // after EOI, is found: the parse follows the entropy-coded data to the next marker.
        let plain = jpeg(16, 16, false);
        let eoi = plain.len() - 2;
        let mut between = plain[..eoi].to_vec();
        between.extend_from_slice(b"\xFF\xE1\x00\x08Exif\0\0\xFF\xD9");
        assert!(jpeg_has_exif(&between));
        let mut appended = plain;
        appended.extend_from_slice(b"\xFF\xD8\xFF\xE1\x00\x08Exif\0\0");
        assert!(jpeg_has_exif(&appended));
        // Fill bytes before a marker are allowed.
        let mut filled = vec![0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xE1, 0x00, 0x08];
        filled.extend_from_slice(b"Exif\0\0");
        assert!(jpeg_has_exif(&filled));
        // Truncated and corrupt input ends the scan.
        let exif = jpeg(16, 16, true);
        for cut in 0..16 {
            let _ = jpeg_has_exif(&exif[..cut]);
        }
        assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0, 0]));
        assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0x00, 0xE1]));
        assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF]));
        assert!(!jpeg_has_exif(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, b'E', b'x']));
    }

    #[test]
    fn png_dimensions_are_read_too() {
        let summary = summarize("photo", "image/jpeg".to_owned(), &png(7, 9));
        assert_eq!((summary.width, summary.height, summary.has_exif), (Some(7), Some(9), false));
        let summary = summarize("photo", "image/jpeg".to_owned(), b"\xFF\xD8\xFF\xE0 not really");
        assert_eq!((summary.width, summary.height), (None, None));
    }

    #[tokio::test]
    async fn journal_appends_every_recorded_delivery() {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").subsec_nanos();
        let path = std::env::temp_dir().join(format!("platform-sandbox-{}-{nanos}.jsonl", std::process::id()));
        let sandbox = PlatformSandbox::new(Some(path.clone()));
        let parts = valid_parts();
        assert_eq!(post(&sandbox, Some("j-1"), &parts).await.status(), StatusCode::CREATED);
        sandbox.push_faults(vec![Fault::Status { status: 500, retry_after: None }]);
        assert_eq!(post(&sandbox, Some("j-2"), &parts).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(post(&sandbox, Some("j-1"), &parts).await.status(), StatusCode::CONFLICT);
        assert_eq!(post(&sandbox, None, &parts).await.status(), StatusCode::BAD_REQUEST);

        let text = std::fs::read_to_string(&path).expect("journal written");
        let _ = std::fs::remove_file(&path);
        let lines: Vec<Delivery> =
            text.lines().map(|line| serde_json::from_str(line).expect("one delivery per line")).collect();
        assert_eq!(lines, sandbox.received());
        assert_eq!(lines.len(), 2);
        assert!(lines[1].duplicate);
    }

    #[tokio::test]
    async fn a_restarted_sandbox_reloads_its_journal() {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").subsec_nanos();
        let path = std::env::temp_dir().join(format!("platform-sandbox-reload-{}-{nanos}.jsonl", std::process::id()));
        let parts = valid_parts();
        let first = PlatformSandbox::new(Some(path.clone()));
        assert_eq!(post(&first, Some("r-1"), &parts).await.status(), StatusCode::CREATED);
        assert_eq!(post(&first, Some("r-2"), &parts).await.status(), StatusCode::CREATED);
        assert_eq!(post(&first, Some("r-1"), &parts).await.status(), StatusCode::CONFLICT);
        let before = first.received();
        // A crash mid-write leaves a partial line behind.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(br#"{"key":"r-3","dupl"#))
            .expect("append garbage");

        let second = PlatformSandbox::new(Some(path.clone()));
        assert_eq!(second.received(), before);
        let stats = second.stats();
        assert_eq!((stats.distinct, stats.duplicates, stats.requests), (2, 1, 0));
        let again = post(&second, Some("r-2"), &parts).await;
        assert_eq!(body_json(&again), json!({ "status": "duplicate", "reference": "XMKJ-2" }));
        let new = post(&second, Some("r-3"), &parts).await;
        assert_eq!(body_json(&new), json!({ "status": "accepted", "reference": "XMKJ-3" }));

        let third = PlatformSandbox::new(Some(path.clone()));
        let _ = std::fs::remove_file(&path);
        assert_eq!(third.received(), second.received(), "the partial line did not swallow the next append");
        assert_eq!(third.received().len(), 5);
    }

    // ----- over a real socket -----

    fn client(timeout: Duration) -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder().timeout(timeout).build().expect("client")
    }

    fn form() -> reqwest::multipart::Form {
        valid_parts().into_iter().fold(reqwest::multipart::Form::new(), |form, (name, content_type, data)| {
            let part = reqwest::multipart::Part::bytes(data);
            let part = match content_type {
                Some(ct) => part.mime_str(&ct).expect("mime"),
                None => part,
            };
            form.part(name, part)
        })
    }

    async fn start(
        sandbox: &PlatformSandbox,
    ) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr, task) = sandbox
            .clone()
            .serve(SocketAddr::from(([127, 0, 0, 1], 0)), async move {
                let _ = stopped.await;
            })
            .await
            .expect("bind 127.0.0.1");
        assert!(addr.ip().is_loopback());
        (format!("http://{addr}"), stop, task)
    }

    async fn stop(stop: tokio::sync::oneshot::Sender<()>, task: tokio::task::JoinHandle<()>) {
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("server stops promptly").expect("server task");
    }

    #[tokio::test]
    async fn served_over_http_with_the_control_api() {
        let sandbox = PlatformSandbox::new(None);
        let (base, stop_tx, task) = start(&sandbox).await;
        let http = client(Duration::from_secs(10));

        let response = http
            .post(format!("{base}/_sandbox/faults"))
            .json(&json!([{ "kind": "status", "status": 429, "retry_after": 2 }]))
            .send()
            .await
            .expect("push faults");
        assert_eq!(response.status(), 200);

        let response = http
            .post(format!("{base}/v1/collections"))
            .header("Idempotency-Key", "net-1")
            .multipart(form())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers().get("retry-after").map(HeaderValue::as_bytes), Some(&b"2"[..]));

        let response = http
            .post(format!("{base}/v1/collections"))
            .header("Idempotency-Key", "net-1")
            .multipart(form())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201);
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({ "status": "accepted", "reference": "XMKJ-1" })
        );

        let response = http.post(format!("{base}/v1/collections")).multipart(form()).send().await.expect("send");
        assert_eq!(response.status(), 400);

        // A large upload is read in full before a fault answers, so the client gets the status.
        sandbox.push_faults(vec![Fault::Status { status: 500, retry_after: None }]);
        let big =
            reqwest::multipart::Part::bytes(vec![b'%'; 6 * 1024 * 1024]).mime_str("application/pdf").expect("mime");
        let response = http
            .post(format!("{base}/v1/collections"))
            .header("Idempotency-Key", "net-big")
            .multipart(form().part("supporting", big))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 500);

        let person = people::person("xiamen-holder").expect("person");
        let response = http
            .get(format!("{base}/v1/archives/{}/{}", person.certificate_type, person.certificate_number))
            .send()
            .await
            .expect("archive");
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.expect("json")["working_years"], 12);

        let received: Vec<Delivery> =
            http.get(format!("{base}/_sandbox/received")).send().await.expect("received").json().await.expect("json");
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].parts.len(), 3);
        assert!(received[0].parts[0].has_exif);
        let stats: SandboxStats =
            http.get(format!("{base}/_sandbox/stats")).send().await.expect("stats").json().await.expect("json");
        assert_eq!(
            stats,
            SandboxStats { distinct: 1, duplicates: 0, requests: 4, faults_pending: 0, faults_consumed: 2, invalid: 1 }
        );
        let response = http.delete(format!("{base}/_sandbox/faults")).send().await.expect("clear");
        assert_eq!(response.status(), 200);

        stop(stop_tx, task).await;
    }

    #[tokio::test]
    async fn close_drops_the_connection_without_a_response() {
        let sandbox = PlatformSandbox::new(None);
        let (base, stop_tx, task) = start(&sandbox).await;
        let http = client(Duration::from_secs(10));
        let url = format!("{base}/v1/collections");

        // A first delivery leaves a pooled keep-alive connection for the next request to reuse.
        let response = http.post(&url).header("Idempotency-Key", "c-0").multipart(form()).send().await.expect("send");
        assert_eq!(response.status(), 201);

        sandbox.push_faults(vec![Fault::Close]);
        let error = http
            .post(&url)
            .header("Idempotency-Key", "c-1")
            .multipart(form())
            .send()
            .await
            .expect_err("the connection is dropped");
        assert!(error.status().is_none(), "no HTTP status: {error:?}");
        assert!(!error.is_timeout(), "dropped, not timed out: {error:?}");
        assert!(error.is_request() || error.is_connect(), "a connection error: {error:?}");

        // On a fresh client (a new connection) too.
        sandbox.push_faults(vec![Fault::Close]);
        let error = client(Duration::from_secs(10))
            .post(&url)
            .header("Idempotency-Key", "c-1")
            .multipart(form())
            .send()
            .await
            .expect_err("the connection is dropped");
        assert!(error.status().is_none(), "no HTTP status: {error:?}");

        let stats = sandbox.stats();
        assert_eq!((stats.requests, stats.distinct, stats.faults_pending), (3, 1, 0), "no silent retry");
        assert_eq!(sandbox.received().len(), 1, "the closed requests are not recorded");

        // At the socket level: the complete request is read, then the connection closes with no byte sent.
        sandbox.push_faults(vec![Fault::Close]);
        let body = multipart(&valid_parts());
        let mut raw = format!(
            "POST /v1/collections HTTP/1.1\r\nHost: sandbox\r\nIdempotency-Key: c-raw\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        let mut socket = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.expect("connect");
        tokio::io::AsyncWriteExt::write_all(&mut socket, &raw).await.expect("write request");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read_to_end(&mut socket, &mut answer),
        )
        .await
        .expect("closed promptly");
        assert!(read.is_ok() || answer.is_empty(), "{read:?}");
        assert!(answer.is_empty(), "no response bytes: {:?}", String::from_utf8_lossy(&answer));
        assert_eq!(sandbox.stats().requests, 4);

        // The server carries on: the retry is delivered.
        let response = http.post(&url).header("Idempotency-Key", "c-1").multipart(form()).send().await.expect("send");
        assert_eq!(response.status(), 201);
        assert_eq!(response.json::<Value>().await.expect("json")["reference"], "XMKJ-2");

        stop(stop_tx, task).await;
    }

    #[tokio::test]
    async fn hang_outlasts_a_client_timeout_and_shutdown_cuts_it_short() {
        let sandbox = PlatformSandbox::new(None);
        let (base, stop_tx, task) = start(&sandbox).await;
        let url = format!("{base}/v1/collections");

        // A short hang answers 503 once it is over.
        sandbox.push_faults(vec![Fault::Hang { ms: 200 }]);
        let started = Instant::now();
        let response = client(Duration::from_secs(10))
            .post(&url)
            .header("Idempotency-Key", "h-0")
            .multipart(form())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 503);
        assert!(started.elapsed() >= Duration::from_millis(200));

        // A long one: the client gives up first.
        sandbox.push_faults(vec![Fault::Hang { ms: 30_000 }]);
        let started = Instant::now();
        let error = client(Duration::from_millis(500))
            .post(&url)
            .header("Idempotency-Key", "h-1")
            .multipart(form())
            .send()
            .await
            .expect_err("times out");
        assert!(error.is_timeout(), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(sandbox.received().is_empty());

        // Another long hang still in progress when the server stops: shutdown does not wait 30 s.
        sandbox.push_faults(vec![Fault::Hang { ms: 30_000 }]);
        let pending = tokio::spawn(
            client(Duration::from_secs(20)).post(&url).header("Idempotency-Key", "h-2").multipart(form()).send(),
        );
        for _ in 0..100 {
            if sandbox.stats().faults_pending == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(sandbox.stats().faults_pending, 0, "the hang has started");
        let started = Instant::now();
        stop(stop_tx, task).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let answer = tokio::time::timeout(Duration::from_secs(5), pending).await.expect("answered").expect("task");
        assert_eq!(answer.expect("a response").status(), 503);
    }
}
