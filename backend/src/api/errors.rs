//! One error envelope for every failure (api.md):
//! `{"errors":[{"field","code","severity","fixable","message":{"zh","en"},"hint":{"zh","en"}}]}`.
//! Handlers reject with [`ApiError`]; [`handle_rejection`] turns it, and
//! warp's own rejections, into that envelope in one place.

use std::convert::Infallible;
use std::sync::Arc;

use intake_rules::wire::ErrorEnvelope;
use intake_rules::{Code, Problem, Report};
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::{Rejection, reject};

use crate::metrics::Metrics;

/// An API failure: a status and every problem behind it.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The problems, in the envelope.
    pub problems: Vec<Problem>,
    /// `Retry-After` seconds (429, 503).
    pub retry_after: Option<u64>,
}

impl reject::Reject for ApiError {}

impl ApiError {
    /// One problem.
    pub fn new(status: StatusCode, field: &str, code: Code, args: &[(&str, &dyn std::fmt::Display)]) -> ApiError {
        ApiError { status, problems: vec![Problem::new(field, code, args)], retry_after: None }
    }

    /// Every problem of a report.
    pub fn report(status: StatusCode, report: Report) -> ApiError {
        ApiError { status, problems: report.into_iter().collect(), retry_after: None }
    }

    /// `request.malformed` (400).
    pub fn malformed(detail: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "request", Code::RequestMalformed, &[("detail", &detail)])
    }

    /// `server.unavailable` (503).
    pub fn unavailable() -> ApiError {
        ApiError {
            retry_after: Some(5),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server", Code::ServerUnavailable, &[])
        }
    }

    /// As a warp rejection.
    pub fn reject(self) -> Rejection {
        reject::custom(self)
    }

    /// The envelope response.
    pub fn response(&self) -> Response {
        let body = ErrorEnvelope { errors: self.problems.clone() };
        let mut resp = warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = secs.to_string().parse()
        {
            resp.headers_mut().insert("retry-after", v);
        }
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(v) = "Bearer".parse()
        {
            resp.headers_mut().insert("www-authenticate", v);
        }
        resp
    }
}

/// A storage failure is 503 `server.unavailable` (nothing acknowledged is lost: the client
/// retries with the same key). Logged here, the one place a store error becomes an answer.
impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        tracing::error!(error = %e, "the store failed");
        ApiError::unavailable()
    }
}

/// `?` on a store call in a handler: the store's error as the API's rejection.
impl From<crate::store::StoreError> for Rejection {
    fn from(e: crate::store::StoreError) -> Rejection {
        ApiError::from(e).reject()
    }
}

/// 429 `request.rate_limited` with `Retry-After`.
pub fn rate_limited(secs: u64) -> ApiError {
    ApiError {
        retry_after: Some(secs),
        ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "request", Code::RequestRateLimited, &[("seconds", &secs)])
    }
}

/// Turns every rejection into the envelope, and counts it in `metrics` by its problem codes
/// (the errors of a report, every problem otherwise): the one place refusals are counted.
pub async fn handle_rejection(err: Rejection, metrics: Arc<Metrics>) -> Result<Response, Infallible> {
    let e = answer(&err);
    metrics.refused(e.problems.iter().filter(|p| p.is_error()).map(|p| p.code.as_str()));
    Ok(e.response())
}

fn answer(err: &Rejection) -> std::borrow::Cow<'_, ApiError> {
    use std::borrow::Cow;
    Cow::Owned(if let Some(e) = err.find::<ApiError>() {
        return Cow::Borrowed(e);
    } else if err.is_not_found() {
        ApiError::new(StatusCode::NOT_FOUND, "request", Code::RequestNotFound, &[])
    } else if err.find::<reject::PayloadTooLarge>().is_some() {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request", Code::RequestTooLarge, &[("limit", &"-")])
    } else if err.find::<reject::UnsupportedMediaType>().is_some() {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "request", Code::RequestNotMultipart, &[])
    } else if err.find::<reject::LengthRequired>().is_some() {
        ApiError::malformed("Content-Length required")
    } else if let Some(h) = err.find::<reject::InvalidHeader>() {
        ApiError::malformed(&format!("invalid header {}", h.name()))
    } else if let Some(h) = err.find::<reject::MissingHeader>() {
        ApiError::malformed(&format!("missing header {}", h.name()))
    } else if let Some(q) = err.find::<reject::InvalidQuery>() {
        ApiError::malformed(&q.to_string())
    } else if let Some(b) = err.find::<warp::filters::body::BodyDeserializeError>() {
        ApiError::malformed(&b.to_string())
    } else if err.find::<reject::MethodNotAllowed>().is_some() {
        // After the rest: `find` searches every route's rejection, and a route whose path and
        // method matched (say POST with an unreadable header) must not be reported as a 405
        // because another route on the same path wanted GET.
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "request", Code::RequestMethodNotAllowed, &[])
    } else {
        tracing::error!(rejection = ?err, "unhandled rejection");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server", Code::ServerInternal, &[])
    })
}
