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

/// The HTTP client every outgoing request uses (platform, JWKS).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Opens the configured store.
pub fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let store = SqliteStore::open(std::path::Path::new(path)).map_err(|e| e.to_string())?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") {
        Err("the PostgreSQL store is not built yet (scale-out issue); use sqlite://".into())
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
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let routes = match extra {
        Some(extra) => {
            use warp::Filter;
            extra.or(api::app(&state)).unify().boxed()
        }
        None => api::app(&state),
    };
    let signalled = Arc::new(Notify::new());
    let signalled2 = signalled.clone();
    let server = warp::serve(routes)
        .incoming(listener)
        .graceful(async move {
            shutdown.await;
            signalled2.notify_one();
        })
        .run();
    let done = tokio::spawn(async move {
        let server = tokio::spawn(server);
        signalled.notified().await;
        tracing::info!(grace_secs = grace.as_secs(), "shutting down: finishing requests in flight");
        if tokio::time::timeout(grace, server).await.is_err() {
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
