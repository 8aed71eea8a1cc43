//! The backend as a client of the city's platform (api.md, "Forwarding
//! contract"): `POST {base}/v1/collections` with `Idempotency-Key: <submission
//! id>`, and `GET {base}/v1/archives/{certificate_type}/{number}`.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::store::{Claimed, SubmissionKind};

/// What one delivery attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// 2xx, or 409 (already delivered under this key).
    Delivered {
        /// The platform said it accepted the submission (`{"status":"accepted"}`), or had it already.
        accepted: bool,
    },
    /// 5xx, 429, a timeout or a refused or dropped connection: try again later.
    Retry {
        /// What happened.
        error: String,
        /// The platform's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx: the submission needs attention.
    Permanent {
        /// The platform's reason.
        reason: String,
    },
}

/// The result of an archive lookup.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchiveLookup {
    /// The archive.
    Found(Value),
    /// The platform has no archive for this person.
    NotFound,
    /// The platform could not be asked.
    Unavailable(String),
}

/// The platform client.
#[derive(Debug, Clone)]
pub struct PlatformClient {
    base: String,
    http: reqwest::Client,
    timeout: Duration,
}

impl PlatformClient {
    /// A client for `base_url` with a per-request timeout.
    pub fn new(base_url: &str, timeout: Duration, http: reqwest::Client) -> PlatformClient {
        PlatformClient { base: base_url.trim_end_matches('/').to_owned(), http, timeout }
    }

    /// Delivers one claimed submission.
    pub async fn forward(&self, c: &Claimed) -> ForwardOutcome {
        let (kind, amends) = match &c.kind {
            SubmissionKind::Submission => ("submission", None),
            SubmissionKind::Amendment { of } => ("amendment", Some(of.clone())),
        };
        let json_part = |s: &str| Part::text(s.to_owned()).mime_str("application/json");
        let mut form = Form::new().text("kind", kind);
        match (json_part(&c.identity_json), json_part(&c.bundle_json)) {
            (Ok(identity), Ok(bundle)) => form = form.part("identity", identity).part("bundle", bundle),
            _ => return ForwardOutcome::Permanent { reason: "could not build the request".into() },
        }
        if let Some(of) = amends {
            form = form.text("amends", of);
        }
        for f in &c.files {
            let ext = if f.media_type == "application/pdf" { "pdf" } else { "jpg" };
            let part = match Part::bytes(f.bytes.clone())
                .file_name(format!("{}-{}.{ext}", f.part, f.index))
                .mime_str(&f.media_type)
            {
                Ok(p) => p,
                Err(_) => return ForwardOutcome::Permanent { reason: format!("bad media type {}", f.media_type) },
            };
            form = form.part(f.part.clone(), part);
        }
        let sent = self
            .http
            .post(format!("{}/v1/collections", self.base))
            .header("Idempotency-Key", &c.id)
            .timeout(self.timeout)
            .multipart(form)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => return ForwardOutcome::Retry { error: describe(&e), retry_after: None },
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let reason = body.get("reason").and_then(Value::as_str).map(str::to_owned);
        if status.is_success() {
            let accepted = body.get("status").and_then(Value::as_str) == Some("accepted");
            ForwardOutcome::Delivered { accepted }
        } else if status == StatusCode::CONFLICT {
            ForwardOutcome::Delivered { accepted: true }
        } else if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            ForwardOutcome::Retry {
                error: format!("HTTP {status}{}", reason.map(|r| format!(": {r}")).unwrap_or_default()),
                retry_after,
            }
        } else {
            ForwardOutcome::Permanent { reason: reason.unwrap_or_else(|| format!("HTTP {status}")) }
        }
    }

    /// Looks up the archive of the caller's own certificate.
    pub async fn archive(&self, certificate_type: &str, number: &str) -> ArchiveLookup {
        let url = format!("{}/v1/archives/{certificate_type}/{number}", self.base);
        match self.http.get(&url).timeout(self.timeout).send().await {
            Err(e) => ArchiveLookup::Unavailable(describe(&e)),
            Ok(r) if r.status() == StatusCode::NOT_FOUND => ArchiveLookup::NotFound,
            Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                Ok(v) => ArchiveLookup::Found(v),
                Err(e) => ArchiveLookup::Unavailable(format!("unreadable archive: {e}")),
            },
            Ok(r) => ArchiveLookup::Unavailable(format!("HTTP {}", r.status())),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        format!("transport error: {e}")
    }
}
