//! `POST /api/v1/submissions` and `POST /api/v1/submissions/{id}/amendments`.
//!
//! The body is read part by part with a limit on each part and on the whole
//! (413 as soon as one is exceeded, without reading the rest); the whole
//! bundle is re-checked with `intake_rules::submission::check`, the very
//! function the widget runs, with the identity taken from the token; the
//! submission is answered 201 only after the store committed it.

use bytes::Buf;
use futures_util::StreamExt;
use intake_rules::Code;
use intake_rules::form::{ArchiveFacts, Context, Date};
use intake_rules::wire::{Receipt, SubmissionStatus};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Filter, Rejection};

use super::AppState;
use super::errors::ApiError;
use super::handlers::rfc3339;
use crate::config::LimitsConfig;
use crate::forwarder::now_ms;
use crate::identity::Caller;
use crate::platform::ArchiveLookup;
use crate::store::{InsertOutcome, NewSubmission, StoredFile, SubmissionKind, SubmissionRecord};

/// A fully read upload.
#[derive(Debug)]
pub struct Upload {
    /// The `Idempotency-Key`.
    pub key: String,
    /// `(part name, bytes)` in arrival order.
    pub parts: Vec<(String, Vec<u8>)>,
    /// SHA-256 (hex) over every part's name, length and bytes.
    pub hash: String,
    /// The share of the in-flight upload budget this upload holds until it is answered.
    pub budget: Option<tokio::sync::OwnedSemaphorePermit>,
    /// The per-person and per-address upload slots, held until it is answered.
    pub slots: Vec<super::limits::Slot>,
}

/// True for 8–128 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    (8..=128).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

/// The body of an upload, not yet read.
pub type BodyStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, warp::Error>> + Send + 'static>>;

/// An upload whose headers passed: the key, the boundary, the client address and the unread body.
pub struct UploadHead {
    key: String,
    boundary: String,
    addr: Option<std::net::IpAddr>,
    body: BodyStream,
}

impl std::fmt::Debug for UploadHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadHead").field("key", &self.key).field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// Header checks (no body byte is read): exactly one valid `Idempotency-Key`, multipart with a
/// boundary, a declared length within `max_body_bytes`.
pub fn upload(state: &AppState) -> BoxedFilter<(UploadHead,)> {
    let limits = state.config.limits.clone();
    warp::header::headers_cloned()
        .and(warp::ext::optional::<crate::net::ClientAddr>())
        .and(warp::body::stream().map(boxed_body))
        .and_then(move |headers: warp::http::HeaderMap, addr: Option<crate::net::ClientAddr>, body: BodyStream| {
            let limits = limits.clone();
            async move {
                let keys: Vec<_> = headers.get_all("idempotency-key").iter().collect();
                if keys.len() > 1 {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "Idempotency-Key",
                        Code::SubmissionIdempotencyKeyRepeated,
                        &[],
                    )
                    .reject());
                }
                let key = match keys.first().map(|k| k.to_str()) {
                    None => None,
                    Some(Ok(k)) => Some(k.to_owned()),
                    Some(Err(_)) => {
                        return Err(ApiError::malformed("invalid header idempotency-key").reject());
                    }
                };
                let Some(key) = key.filter(|k| valid_idempotency_key(k)) else {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "Idempotency-Key",
                        Code::SubmissionIdempotencyKey,
                        &[],
                    )
                    .reject());
                };
                let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
                if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "content-type",
                        Code::RequestNotMultipart,
                        &[],
                    )
                    .reject());
                }
                let Some(boundary) = super::multipart::boundary(ct) else {
                    return Err(ApiError::malformed("invalid header content-type").reject());
                };
                let declared = headers
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| l.trim().parse::<u64>().ok());
                if declared.is_some_and(|l| l > limits.max_body_bytes) {
                    return Err(too_large("request", limits.max_body_bytes).reject());
                }
                Ok::<_, Rejection>(UploadHead { key, boundary, addr: addr.map(|a| a.0.ip()), body })
            }
        })
        .boxed()
}

fn boxed_body<S, B>(stream: S) -> BodyStream
where
    S: futures_util::Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    Box::pin(stream.map(|r| r.map(|mut b| b.copy_to_bytes(b.remaining()))))
}

fn too_large(field: &str, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        field,
        Code::RequestTooLarge,
        &[("limit", &intake_rules::photo::human_bytes(usize::try_from(limit).unwrap_or(usize::MAX)))],
    )
}

