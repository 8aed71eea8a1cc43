//! The backend API as the widget calls it (api.md): JSON GETs with the
//! bearer token, and the multipart upload through `XMLHttpRequest` (fetch
//! cannot report upload progress).

use std::rc::Rc;

use intake_rules::catalog::Code;
use intake_rules::form::RawBundle;
use intake_rules::form::numbers::Date;
use intake_rules::report::Problem;
use intake_rules::submission::Part;
use intake_rules::wire::{ErrorEnvelope, Receipt};
use js_sys::{Function, Promise, Uint8Array};
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, FormData, Headers, RequestInit, Response, XmlHttpRequest};

use crate::imaging::ImageResult;
use crate::model::{Archive, Me, SubmissionList, SubmissionView, WidgetConfig};
use crate::state::{Failure, Session};

/// Where the bearer token comes from (mount options).
#[derive(Clone, Debug)]
pub enum TokenSource {
    /// No token (the API will answer 401).
    None,
    /// A fixed token handed over by the host page.
    Static(String),
    /// A host callback returning the token or a promise of it; asked before each call.
    Callback(Function),
}

/// The API client.
#[derive(Clone, Debug)]
pub struct Api {
    /// Prefix of every route, e.g. `https://intake.example` or `` (same origin).
    pub base: String,
    /// The token source.
    pub token: TokenSource,
    /// Called when the API answers 401.
    pub on_auth_required: Option<Function>,
}

impl PartialEq for Api {
    fn eq(&self, other: &Self) -> bool {
        self.base == other.base
    }
}

/// How an HTTP call failed.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    /// The status (0 when the network failed).
    pub status: u16,
    /// The problems of the error envelope, or one synthesised from the status.
    pub problems: Vec<Problem>,
    /// Seconds from `Retry-After`.
    pub retry_after: Option<u32>,
}

impl HttpError {
    /// The network failed: nothing came back.
    pub fn network() -> HttpError {
        HttpError {
            status: 0,
            problems: vec![Problem::new("network", Code::NetworkUnavailable, &[])],
            retry_after: None,
        }
    }

    /// True when trying again can succeed.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 0 | 408 | 429 | 500..=599)
    }

    /// As a failure for the page.
    pub fn failure(&self) -> Failure {
        Failure { problems: self.problems.clone(), retryable: self.retryable() }
    }

    fn from_body(status: u16, body: &str, retry_after: Option<u32>) -> HttpError {
        let problems = serde_json::from_str::<ErrorEnvelope>(body).map(|e| e.errors).unwrap_or_default();
        let problems = if problems.is_empty() {
            let code = match status {
                401 => Code::AuthRequired,
                404 => Code::RequestNotFound,
                413 => Code::RequestTooLarge,
                429 => Code::RequestRateLimited,
                500 => Code::ServerInternal,
                _ => Code::ServerUnavailable,
            };
            vec![Problem::new("request", code, &[])]
        } else {
            problems
        };
        HttpError { status, problems, retry_after }
    }
}

