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
use warp::filters::multipart::FormData;
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
}

/// True for 8–128 visible ASCII characters.
pub fn valid_idempotency_key(key: &str) -> bool {
    (8..=128).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7E).contains(&b))
}

/// Header checks, then the streaming multipart read.
pub fn upload(state: &AppState) -> BoxedFilter<(Upload,)> {
    let limits = state.config.limits.clone();
    let limits2 = limits.clone();
    let metrics = state.metrics.clone();
    let budget = state.upload_budget.clone();
    warp::header::optional::<String>("idempotency-key")
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<String>("content-length"))
        .and_then(move |key: Option<String>, ct: Option<String>, len: Option<String>| {
            let limits = limits.clone();
            let metrics = metrics.clone();
            let budget = budget.clone();
            async move {
                let Some(key) = key.filter(|k| valid_idempotency_key(k)) else {
                    metrics.refused(["submission.idempotency_key"]);
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "Idempotency-Key",
                        Code::SubmissionIdempotencyKey,
                        &[],
                    )
                    .reject());
                };
                if !ct.as_deref().is_some_and(|c| c.to_ascii_lowercase().starts_with("multipart/form-data")) {
                    metrics.refused(["request.not_multipart"]);
                    return Err(ApiError::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "content-type",
                        Code::RequestNotMultipart,
                        &[],
                    )
                    .reject());
                }
                let declared = len.and_then(|l| l.trim().parse::<u64>().ok());
                if declared.is_some_and(|l| l > limits.max_body_bytes) {
                    metrics.refused(["request.too_large"]);
                    return Err(too_large("request", limits.max_body_bytes).reject());
                }
                // Wait for room in the in-flight budget before reading the body (chunked
                // uploads without a length reserve the largest allowed body).
                let kib = declared.unwrap_or(limits.max_body_bytes).div_ceil(1024).max(1);
                let permit = budget
                    .acquire_many_owned(u32::try_from(kib).unwrap_or(u32::MAX))
                    .await
                    .map_err(|_| ApiError::unavailable().reject())?;
                Ok::<_, Rejection>((key, permit))
            }
        })
        .and(warp::multipart::form().max_length(None))
        .and_then(move |(key, permit): (String, tokio::sync::OwnedSemaphorePermit), form: FormData| {
            let limits = limits2.clone();
            async move {
                let mut upload = read_parts(key, form, limits).await?;
                upload.budget = Some(permit);
                Ok::<_, Rejection>(upload)
            }
        })
        .boxed()
}

fn too_large(field: &str, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        field,
        Code::RequestTooLarge,
        &[("limit", &intake_rules::photo::human_bytes(usize::try_from(limit).unwrap_or(usize::MAX)))],
    )
}

async fn read_parts(key: String, mut form: FormData, limits: LimitsConfig) -> Result<Upload, Rejection> {
    let mut parts = Vec::new();
    let mut total = 0u64;
    let mut hasher = Sha256::new();
    while let Some(part) = form.next().await {
        let mut part = part.map_err(|e| ApiError::malformed(&format!("multipart: {e}")).reject())?;
        if parts.len() >= limits.max_parts {
            return Err(ApiError::malformed(&format!("more than {} parts", limits.max_parts)).reject());
        }
        let name = part.name().to_owned();
        let limit = if name == "bundle" { limits.max_bundle_bytes } else { limits.max_part_bytes };
        let mut bytes = Vec::new();
        while let Some(chunk) = part.data().await {
            let mut chunk = chunk.map_err(|e| ApiError::malformed(&format!("multipart: {e}")).reject())?;
            while chunk.has_remaining() {
                let slice = chunk.chunk();
                let n = slice.len();
                total += n as u64;
                if (bytes.len() + n) as u64 > limit {
                    return Err(too_large(&name, limit).reject());
                }
                if total > limits.max_body_bytes {
                    return Err(too_large("request", limits.max_body_bytes).reject());
                }
                bytes.extend_from_slice(slice);
                chunk.advance(n);
            }
        }
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        parts.push((name, bytes));
    }
    let hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(Upload { key, parts, hash, budget: None })
}

