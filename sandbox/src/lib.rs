//! # intake-sandbox
//!
//! Sandboxes for the demo and the tests: the city's platform (the forwarding contract, the
//! sample archives, fault injection, a journal) and, in `intake demo` only, an identity
//! provider, with the sample people they share.
//!
//! A crate of its own so that `intake serve` cannot reach them by construction: the backend's
//! library (`intake`, whose router `serve` runs) never names this crate; only the `intake`
//! binary's `demo` and `sandbox-platform` subcommands, the backend's tests and its benches do
//! (held by `backend/tests/sandbox_apart.rs`). It depends on `intake-rules` only, never on the
//! backend.

pub mod idp;
pub mod people;
pub mod platform;
