//! `/runs/*` and `/metrics/get-history`.

use axum::{
    body::Bytes,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use lathe_api::{self as api, convert};
use lathe_core::{now_millis, Metric, ModelOutput, Param, RunStatus, Tag};
use lathe_store::{limits, CreateRun, SearchQuery, SearchRuns, UpdateRun};
use serde_json::Value;

use super::{empty, experiments::view_type, required, run_id};
use crate::{
    error::ApiResult,
    extract::{from_json, Input},
    ApiError, AppState,
};

pub(crate) async fn create(
    State(s): State<AppState>,
    Input(req): Input<api::CreateRun>,
) -> ApiResult<Json<api::RunResponse>> {
    let experiment_id =
        if req.experiment_id.is_empty() { "0".to_string() } else { req.experiment_id };
    let run = s
        .store
        .create_run(CreateRun {
            experiment_id,
            user_id: req.user_id,
            start_time: req.start_time,
            run_name: req.run_name,
            tags: convert::core_tags(&req.tags),
        })
        .await?;
    Ok(Json(api::RunResponse { run: (&run).into() }))
}

pub(crate) async fn get(
    State(s): State<AppState>,
    Input(req): Input<api::RunId>,
) -> ApiResult<Json<api::RunResponse>> {
    let run = s.store.get_run(run_id(&req.run_id, &req.run_uuid)?).await?;
    Ok(Json(api::RunResponse { run: (&run).into() }))
}

pub(crate) async fn update(
    State(s): State<AppState>,
    Input(req): Input<api::UpdateRun>,
) -> ApiResult<Json<api::UpdateRunResponse>> {
    let id = run_id(&req.run_id, &req.run_uuid)?;
    let status = match req.status.as_deref() {
        None | Some("") => None,
        Some(st) => Some(st.parse::<RunStatus>().map_err(|e| ApiError::invalid(e.to_string()))?),
    };
    let info = s
        .store
        .update_run(id, UpdateRun { status, end_time: req.end_time, run_name: req.run_name })
        .await?;
    Ok(Json(api::UpdateRunResponse { run_info: (&info).into() }))
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Input(req): Input<api::RunId>,
) -> ApiResult<Json<Value>> {
    s.store.delete_run(run_id(&req.run_id, &req.run_uuid)?).await?;
    empty()
}

pub(crate) async fn restore(
    State(s): State<AppState>,
    Input(req): Input<api::RunId>,
) -> ApiResult<Json<Value>> {
    s.store.restore_run(run_id(&req.run_id, &req.run_uuid)?).await?;
    empty()
}

pub(crate) async fn search(
    State(s): State<AppState>,
    Input(req): Input<api::SearchRuns>,
) -> ApiResult<Json<api::SearchRunsResponse>> {
    let search = SearchRuns {
        experiment_ids: req.experiment_ids,
        query: SearchQuery {
            filter: req.filter,
            view: view_type(req.run_view_type.as_ref(), "run_view_type")?,
            max_results: req.max_results,
            order_by: req.order_by,
            page_token: req.page_token,
        },
    };
    let page = s.store.search_runs(&search).await?;
    Ok(Json(api::SearchRunsResponse {
        runs: page.items.iter().map(api::Run::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

pub(crate) async fn log_metric(
    State(s): State<AppState>,
    Input(req): Input<api::LogMetric>,
) -> ApiResult<Json<Value>> {
    let id = run_id(&req.run_id, &req.run_uuid)?;
    let metric = Metric {
        key: required("key", &req.key)?.to_string(),
        value: req.value.ok_or_else(|| ApiError::missing("value"))?,
        timestamp: req.timestamp.ok_or_else(|| ApiError::missing("timestamp"))?,
        step: req.step.unwrap_or(0),
    };
    s.store.log_batch(id, &[metric], &[], &[]).await?;
    empty()
}

pub(crate) async fn log_param(
    State(s): State<AppState>,
    Input(req): Input<api::LogParam>,
) -> ApiResult<Json<Value>> {
    let id = run_id(&req.run_id, &req.run_uuid)?;
    let value = req.value.ok_or_else(|| ApiError::missing("value"))?;
    let param = Param { key: required("key", &req.key)?.to_string(), value };
    s.store.log_batch(id, &[], &[param], &[]).await?;
    empty()
}

pub(crate) async fn set_tag(
    State(s): State<AppState>,
    Input(req): Input<api::SetTag>,
) -> ApiResult<Json<Value>> {
    let id = run_id(&req.run_id, &req.run_uuid)?;
    let value = req.value.ok_or_else(|| ApiError::missing("value"))?;
    let tag = Tag::new(required("key", &req.key)?, value);
    s.store.log_batch(id, &[], &[], std::slice::from_ref(&tag)).await?;
    if tag.key == "mlflow.runName" {
        // The tag and the run's name are one thing to MLflow's clients.
        let rename = UpdateRun { run_name: Some(tag.value), ..UpdateRun::default() };
        s.store.update_run(id, rename).await?;
    }
    empty()
}

pub(crate) async fn delete_tag(
    State(s): State<AppState>,
    Input(req): Input<api::DeleteTag>,
) -> ApiResult<Json<Value>> {
    s.store.delete_tag(required("run_id", &req.run_id)?, required("key", &req.key)?).await?;
    empty()
}

/// `log-batch`: the body is checked against MLflow's 1 MB limit before it is parsed.
pub(crate) async fn log_batch(State(s): State<AppState>, body: Bytes) -> ApiResult<Json<Value>> {
    if body.len() > limits::MAX_BATCH_REQUEST_BYTES {
        return Err(ApiError::invalid(format!(
            "Batched logging API requests must be at most {} bytes, got {} bytes",
            limits::MAX_BATCH_REQUEST_BYTES,
            body.len()
        )));
    }
    let req: api::LogBatch = from_json(if body.is_empty() { b"{}" } else { &body })?;
    let id = required("run_id", &req.run_id)?;
    let now = now_millis();
    let metrics: Vec<Metric> = req
        .metrics
        .iter()
        .map(|m| Metric { timestamp: if m.timestamp == 0 { now } else { m.timestamp }, ..m.into() })
        .collect();
    let params: Vec<Param> = req.params.iter().map(Param::from).collect();
    s.store.log_batch(id, &metrics, &params, &convert::core_tags(&req.tags)).await?;
    empty()
}

pub(crate) async fn log_inputs(
    State(s): State<AppState>,
    Input(req): Input<api::LogInputs>,
) -> ApiResult<Json<Value>> {
    let inputs: Vec<_> = req.datasets.iter().map(lathe_core::DatasetInput::from).collect();
    s.store.log_inputs(required("run_id", &req.run_id)?, &inputs).await?;
    empty()
}

pub(crate) async fn log_outputs(
    State(s): State<AppState>,
    Input(req): Input<api::LogOutputs>,
) -> ApiResult<Json<Value>> {
    let outputs: Vec<_> = req
        .models
        .iter()
        .map(|m| ModelOutput { model_id: m.model_id.clone(), step: m.step })
        .collect();
    s.store.log_outputs(required("run_id", &req.run_id)?, &outputs).await?;
    empty()
}

pub(crate) async fn metric_history(
    State(s): State<AppState>,
    Input(req): Input<api::GetMetricHistory>,
) -> ApiResult<Response> {
    let id = run_id(&req.run_id, &req.run_uuid)?;
    let key = required("metric_key", &req.metric_key)?;
    let page =
        s.store.get_metric_history(id, key, req.max_results, req.page_token.as_deref()).await?;
    let body = api::MetricHistoryRef {
        metrics: &page.items,
        next_page_token: page.next_page_token.as_deref(),
    };
    // Sized up front: a 100,000-point page is ~7 MB, and growing a buffer by
    // doubling would briefly hold twice that.
    let mut bytes = Vec::with_capacity(64 + page.items.len() * (72 + key.len()));
    serde_json::to_writer(&mut bytes, &body)
        .map_err(|e| ApiError::new(crate::ErrorCode::InternalError, e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}
