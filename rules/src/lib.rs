//! # intake-rules
//!
//! Every rule of Intake's accounting personnel information collection, written
//! once and compiled into both the browser widget (wasm32) and the backend.
//!
//! Architecture Invariant: this crate does no IO, has no async code and
//! depends on no web crate (tokio, warp, yew, web-sys, wasm-bindgen, gloo);
//! `tests/deps.rs` fails when its normal dependency tree gains one.
//!
//! Architecture Invariant: [`decode`] is the only module that calls the
//! `image` crate's decoders; every picture goes through its explicit limits.
//!
//! Architecture Invariant: checks return every problem they find as data
//! ([`report::Problem`] with a stable [`catalog::Code`]), never just the first.

pub mod attachment;
pub mod catalog;
pub mod decode;
pub mod document;
pub mod form;
pub mod fuzzing;
pub mod jpeg;
#[cfg(feature = "pdf")]
pub mod pdf;
pub mod photo;
pub mod pixels;
pub mod profile;
pub mod receipt;
pub mod report;
pub mod resample;
pub mod sanitize;
pub mod submission;
pub mod wire;

pub use catalog::Code;
pub use report::{Problem, Report, Severity, Text};
