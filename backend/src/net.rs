//! What the layers share about the network, below all of them: the one outgoing HTTP client and
//! the client address the serve loop attaches to each request. Its own module so that `api` and
//! `identity` need not point at `app` (which points at them).

use std::net::SocketAddr;
use std::time::Duration;

/// The HTTP client every outgoing request uses (platform, JWKS).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// The client address of a request (set by the serve loop; read by the per-address limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);
