//! [`Store`] for [`RestStore`]: one endpoint per method, in the trait's order.
//!
//! Paths, methods and bodies follow the server's route table
//! (`lathe-server`'s `routes/`), which follows MLflow's REST API: GET
//! endpoints read query parameters, the others a JSON body; model versions
//! are strings on the wire; logged models are addressed by path.

use async_trait::async_trait;
use lathe_api::{self as api, convert};
use lathe_core::{
    DatasetInput, Experiment, LoggedModel, LoggedModelStatus, Metric, ModelOutput, ModelVersion,
    Param, RegisteredModel, Run, RunInfo, Tag,
};
use lathe_store::{
    AlertDelivery, AlertEpisode, CreateLoggedModel, CreateModelVersion, CreateRun, Feedback,
    FeedbackOutcome, LabelArrival, LabelQuery, LoggedPrediction, MonitoringWindow, Page,
    PredictionLogSummary, PredictionQuery, PredictionRecord, Result, SearchLoggedModels,
    SearchQuery, SearchRuns, Store, StoreError, UpdateRun,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::Method;
use serde::de::IgnoredAny;

use crate::RestStore;

/// Bytes left as they are in a path segment: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `s` as one path segment (a `/` in a tag key stays inside the segment).
fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The registry's searches, as `GET …/search` query parameters.
fn registry_search(query: &SearchQuery) -> api::SearchRegistry {
    api::SearchRegistry {
        filter: Some(query.filter.clone()).filter(|f| !f.is_empty()),
        max_results: query.max_results,
        order_by: query.order_by.clone(),
        page_token: query.page_token.clone(),
    }
}

/// A `field [ASC|DESC]` clause as the logged-model search's
/// `{field_name, ascending}`; no direction leaves the server's default.
fn logged_model_order(clause: &str) -> api::LoggedModelOrderBy {
    let clause = clause.trim();
    let split = clause.rsplit_once(char::is_whitespace);
    let (field, ascending) = match split {
        Some((field, dir)) if dir.eq_ignore_ascii_case("ASC") => (field.trim_end(), Some(true)),
        Some((field, dir)) if dir.eq_ignore_ascii_case("DESC") => (field.trim_end(), Some(false)),
        _ => (clause, None),
    };
    api::LoggedModelOrderBy { field_name: field.to_string(), ascending }
}

fn run_id(run_id: &str) -> api::RunId {
    api::RunId { run_id: run_id.to_string(), ..api::RunId::default() }
}

fn version_ref(name: &str, version: i64) -> api::VersionRef {
    api::VersionRef {
        name: name.to_string(),
        version: Some(version.to_string()),
        ..api::VersionRef::default()
    }
}

fn model_tag(name: &str, version: Option<i64>, key: &str, value: Option<&str>) -> api::ModelTag {
    api::ModelTag {
        name: name.to_string(),
        version: version.map(|v| v.to_string()),
        key: key.to_string(),
        value: value.map(str::to_string),
    }
}

fn alias(name: &str, alias: &str, version: Option<i64>) -> api::ModelAlias {
    api::ModelAlias {
        name: name.to_string(),
        alias: alias.to_string(),
        version: version.map(|v| v.to_string()),
    }
}

#[async_trait]
impl Store for RestStore {
    // --- experiments ---

    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        let req = api::CreateExperiment {
            name: name.to_string(),
            artifact_location: artifact_location.map(str::to_string),
            tags: convert::tags(tags),
        };
        let resp: api::CreateExperimentResponse =
            self.call(Method::POST, "experiments/create", &req).await?;
        Ok(resp.experiment_id)
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let req = api::ExperimentId { experiment_id: experiment_id.to_string() };
        let resp: api::GetExperimentResponse =
            self.call(Method::GET, "experiments/get", &req).await?;
        Ok((&resp.experiment).into())
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let req = api::ExperimentName { experiment_name: name.to_string() };
        let resp: api::GetExperimentResponse =
            self.call(Method::GET, "experiments/get-by-name", &req).await?;
        Ok((&resp.experiment).into())
    }

    async fn search_experiments(&self, query: &SearchQuery) -> Result<Page<Experiment>> {
        let req = api::SearchExperiments {
            max_results: query.max_results,
            page_token: query.page_token.clone(),
            filter: query.filter.clone(),
            order_by: query.order_by.clone(),
            view_type: Some((&query.view).into()),
        };
        let resp: api::SearchExperimentsResponse =
            self.call(Method::POST, "experiments/search", &req).await?;
        Ok(Page {
            items: resp.experiments.iter().map(Experiment::from).collect(),
            next_page_token: resp.next_page_token,
        })
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        let req = api::UpdateExperiment {
            experiment_id: experiment_id.to_string(),
            new_name: new_name.to_string(),
        };
        let _: IgnoredAny = self.call(Method::POST, "experiments/update", &req).await?;
        Ok(())
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let req = api::ExperimentId { experiment_id: experiment_id.to_string() };
        let _: IgnoredAny = self.call(Method::POST, "experiments/delete", &req).await?;
        Ok(())
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let req = api::ExperimentId { experiment_id: experiment_id.to_string() };
        let _: IgnoredAny = self.call(Method::POST, "experiments/restore", &req).await?;
        Ok(())
    }

    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        let req = api::SetExperimentTag {
            experiment_id: experiment_id.to_string(),
            key: tag.key.clone(),
            value: tag.value.clone(),
        };
        let _: IgnoredAny = self.call(Method::POST, "experiments/set-experiment-tag", &req).await?;
        Ok(())
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let req = serde_json::json!({ "experiment_id": experiment_id, "key": key });
        let _: IgnoredAny =
            self.call(Method::POST, "experiments/delete-experiment-tag", &req).await?;
        Ok(())
    }

    // --- runs ---

    async fn create_run(&self, run: CreateRun) -> Result<Run> {
        let req = api::CreateRun {
            experiment_id: run.experiment_id,
            user_id: run.user_id,
            start_time: run.start_time,
            tags: convert::tags(&run.tags),
            run_name: run.run_name,
        };
        let resp: api::RunResponse = self.call(Method::POST, "runs/create", &req).await?;
        Ok((&resp.run).into())
    }

    async fn get_run(&self, run_id_: &str) -> Result<Run> {
        let resp: api::RunResponse = self.call(Method::GET, "runs/get", &run_id(run_id_)).await?;
        Ok((&resp.run).into())
    }

    async fn update_run(&self, run_id: &str, update: UpdateRun) -> Result<RunInfo> {
        let req = api::UpdateRun {
            run_id: run_id.to_string(),
            run_uuid: String::new(),
            status: update.status.map(|s| s.as_str().to_string()),
            end_time: update.end_time,
            run_name: update.run_name,
        };
        let resp: api::UpdateRunResponse = self.call(Method::POST, "runs/update", &req).await?;
        Ok((&resp.run_info).into())
    }

    async fn delete_run(&self, run_id_: &str) -> Result<()> {
        let _: IgnoredAny = self.call(Method::POST, "runs/delete", &run_id(run_id_)).await?;
        Ok(())
    }

    async fn restore_run(&self, run_id_: &str) -> Result<()> {
        let _: IgnoredAny = self.call(Method::POST, "runs/restore", &run_id(run_id_)).await?;
        Ok(())
    }

    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        let req = api::LogBatch {
            run_id: run_id.to_string(),
            metrics: metrics.iter().map(api::Metric::from).collect(),
            params: params.iter().map(api::KeyValue::from).collect(),
            tags: convert::tags(tags),
        };
        let _: IgnoredAny = self.call(Method::POST, "runs/log-batch", &req).await?;
        Ok(())
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let req = api::DeleteTag { run_id: run_id.to_string(), key: key.to_string() };
        let _: IgnoredAny = self.call(Method::POST, "runs/delete-tag", &req).await?;
        Ok(())
    }

    async fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        let req = api::LogInputs {
            run_id: run_id.to_string(),
            datasets: inputs.iter().map(api::DatasetInput::from).collect(),
        };
        let _: IgnoredAny = self.call(Method::POST, "runs/log-inputs", &req).await?;
        Ok(())
    }

    async fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()> {
        let req = api::LogOutputs {
            run_id: run_id.to_string(),
            models: outputs
                .iter()
                .map(|o| api::ModelOutput { model_id: o.model_id.clone(), step: o.step })
                .collect(),
        };
        let _: IgnoredAny = self.call(Method::POST, "runs/outputs", &req).await?;
        Ok(())
    }

    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>> {
        let req = api::GetMetricHistory {
            run_id: run_id.to_string(),
            run_uuid: String::new(),
            metric_key: key.to_string(),
            max_results,
            page_token: page_token.map(str::to_string),
        };
        let resp: api::GetMetricHistoryResponse =
            self.call(Method::GET, "metrics/get-history", &req).await?;
        Ok(Page {
            items: resp.metrics.iter().map(Metric::from).collect(),
            next_page_token: resp.next_page_token,
        })
    }

    async fn search_runs(&self, search: &SearchRuns) -> Result<Page<Run>> {
        let query = &search.query;
        let req = api::SearchRuns {
            experiment_ids: search.experiment_ids.clone(),
            filter: query.filter.clone(),
            run_view_type: Some((&query.view).into()),
            max_results: query.max_results,
            order_by: query.order_by.clone(),
            page_token: query.page_token.clone(),
        };
        let resp: api::SearchRunsResponse = self.call(Method::POST, "runs/search", &req).await?;
        Ok(Page {
            items: resp.runs.iter().map(Run::from).collect(),
            next_page_token: resp.next_page_token,
        })
    }

    // --- registered models ---

    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let req = api::CreateRegisteredModel {
            name: name.to_string(),
            tags: convert::tags(tags),
            description: description.map(str::to_string),
        };
        let resp: api::RegisteredModelResponse =
            self.call(Method::POST, "registered-models/create", &req).await?;
        Ok((&resp.registered_model).into())
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let req = api::ModelName { name: name.to_string() };
        let resp: api::RegisteredModelResponse =
            self.call(Method::GET, "registered-models/get", &req).await?;
        Ok((&resp.registered_model).into())
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let req =
            api::RenameRegisteredModel { name: name.to_string(), new_name: new_name.to_string() };
        let resp: api::RegisteredModelResponse =
            self.call(Method::POST, "registered-models/rename", &req).await?;
        Ok((&resp.registered_model).into())
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let req = api::UpdateRegisteredModel {
            name: name.to_string(),
            description: Some(description.to_string()),
        };
        let resp: api::RegisteredModelResponse =
            self.call(Method::PATCH, "registered-models/update", &req).await?;
        Ok((&resp.registered_model).into())
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        let req = api::ModelName { name: name.to_string() };
        let _: IgnoredAny = self.call(Method::DELETE, "registered-models/delete", &req).await?;
        Ok(())
    }

    async fn search_registered_models(&self, query: &SearchQuery) -> Result<Page<RegisteredModel>> {
        let resp: api::SearchRegisteredModelsResponse =
            self.call(Method::GET, "registered-models/search", &registry_search(query)).await?;
        Ok(Page {
            items: resp.registered_models.iter().map(RegisteredModel::from).collect(),
            next_page_token: resp.next_page_token,
        })
    }

    async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        let req = model_tag(name, None, &tag.key, Some(&tag.value));
        let _: IgnoredAny = self.call(Method::POST, "registered-models/set-tag", &req).await?;
        Ok(())
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        let req = model_tag(name, None, key, None);
        let _: IgnoredAny = self.call(Method::DELETE, "registered-models/delete-tag", &req).await?;
        Ok(())
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias_: &str,
        version: i64,
    ) -> Result<()> {
        let req = alias(name, alias_, Some(version));
        let _: IgnoredAny = self.call(Method::POST, "registered-models/alias", &req).await?;
        Ok(())
    }

    async fn delete_registered_model_alias(&self, name: &str, alias_: &str) -> Result<()> {
        let req = alias(name, alias_, None);
        let _: IgnoredAny = self.call(Method::DELETE, "registered-models/alias", &req).await?;
        Ok(())
    }

    async fn get_model_version_by_alias(&self, name: &str, alias_: &str) -> Result<ModelVersion> {
        let req = alias(name, alias_, None);
        let resp: api::ModelVersionResponse =
            self.call(Method::GET, "registered-models/alias", &req).await?;
        Ok((&resp.model_version).into())
    }

    // --- model versions ---

    async fn create_model_version(&self, version: CreateModelVersion) -> Result<ModelVersion> {
        let req = api::CreateModelVersion {
            name: version.name,
            source: version.source,
            run_id: version.run_id,
            tags: convert::tags(&version.tags),
            run_link: version.run_link,
            description: version.description,
            model_id: version.model_id,
        };
        let resp: api::ModelVersionResponse =
            self.call(Method::POST, "model-versions/create", &req).await?;
        Ok((&resp.model_version).into())
    }

    async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        let resp: api::ModelVersionResponse =
            self.call(Method::GET, "model-versions/get", &version_ref(name, version)).await?;
        Ok((&resp.model_version).into())
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion> {
        let req = api::VersionRef {
            description: Some(description.to_string()),
            ..version_ref(name, version)
        };
        let resp: api::ModelVersionResponse =
            self.call(Method::PATCH, "model-versions/update", &req).await?;
        Ok((&resp.model_version).into())
    }

    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        let req = api::VersionRef {
            stage: Some(stage.to_string()),
            archive_existing_versions: Some(archive_existing),
            ..version_ref(name, version)
        };
        let resp: api::ModelVersionResponse =
            self.call(Method::POST, "model-versions/transition-stage", &req).await?;
        Ok((&resp.model_version).into())
    }

    async fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        let req = version_ref(name, version);
        let _: IgnoredAny = self.call(Method::DELETE, "model-versions/delete", &req).await?;
        Ok(())
    }

    async fn search_model_versions(&self, query: &SearchQuery) -> Result<Page<ModelVersion>> {
        let resp: api::SearchModelVersionsResponse =
            self.call(Method::GET, "model-versions/search", &registry_search(query)).await?;
        Ok(Page {
            items: resp.model_versions.iter().map(ModelVersion::from).collect(),
            next_page_token: resp.next_page_token,
        })
    }

    async fn set_model_version_tag(&self, name: &str, version: i64, tag: &Tag) -> Result<()> {
        let req = model_tag(name, Some(version), &tag.key, Some(&tag.value));
        let _: IgnoredAny = self.call(Method::POST, "model-versions/set-tag", &req).await?;
        Ok(())
    }

    async fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()> {
        let req = model_tag(name, Some(version), key, None);
        let _: IgnoredAny = self.call(Method::DELETE, "model-versions/delete-tag", &req).await?;
        Ok(())
    }

    // --- logged models (MLflow 3) ---

    async fn create_logged_model(&self, model: CreateLoggedModel) -> Result<LoggedModel> {
        let req = api::CreateLoggedModel {
            experiment_id: model.experiment_id,
            name: model.name,
            model_type: model.model_type,
            source_run_id: model.source_run_id,
            params: model.params.iter().map(api::KeyValue::from).collect(),
            tags: convert::tags(&model.tags),
        };
        let resp: api::LoggedModelResponse = self.call(Method::POST, "logged-models", &req).await?;
        Ok((&resp.model).into())
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let path = format!("logged-models/{}", segment(model_id));
        let resp: api::LoggedModelResponse = self.call(Method::GET, &path, &()).await?;
        Ok((&resp.model).into())
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let path = format!("logged-models/{}", segment(model_id));
        let req = api::FinalizeLoggedModel {
            model_id: model_id.to_string(),
            status: Some(status.as_str().to_string()),
        };
        let resp: api::LoggedModelResponse = self.call(Method::PATCH, &path, &req).await?;
        Ok((&resp.model).into())
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        let path = format!("logged-models/{}/tags", segment(model_id));
        let req =
            api::SetLoggedModelTags { model_id: model_id.to_string(), tags: convert::tags(tags) };
        let _: IgnoredAny = self.call(Method::PATCH, &path, &req).await?;
        Ok(())
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        let path = format!("logged-models/{}/tags/{}", segment(model_id), segment(key));
        let _: IgnoredAny = self.call(Method::DELETE, &path, &()).await?;
        Ok(())
    }

    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        let path = format!("logged-models/{}", segment(model_id));
        let _: IgnoredAny = self.call(Method::DELETE, &path, &()).await?;
        Ok(())
    }

    async fn search_logged_models(&self, search: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        let query = &search.query;
        let req = api::SearchLoggedModels {
            experiment_ids: search.experiment_ids.clone(),
            filter: Some(query.filter.clone()).filter(|f| !f.is_empty()),
            max_results: query.max_results,
            order_by: query.order_by.iter().map(|o| logged_model_order(o)).collect(),
            page_token: query.page_token.clone(),
        };
        let resp: api::SearchLoggedModelsResponse =
            self.call(Method::POST, "logged-models/search", &req).await?;
        Ok(Page {
            items: resp.models.iter().map(LoggedModel::from).collect(),
            next_page_token: resp.next_page_token,
        })
    }

    // --- production monitoring: MLflow's REST API has no such endpoints ---

    async fn log_predictions(&self, _records: &[PredictionRecord]) -> Result<()> {
        Err(monitoring_unsupported("the prediction log"))
    }

    async fn read_predictions(&self, _query: &PredictionQuery) -> Result<Vec<LoggedPrediction>> {
        Err(monitoring_unsupported("the prediction log"))
    }

    async fn prediction_log_summary(
        &self,
        _model_name: Option<&str>,
    ) -> Result<Vec<PredictionLogSummary>> {
        Err(monitoring_unsupported("the prediction log"))
    }

    async fn record_feedback(
        &self,
        _feedback: &[Feedback],
        _overwrite: bool,
    ) -> Result<FeedbackOutcome> {
        Err(monitoring_unsupported("feedback"))
    }

    async fn labels_since(&self, _query: &LabelQuery) -> Result<Vec<LabelArrival>> {
        Err(monitoring_unsupported("feedback"))
    }

    async fn put_window(&self, _window: &MonitoringWindow) -> Result<bool> {
        Err(monitoring_unsupported("monitoring windows"))
    }

    async fn rescore_window(&self, _window: &MonitoringWindow) -> Result<bool> {
        Err(monitoring_unsupported("monitoring windows"))
    }

    async fn list_windows(
        &self,
        _model_name: &str,
        _model_version: Option<i64>,
    ) -> Result<Vec<MonitoringWindow>> {
        Err(monitoring_unsupported("monitoring windows"))
    }

    async fn fire_alert(
        &self,
        _rule: &str,
        _model_name: &str,
        _detail: &str,
        _at: i64,
    ) -> Result<Option<AlertEpisode>> {
        Err(monitoring_unsupported("alerts"))
    }

    async fn resolve_alert(
        &self,
        _rule: &str,
        _model_name: &str,
        _at: i64,
    ) -> Result<Option<AlertEpisode>> {
        Err(monitoring_unsupported("alerts"))
    }

    async fn list_alerts(&self, _model_name: Option<&str>) -> Result<Vec<AlertEpisode>> {
        Err(monitoring_unsupported("alerts"))
    }

    async fn record_alert_delivery(&self, _delivery: &AlertDelivery) -> Result<()> {
        Err(monitoring_unsupported("alerts"))
    }

    async fn list_alert_deliveries(&self, _episode_id: &str) -> Result<Vec<AlertDelivery>> {
        Err(monitoring_unsupported("alerts"))
    }
}

