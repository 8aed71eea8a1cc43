//! The OpenAPI 3.1 document of the HTTP API (api.md), generated from the code
//! with `utoipa` and served at `GET /api/v1/openapi.json` (no auth).
//!
//! The wire types of `intake-rules` (error envelope, problem, receipt,
//! submission status, the raw bundle and its choices) derive their schemas
//! behind that crate's `openapi` feature, so the document cannot drift from
//! what is serialized; the handlers that answer with `json!` are described by
//! the schema-only types below, and `backend/tests/contract.rs` holds them to
//! it (schemathesis against a live server). The operations are documentation
//! stubs: the routes themselves are built in `mod.rs`.
//!
//! Shared answers are components (`#/components/responses/…`) added by
//! [`CommonResponses`]: every bearer route may answer 400 (unreadable
//! `Authorization` header), 401 (with `WWW-Authenticate`) and 503 (issuer keys
//! or store unavailable, with `Retry-After`); every `/api/` route may answer
//! 429 with `Retry-After`.

use std::sync::OnceLock;

use intake_rules::form::{CertificateType, RawBundle};
use intake_rules::wire::{ErrorEnvelope, Receipt, SubmissionStatus};
use intake_rules::{Problem, Severity, Text};
use utoipa::openapi::encoding::Encoding;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, KnownFormat, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};
use warp::reply::{Reply, Response};

/// The document's path.
pub const PATH: &str = "/api/v1/openapi.json";

/// The document, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(ApiDoc::openapi)
}

/// The document as JSON text.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| serde_json::to_string(document()).unwrap_or_default())
}

/// `GET /api/v1/openapi.json`.
pub fn serve() -> Response {
    warp::reply::with_header(json(), "content-type", "application/json").into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Intake",
        description = "The HTTP API of the Intake backend (api.md). Every error answers with the one envelope \
                       `{\"errors\":[{\"field\",\"code\",\"severity\",\"fixable\",\"message\":{\"zh\",\"en\"},\"hint\":{\"zh\",\"en\"}}]}`; \
                       `docs/codes.md` lists every code.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(
        paths::healthz,
        paths::readyz,
        paths::metrics,
        paths::openapi,
        paths::config,
        paths::me,
        paths::archive,
        paths::list,
        paths::one,
        paths::submit,
        paths::amend
    ),
    components(schemas(
        ErrorEnvelope,
        Problem,
        Severity,
        Text,
        Receipt,
        SubmissionStatus,
        RawBundle,
        SubmissionForm,
        Health,
        ClientConfig,
        Me,
        CallerIdentity,
        SubmissionList,
        SubmissionView,
        HistoryEntry
    )),
    modifiers(&CommonResponses),
    tags(
        (name = "operations", description = "Health, readiness and metrics for operators."),
        (name = "widget", description = "What the widget reads and sends, as the signed-in accountant.")
    )
)]
struct ApiDoc;

// ---------------------------------------------------------------- answers

/// `{"status": …}` of the health and readiness probes.
#[derive(Debug, ToSchema)]
pub struct Health {
    /// `ok` (healthz) or `ready` (readyz).
    #[schema(example = "ok")]
    pub status: String,
}

/// `GET /api/v1/config`: what the widget renders.
#[derive(Debug, ToSchema)]
pub struct ClientConfig {
    /// The active photo spec profile (`rules/data/profiles.json`).
    pub profile: PhotoProfile,
    /// Every embedded profile id.
    pub profiles: Vec<String>,
    /// The documents each certificate type needs, by post status (`on_post`, `off_post`).
    #[schema(value_type = BTreeMap<String, BTreeMap<String, Vec<DocumentRule>>>)]
    pub documents: serde_json::Value,
    /// Help texts and hotlines (the `[help]` configuration).
    #[schema(value_type = Object)]
    pub help: serde_json::Value,
    /// Feature switches.
    pub features: Features,
    /// Upload limits in bytes.
    pub limits: UploadLimits,
    /// Which GB/T 2260 region code revisions resident ID numbers are checked against.
    pub regions: String,
    /// The iXiamen OpenID Connect issuer and this client's id.
    pub identity: IdentityProvider,
}

