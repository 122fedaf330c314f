//! The artifact proxy (`/mlflow-artifacts/artifacts/*`) and `/artifacts/list`.
//!
//! Files stream in both directions; every path goes through the artifact
//! store's confinement check before it touches the disk.

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use futures_util::TryStreamExt;
use lathe_api as api;
use serde_json::Value;
use tokio_util::io::{ReaderStream, StreamReader};

use super::{empty, run_id};
use crate::{error::ApiResult, extract::Input, sources, ApiError, AppState};

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct PathQuery {
    path: Option<String>,
}

fn file_infos(files: Vec<lathe_store::FileInfo>, strip: &str) -> Vec<api::FileInfo> {
    files
        .into_iter()
        .map(|f| api::FileInfo {
            path: f.path.strip_prefix(strip).unwrap_or(&f.path).trim_start_matches('/').to_string(),
            is_dir: f.is_dir,
            file_size: f.file_size.map(|n| n as i64),
        })
        .collect()
}

/// `GET /mlflow-artifacts/artifacts?path=P`: the children of `P`, by base name.
pub(crate) async fn list_proxy(
    State(s): State<AppState>,
    Input(q): Input<PathQuery>,
) -> ApiResult<Json<Value>> {
    let path = q.path.unwrap_or_default();
    let rel = lathe_store::artifacts::safe_relative_path(&path)?;
    let files = s.artifacts.list(&path).await?;
    let prefix = rel.to_string_lossy().to_string();
    Ok(Json(serde_json::json!({ "files": file_infos(files, &prefix) })))
}

/// `GET /artifacts/list?run_id=R&path=P`: paths relative to the run's artifact root.
pub(crate) async fn list_run(
    State(s): State<AppState>,
    Input(req): Input<api::ListArtifacts>,
) -> ApiResult<Json<api::ListArtifactsResponse>> {
    let run = s.store.get_run(run_id(&req.run_id, &req.run_uuid)?).await?;
    let root = sources::proxy_path(&run.info.artifact_uri).ok_or_else(|| {
        ApiError::invalid(format!(
            "The artifacts of run {} live at {}, which this server does not proxy",
            run.info.run_id, run.info.artifact_uri
        ))
    })?;
    let sub = req.path.unwrap_or_default();
    let sub_rel = lathe_store::artifacts::safe_relative_path(&sub)?;
    let full = format!("{root}/{}", sub_rel.to_string_lossy());
    let files = s.artifacts.list(full.trim_end_matches('/')).await?;
    Ok(Json(api::ListArtifactsResponse {
        root_uri: Some(run.info.artifact_uri.clone()),
        files: file_infos(files, &root),
    }))
}

pub(crate) async fn download(
    State(s): State<AppState>,
    Path(path): Path<String>,
) -> ApiResult<Response> {
    let (reader, size) = s.artifacts.get(&path).await?;
    let mime = if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".txt") || path.ends_with(".csv") || path.ends_with(".yaml") {
        "text/plain"
    } else {
        "application/octet-stream"
    };
    Ok((
        [(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_LENGTH, size.to_string())],
        Body::from_stream(ReaderStream::new(reader)),
    )
        .into_response())
}

pub(crate) async fn upload(
    State(s): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> ApiResult<Json<Value>> {
    let stream = req.into_body().into_data_stream().map_err(std::io::Error::other);
    s.artifacts.put(&path, Box::pin(StreamReader::new(stream))).await?;
    empty()
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Path(path): Path<String>,
) -> ApiResult<Json<Value>> {
    s.artifacts.delete(&path).await?;
    empty()
}