/// Today in Xiamen (UTC+8).
pub fn today_in_xiamen() -> Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let now = time::OffsetDateTime::now_utc().to_offset(offset);
    Date::new(now.year() as u16, now.month() as u8, now.day()).unwrap_or(Date { year: 2026, month: 1, day: 1 })
}

fn receipt(r: &SubmissionRecord, status: StatusCode) -> Response {
    let body = Receipt { id: r.id.clone(), status: r.status, received_at: rfc3339(r.received_at_ms) };
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

fn store_failure(e: &crate::store::StoreError) -> Rejection {
    tracing::error!(error = %e, "the store failed");
    ApiError::unavailable().reject()
}

/// `POST /api/v1/submissions`.
pub async fn submit(caller: Caller, state: AppState, upload: Upload) -> Result<Response, Rejection> {
    process(caller, state, upload, SubmissionKind::Submission).await
}

/// `POST /api/v1/submissions/{id}/amendments` (FAQ 6): 403 while the module is closed.
pub async fn amend(id: String, caller: Caller, state: AppState, upload: Upload) -> Result<Response, Rejection> {
    if !state.config.features.modification_open {
        state.metrics.refused(["modification.not_open"]);
        return Err(ApiError::new(StatusCode::FORBIDDEN, "id", Code::ModificationNotOpen, &[]).reject());
    }
    match state.store.get(&caller.subject, &id).await {
        Ok(Some(_)) => process(caller, state, upload, SubmissionKind::Amendment { of: id }).await,
        Ok(None) => Err(ApiError::new(StatusCode::NOT_FOUND, "id", Code::SubmissionNotFound, &[]).reject()),
        Err(e) => Err(store_failure(&e)),
    }
}

async fn process(caller: Caller, state: AppState, upload: Upload, kind: SubmissionKind) -> Result<Response, Rejection> {
    if let Err(secs) = state.submission_limit.hit(&caller.subject) {
        state.metrics.refused(["request.rate_limited"]);
        return Err(super::errors::rate_limited(secs).reject());
    }
    // A retry of a stored submission: answered from the store, without re-checking.
    match state.store.find_by_key(&caller.subject, &upload.key).await {
        Ok(Some((record, hash))) if hash == upload.hash => {
            state.metrics.duplicate();
            return Ok(receipt(&record, StatusCode::OK));
        }
        Ok(Some(_)) => {
            state.metrics.refused(["submission.idempotency_conflict"]);
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "Idempotency-Key",
                Code::SubmissionIdempotencyConflict,
                &[],
            )
            .reject());
        }
        Ok(None) => {}
        Err(e) => return Err(store_failure(&e)),
    }
    // One collection per person; a refused one (needs attention) may be submitted again.
    if kind == SubmissionKind::Submission {
        let existing = state.store.list(&caller.subject).await.map_err(|e| store_failure(&e))?;
        if let Some(active) = existing
            .iter()
            .find(|r| r.kind == SubmissionKind::Submission && r.status != SubmissionStatus::NeedsAttention)
        {
            state.metrics.refused(["submission.already_submitted"]);
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
        state.metrics.refused(["request.malformed"]);
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
    let checked = tokio::task::spawn_blocking(move || {
        let ctx = Context { identity: &identity, today: today_in_xiamen(), archive };
        let refs: Vec<(&str, &[u8])> =
            files_in.iter().filter(|(n, _)| n != "bundle").map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        intake_rules::submission::check(&bundle, &refs, &ctx, profile)
    })
    .await;
    drop(permit);
    let accepted = match checked {
        Ok(Ok(a)) => a,
        Ok(Err(report)) => {
            let codes: Vec<&str> = report.problems().iter().filter(|p| p.is_error()).map(|p| p.code.as_str()).collect();
            state.metrics.refused(codes);
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
            state.metrics.refused(["submission.idempotency_conflict"]);
            Err(ApiError::new(StatusCode::CONFLICT, "Idempotency-Key", Code::SubmissionIdempotencyConflict, &[])
                .reject())
        }
        Err(e) => Err(store_failure(&e)),
    }
}