fn too_slow(limits: &LimitsConfig) -> ApiError {
    let rate = intake_rules::photo::human_bytes(usize::try_from(limits.min_upload_bytes_per_sec.max(1)).unwrap_or(1));
    ApiError::new(StatusCode::REQUEST_TIMEOUT, "request", Code::RequestUploadTooSlow, &[("rate", &rate)])
}

/// How long to wait for more room in the in-flight budget before telling the client to come back.
const RETRY_AFTER_BUSY_SECS: u64 = 5;

/// The share of the in-flight budget held by one upload: one KiB permit per KiB received.
struct Share {
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Share {
    /// Holds permits for `bytes` received in all; waits at most `wait` for them.
    async fn cover(
        &mut self,
        budget: &std::sync::Arc<tokio::sync::Semaphore>,
        bytes: u64,
        wait: std::time::Duration,
    ) -> Result<(), ApiError> {
        let need = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
        let have = self.permit.as_ref().map_or(0, |p| u32::try_from(p.num_permits()).unwrap_or(u32::MAX));
        if need <= have {
            return Ok(());
        }
        let more = need - have;
        let acquired = match budget.clone().try_acquire_many_owned(more) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(ApiError::unavailable()),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                match tokio::time::timeout(wait, budget.clone().acquire_many_owned(more)).await {
                    Ok(Ok(p)) => p,
                    Ok(Err(_)) => return Err(ApiError::unavailable()),
                    Err(_) => {
                        return Err(ApiError { retry_after: Some(RETRY_AFTER_BUSY_SECS), ..ApiError::unavailable() });
                    }
                }
            }
        };
        match self.permit.as_mut() {
            Some(p) => p.merge(acquired),
            None => self.permit = Some(acquired),
        }
        Ok(())
    }
}

/// Reads the body of an upload: per-person and per-address slots first (429 before any body
/// byte is read), then the multipart parts as they arrive, each received byte covered by the
/// in-flight budget before it is kept, with the part sizes, the header blocks, an idle timeout
/// and a minimum average rate enforced as it goes.
pub async fn read_upload(caller: &Caller, state: &AppState, head: UploadHead) -> Result<Upload, Rejection> {
    let limits = &state.config.limits;
    let UploadHead { key, boundary, addr, mut body } = head;
    let busy = || {
        let secs = RETRY_AFTER_BUSY_SECS;
        ApiError {
            retry_after: Some(secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "request",
                Code::RequestTooManyUploads,
                &[("seconds", &secs)],
            )
        }
        .reject()
    };
    let mut slots = Vec::with_capacity(2);
    slots.push(state.uploads_per_person.try_acquire(&caller.subject).ok_or_else(busy)?);
    if let Some(ip) = addr {
        slots.push(state.uploads_per_address.try_acquire(&ip.to_string()).ok_or_else(busy)?);
    }

    let mut parser = super::multipart::Parser::new(
        &boundary,
        super::multipart::Limits {
            max_header_bytes: limits.max_part_header_bytes,
            max_header_lines: limits.max_part_header_lines,
        },
    );
    let header_too_large = || {
        let limit = intake_rules::photo::human_bytes(limits.max_part_header_bytes);
        ApiError::new(StatusCode::BAD_REQUEST, "request", Code::RequestPartHeaderTooLarge, &[("limit", &limit)])
            .reject()
    };
    let part_limit = |name: &str| if name == "bundle" { limits.max_bundle_bytes } else { limits.max_part_bytes };
    let check_part = |part: &super::multipart::Part| -> Result<(), Rejection> {
        let limit = part_limit(&part.name);
        if part.bytes.len() as u64 > limit {
            return Err(too_large(&part.name, limit).reject());
        }
        Ok(())
    };

    let idle = std::time::Duration::from_secs(limits.upload_idle_timeout_secs.max(1));
    let grace = std::time::Duration::from_secs(limits.upload_rate_grace_secs);
    let rate = limits.min_upload_bytes_per_sec;
    let budget_wait = std::time::Duration::from_secs(limits.upload_budget_wait_secs);
    let started = tokio::time::Instant::now();
    // Time spent waiting for the budget is ours, not the client's: it does not count against its rate.
    let mut paused = std::time::Duration::ZERO;
    let mut share = Share { permit: None };
    let mut received = 0u64;
    let mut parts: Vec<super::multipart::Part> = Vec::new();
    loop {
        let active = started.elapsed().saturating_sub(paused);
        // The latest moment at which what was received still meets the rate.
        let rate_deadline = if rate == 0 {
            std::time::Duration::MAX
        } else {
            grace.max(std::time::Duration::from_secs_f64(received as f64 / rate as f64))
        };
        let wait = idle.min(rate_deadline.saturating_sub(active));
        let next = match tokio::time::timeout(wait, body.next()).await {
            Ok(next) => next,
            Err(_) => {
                return Err(too_slow(limits).reject());
            }
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| ApiError::malformed(&format!("body: {e}")).reject())?;
        received += chunk.len() as u64;
        if received > limits.max_body_bytes {
            return Err(too_large("request", limits.max_body_bytes).reject());
        }
        let waited = tokio::time::Instant::now();
        share.cover(&state.upload_budget, received, budget_wait).await.map_err(|e| e.reject())?;
        paused += waited.elapsed();
        parser.push(&chunk).map_err(|e| match e {
            super::multipart::Error::HeaderTooLarge => header_too_large(),
            super::multipart::Error::Malformed(m) => ApiError::malformed(&format!("multipart: {m}")).reject(),
        })?;
        for part in parser.take_done() {
            check_part(&part)?;
            parts.push(part);
        }
        if let Some(part) = parser.current() {
            check_part(part)?;
        }
        if parts.len() + usize::from(parser.current().is_some()) > limits.max_parts {
            return Err(ApiError::malformed(&format!("more than {} parts", limits.max_parts)).reject());
        }
    }
    parser.finish().map_err(|e| {
        let detail = match e {
            super::multipart::Error::Malformed(m) => m,
            super::multipart::Error::HeaderTooLarge => "a part header is too large".into(),
        };
        ApiError::malformed(&format!("multipart: {detail}")).reject()
    })?;
    parts.extend(parser.take_done());

    let mut hasher = Sha256::new();
    let parts: Vec<(String, Vec<u8>)> = parts
        .into_iter()
        .map(|p| {
            hasher.update(p.name.as_bytes());
            hasher.update([0u8]);
            hasher.update((p.bytes.len() as u64).to_le_bytes());
            hasher.update(&p.bytes);
            (p.name, p.bytes)
        })
        .collect();
    let hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Upload { key, parts, hash, budget: share.permit, slots })
}

