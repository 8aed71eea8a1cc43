//! The HTTP API (api.md): filters here, handlers in `handlers.rs` and
//! `submissions.rs`, one rejection handler in `errors.rs`. [`routes`] builds
//! the whole API from an [`AppState`] so tests drive it with `warp::test`
//! without a socket.

pub mod errors;
pub mod handlers;
pub mod limits;
pub mod multipart;
pub mod openapi;
pub mod submissions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use intake_rules::Code;
use tokio::sync::{Notify, Semaphore};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::config::Config;
use crate::identity::{AuthError, Caller, Verifier};
use crate::metrics::Metrics;
use crate::platform::{ArchiveLookup, PlatformClient};
use crate::store::Store;
use errors::ApiError;

/// How long an archive lookup is reused for the same person.
pub const ARCHIVE_CACHE: Duration = Duration::from_secs(600);

/// Everything a request needs.
#[derive(Clone)]
pub struct AppState {
    /// The configuration.
    pub config: Arc<Config>,
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Token verification.
    pub verifier: Arc<Verifier>,
    /// The platform client (archive lookups).
    pub platform: PlatformClient,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Bounds the submissions re-checked (images decoded) at once.
    pub checks: Arc<Semaphore>,
    /// Upload bytes in memory, in KiB permits.
    pub upload_budget: Arc<Semaphore>,
    /// Wakes the forwarder after a submission is stored.
    pub wake: Arc<Notify>,
    /// Archive lookups by subject.
    pub archives: Arc<Mutex<HashMap<String, (Instant, ArchiveLookup)>>>,
    /// Submissions per person.
    pub submission_limit: Arc<limits::RateLimiter>,
    /// API requests per client address.
    pub address_limit: Arc<limits::RateLimiter>,
    /// Uploads in progress per person.
    pub uploads_per_person: Arc<limits::Concurrency>,
    /// Uploads in progress per client address.
    pub uploads_per_address: Arc<limits::Concurrency>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("verifier", &self.verifier).finish_non_exhaustive()
    }
}

impl AppState {
    /// State over the given parts.
    pub fn new(config: Config, store: Arc<dyn Store>, verifier: Arc<Verifier>, platform: PlatformClient) -> AppState {
        let checks = Arc::new(Semaphore::new(config.limits.max_concurrent_checks));
        let budget_kib = usize::try_from(config.limits.max_inflight_upload_bytes / 1024).unwrap_or(usize::MAX);
        let upload_budget = Arc::new(Semaphore::new(budget_kib.min(Semaphore::MAX_PERMITS)));
        let submission_limit =
            Arc::new(limits::RateLimiter::new(config.security.submissions_per_10_min, Duration::from_secs(600)));
        let address_limit =
            Arc::new(limits::RateLimiter::new(config.security.requests_per_minute, Duration::from_secs(60)));
        let uploads_per_person = Arc::new(limits::Concurrency::new(config.limits.max_uploads_per_person));
        let uploads_per_address = Arc::new(limits::Concurrency::new(config.limits.max_uploads_per_address));
        AppState {
            uploads_per_person,
            uploads_per_address,
            submission_limit,
            address_limit,
            config: Arc::new(config),
            store,
            verifier,
            platform,
            metrics: Arc::new(Metrics::default()),
            checks,
            upload_budget,
            wake: Arc::new(Notify::new()),
            archives: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The caller's archive, from the cache or the platform (identity from the token, never a parameter).
    pub async fn archive(&self, caller: &Caller) -> ArchiveLookup {
        {
            let cache = self.archives.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, found)) = cache.get(&caller.subject)
                && at.elapsed() < ARCHIVE_CACHE
            {
                return found.clone();
            }
        }
        let id = &caller.identity;
        let found = self.platform.archive(id.certificate_type.as_str(), &id.certificate_number).await;
        if !matches!(found, ArchiveLookup::Unavailable(_)) {
            let mut cache = self.archives.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache.retain(|_, (at, _)| at.elapsed() < ARCHIVE_CACHE);
            cache.insert(caller.subject.clone(), (Instant::now(), found.clone()));
        }
        found
    }
}

