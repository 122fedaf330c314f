//! The tree learners on small real tables: pure-Rust predictions against
//! LightGBM's own, and default scores against LightGBM Python's.

#![cfg(feature = "lightgbm")]
// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod equality;
mod errors;
mod fixtures;
mod linear;
mod reference;
mod search;
