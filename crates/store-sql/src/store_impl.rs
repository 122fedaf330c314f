//! `Store` for `SqlStore`: each method forwards to the module that owns it.

use async_trait::async_trait;
use lathe_core::{
    DatasetInput, Experiment, LifecycleStage, LoggedModel, LoggedModelStatus, Metric, ModelOutput,
    ModelVersion, Param, RegisteredModel, Run, RunInfo, Tag,
};
use lathe_store::{
    AlertDelivery, AlertEpisode, CreateLoggedModel, CreateModelVersion, CreateRun, Feedback,
    FeedbackOutcome, LabelArrival, LabelQuery, LoggedPrediction, MonitoringWindow, Page,
    PredictionLogSummary, PredictionQuery, PredictionRecord, Result, SearchLoggedModels,
    SearchQuery, SearchRuns, Store, UpdateRun,
};

use crate::SqlStore;

#[async_trait]
impl Store for SqlStore {
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String> {
        SqlStore::create_experiment(self, name, artifact_location, tags).await
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        SqlStore::get_experiment(self, experiment_id).await
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        SqlStore::get_experiment_by_name(self, name).await
    }

    async fn search_experiments(&self, query: &SearchQuery) -> Result<Page<Experiment>> {
        SqlStore::search_experiments(self, query).await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        SqlStore::rename_experiment(self, experiment_id, new_name).await
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, "deleted").await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, "active").await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        SqlStore::set_experiment_tag(self, experiment_id, tag).await
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        SqlStore::delete_experiment_tag(self, experiment_id, key).await
    }

    async fn create_run(&self, run: CreateRun) -> Result<Run> {
        SqlStore::create_run(self, run).await
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        SqlStore::get_run(self, run_id).await
    }

    async fn update_run(&self, run_id: &str, update: UpdateRun) -> Result<RunInfo> {
        SqlStore::update_run(self, run_id, update).await
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LifecycleStage::Deleted).await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LifecycleStage::Active).await
    }

    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        SqlStore::log_batch(self, run_id, metrics, params, tags).await
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        SqlStore::delete_tag(self, run_id, key).await
    }

    async fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        SqlStore::log_inputs(self, run_id, inputs).await
    }

    async fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()> {
        SqlStore::log_outputs(self, run_id, outputs).await
    }

    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>> {
        SqlStore::get_metric_history(self, run_id, key, max_results, page_token).await
    }

    async fn search_runs(&self, search: &SearchRuns) -> Result<Page<Run>> {
        SqlStore::search_runs(self, search).await
    }

    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        SqlStore::create_registered_model(self, name, tags, description).await
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        SqlStore::get_registered_model(self, name).await
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        SqlStore::rename_registered_model(self, name, new_name).await
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        SqlStore::update_registered_model(self, name, description).await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        SqlStore::delete_registered_model(self, name).await
    }

    async fn search_registered_models(&self, query: &SearchQuery) -> Result<Page<RegisteredModel>> {
        SqlStore::search_registered_models(self, query).await
    }

    async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        SqlStore::set_registered_model_tag(self, name, tag).await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        SqlStore::delete_registered_model_tag(self, name, key).await
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: i64,
    ) -> Result<()> {
        SqlStore::set_registered_model_alias(self, name, alias, version).await
    }

    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        SqlStore::delete_registered_model_alias(self, name, alias).await
    }

    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        SqlStore::get_model_version_by_alias(self, name, alias).await
    }

    async fn create_model_version(&self, version: CreateModelVersion) -> Result<ModelVersion> {
        SqlStore::create_model_version(self, version).await
    }

    async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        SqlStore::get_model_version(self, name, version).await
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion> {
        SqlStore::update_model_version(self, name, version, description).await
    }

    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        SqlStore::transition_model_version_stage(self, name, version, stage, archive_existing).await
    }

    async fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        SqlStore::delete_model_version(self, name, version).await
    }

    async fn search_model_versions(&self, query: &SearchQuery) -> Result<Page<ModelVersion>> {
        SqlStore::search_model_versions(self, query).await
    }

    async fn set_model_version_tag(&self, name: &str, version: i64, tag: &Tag) -> Result<()> {
        SqlStore::set_model_version_tag(self, name, version, tag).await
    }

    async fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()> {
        SqlStore::delete_model_version_tag(self, name, version, key).await
    }

    async fn create_logged_model(&self, model: CreateLoggedModel) -> Result<LoggedModel> {
        SqlStore::create_logged_model(self, model).await
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        SqlStore::get_logged_model(self, model_id).await
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        SqlStore::finalize_logged_model(self, model_id, status).await
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()> {
        SqlStore::set_logged_model_tags(self, model_id, tags).await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        SqlStore::delete_logged_model_tag(self, model_id, key).await
    }

    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        SqlStore::delete_logged_model(self, model_id).await
    }

    async fn search_logged_models(&self, search: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        SqlStore::search_logged_models(self, search).await
    }

    async fn log_predictions(&self, records: &[PredictionRecord]) -> Result<()> {
        SqlStore::log_predictions(self, records).await
    }

    async fn read_predictions(&self, query: &PredictionQuery) -> Result<Vec<LoggedPrediction>> {
        SqlStore::read_predictions(self, query).await
    }

    async fn prediction_log_summary(
        &self,
        model_name: Option<&str>,
    ) -> Result<Vec<PredictionLogSummary>> {
        SqlStore::prediction_log_summary(self, model_name).await
    }

    async fn record_feedback(
        &self,
        feedback: &[Feedback],
        overwrite: bool,
    ) -> Result<FeedbackOutcome> {
        SqlStore::record_feedback(self, feedback, overwrite).await
    }

    async fn labels_since(&self, query: &LabelQuery) -> Result<Vec<LabelArrival>> {
        SqlStore::labels_since(self, query).await
    }

    async fn put_window(&self, window: &MonitoringWindow) -> Result<bool> {
        SqlStore::put_window(self, window).await
    }

    async fn rescore_window(&self, window: &MonitoringWindow) -> Result<bool> {
        SqlStore::rescore_window(self, window).await
    }

    async fn list_windows(
        &self,
        model_name: &str,
        model_version: Option<i64>,
    ) -> Result<Vec<MonitoringWindow>> {
        SqlStore::list_windows(self, model_name, model_version).await
    }

    async fn fire_alert(
        &self,
        rule: &str,
        model_name: &str,
        detail: &str,
        at: i64,
    ) -> Result<Option<AlertEpisode>> {
        SqlStore::fire_alert(self, rule, model_name, detail, at).await
    }

    async fn resolve_alert(
        &self,
        rule: &str,
        model_name: &str,
        at: i64,
    ) -> Result<Option<AlertEpisode>> {
        SqlStore::resolve_alert(self, rule, model_name, at).await
    }

    async fn list_alerts(&self, model_name: Option<&str>) -> Result<Vec<AlertEpisode>> {
        SqlStore::list_alerts(self, model_name).await
    }

    async fn record_alert_delivery(&self, delivery: &AlertDelivery) -> Result<()> {
        SqlStore::record_alert_delivery(self, delivery).await
    }

    async fn list_alert_deliveries(&self, episode_id: &str) -> Result<Vec<AlertDelivery>> {
        SqlStore::list_alert_deliveries(self, episode_id).await
    }
}
