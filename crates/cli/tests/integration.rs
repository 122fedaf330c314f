//! End-to-end tests of the real `lathe` binary: a real server on 127.0.0.1,
//! the stock `mlflow` client, real SQLite files and a real PostgreSQL.
//!
//! One test binary (see meilisearch's `tests/integration.rs` for why): the
//! modules under `it/` share the harness that starts servers.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it;
