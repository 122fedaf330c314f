//! `/experiments/*`.

use axum::{extract::State, Json};
use lathe_api::{self as api, convert};
use lathe_core::ViewType;
use lathe_store::SearchQuery;
use serde_json::Value;

use super::{empty, required};
use crate::{error::ApiResult, extract::Input, sources, ApiError, AppState};

pub(crate) async fn create(
    State(s): State<AppState>,
    Input(req): Input<api::CreateExperiment>,
) -> ApiResult<Json<api::CreateExperimentResponse>> {
    required("name", &req.name)?;
    let location = req.artifact_location.as_deref().filter(|l| !l.is_empty());
    if let Some(l) = location {
        sources::check_artifact_location(l)?;
    }
    let experiment_id =
        s.store.create_experiment(&req.name, location, &convert::core_tags(&req.tags)).await?;
    Ok(Json(api::CreateExperimentResponse { experiment_id }))
}

pub(crate) async fn get(
    State(s): State<AppState>,
    Input(req): Input<api::ExperimentId>,
) -> ApiResult<Json<api::GetExperimentResponse>> {
    let e = s.store.get_experiment(required("experiment_id", &req.experiment_id)?).await?;
    Ok(Json(api::GetExperimentResponse { experiment: (&e).into() }))
}

pub(crate) async fn get_by_name(
    State(s): State<AppState>,
    Input(req): Input<api::ExperimentName>,
) -> ApiResult<Json<api::GetExperimentResponse>> {
    let e =
        s.store.get_experiment_by_name(required("experiment_name", &req.experiment_name)?).await?;
    Ok(Json(api::GetExperimentResponse { experiment: (&e).into() }))
}

pub(crate) fn view_type(v: Option<&api::ViewTypeValue>, field: &str) -> Result<ViewType, ApiError> {
    match v {
        None => Ok(ViewType::ActiveOnly),
        Some(v) => v.to_core().ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid value {v:?} for parameter '{field}': expected ACTIVE_ONLY, DELETED_ONLY or ALL"
            ))
        }),
    }
}

pub(crate) async fn search(
    State(s): State<AppState>,
    Input(req): Input<api::SearchExperiments>,
) -> ApiResult<Json<api::SearchExperimentsResponse>> {
    let query = SearchQuery {
        filter: req.filter,
        view: view_type(req.view_type.as_ref(), "view_type")?,
        max_results: req.max_results,
        order_by: req.order_by,
        page_token: req.page_token,
    };
    let page = s.store.search_experiments(&query).await?;
    Ok(Json(api::SearchExperimentsResponse {
        experiments: page.items.iter().map(api::Experiment::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub(crate) async fn update(
    State(s): State<AppState>,
    Input(req): Input<api::UpdateExperiment>,
) -> ApiResult<Json<Value>> {
    let id = required("experiment_id", &req.experiment_id)?;
    if !req.new_name.is_empty() {
        s.store.rename_experiment(id, &req.new_name).await?;
    }
    empty()
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Input(req): Input<api::ExperimentId>,
) -> ApiResult<Json<Value>> {
    s.store.delete_experiment(required("experiment_id", &req.experiment_id)?).await?;
    empty()
}

pub(crate) async fn restore(
    State(s): State<AppState>,
    Input(req): Input<api::ExperimentId>,
) -> ApiResult<Json<Value>> {
    s.store.restore_experiment(required("experiment_id", &req.experiment_id)?).await?;
    empty()
}

pub(crate) async fn set_tag(
    State(s): State<AppState>,
    Input(req): Input<api::SetExperimentTag>,
) -> ApiResult<Json<Value>> {
    let id = required("experiment_id", &req.experiment_id)?;
    let tag = lathe_core::Tag::new(required("key", &req.key)?, req.value);
    s.store.set_experiment_tag(id, &tag).await?;
    empty()
}

pub(crate) async fn delete_tag(
    State(s): State<AppState>,
    Input(req): Input<api::SetExperimentTag>,
) -> ApiResult<Json<Value>> {
    let id = required("experiment_id", &req.experiment_id)?;
    s.store.delete_experiment_tag(id, required("key", &req.key)?).await?;
    empty()
}
