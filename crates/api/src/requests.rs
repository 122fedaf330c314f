//! Request and response messages, one pair per endpoint.
//!
//! Every request field has a default so that a missing field reaches the
//! server's own check, which names it, instead of a generic parse error.

use serde::{Deserialize, Serialize};

use crate::{
    num, DatasetInput, Experiment, FileInfo, KeyValue, LoggedModel, Metric, ModelOutput,
    ModelVersion, RegisteredModel, Run, RunInfo,
};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateExperiment {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_location: Option<String>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateExperimentResponse {
    pub experiment_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ExperimentId {
    pub experiment_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ExperimentName {
    pub experiment_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GetExperimentResponse {
    pub experiment: Experiment,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UpdateExperiment {
    pub experiment_id: String,
    pub new_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SetExperimentTag {
    pub experiment_id: String,
    pub key: String,
    pub value: String,
}

/// A view type given by name (`ACTIVE_ONLY`) or by proto number (`1`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ViewTypeValue {
    Name(String),
    Number(i64),
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchExperiments {
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    pub filter: String,
    #[serde(deserialize_with = "num::strings")]
    pub order_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view_type: Option<ViewTypeValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchExperimentsResponse {
    pub experiments: Vec<Experiment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateRun {
    pub experiment_id: String,
    pub user_id: String,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RunResponse {
    pub run: Run,
}

/// A request that names a run (`run_id`, or the legacy `run_uuid`).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RunId {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UpdateRun {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UpdateRunResponse {
    pub run_info: RunInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogMetric {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    pub key: String,
    #[serde(deserialize_with = "opt_float", skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

fn opt_float<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "num::float")] f64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogParam {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SetTag {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DeleteTag {
    pub run_id: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogBatch {
    pub run_id: String,
    pub metrics: Vec<Metric>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogInputs {
    pub run_id: String,
    pub datasets: Vec<DatasetInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LogOutputs {
    pub run_id: String,
    pub models: Vec<ModelOutput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchRuns {
    #[serde(deserialize_with = "num::strings")]
    pub experiment_ids: Vec<String>,
    pub filter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_view_type: Option<ViewTypeValue>,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(deserialize_with = "num::strings")]
    pub order_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchRunsResponse {
    pub runs: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GetMetricHistory {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    pub metric_key: String,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct GetMetricHistoryResponse {
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ListArtifacts {
    pub run_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    pub path: Option<String>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ListArtifactsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_uri: Option<String>,
    pub files: Vec<FileInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateRegisteredModel {
    pub name: String,
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RegisteredModelResponse {
    pub registered_model: RegisteredModel,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModelName {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RenameRegisteredModel {
    pub name: String,
    pub new_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct UpdateRegisteredModel {
    pub name: String,
    pub description: Option<String>,
}

/// A registry search; GET sends these as query parameters.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchRegistry {
    pub filter: Option<String>,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    #[serde(deserialize_with = "num::strings")]
    pub order_by: Vec<String>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchRegisteredModelsResponse {
    pub registered_models: Vec<RegisteredModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModelTag {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub key: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModelAlias {
    pub name: String,
    pub alias: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateModelVersion {
    pub name: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ModelVersionResponse {
    pub model_version: ModelVersion,
}

/// Names one version; `version` is a string on the wire.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VersionRef {
    pub name: String,
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_existing_versions: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchModelVersionsResponse {
    pub model_versions: Vec<ModelVersion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct DownloadUriResponse {
    pub artifact_uri: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct CreateLoggedModel {
    pub experiment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LoggedModelResponse {
    pub model: LoggedModel,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct FinalizeLoggedModel {
    pub model_id: String,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SetLoggedModelTags {
    pub model_id: String,
    pub tags: Vec<KeyValue>,
}

/// One `order_by` entry of a logged-model search (an object, unlike other searches).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct LoggedModelOrderBy {
    pub field_name: String,
    pub ascending: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchLoggedModels {
    pub experiment_ids: Vec<String>,
    pub filter: Option<String>,
    #[serde(deserialize_with = "num::opt_int", skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i64>,
    pub order_by: Vec<LoggedModelOrderBy>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SearchLoggedModelsResponse {
    pub models: Vec<LoggedModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}
