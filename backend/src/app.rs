//! Wiring: the store, the verifier, the platform client, the forwarder and
//! the server with graceful shutdown, for `intake serve` and `intake demo`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::api::{self, AppState};
use crate::config::Config;
use crate::forwarder::Forwarder;
use crate::identity::Verifier;
use crate::platform::PlatformClient;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

use crate::net::{ClientAddr, http_client};

/// Opens the configured store, encrypted at rest when master keys are configured.
pub async fn open_configured_store(config: &crate::config::StoreConfig) -> Result<Arc<dyn Store>, String> {
    let store = open_store(&config.url).await?;
    match &config.encryption {
        None => Ok(store),
        Some(e) => {
            let keys = crate::store::encrypted::KeyRing::from_config(&e.active_key_id, &e.keys)?;
            Ok(Arc::new(crate::store::encrypted::EncryptedStore::new(store, keys)))
        }
    }
}

/// Opens a store by URL: `sqlite://PATH` or `postgres://…` (several nodes share one database).
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = SqliteStore::open(std::path::Path::new(path)).map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = crate::store::postgres::PostgresStore::connect(url).await.map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    } else {
        Err(format!("unsupported store url {url:?}"))
    }
}

/// The state for a configuration, with a verifier (from the configured issuer unless given).
pub fn state(config: Config, store: Arc<dyn Store>, verifier: Option<Verifier>) -> AppState {
    let http = http_client();
    let verifier = verifier.unwrap_or_else(|| Verifier::new(config.identity.clone(), http.clone()));
    let platform =
        PlatformClient::new(&config.platform.base_url, Duration::from_secs(config.platform.timeout_secs), http);
    AppState::new(config, store, Arc::new(verifier), platform)
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Resolves when the server and the forwarder have stopped.
    pub done: tokio::task::JoinHandle<()>,
}

/// Binds, starts the forwarder (when enabled) and serves until `shutdown`
/// resolves; then stops accepting, gives requests in flight
/// `server.shutdown_grace_secs`, and stops the forwarder.
///
/// The serve loop is hyper's own (warp 0.4's does not expose timeouts): every
/// connection must send its request head within `header_read_timeout_secs`
/// (a slow-loris client is disconnected), and every request is answered
/// within `request_timeout_secs` (408 after).
pub async fn serve(
    state: AppState,
    extra: Option<warp::filters::BoxedFilter<(warp::reply::Response,)>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(state.config.server.addr).await?;
    let addr = listener.local_addr()?;
    let stop_forwarder = Arc::new(Notify::new());
    let forwarder = state.config.forwarding.enabled.then(|| {
        let f = Forwarder::new(
            state.store.clone(),
            state.platform.clone(),
            state.config.forwarding.clone(),
            state.metrics.clone(),
            state.wake.clone(),
        );
        tokio::spawn(f.run(stop_forwarder.clone()))
    });
    let server = &state.config.server;
    let grace = Duration::from_secs(server.shutdown_grace_secs);
    let header_timeout = Duration::from_secs(server.header_read_timeout_secs.max(1));
    let request_timeout = Duration::from_secs(server.request_timeout_secs.max(1));
    let security = api::security_headers(&state);
    let routes = match extra {
        Some(extra) => {
            use warp::Filter;
            extra.or(api::app(&state)).unify().boxed()
        }
        None => api::app(&state),
    };
    let done = tokio::spawn(async move {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let svc = warp::service(routes.clone());
            let security = security.clone();
            let hyper_svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ClientAddr(peer));
                let mut svc = svc.clone();
                let security = security.clone();
                async move {
                    let call = tower_service::Service::call(&mut svc, req);
                    // Every answer carries the security headers: the API's, the sandbox pages'
                    // (mounted as `extra`) and this loop's own 408.
                    let mut resp = match tokio::time::timeout(request_timeout, call).await {
                        Ok(Ok(resp)) => resp,
                        Ok(Err(never)) => match never {},
                        Err(_) => {
                            let mut resp = crate::api::errors::ApiError::new(
                                warp::http::StatusCode::REQUEST_TIMEOUT,
                                "request",
                                intake_rules::Code::RequestTimeout,
                                &[],
                            )
                            .response();
                            resp.headers_mut()
                                .insert(warp::http::header::CONNECTION, warp::http::HeaderValue::from_static("close"));
                            resp
                        }
                    };
                    api::secure_response(&security, &mut resp);
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), hyper_svc);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tracing::info!(grace_secs = grace.as_secs(), "shutting down: finishing requests in flight");
        if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
            tracing::warn!("requests still in flight after the grace period were cut");
        }
        stop_forwarder.notify_one();
        if let Some(f) = forwarder {
            let _ = tokio::time::timeout(Duration::from_secs(5), f).await;
        }
    });
    Ok(Running { addr, done })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The first line of the demo's master key file.
pub const DEMO_KEY_MARK: &str = "# DEMO master key of `intake demo` (sample people only): never use it for real data.";

/// The master key of `intake demo` (base64 of 32 bytes): read from `path`, or generated there on
/// first start (mode 0600, marked as a demo key). `intake serve` never calls this: production keys
/// come from the configuration or `INTAKE_MASTER_KEYS`.
pub fn demo_master_key(path: &std::path::Path) -> Result<String, String> {
    use base64::Engine as _;
    let read = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: no key line", path.display()))
    };
    match std::fs::read_to_string(path) {
        Ok(text) => return read(&text),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(format!("{}: {e}", path.display())),
        Err(_) => {}
    }
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let b64 = base64::engine::general_purpose::STANDARD.encode(key);
    let text = format!(
        "{DEMO_KEY_MARK}\n# Generated on the demo's first start; it encrypts ./data/intake.db at rest. Deleting it makes the\n\
         # stored demo submissions unreadable.\n{b64}\n"
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(b64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_key_is_generated_once_marked_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("intake-demo-key-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("demo-master-key.txt");
        let first = demo_master_key(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(DEMO_KEY_MARK), "{text}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(demo_master_key(&path).unwrap(), first, "reused on later starts");
        let keys = std::collections::HashMap::from([("demo".to_owned(), first)]);
        assert!(crate::store::encrypted::KeyRing::from_config("demo", &keys).is_ok(), "a valid 32-byte key");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