/// A photo spec profile (the main numbers; the profile may carry more).
#[derive(Debug, ToSchema)]
pub struct PhotoProfile {
    /// Profile id.
    #[schema(example = "intake-default")]
    pub id: String,
    /// Profile version.
    pub version: u32,
    /// Display name.
    pub name: Text,
    /// Minimum width in pixels.
    pub min_width: u32,
    /// Minimum height in pixels.
    pub min_height: u32,
    /// Width the fix produces.
    pub target_width: u32,
    /// Height the fix produces.
    pub target_height: u32,
    /// Smallest file in bytes.
    pub min_bytes: u64,
    /// Largest file in bytes.
    pub max_bytes: u64,
    /// Accepted background colours.
    pub backgrounds: Vec<String>,
}

/// One part a submission needs.
#[derive(Debug, ToSchema)]
pub struct DocumentRule {
    /// The multipart part name.
    #[schema(example = "photo")]
    pub part: String,
    /// Fewest files.
    pub min: u32,
    /// Most files.
    pub max: u32,
    /// Display label.
    pub label: Text,
}

/// Feature switches.
#[derive(Debug, ToSchema)]
pub struct Features {
    /// The modification module (FAQ 6) is open.
    pub modification_open: bool,
}

/// Upload limits.
#[derive(Debug, ToSchema)]
pub struct UploadLimits {
    /// Largest part.
    pub max_part_bytes: u64,
    /// Largest request body.
    pub max_body_bytes: u64,
}

/// Where the widget signs in.
#[derive(Debug, ToSchema)]
pub struct IdentityProvider {
    /// The issuer URL.
    pub issuer: String,
    /// The OAuth client id (the tokens' audience).
    pub client_id: String,
}

/// `GET /api/v1/me`: the caller's identity from the token, number and mobile masked.
#[derive(Debug, ToSchema)]
pub struct Me {
    /// Registered name.
    pub name: String,
    /// Certificate type.
    #[schema(schema_with = certificate_type_schema)]
    pub certificate_type: String,
    /// The certificate number with all but the first 3 and last 4 characters masked.
    #[schema(example = "350***********4321")]
    pub certificate_number_masked: String,
    /// The mobile, masked, when iXiamen provides one.
    pub mobile_masked: Option<String>,
    /// The name carries pinyin for a rare character.
    pub name_has_pinyin: bool,
    /// The caller's own identity in full (the widget copies it into the bundle's read-only identity block).
    pub identity: Option<CallerIdentity>,
}

/// The iXiamen identity in full.
#[derive(Debug, ToSchema)]
pub struct CallerIdentity {
    /// Registered name.
    pub name: String,
    /// Certificate type.
    #[schema(schema_with = certificate_type_schema)]
    pub certificate_type: String,
    /// Certificate number.
    pub certificate_number: String,
    /// Registered mobile, when iXiamen provides it.
    pub mobile: Option<String>,
}

/// `GET /api/v1/submissions`: the caller's own submissions, newest first.
#[derive(Debug, ToSchema)]
pub struct SubmissionList {
    /// The submissions.
    pub submissions: Vec<SubmissionView>,
    /// The modification module (FAQ 6) is open.
    pub modification_open: bool,
}

