//! # intake (backend)
//!
//! The thin warp server between the widget and the city's platform: it
//! verifies the iXiamen identity, proxies the archive lookup, re-checks every
//! submission with `intake-rules`, stores it durably and forwards it exactly
//! once. See ARCHITECTURE.md for the invariants.

pub mod api;
pub mod app;
pub mod config;
pub mod forwarder;
pub mod identity;
pub mod metrics;
pub mod net;
pub mod platform;
pub mod store;
