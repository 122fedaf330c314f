//! Liveness, version and the capability document MLflow 3 clients read.

use axum::Json;
use serde_json::{json, Value};

pub(crate) async fn health() -> &'static str {
    "OK"
}

pub(crate) async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

pub(crate) async fn server_info() -> Json<Value> {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": { "gateway": false },
    }))
}