/// Monitoring data lives in the database itself, not behind MLflow's API.
fn monitoring_unsupported(what: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "{what} is not available through a tracking server URL; \
         point --tracking-uri (or --backend-store-uri) at the database (sqlite:// or postgresql://)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_clauses_become_objects() {
        let o = logged_model_order("creation_timestamp DESC");
        assert_eq!((o.field_name.as_str(), o.ascending), ("creation_timestamp", Some(false)));
        let o = logged_model_order("  name asc ");
        assert_eq!((o.field_name.as_str(), o.ascending), ("name", Some(true)));
        let o = logged_model_order("metrics.`my loss`");
        assert_eq!((o.field_name.as_str(), o.ascending), ("metrics.`my loss`", None));
        let o = logged_model_order("metrics.`a b`   Desc");
        assert_eq!((o.field_name.as_str(), o.ascending), ("metrics.`a b`", Some(false)));
    }

    #[test]
    fn segments_keep_slashes_inside() {
        assert_eq!(segment("a/b c%"), "a%2Fb%20c%25");
        assert_eq!(segment("m-1_2.3~"), "m-1_2.3~");
    }

    #[tokio::test]
    async fn monitoring_is_refused_with_a_way_out() {
        // Nothing listens on port 9: the answer must come without a request.
        let store = RestStore::new("http://127.0.0.1:9").unwrap();
        match store.log_predictions(&[]).await {
            Err(StoreError::Unsupported(m)) => assert!(m.contains("sqlite://"), "{m}"),
            other => panic!("expected Unsupported, got {other:?}"),
        }
        assert!(matches!(store.list_alerts(None).await, Err(StoreError::Unsupported(_))));
    }
}