/// A submission as its owner sees it.
#[derive(Debug, ToSchema)]
pub struct SubmissionView {
    /// Submission id.
    pub id: String,
    /// The short receipt number for people (`XXXX-XXXX-XXXX`), unique.
    #[schema(pattern = "^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")]
    pub receipt_number: String,
    /// `submission` or `amendment`.
    #[schema(value_type = String, pattern = "^(submission|amendment)$")]
    pub kind: String,
    /// The submission an amendment amends.
    pub amends: Option<String>,
    /// Current status.
    pub status: SubmissionStatus,
    /// The status for display.
    pub status_label: Text,
    /// When it was durably stored (RFC 3339).
    #[schema(format = DateTime)]
    pub received_at: String,
    /// Why it needs attention (only in `needs_attention`).
    pub reason: Option<String>,
    /// Every status it went through, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// One step of a submission's history.
#[derive(Debug, ToSchema)]
pub struct HistoryEntry {
    /// When (RFC 3339).
    #[schema(format = DateTime)]
    pub at: String,
    /// The status entered.
    pub status: SubmissionStatus,
    /// Why, if anything.
    pub note: Option<String>,
}

fn certificate_type_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(CertificateType::ALL.iter().map(|c| c.as_str())))
        .build()
}

/// The `multipart/form-data` body of a submission or an amendment (api.md).
#[derive(Debug)]
pub struct SubmissionForm;

impl PartialSchema for SubmissionForm {
    fn schema() -> RefOr<Schema> {
        let file = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                .description(Some(description))
        };
        let files = |description: &str| {
            ArrayBuilder::new()
                .items(file("One file: JPEG, PNG or PDF by content."))
                .max_items(Some(3))
                .description(Some(description))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The parts of a submission. Which documents are required follows the certificate type and the \
                 post status (`GET /api/v1/config`, `documents`); a missing or refused one is a 422 naming it.",
            ))
            .property("bundle", RefOr::Ref(Ref::from_schema_name("RawBundle")))
            .required("bundle")
            .property("photo", file("The standard photo (JPEG)."))
            .required("photo")
            .property("id_front", file("ID card portrait side (identity cards and permits)."))
            .property("id_back", file("ID card national-emblem side (identity cards and permits)."))
            .property("passport_info", file("Passport personal-information page (passports)."))
            .property("passport_validity", file("Passport validity page (passports)."))
            .property("work_certificate", files("Work certificates: zero to three (required on an accounting post)."))
            .property("supporting", files("Supporting files: zero to three (student ID, household registration)."))
            .into()
    }
}

impl ToSchema for SubmissionForm {}

// ---------------------------------------------------------------- operations

/// Documentation stubs: one per route of api.md. The routes are in `mod.rs`.
#[allow(dead_code)]
mod paths {
    use super::*;