/// Today in Xiamen (UTC+8).
pub fn today_in_xiamen() -> Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let now = time::OffsetDateTime::now_utc().to_offset(offset);
    Date::new(now.year() as u16, now.month() as u8, now.day()).unwrap_or(Date { year: 2026, month: 1, day: 1 })
}

fn receipt(r: &SubmissionRecord, status: StatusCode) -> Response {
    let body = Receipt {
        id: r.id.clone(),
        receipt_number: receipt_number(&r.id),
        status: r.status,
        received_at: rfc3339(r.received_at_ms),
    };
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

/// The short receipt number of a submission id (`XXXX-XXXX-XXXX`; empty for an id that is not a UUID).
pub fn receipt_number(id: &str) -> String {
    intake_rules::receipt::ReceiptNumber::for_id(id).map(|n| n.to_string()).unwrap_or_default()
}

/// `POST /api/v1/submissions`.
pub async fn submit(caller: Caller, state: AppState, upload: Upload) -> Result<Response, Rejection> {
    process(caller, state, upload, SubmissionKind::Submission).await
}

/// `POST /api/v1/submissions/{id}/amendments` (FAQ 6): 403 while the module is closed.
pub async fn amend(id: String, caller: Caller, state: AppState, upload: Upload) -> Result<Response, Rejection> {
    if !state.config.features.modification_open {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "id", Code::ModificationNotOpen, &[]).reject());
    }
    match state.store.get(&caller.subject, &id).await? {
        Some(_) => process(caller, state, upload, SubmissionKind::Amendment { of: id }).await,
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "id", Code::SubmissionNotFound, &[]).reject()),
    }
}