fn js_err(_: JsValue) -> HttpError {
    HttpError::network()
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.trim_end_matches('/'), path)
    }

    /// The current token, asking the host's callback when there is one.
    pub async fn token(&self) -> Option<String> {
        match &self.token {
            TokenSource::None => None,
            TokenSource::Static(t) => Some(t.clone()),
            TokenSource::Callback(f) => {
                let v = f.call0(&JsValue::NULL).ok()?;
                let v = match v.dyn_into::<Promise>() {
                    Ok(p) => JsFuture::from(p).await.ok()?,
                    Err(v) => v,
                };
                v.as_string().filter(|s| !s.is_empty())
            }
        }
    }

    fn auth_required(&self, status: u16) {
        if status == 401
            && let Some(f) = &self.on_auth_required
        {
            let _ = f.call0(&JsValue::NULL);
        }
    }

    /// `GET path` → JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, auth: bool) -> Result<T, HttpError> {
        let text = self.get_text(path, auth).await?;
        serde_json::from_str(&text).map_err(|_| HttpError::from_body(502, "", None))
    }

    /// The request and status handling of [`Api::get`], kept out of its generic part: one copy of this
    /// future in the module instead of one per answer type (the first load's size).
    /// Boxed as a trait object so that the optimiser cannot inline it back into each caller.
    fn get_text<'a>(
        &'a self,
        path: &'a str,
        auth: bool,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, HttpError>> + 'a>> {
        Box::pin(self.fetch_text(path, auth))
    }

    async fn fetch_text(&self, path: &str, auth: bool) -> Result<String, HttpError> {
        let window = web_sys::window().ok_or_else(HttpError::network)?;
        let headers = Headers::new().map_err(js_err)?;
        headers.set("Accept", "application/json").map_err(js_err)?;
        if auth && let Some(t) = self.token().await {
            headers.set("Authorization", &format!("Bearer {t}")).map_err(js_err)?;
        }
        let init = RequestInit::new();
        init.set_method("GET");
        init.set_headers(&headers);
        let resp = JsFuture::from(window.fetch_with_str_and_init(&self.url(path), &init)).await.map_err(js_err)?;
        let resp: Response = resp.dyn_into().map_err(js_err)?;
        let text = JsFuture::from(resp.text().map_err(js_err)?).await.map_err(js_err)?.as_string().unwrap_or_default();
        let status = resp.status();
        if !(200..300).contains(&status) {
            self.auth_required(status);
            let retry = resp.headers().get("Retry-After").ok().flatten().and_then(|v| v.parse().ok());
            return Err(HttpError::from_body(status, &text, retry));
        }
        Ok(text)
    }

    /// Loads everything the flow needs after login.
    pub async fn session(&self, today: Date) -> Result<Session, HttpError> {
        let config: WidgetConfig = self.get("/api/v1/config", false).await?;
        let me: Me = self.get("/api/v1/me", true).await?;
        let archive = match self.get::<Archive>("/api/v1/archive", true).await {
            Ok(a) => Some(a),
            Err(e) if e.status == 404 => None,
            Err(e) => return Err(e),
        };
        let list: SubmissionList = self.get("/api/v1/submissions", true).await?;
        Ok(Session { config, me, archive, submissions: list.submissions, today })
    }

    /// One submission's status.
    pub async fn status(&self, id: &str) -> Result<SubmissionView, HttpError> {
        self.get(&format!("/api/v1/submissions/{id}"), true).await
    }

    /// Uploads the bundle once. `progress` gets 0.0–1.0 as the body is sent.
    pub async fn upload(
        &self,
        path: &str,
        key: &str,
        raw: &RawBundle,
        files: &[(Part, Rc<ImageResult>)],
        progress: Rc<dyn Fn(f64)>,
    ) -> Result<Receipt, HttpError> {
        let form = FormData::new().map_err(js_err)?;
        let json = serde_json::to_string(raw).map_err(|_| HttpError::network())?;
        form.append_with_blob_and_filename("bundle", &blob(json.as_bytes(), "application/json")?, "bundle.json")
            .map_err(js_err)?;
        for (part, result) in files {
            if let Some(out) = &result.output {
                form.append_with_blob_and_filename(part.name(), &blob(&out.bytes, &out.media_type)?, &out.file_name)
                    .map_err(js_err)?;
            }
        }
        let token = self.token().await;
        let xhr = XmlHttpRequest::new().map_err(js_err)?;
        xhr.open("POST", &self.url(path)).map_err(js_err)?;
        xhr.set_request_header("Accept", "application/json").map_err(js_err)?;
        xhr.set_request_header("Idempotency-Key", key).map_err(js_err)?;
        if let Some(t) = token {
            xhr.set_request_header("Authorization", &format!("Bearer {t}")).map_err(js_err)?;
        }
        xhr.set_timeout(120_000);

        // The request settles through one of load / error / timeout / abort: each resolves the promise.
        let mut resolve = None;
        let settled = Promise::new(&mut |r, _reject| resolve = Some(r));
        let resolve = resolve.ok_or_else(HttpError::network)?;
        xhr.set_onload(Some(&resolve));
        xhr.set_onerror(Some(&resolve));
        xhr.set_ontimeout(Some(&resolve));
        xhr.set_onabort(Some(&resolve));
        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                progress(e.loaded() / e.total());
            }
        });
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        xhr.send_with_opt_form_data(Some(&form)).map_err(js_err)?;
        let _ = JsFuture::from(settled).await;
        drop(on_progress);

        let status = xhr.status().unwrap_or(0);
        if status == 0 {
            return Err(HttpError::network());
        }
        let text = xhr.response_text().ok().flatten().unwrap_or_default();
        if status == 200 || status == 201 {
            return serde_json::from_str(&text).map_err(|_| HttpError::from_body(502, "", None));
        }
        self.auth_required(status);
        let retry = xhr.get_response_header("Retry-After").ok().flatten().and_then(|v| v.parse().ok());
        Err(HttpError::from_body(status, &text, retry))
    }
}

fn blob(bytes: &[u8], media_type: &str) -> Result<Blob, HttpError> {
    let array = Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let opts = BlobPropertyBag::new();
    opts.set_type(media_type);
    Blob::new_with_u8_array_sequence_and_options(&parts, &opts).map_err(js_err)
}
