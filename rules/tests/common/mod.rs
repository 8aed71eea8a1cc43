//! Shared test support (see `synth` for synthetic images).
#![allow(dead_code, unreachable_pub)]

pub mod corpus;
pub mod counting;
pub mod hostile_images;
pub mod pdfcheck;
pub mod people;
pub mod synth;
pub mod walker;
