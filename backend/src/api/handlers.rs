//! Small handlers: health, readiness, metrics, configuration, identity,
//! archive and the caller's own submissions.

use intake_rules::Code;
use intake_rules::form::numbers::mask;
use intake_rules::form::{CertificateType, PostStatus};
use intake_rules::profile::ProfileSet;
use intake_rules::submission::requirements;
use intake_rules::wire::SubmissionStatus;
use serde_json::{Value, json};
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Rejection, reply};

use super::AppState;
use super::errors::ApiError;
use crate::forwarder::now_ms;
use crate::identity::Caller;
use crate::platform::ArchiveLookup;
use crate::store::{SubmissionKind, SubmissionRecord};

/// `GET /healthz`: 200 while the process serves.
pub fn healthz() -> Response {
    reply::json(&json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: 200 when the store answers, else 503.
pub async fn readyz(state: AppState) -> Response {
    match state.store.ping().await {
        Ok(()) => reply::json(&json!({ "status": "ready" })).into_response(),
        Err(e) => ApiError::from(e).response(),
    }
}

/// `GET /metrics`: OpenMetrics text (Prometheus scrapes it).
pub async fn metrics(state: AppState) -> Response {
    let queue = state.store.stats().await.ok();
    let text = state.metrics.render(queue, now_ms());
    reply::with_header(text, "content-type", crate::metrics::CONTENT_TYPE).into_response()
}

/// `GET /api/v1/config`: what the widget renders.
pub fn config(state: &AppState) -> Response {
    let c = &state.config;
    let mut documents = serde_json::Map::new();
    for kind in CertificateType::ALL {
        let mut by_post = serde_json::Map::new();
        for post in PostStatus::ALL {
            let reqs: Vec<Value> = requirements(kind, *post)
                .iter()
                .map(|r| {
                    let (zh, en) = r.part.labels();
                    json!({ "part": r.part.name(), "min": r.min, "max": r.max, "label": { "zh": zh, "en": en } })
                })
                .collect();
            by_post.insert(post.as_str().to_owned(), Value::Array(reqs));
        }
        documents.insert(kind.as_str().to_owned(), Value::Object(by_post));
    }
    reply::json(&json!({
        "profile": c.profile(),
        "profiles": ProfileSet::embedded().profiles.iter().map(|p| &p.id).collect::<Vec<_>>(),
        "documents": documents,
        "help": c.help,
        "features": { "modification_open": c.features.modification_open },
        "limits": { "max_part_bytes": c.limits.max_part_bytes, "max_body_bytes": c.limits.max_body_bytes },
        "regions": intake_rules::form::regions::COVERAGE,
        "identity": { "issuer": state.verifier.issuer(), "client_id": c.identity.audience },
    }))
    .into_response()
}

/// `GET /api/v1/me`: the caller's identity, number and mobile masked.
pub fn me(caller: &Caller) -> Response {
    let id = &caller.identity;
    reply::json(&json!({
        "name": id.name,
        "certificate_type": id.certificate_type,
        "certificate_number_masked": mask(&id.certificate_number),
        "mobile_masked": id.mobile.as_deref().map(mask),
        "name_has_pinyin": intake_rules::form::has_pinyin(&id.name),
        // The caller's own identity in full: the widget copies it into the
        // bundle's read-only identity block and validates against it.
        "identity": id,
    }))
    .into_response()
}

/// `GET /api/v1/archive`: the caller's own archive, or 404 `archive.not_found`.
pub async fn archive(caller: Caller, state: AppState) -> Result<Response, Rejection> {
    match state.archive(&caller).await {
        ArchiveLookup::Found(v) => Ok(reply::json(&v).into_response()),
        ArchiveLookup::NotFound => {
            Err(ApiError::new(StatusCode::NOT_FOUND, "archive", Code::ArchiveNotFound, &[]).reject())
        }
        ArchiveLookup::Unavailable(e) => {
            tracing::warn!(error = %e, "archive lookup failed");
            let mut err = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "archive", Code::ArchiveUnavailable, &[]);
            err.retry_after = Some(10);
            Err(err.reject())
        }
    }
}

/// RFC 3339 in UTC.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A submission as its owner sees it.
pub fn record_json(r: &SubmissionRecord) -> Value {
    let (zh, en) = r.status.labels();
    json!({
        "id": r.id,
        "receipt_number": crate::api::submissions::receipt_number(&r.id),
        "kind": match &r.kind { SubmissionKind::Submission => "submission", SubmissionKind::Amendment { .. } => "amendment" },
        "amends": match &r.kind { SubmissionKind::Amendment { of } => Some(of.clone()), SubmissionKind::Submission => None },
        "status": r.status,
        "status_label": { "zh": zh, "en": en },
        "received_at": rfc3339(r.received_at_ms),
        "reason": if r.status == SubmissionStatus::NeedsAttention { r.last_error.clone() } else { None },
        "history": r.history.iter().map(|h| json!({ "at": rfc3339(h.at_ms), "status": h.status, "note": h.note })).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/submissions`: the caller's own submissions, newest first.
pub async fn list(caller: Caller, state: AppState) -> Result<Response, Rejection> {
    let records = state.store.list(&caller.subject).await?;
    Ok(reply::json(&json!({
        "submissions": records.iter().map(record_json).collect::<Vec<_>>(),
        "modification_open": state.config.features.modification_open,
    }))
    .into_response())
}

/// `GET /api/v1/submissions/{id}`: one of the caller's own; anyone else's is 404.
pub async fn one(id: String, caller: Caller, state: AppState) -> Result<Response, Rejection> {
    match state.store.get(&caller.subject, &id).await? {
        Some(r) => Ok(reply::json(&record_json(&r)).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "id", Code::SubmissionNotFound, &[]).reject()),
    }
}

/// `POST /bench/bare` (benchmarks only, `server.bench_dir`): reads the body as
/// the submission route does (streamed, same total limit), writes it to a new
/// file and fsyncs it. The load benchmark's reference row. Also serves
/// `POST /bench/decode` (see [`bench_decode`]), the load benchmark's target baseline.
pub fn bench_bare(dir: std::path::PathBuf, limit: u64) -> warp::filters::BoxedFilter<(Response,)> {
    use warp::Filter;
    let decode = bench_decode(dir.clone(), limit);
    warp::path!("bench" / "bare")
        .and(warp::post())
        .and(warp::body::stream())
        .then(move |body| {
            let path = dir.join(uuid::Uuid::new_v4().to_string());
            async move {
                let result = store_body(body, &path, limit).await;
                let _ = tokio::fs::remove_file(&path).await;
                match result {
                    Ok(()) => reply::with_status(reply::json(&json!({ "status": "stored" })), StatusCode::CREATED)
                        .into_response(),
                    Err(_) => ApiError::unavailable().response(),
                }
            }
        })
        .or(decode)
        .unify()
        .boxed()
}

/// `POST /bench/decode` (benchmarks only): the decode floor of an acceptance (issue 16). Reads the
/// multipart body (with warp's reader: a baseline, not the submission route's own), decodes every part but the
/// bundle with the rules' own decoder (`intake_rules::decode::decode`, no checks) on the blocking
/// pool, writes the parts to a new file and fsyncs it.
fn bench_decode(dir: std::path::PathBuf, limit: u64) -> warp::filters::BoxedFilter<(Response,)> {
    use warp::Filter;
    warp::path!("bench" / "decode")
        .and(warp::post())
        .and(warp::multipart::form().max_length(limit))
        .then(move |form: warp::filters::multipart::FormData| {
            let path = dir.join(uuid::Uuid::new_v4().to_string());
            async move {
                let result = decode_parts(form, &path).await;
                let _ = tokio::fs::remove_file(&path).await;
                match result {
                    Ok(()) => reply::with_status(reply::json(&json!({ "status": "decoded" })), StatusCode::CREATED)
                        .into_response(),
                    Err(_) => ApiError::unavailable().response(),
                }
            }
        })
        .boxed()
}

async fn decode_parts(form: warp::filters::multipart::FormData, path: &std::path::Path) -> std::io::Result<()> {
    use bytes::Buf;
    use futures_util::TryStreamExt;
    use tokio::io::AsyncWriteExt;
    let parts: Vec<(String, Vec<u8>)> = form
        .and_then(|part| async move {
            let name = part.name().to_owned();
            let bytes = part
                .stream()
                .try_fold(Vec::new(), |mut v, buf| async move {
                    v.extend_from_slice(buf.chunk());
                    Ok(v)
                })
                .await?;
            Ok((name, bytes))
        })
        .try_collect()
        .await
        .map_err(std::io::Error::other)?;
    let parts = tokio::task::spawn_blocking(move || {
        let limits = intake_rules::decode::DecodeLimits::DEFAULT;
        for (_, bytes) in parts.iter().filter(|(name, _)| name != "bundle") {
            intake_rules::decode::decode(bytes, &limits).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        }
        Ok::<_, std::io::Error>(parts)
    })
    .await
    .map_err(std::io::Error::other)??;
    let mut file = tokio::fs::File::create(path).await?;
    for (_, bytes) in &parts {
        file.write_all(bytes).await?;
    }
    file.sync_all().await
}

async fn store_body<S, B>(body: S, path: &std::path::Path, limit: u64) -> std::io::Result<()>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: bytes::Buf,
{
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    futures_util::pin_mut!(body);
    let mut file = tokio::fs::File::create(path).await?;
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(std::io::Error::other)?;
        while chunk.has_remaining() {
            let n = chunk.chunk().len();
            total += n as u64;
            if total > limit {
                return Err(std::io::Error::other("too large"));
            }
            file.write_all(chunk.chunk()).await?;
            chunk.advance(n);
        }
    }
    file.sync_all().await
}
