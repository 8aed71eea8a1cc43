//! The forwarding contract's checks of one `POST /v1/collections` (the module above has the
//! contract's text): the body read within its limits, then every part validated and summarised.

use std::pin::pin;

use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::StreamExt as _;
use serde_json::Value;
use warp::http::StatusCode;
use warp::multipart::FormData;

use super::PartSummary;

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

/// A refusal of the request: status and reason.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) reason: String,
}

impl Refusal {
    pub(super) fn bad_request(reason: impl Into<String>) -> Refusal {
        Refusal { status: StatusCode::BAD_REQUEST, reason: reason.into() }
    }
}

/// A body part as received.
#[derive(Debug)]
pub(super) struct RawPart {
    name: String,
    content_type: Option<String>,
    data: Bytes,
}

/// A delivery that satisfies the contract, before it is recorded.
#[derive(Debug)]
pub(super) struct Submission {
    pub(super) identity: Value,
    pub(super) bundle: Value,
    pub(super) kind: String,
    pub(super) amends: Option<String>,
    pub(super) parts: Vec<PartSummary>,
}

/// Reads every part of the form (up to [`MAX_BODY_BYTES`] in all).
pub(super) async fn read_form(form: FormData) -> Result<Vec<RawPart>, Refusal> {
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
pub(super) fn validate(raw: Vec<RawPart>) -> Result<Submission, Refusal> {
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

pub(super) fn summarize(name: &str, content_type: String, data: &[u8]) -> PartSummary {
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
pub(super) fn jpeg_has_exif(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8]) && intake_rules::sanitize::audit(data).has_exif
}
