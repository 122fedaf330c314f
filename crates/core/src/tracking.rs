//! Tracking entities: experiments, runs and what is logged into them.

use std::{fmt, str::FromStr};

use crate::{Error, Result};

/// Whether an entity is live or soft-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleStage {
    /// Visible in default listings.
    Active,
    /// Soft-deleted: hidden from default listings, restorable.
    Deleted,
}

impl LifecycleStage {
    /// The name stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }
}

impl FromStr for LifecycleStage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(LifecycleStage::Active),
            "deleted" => Ok(LifecycleStage::Deleted),
            _ => Err(Error::InvalidName {
                what: "lifecycle_stage",
                got: s.into(),
                expected: "active, deleted",
            }),
        }
    }
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    /// Only active entities (the default).
    #[default]
    ActiveOnly,
    /// Only deleted entities.
    DeletedOnly,
    /// Both.
    All,
}

impl FromStr for ViewType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ACTIVE_ONLY" | "1" => Ok(ViewType::ActiveOnly),
            "DELETED_ONLY" | "2" => Ok(ViewType::DeletedOnly),
            "ALL" | "3" => Ok(ViewType::All),
            _ => Err(Error::InvalidName {
                what: "view_type",
                got: s.into(),
                expected: "ACTIVE_ONLY, DELETED_ONLY, ALL",
            }),
        }
    }
}

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Still logging.
    Running,
    /// Created but not started.
    Scheduled,
    /// Ended normally.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped by a person.
    Killed,
}

impl RunStatus {
    /// The name stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "RUNNING" | "1" => Ok(RunStatus::Running),
            "SCHEDULED" | "2" => Ok(RunStatus::Scheduled),
            "FINISHED" | "3" => Ok(RunStatus::Finished),
            "FAILED" | "4" => Ok(RunStatus::Failed),
            "KILLED" | "5" => Ok(RunStatus::Killed),
            _ => Err(Error::InvalidName {
                what: "status",
                got: s.into(),
                expected: "RUNNING, SCHEDULED, FINISHED, FAILED, KILLED",
            }),
        }
    }
}

/// A key-value tag on an experiment, run, model or version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

impl Tag {
    /// A tag from anything string-like.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag { key: key.into(), value: value.into() }
    }
}

/// A run parameter: set once, never changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name.
    pub key: String,
    /// Parameter value, as text.
    pub value: String,
}

/// One point of a metric's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Metric name.
    pub key: String,
    /// The value; may be NaN or infinite.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Training step (0 when not given).
    pub step: i64,
}

/// An experiment: a named group of runs with a common artifact location.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Decimal id ("0" is the Default experiment).
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Where the runs' artifacts go by default.
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    /// Milliseconds since the epoch.
    pub last_update_time: i64,
    /// Experiment tags.
    pub tags: Vec<Tag>,
}

/// The metadata of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// 32 hex digits.
    pub run_id: String,
    /// The experiment that holds the run.
    pub experiment_id: String,
    /// Display name (also the `mlflow.runName` tag).
    pub run_name: String,
    /// Who created it.
    pub user_id: String,
    /// Current status.
    pub status: RunStatus,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Milliseconds since the epoch, once ended.
    pub end_time: Option<i64>,
    /// Where the run's artifacts live.
    pub artifact_uri: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
}

/// A dataset as recorded for lineage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Name given by the user.
    pub name: String,
    /// Content hash.
    pub digest: String,
    /// Kind of source (e.g. `local`, `http`, `code`).
    pub source_type: String,
    /// Source descriptor (JSON, as MLflow).
    pub source: String,
    /// Schema (JSON), if known.
    pub schema: Option<String>,
    /// Profile (JSON), if known.
    pub profile: Option<String>,
}

/// A dataset used by a run, with tags such as `mlflow.data.context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInput {
    /// The dataset.
    pub dataset: Dataset,
    /// Tags on the use (not on the dataset).
    pub tags: Vec<Tag>,
}

/// A logged model produced by a run (MLflow 3 run outputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOutput {
    /// The logged model's id.
    pub model_id: String,
    /// The step at which it was produced.
    pub step: i64,
}

/// A run with everything logged into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// The latest value of each metric.
    pub metrics: Vec<Metric>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Datasets used.
    pub inputs: Vec<DatasetInput>,
    /// Logged models produced.
    pub outputs: Vec<ModelOutput>,
}
