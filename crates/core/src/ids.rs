//! Identifiers and clocks.

use std::time::{SystemTime, UNIX_EPOCH};

/// A new random identifier: 32 lowercase hex digits, as MLflow's run ids.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Milliseconds since the Unix epoch, MLflow's unit for every timestamp.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
