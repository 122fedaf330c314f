//! The `Store` trait: every read and write of tracking and registry metadata.

use async_trait::async_trait;
use lathe_core::{
    DatasetInput, Experiment, LoggedModel, LoggedModelStatus, Metric, ModelOutput, ModelVersion,
    Param, RegisteredModel, Run, RunInfo, RunStatus, Tag, ViewType,
};

use crate::{
    AlertDelivery, AlertEpisode, Feedback, FeedbackOutcome, LabelArrival, LabelQuery,
    LoggedPrediction, MonitoringWindow, Page, PredictionLogSummary, PredictionQuery,
    PredictionRecord, Result,
};

/// A new run.
#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    /// The experiment to hold it.
    pub experiment_id: String,
    /// Who starts it.
    pub user_id: String,
    /// Milliseconds since the epoch; now when `None`.
    pub start_time: Option<i64>,
    /// Display name; a generated one when `None`.
    pub run_name: Option<String>,
    /// Initial tags.
    pub tags: Vec<Tag>,
}

/// Changes to a run's metadata.
#[derive(Debug, Clone, Default)]
pub struct UpdateRun {
    /// New status.
    pub status: Option<RunStatus>,
    /// End time in milliseconds.
    pub end_time: Option<i64>,
    /// New display name.
    pub run_name: Option<String>,
}

/// A search over experiments, registered models or model versions.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// MLflow filter string; empty for all.
    pub filter: String,
    /// Which lifecycle stages (experiments only).
    pub view: ViewType,
    /// `None` for MLflow's default.
    pub max_results: Option<i64>,
    /// `key [ASC|DESC]` clauses.
    pub order_by: Vec<String>,
    /// Token from a previous page.
    pub page_token: Option<String>,
}

/// A search over runs.
#[derive(Debug, Clone, Default)]
pub struct SearchRuns {
    /// Experiments to search in.
    pub experiment_ids: Vec<String>,
    /// The rest of the query.
    pub query: SearchQuery,
}

/// A new model version.
#[derive(Debug, Clone, Default)]
pub struct CreateModelVersion {
    /// The registered model.
    pub name: String,
    /// Where the files are.
    pub source: String,
    /// The producing run, if any.
    pub run_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// UI link to the run.
    pub run_link: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// The MLflow 3 logged model it comes from.
    pub model_id: Option<String>,
}