    /// Liveness.
    #[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
        responses((status = 200, description = "The process serves.", body = Health)))]
    fn healthz() {}

    /// Readiness: the store answers and the configuration is usable.
    #[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
        responses((status = 200, description = "Ready.", body = Health)))]
    fn readyz() {}

    /// Prometheus metrics (bind the server to an internal address in production).
    #[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
        responses((status = 200, description = "Prometheus metrics in the OpenMetrics text format (counters, \
            histograms of request, re-check and forwarding durations, queue gauges).", body = String,
            content_type = "application/openmetrics-text")))]
    fn metrics() {}

    /// This document.
    #[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", operation_id = "openapi",
        responses((status = 200, description = "The OpenAPI document of this API.", body = Object)))]
    fn openapi() {}

    /// The active photo spec profile, document rules, help texts and feature switches the widget renders.
    #[utoipa::path(get, path = "/api/v1/config", tag = "widget", operation_id = "config",
        responses((status = 200, description = "The widget's configuration.", body = ClientConfig)))]
    fn config() {}

    /// The caller's identity: name, certificate type, masked number.
    #[utoipa::path(get, path = "/api/v1/me", tag = "widget", operation_id = "me",
        security(("bearer" = [])),
        responses((status = 200, description = "The caller.", body = Me)))]
    fn me() {}

    /// The caller's historical archive at the platform.
    #[utoipa::path(get, path = "/api/v1/archive", tag = "widget", operation_id = "archive",
        security(("bearer" = [])),
        responses(
            (status = 200, description = "The platform's archive of the caller, as the platform keeps it.",
                body = Object),
            (status = 404, description = "`archive.not_found`: the platform has no archive for the caller.",
                body = ErrorEnvelope)
        ))]
    fn archive() {}

    /// The caller's own submissions, newest first.
    #[utoipa::path(get, path = "/api/v1/submissions", tag = "widget", operation_id = "list_submissions",
        security(("bearer" = [])),
        responses((status = 200, description = "The caller's submissions.", body = SubmissionList)))]
    fn list() {}

    /// Status and history of one of the caller's own submissions.
    #[utoipa::path(get, path = "/api/v1/submissions/{id}", tag = "widget", operation_id = "get_submission",
        security(("bearer" = [])),
        params(("id" = String, Path, description = "Submission id.")),
        responses(
            (status = 200, description = "The submission.", body = SubmissionView),
            (status = 404, description = "`submission.not_found`: no such submission of the caller's \
                (anyone else's is 404 too).", body = ErrorEnvelope)
        ))]
    fn one() {}

    /// Submits the collection: the bundle and its files, re-checked with the widget's own rules.
    #[utoipa::path(post, path = "/api/v1/submissions", tag = "widget", operation_id = "submit",
        security(("bearer" = [])),
        params(("Idempotency-Key" = String, Header, min_length = 8, max_length = 128, pattern = "^[!-~]{8,128}$",
            description = "8–128 visible ASCII characters. The same key with the same body returns the original \
                submission (200); with a different body it is 409 `submission.idempotency_conflict`.")),
        request_body(content = SubmissionForm, content_type = "multipart/form-data"),
        responses(
            (status = 201, description = "Accepted and durably stored.", body = Receipt),
            (status = 200, description = "A retry with the same key and body: the original submission.",
                body = Receipt),
            (status = 400, description = "`request.malformed` (multipart or bundle JSON), \
                `request.part_header_too_large` (a part's header block over its limit), \
                `submission.idempotency_key` (missing or invalid key) or `submission.idempotency_key_repeated` \
                (more than one).", body = ErrorEnvelope),
            (status = 408, description = "`request.upload_too_slow` (the body stalled or came in below the \
                minimum rate) or `request.timeout` (the whole request took too long).", body = ErrorEnvelope),
            (status = 409, description = "`submission.idempotency_conflict` (same key, different body) or \
                `submission.already_submitted`.", body = ErrorEnvelope),
            (status = 413, description = "`request.too_large`: the whole body or one part is over its limit.",
                body = ErrorEnvelope),
            (status = 415, description = "`request.not_multipart`.", body = ErrorEnvelope),
            (status = 422, description = "Every problem found in the bundle and the files.", body = ErrorEnvelope)
        ))]
    fn submit() {}

    /// Amends a submission (FAQ 6); the same body as a submission.
    #[utoipa::path(post, path = "/api/v1/submissions/{id}/amendments", tag = "widget",
        operation_id = "amend_submission",
        security(("bearer" = [])),
        params(
            ("id" = String, Path, description = "The submission amended."),
            ("Idempotency-Key" = String, Header, min_length = 8, max_length = 128, pattern = "^[!-~]{8,128}$",
                description = "As for a submission.")
        ),
        request_body(content = SubmissionForm, content_type = "multipart/form-data"),
        responses(
            (status = 201, description = "The amendment, accepted and durably stored.", body = Receipt),
            (status = 200, description = "A retry with the same key and body.", body = Receipt),
            (status = 400, description = "`request.malformed`, `request.part_header_too_large`, \
                `submission.idempotency_key` or `submission.idempotency_key_repeated`.", body = ErrorEnvelope),
            (status = 408, description = "`request.upload_too_slow` or `request.timeout`.", body = ErrorEnvelope),
            (status = 403, description = "`modification.not_open`: the modification module is closed.",
                body = ErrorEnvelope),
            (status = 404, description = "`submission.not_found`.", body = ErrorEnvelope),
            (status = 409, description = "`submission.idempotency_conflict`.", body = ErrorEnvelope),
            (status = 413, description = "`request.too_large`.", body = ErrorEnvelope),
            (status = 415, description = "`request.not_multipart`.", body = ErrorEnvelope),
            (status = 422, description = "Every problem found.", body = ErrorEnvelope)
        ))]
    fn amend() {}
}

