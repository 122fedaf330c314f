//! `/logged-models*`: MLflow 3's first-class models.

use axum::{
    extract::{Path, State},
    Json,
};
use lathe_api::{self as api, convert};
use lathe_core::{LoggedModelStatus, Param};
use lathe_store::{CreateLoggedModel, SearchLoggedModels, SearchQuery};
use serde_json::Value;

use super::{empty, required};
use crate::{error::ApiResult, extract::Input, ApiError, AppState};

fn model(m: &lathe_core::LoggedModel) -> Json<api::LoggedModelResponse> {
    Json(api::LoggedModelResponse { model: m.into() })
}

pub(crate) async fn create(
    State(s): State<AppState>,
    Input(req): Input<api::CreateLoggedModel>,
) -> ApiResult<Json<api::LoggedModelResponse>> {
    let m = s
        .store
        .create_logged_model(CreateLoggedModel {
            experiment_id: required("experiment_id", &req.experiment_id)?.to_string(),
            name: req.name,
            model_type: req.model_type,
            source_run_id: req.source_run_id,
            params: req.params.iter().map(Param::from).collect(),
            tags: convert::core_tags(&req.tags),
        })
        .await?;
    Ok(model(&m))
}

pub(crate) async fn get(
    State(s): State<AppState>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<api::LoggedModelResponse>> {
    Ok(model(&s.store.get_logged_model(&model_id).await?))
}

pub(crate) async fn finalize(
    State(s): State<AppState>,
    Path(model_id): Path<String>,
    Input(req): Input<api::FinalizeLoggedModel>,
) -> ApiResult<Json<api::LoggedModelResponse>> {
    let status =
        req.status.filter(|st| !st.is_empty()).ok_or_else(|| ApiError::missing("status"))?;
    let status: LoggedModelStatus =
        status.parse().map_err(|e: lathe_core::Error| ApiError::invalid(e.to_string()))?;
    Ok(model(&s.store.finalize_logged_model(&model_id, status).await?))
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Path(model_id): Path<String>,
) -> ApiResult<Json<Value>> {
    s.store.delete_logged_model(&model_id).await?;
    empty()
}

pub(crate) async fn set_tags(
    State(s): State<AppState>,
    Path(model_id): Path<String>,
    Input(req): Input<api::SetLoggedModelTags>,
) -> ApiResult<Json<Value>> {
    s.store.set_logged_model_tags(&model_id, &convert::core_tags(&req.tags)).await?;
    empty()
}

pub(crate) async fn delete_tag(
    State(s): State<AppState>,
    Path((model_id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    s.store.delete_logged_model_tag(&model_id, &key).await?;
    empty()
}

pub(crate) async fn search(
    State(s): State<AppState>,
    Input(req): Input<api::SearchLoggedModels>,
) -> ApiResult<Json<api::SearchLoggedModelsResponse>> {
    let order_by = req
        .order_by
        .iter()
        .map(|o| {
            let dir = if o.ascending.unwrap_or(true) { "ASC" } else { "DESC" };
            format!("{} {dir}", o.field_name)
        })
        .collect();
    let search = SearchLoggedModels {
        experiment_ids: req.experiment_ids,
        query: SearchQuery {
            filter: req.filter.unwrap_or_default(),
            max_results: req.max_results,
            order_by,
            page_token: req.page_token,
            ..SearchQuery::default()
        },
    };
    let page = s.store.search_logged_models(&search).await?;
    Ok(Json(api::SearchLoggedModelsResponse {
        models: page.items.iter().map(api::LoggedModel::from).collect(),
        next_page_token: page.next_page_token,
    }))
}
