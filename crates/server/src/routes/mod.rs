//! The route table: every endpoint, under both MLflow prefixes.

mod artifacts;
mod experiments;
mod logged_models;
mod meta;
mod registry;
mod runs;

use axum::{
    extract::DefaultBodyLimit,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use crate::{error::ApiResult, ApiError, AppState, ErrorCode};

/// `{}`: the body of MLflow's empty responses.
pub(crate) fn empty() -> ApiResult<Json<Value>> {
    Ok(Json(json!({})))
}

/// A required string field, present and non-empty.
pub(crate) fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() {
        Err(ApiError::missing(field))
    } else {
        Ok(value)
    }
}

/// A run id from `run_id`, or the legacy `run_uuid`.
pub(crate) fn run_id<'a>(run_id: &'a str, run_uuid: &'a str) -> Result<&'a str, ApiError> {
    if !run_id.is_empty() {
        Ok(run_id)
    } else {
        required("run_id", run_uuid)
    }
}

fn tracking_api() -> Router<AppState> {
    Router::new()
        .route("/experiments/create", post(experiments::create))
        .route("/experiments/get", get(experiments::get))
        .route("/experiments/get-by-name", get(experiments::get_by_name))
        .route("/experiments/search", post(experiments::search).get(experiments::search))
        .route("/experiments/list", get(experiments::search))
        .route("/experiments/update", post(experiments::update))
        .route("/experiments/delete", post(experiments::delete))
        .route("/experiments/restore", post(experiments::restore))
        .route("/experiments/set-experiment-tag", post(experiments::set_tag))
        .route("/experiments/delete-experiment-tag", post(experiments::delete_tag))
        .route("/runs/create", post(runs::create))
        .route("/runs/get", get(runs::get))
        .route("/runs/update", post(runs::update))
        .route("/runs/delete", post(runs::delete))
        .route("/runs/restore", post(runs::restore))
        .route("/runs/search", post(runs::search).get(runs::search))
        .route("/runs/log-metric", post(runs::log_metric))
        .route("/runs/log-parameter", post(runs::log_param))
        .route("/runs/set-tag", post(runs::set_tag))
        .route("/runs/delete-tag", post(runs::delete_tag))
        .route("/runs/log-batch", post(runs::log_batch))
        .route("/runs/log-inputs", post(runs::log_inputs))
        .route("/runs/outputs", post(runs::log_outputs))
        .route("/metrics/get-history", get(runs::metric_history))
        .route("/artifacts/list", get(artifacts::list_run))
        .route("/registered-models/create", post(registry::create_model))
        .route("/registered-models/get", get(registry::get_model))
        .route("/registered-models/rename", post(registry::rename_model))
        .route("/registered-models/update", axum::routing::patch(registry::update_model))
        .route("/registered-models/delete", axum::routing::delete(registry::delete_model))
        .route("/registered-models/search", get(registry::search_models))
        .route("/registered-models/set-tag", post(registry::set_model_tag))
        .route("/registered-models/delete-tag", axum::routing::delete(registry::delete_model_tag))
        .route(
            "/registered-models/alias",
            post(registry::set_alias).delete(registry::delete_alias).get(registry::get_by_alias),
        )
        .route(
            "/registered-models/get-latest-versions",
            post(registry::latest_versions).get(registry::latest_versions),
        )
        .route("/model-versions/create", post(registry::create_version))
        .route("/model-versions/get", get(registry::get_version))
        .route("/model-versions/update", axum::routing::patch(registry::update_version))
        .route("/model-versions/delete", axum::routing::delete(registry::delete_version))
        .route("/model-versions/search", get(registry::search_versions))
        .route("/model-versions/get-download-uri", get(registry::download_uri))
        .route("/model-versions/set-tag", post(registry::set_version_tag))
        .route("/model-versions/delete-tag", axum::routing::delete(registry::delete_version_tag))
        .route("/model-versions/transition-stage", post(registry::transition_stage))
        .route("/logged-models", post(logged_models::create))
        .route("/logged-models/search", post(logged_models::search))
        .route(
            "/logged-models/{model_id}",
            get(logged_models::get).patch(logged_models::finalize).delete(logged_models::delete),
        )
        .route("/logged-models/{model_id}/tags", axum::routing::patch(logged_models::set_tags))
        .route(
            "/logged-models/{model_id}/tags/{key}",
            axum::routing::delete(logged_models::delete_tag),
        )
        .layer(DefaultBodyLimit::max(crate::MAX_JSON_BODY_BYTES))
}

pub(crate) fn router(state: AppState) -> Router {
    let api = tracking_api();
    let artifacts = Router::new()
        .route("/artifacts", get(artifacts::list_proxy))
        .route(
            "/artifacts/{*path}",
            get(artifacts::download).put(artifacts::upload).delete(artifacts::delete),
        )
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .nest("/api/2.0/mlflow", api.clone())
        .nest("/ajax-api/2.0/mlflow", api)
        .nest("/api/2.0/mlflow-artifacts", artifacts.clone())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifacts)
        .route("/api/3.0/mlflow/server-info", get(meta::server_info))
        .route("/health", get(meta::health))
        .route("/version", get(meta::version))
        .fallback(|| async { ApiError::new(ErrorCode::EndpointNotFound, "No such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "This endpoint does not accept that HTTP method",
            )
        })
        .with_state(state)
}