// ---------------------------------------------------------------- shared parts

/// Adds the bearer scheme, the shared error answers and the multipart encoding.
#[derive(Debug)]
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.security_schemes.insert(
            "bearer".into(),
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT of the configured iXiamen OpenID Connect issuer, verified against its JWKS \
                         (signature, iss, aud, exp, nbf).",
                    ))
                    .build(),
            ),
        );
        let retry_after = || {
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
                .description(Some("Seconds to wait before trying again."))
                .build()
        };
        let envelope = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope"))).build();
        let answers = [
            (
                "BadRequest",
                ResponseBuilder::new()
                    .description("`request.malformed`: a header could not be read (e.g. `Authorization`).")
                    .content("application/json", envelope())
                    .build(),
            ),
            (
                "Unauthorized",
                ResponseBuilder::new()
                    .description("`auth.required` (no bearer token) or `auth.invalid_token`.")
                    .content("application/json", envelope())
                    .header(
                        "WWW-Authenticate",
                        HeaderBuilder::new().schema(String::schema()).description(Some("`Bearer`")).build(),
                    )
                    .build(),
            ),
            (
                "RateLimited",
                ResponseBuilder::new()
                    .description(
                        "`request.rate_limited`: too many requests from this address or person; on the upload \
                         routes also `request.too_many_uploads`: too many uploads in progress at once.",
                    )
                    .content("application/json", envelope())
                    .header("Retry-After", retry_after())
                    .build(),
            ),
            (
                "Unavailable",
                ResponseBuilder::new()
                    .description(
                        "`server.unavailable` or `archive.unavailable`: the store, the issuer's keys or the \
                         platform cannot be reached; try again later.",
                    )
                    .content("application/json", envelope())
                    .header("Retry-After", retry_after())
                    .build(),
            ),
        ];
        for (name, answer) in answers {
            components.responses.insert(name.into(), RefOr::T(answer));
        }
        let shared = |name: &str| RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
        for (path, item) in doc.paths.paths.iter_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let responses = &mut op.responses.responses;
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    responses.entry("400".into()).or_insert_with(|| shared("BadRequest"));
                    responses.insert("401".into(), shared("Unauthorized"));
                    responses.insert("503".into(), shared("Unavailable"));
                }
                if path == "/readyz" {
                    responses.insert("503".into(), shared("Unavailable"));
                }
                if path.starts_with("/api/") {
                    responses.insert("429".into(), shared("RateLimited"));
                }
                multipart_encoding(op);
            }
        }
    }
}

/// The bundle part is JSON; files are images or PDFs.
fn multipart_encoding(op: &mut Operation) {
    let Some(body) = op.request_body.as_mut() else { return };
    let Some(form) = body.content.get_mut("multipart/form-data") else { return };
    let encoding = |ct: &str| {
        let mut e = Encoding::default();
        e.content_type = Some(ct.into());
        e
    };
    form.encoding.insert("bundle".into(), encoding("application/json"));
    form.encoding.insert("photo".into(), encoding("image/jpeg, image/png"));
    for part in ["id_front", "id_back", "passport_info", "passport_validity", "work_certificate", "supporting"] {
        let ct = if matches!(part, "work_certificate" | "supporting") {
            "image/jpeg, image/png, application/pdf"
        } else {
            "image/jpeg, image/png"
        };
        form.encoding.insert(part.into(), encoding(ct));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_serializes_and_names_every_route() {
        let v: serde_json::Value = serde_json::from_str(json()).unwrap();
        assert!(v["openapi"].as_str().unwrap().starts_with("3."));
        for p in ["/healthz", "/api/v1/submissions/{id}/amendments"] {
            assert!(v["paths"][p].is_object(), "{p}");
        }
    }
}