async fn process(caller: Caller, state: AppState, upload: Upload, kind: SubmissionKind) -> Result<Response, Rejection> {
    if let Err(secs) = state.submission_limit.hit(&caller.subject) {
        return Err(super::errors::rate_limited(secs).reject());
    }
    // A retry of a stored submission: answered from the store, without re-checking.
    match state.store.find_by_key(&caller.subject, &upload.key).await {
        Ok(Some((record, hash))) if hash == upload.hash => {
            state.metrics.duplicate();
            return Ok(receipt(&record, StatusCode::OK));
        }
        Ok(Some(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Idempotency-Key",
                Code::SubmissionIdempotencyConflict,
                &[],
            )
            .reject());
        }
        Ok(None) => {}
        Err(e) => return Err(e.into()),
    }
    // One collection per person; a refused one (needs attention) may be submitted again.
    if kind == SubmissionKind::Submission {
        let existing = state.store.list(&caller.subject).await?;
        if let Some(active) = existing
            .iter()
            .find(|r| r.kind == SubmissionKind::Submission && r.status != SubmissionStatus::NeedsAttention)
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "submission",
                Code::SubmissionAlreadySubmitted,
                &[("id", &active.id)],
            )
            .reject());
        }
    }
    let Some(bundle) = upload.parts.iter().find(|(n, _)| n == "bundle").map(|(_, b)| b.clone()) else {
        return Err(ApiError::malformed("the bundle part is missing").reject());
    };
    if upload.parts.iter().filter(|(n, _)| n == "bundle").count() > 1 {
        return Err(ApiError::malformed("more than one bundle part").reject());
    }
    let archive = match state.archive(&caller).await {
        ArchiveLookup::Found(v) => Some(ArchiveFacts {
            holds_certificate: v.get("holds_certificate").and_then(Value::as_bool).unwrap_or(false),
            working_years: v.get("working_years").and_then(Value::as_u64).and_then(|y| u32::try_from(y).ok()),
        }),
        ArchiveLookup::NotFound => None,
        ArchiveLookup::Unavailable(e) => {
            // The platform may be down on the deadline day: accept, and let the platform re-validate.
            tracing::warn!(error = %e, "archive unavailable while checking a submission");
            None
        }
    };

    // The re-check, bounded: at most `max_concurrent_checks` bundles decode images at once.
    let permit = state.checks.clone().acquire_owned().await.map_err(|_| ApiError::unavailable().reject())?;
    let identity = caller.identity.clone();
    let profile = state.config.profile();
    let files_in = upload.parts;
    let started = std::time::Instant::now();
    let checked = tokio::task::spawn_blocking(move || {
        let ctx = Context { identity: &identity, today: today_in_xiamen(), archive };
        let refs: Vec<(&str, &[u8])> =
            files_in.iter().filter(|(n, _)| n != "bundle").map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        intake_rules::submission::check(&bundle, &refs, &ctx, profile)
    })
    .await;
    drop(permit);
    let took = started.elapsed();
    let accepted = match checked {
        Ok(Ok(a)) => {
            state.metrics.recheck("accepted", took);
            a
        }
        Ok(Err(report)) => {
            state.metrics.recheck("refused", took);
            return Err(ApiError::report(StatusCode::UNPROCESSABLE_ENTITY, report).reject());
        }
        Err(e) => {
            tracing::error!(error = %e, "the re-check panicked");
            return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server", Code::ServerInternal, &[]).reject());
        }
    };

    let id = caller.identity.clone();
    let (bundle, files, _warnings) = accepted.into_parts();
    let new = NewSubmission {
        id: uuid::Uuid::now_v7().to_string(),
        subject: caller.subject.clone(),
        kind,
        idempotency_key: upload.key,
        body_hash: upload.hash,
        identity_json: json!({
            "name": id.name,
            "certificate_type": id.certificate_type,
            "certificate_number": id.certificate_number,
            "mobile": id.mobile,
        })
        .to_string(),
        bundle_json: bundle.to_json().to_string(),
        files: files
            .into_iter()
            .map(|f| StoredFile {
                part: f.part.name().to_owned(),
                index: u32::try_from(f.index).unwrap_or(u32::MAX),
                media_type: f.media_type.to_owned(),
                bytes: f.bytes,
            })
            .collect(),
        received_at_ms: now_ms(),
    };
    match state.store.insert(new).await {
        Ok(InsertOutcome::Created(record)) => {
            state.metrics.accepted();
            state.wake.notify_one();
            tracing::info!(
                id = %record.id,
                certificate = %intake_rules::form::numbers::mask(&caller.identity.certificate_number),
                "submission stored"
            );
            Ok(receipt(&record, StatusCode::CREATED))
        }
        Ok(InsertOutcome::Existing(record)) => {
            state.metrics.duplicate();
            Ok(receipt(&record, StatusCode::OK))
        }
        Ok(InsertOutcome::Conflict) => {
            Err(ApiError::new(StatusCode::CONFLICT, "Idempotency-Key", Code::SubmissionIdempotencyConflict, &[])
                .reject())
        }
        Err(e) => Err(e.into()),
    }
}