/// The bearer token's caller, or 401 (503 when the issuer's keys cannot be fetched).
pub fn caller(state: &AppState) -> BoxedFilter<(Caller,)> {
    let verifier = state.verifier.clone();
    warp::header::optional::<String>("authorization")
        .and_then(move |header: Option<String>| {
            let verifier = verifier.clone();
            async move {
                let token =
                    header.as_deref().and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")));
                let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
                    return Err(
                        ApiError::new(StatusCode::UNAUTHORIZED, "authorization", Code::AuthRequired, &[]).reject()
                    );
                };
                match verifier.verify(token).await {
                    Ok(c) => Ok(c),
                    Err(AuthError::KeysUnavailable(e)) => {
                        tracing::error!(error = %e, "the issuer's keys cannot be fetched");
                        Err(ApiError::unavailable().reject())
                    }
                    Err(e) => {
                        tracing::info!(reason = ?e, "token refused");
                        Err(ApiError::new(StatusCode::UNAUTHORIZED, "authorization", Code::AuthInvalidToken, &[])
                            .reject())
                    }
                }
            }
        })
        .boxed()
}

/// The whole API and, when configured, the static pages.
pub fn routes(state: &AppState) -> BoxedFilter<(Response,)> {
    let s = state.clone();
    let with_state = warp::any().map(move || s.clone());
    let auth = caller(state);

    let healthz = warp::path!("healthz").and(warp::get()).map(handlers::healthz);
    let readyz = warp::path!("readyz").and(warp::get()).and(with_state.clone()).then(handlers::readyz);
    let metrics = warp::path!("metrics").and(warp::get()).and(with_state.clone()).then(handlers::metrics);
    let config = warp::path!("api" / "v1" / "config")
        .and(warp::get())
        .and(with_state.clone())
        .map(|s: AppState| handlers::config(&s));
    let me = warp::path!("api" / "v1" / "me").and(warp::get()).and(auth.clone()).map(|c: Caller| handlers::me(&c));
    let archive = warp::path!("api" / "v1" / "archive")
        .and(warp::get())
        .and(auth.clone())
        .and(with_state.clone())
        .and_then(handlers::archive);
    let list = warp::path!("api" / "v1" / "submissions")
        .and(warp::get())
        .and(auth.clone())
        .and(with_state.clone())
        .and_then(handlers::list);
    let one = warp::path!("api" / "v1" / "submissions" / String)
        .and(warp::get())
        .and(auth.clone())
        .and(with_state.clone())
        .and_then(handlers::one);
    let submit = warp::path!("api" / "v1" / "submissions")
        .and(warp::post())
        .and(auth.clone())
        .and(with_state.clone())
        .and(submissions::upload(state))
        .and_then(|caller: Caller, state: AppState, head: submissions::UploadHead| async move {
            let upload = submissions::read_upload(&caller, &state, head).await?;
            submissions::submit(caller, state, upload).await
        });
    let amend = warp::path!("api" / "v1" / "submissions" / String / "amendments")
        .and(warp::post())
        .and(auth)
        .and(with_state)
        .and(submissions::upload(state))
        .and_then(|id: String, caller: Caller, state: AppState, head: submissions::UploadHead| async move {
            let upload = submissions::read_upload(&caller, &state, head).await?;
            submissions::amend(id, caller, state, upload).await
        });

    let openapi = warp::path!("api" / "v1" / "openapi.json").and(warp::get()).map(openapi::serve);

    let api = healthz
        .or(openapi)
        .unify()
        .or(readyz)
        .unify()
        .or(metrics)
        .unify()
        .or(config)
        .unify()
        .or(me)
        .unify()
        .or(archive)
        .unify()
        .or(list)
        .unify()
        .or(one)
        .unify()
        .or(submit)
        .unify()
        .or(amend)
        .unify();
    let api = match state.config.server.bench_dir.clone() {
        Some(dir) => api.or(handlers::bench_bare(dir, state.config.limits.max_body_bytes)).unify().boxed(),
        None => api.boxed(),
    };
    match &state.config.server.www_dir {
        // The page assets (embed script, widget module, worker) are loaded by host pages on other
        // sites (the iXiamen page): they may be read cross-origin.
        Some(dir) => api
            .or(warp::fs::dir(dir.clone()).map(|file| {
                warp::reply::Reply::into_response(warp::reply::with_header(
                    file,
                    "cross-origin-resource-policy",
                    "cross-origin",
                ))
            }))
            .unify()
            .boxed(),
        None => api.boxed(),
    }
}