/// A new MLflow 3 logged model.
#[derive(Debug, Clone, Default)]
pub struct CreateLoggedModel {
    /// The experiment to hold it.
    pub experiment_id: String,
    /// Name (a random one when `None`).
    pub name: Option<String>,
    /// Model type.
    pub model_type: Option<String>,
    /// The run that logs it.
    pub source_run_id: Option<String>,
    /// Params.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A search over logged models.
#[derive(Debug, Clone, Default)]
pub struct SearchLoggedModels {
    /// Experiments to search in.
    pub experiment_ids: Vec<String>,
    /// The rest of the query.
    pub query: SearchQuery,
}

/// Tracking and registry metadata. Implementations must make every method
/// atomic: on error nothing is written.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- experiments ---
    /// Creates an experiment; `artifact_location` defaults to the store's artifact root + id.
    async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[Tag],
    ) -> Result<String>;
    /// An experiment by id.
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;
    /// An experiment by name (active or deleted).
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment>;
    /// Experiments matching a filter.
    async fn search_experiments(&self, query: &SearchQuery) -> Result<Page<Experiment>>;
    /// Renames an experiment.
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()>;
    /// Soft-deletes an experiment and its runs.
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Restores a deleted experiment and its runs.
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Sets (or overwrites) an experiment tag.
    async fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()>;
    /// Removes an experiment tag.
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()>;

    // --- runs ---
    /// Creates a run in an active experiment.
    async fn create_run(&self, run: CreateRun) -> Result<Run>;
    /// A run with its latest metrics, params, tags, inputs and outputs.
    async fn get_run(&self, run_id: &str) -> Result<Run>;
    /// Updates status, end time or name.
    async fn update_run(&self, run_id: &str, update: UpdateRun) -> Result<RunInfo>;
    /// Soft-deletes a run.
    async fn delete_run(&self, run_id: &str) -> Result<()>;
    /// Restores a deleted run.
    async fn restore_run(&self, run_id: &str) -> Result<()>;
    /// Writes metrics, params and tags in one transaction, after checking all of them.
    async fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()>;
    /// Removes a run tag.
    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()>;
    /// Records datasets the run used.
    async fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()>;
    /// Records logged models the run produced.
    async fn log_outputs(&self, run_id: &str, outputs: &[ModelOutput]) -> Result<()>;
    /// Every point of one metric, ordered by step then timestamp.
    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>>;
    /// Runs matching a filter, in order.
    async fn search_runs(&self, search: &SearchRuns) -> Result<Page<Run>>;

    // --- registered models ---
    /// Creates a registered model.
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[Tag],
        description: Option<&str>,
    ) -> Result<RegisteredModel>;
    /// A registered model with tags, aliases and latest version.
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;
    /// Renames a registered model (versions, tags and aliases follow).
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel>;
    /// Sets the description.
    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel>;
    /// Deletes a model with its versions, tags and aliases.
    async fn delete_registered_model(&self, name: &str) -> Result<()>;
    /// Registered models matching a filter.
    async fn search_registered_models(&self, query: &SearchQuery) -> Result<Page<RegisteredModel>>;
    /// Sets a registered-model tag.
    async fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()>;
    /// Removes a registered-model tag.
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;
    /// Points an alias at a version.
    async fn set_registered_model_alias(&self, name: &str, alias: &str, version: i64)
        -> Result<()>;
    /// Removes an alias.
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()>;
    /// The version an alias points at.
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;

    // --- model versions ---
    /// Registers a new version (number = previous highest + 1).
    async fn create_model_version(&self, version: CreateModelVersion) -> Result<ModelVersion>;
    /// One version.
    async fn get_model_version(&self, name: &str, version: i64) -> Result<ModelVersion>;
    /// Sets a version's description.
    async fn update_model_version(
        &self,
        name: &str,
        version: i64,
        description: &str,
    ) -> Result<ModelVersion>;
    /// Sets a version's legacy stage; with `archive_existing`, others in that stage move to `Archived`.
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing: bool,
    ) -> Result<ModelVersion>;
    /// Deletes a version and the aliases pointing at it.
    async fn delete_model_version(&self, name: &str, version: i64) -> Result<()>;
    /// Versions matching a filter.
    async fn search_model_versions(&self, query: &SearchQuery) -> Result<Page<ModelVersion>>;
    /// Sets a version tag.
    async fn set_model_version_tag(&self, name: &str, version: i64, tag: &Tag) -> Result<()>;
    /// Removes a version tag.
    async fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()>;

    // --- logged models (MLflow 3) ---
    /// Creates a logged model in `PENDING` state.
    async fn create_logged_model(&self, model: CreateLoggedModel) -> Result<LoggedModel>;
    /// One logged model.
    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel>;
    /// Sets a logged model's status (finalize).
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel>;
    /// Sets logged-model tags.
    async fn set_logged_model_tags(&self, model_id: &str, tags: &[Tag]) -> Result<()>;
    /// Removes a logged-model tag.
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()>;
    /// Soft-deletes a logged model.
    async fn delete_logged_model(&self, model_id: &str) -> Result<()>;
    /// Logged models matching a filter.
    async fn search_logged_models(&self, search: &SearchLoggedModels) -> Result<Page<LoggedModel>>;

    // --- production monitoring ---
    /// Appends predictions to the log in one transaction; an id already
    /// logged is skipped (a retried batch writes nothing twice).
    async fn log_predictions(&self, records: &[PredictionRecord]) -> Result<()>;
    /// Reads one model version's log in `seq` order, with labels joined.
    async fn read_predictions(&self, query: &PredictionQuery) -> Result<Vec<LoggedPrediction>>;
    /// Row counts per model version in the log (all models when `model_name` is `None`).
    async fn prediction_log_summary(
        &self,
        model_name: Option<&str>,
    ) -> Result<Vec<PredictionLogSummary>>;
    /// Stores labels: unknown prediction ids are reported and not stored; an
    /// id that already has a label keeps it unless `overwrite`.
    async fn record_feedback(
        &self,
        feedback: &[Feedback],
        overwrite: bool,
    ) -> Result<FeedbackOutcome>;
    /// Labels of one version that arrived after a cursor, with where their
    /// predictions sit in the log (an index on version and arrival time: no log scan).
    async fn labels_since(&self, query: &LabelQuery) -> Result<Vec<LabelArrival>>;
    /// Stores a computed window; `false` (and nothing written) when that
    /// window (model, version, kind, index) is already stored.
    async fn put_window(&self, window: &MonitoringWindow) -> Result<bool>;
    /// Replaces the performance part (`labeled_rows`, `performance`,
    /// `labels_through`) of a stored window, leaving its drift as it was;
    /// `false` when no such window is stored.
    async fn rescore_window(&self, window: &MonitoringWindow) -> Result<bool>;
    /// A model's windows (one version or all), by version, kind, index.
    async fn list_windows(
        &self,
        model_name: &str,
        model_version: Option<i64>,
    ) -> Result<Vec<MonitoringWindow>>;
    /// Opens an episode of `rule` on `model_name` unless one is firing:
    /// the new episode, or `None` when it was already firing.
    async fn fire_alert(
        &self,
        rule: &str,
        model_name: &str,
        detail: &str,
        at: i64,
    ) -> Result<Option<AlertEpisode>>;
    /// Resolves the firing episode of `rule` on `model_name`, if any.
    async fn resolve_alert(
        &self,
        rule: &str,
        model_name: &str,
        at: i64,
    ) -> Result<Option<AlertEpisode>>;
    /// Alert episodes, newest first (all models when `model_name` is `None`).
    async fn list_alerts(&self, model_name: Option<&str>) -> Result<Vec<AlertEpisode>>;
    /// Records one delivery of an episode's event to a webhook.
    async fn record_alert_delivery(&self, delivery: &AlertDelivery) -> Result<()>;
    /// An episode's deliveries, oldest first.
    async fn list_alert_deliveries(&self, episode_id: &str) -> Result<Vec<AlertDelivery>>;
}