/// 429 for a client address over `security.requests_per_minute` under `/api`.
fn address_limit(state: &AppState) -> BoxedFilter<()> {
    let limiter = state.address_limit.clone();
    warp::path::full()
        .and(warp::ext::optional::<crate::net::ClientAddr>())
        .and_then(move |path: warp::path::FullPath, addr: Option<crate::net::ClientAddr>| {
            let limiter = limiter.clone();
            async move {
                if !path.as_str().starts_with("/api/") {
                    return Ok(());
                }
                let key = addr.map(|a| a.0.ip().to_string()).unwrap_or_default();
                limiter.hit(&key).map_err(|secs| errors::rate_limited(secs).reject())
            }
        })
        .untuple_one()
        .boxed()
}

/// The security headers of every response: no sniffing, no referrer, and a
/// CSP that only lets our own scripts and WebAssembly run and only the
/// configured iXiamen origins frame our pages.
pub fn security_headers(state: &AppState) -> warp::http::HeaderMap {
    let mut headers = warp::http::HeaderMap::new();
    let mut ancestors = vec!["'self'".to_owned()];
    ancestors.extend(state.config.security.frame_ancestors.iter().cloned());
    let issuer_origin = origin_of(state.verifier.issuer());
    let csp = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' blob: data:; worker-src 'self'; connect-src 'self' {issuer_origin}; object-src 'none'; \
         base-uri 'none'; form-action 'self' {issuer_origin}; frame-ancestors {}",
        ancestors.join(" ")
    );
    for (name, value) in [
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("content-security-policy", csp),
    ] {
        if let Ok(v) = value.parse() {
            headers.insert(name, v);
        }
    }
    headers
}

/// Adds every security header `resp` does not set itself (`headers` from [`security_headers`]) and
/// `Cross-Origin-Resource-Policy: same-site` unless the route chose another. The serve loop applies
/// it to every answer it sends (the API, the sandbox pages, its own 408), `app` to the API's.
pub fn secure_response(headers: &warp::http::HeaderMap, resp: &mut Response) {
    for (name, value) in headers {
        resp.headers_mut().entry(name).or_insert_with(|| value.clone());
    }
    resp.headers_mut()
        .entry("cross-origin-resource-policy")
        .or_insert(warp::http::HeaderValue::from_static("same-site"));
}

fn origin_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or_default();
    let scheme = url.split_once("://").map_or("https", |(s, _)| s);
    format!("{scheme}://{host}")
}

/// The API with the rejection handler, limits, CORS and security headers: what the server serves.
pub fn app(state: &AppState) -> BoxedFilter<(Response,)> {
    let headers = security_headers(state);
    let refusals = state.metrics.clone();
    let timed = state.metrics.clone();
    let served = address_limit(state)
        .and(routes(state))
        .recover(move |err| errors::handle_rejection(err, refusals.clone()))
        .unify()
        .map(warp::reply::Reply::into_response);
    let origins = &state.config.security.cors_origins;
    let served = if origins.is_empty() {
        served.boxed()
    } else {
        let cors = warp::cors()
            .allow_origins(origins.iter().map(String::as_str))
            .allow_methods(["GET", "POST", "OPTIONS"])
            .allow_headers(["authorization", "content-type", "idempotency-key"])
            .expose_headers(["retry-after"])
            .max_age(600);
        // Our own pages send `Origin` too (module scripts, POSTs): a request from the origin it is
        // addressed to is not cross-origin and bypasses the allow-list (warp's CORS would refuse it).
        let same_origin = warp::header::optional::<String>("origin")
            .and(warp::header::optional::<String>("host"))
            .and_then(|origin: Option<String>, host: Option<String>| async move {
                let own = match (origin.as_deref(), host.as_deref()) {
                    (None, _) => true,
                    (Some(o), Some(h)) => o.split_once("://").is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(h)),
                    (Some(_), None) => false,
                };
                if own { Ok(()) } else { Err(warp::reject::not_found()) }
            })
            .untuple_one();
        same_origin.and(served.clone()).or(served.with(cors).map(warp::reply::Reply::into_response)).unify().boxed()
    };
    // Everything but the page assets (see `routes`) is readable same-site only.
    served
        .map(move |reply| {
            let mut resp = warp::reply::Reply::into_response(reply);
            secure_response(&headers, &mut resp);
            resp
        })
        .with(warp::log::custom(move |info| {
            let route = crate::metrics::route_of(info.path());
            timed.request(route, crate::metrics::method_of(info.method()), info.status().as_u16(), info.elapsed());
        }))
        .map(warp::reply::Reply::into_response)
        .boxed()
}
