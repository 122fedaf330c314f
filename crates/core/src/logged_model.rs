//! MLflow 3 logged models: a model as a first-class object with its own id.

use std::str::FromStr;

use crate::{Error, Param, Result, Tag};

/// Whether a logged model's files are complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedModelStatus {
    /// Files are being uploaded.
    Pending,
    /// Complete and loadable.
    Ready,
    /// Upload failed.
    Failed,
}

impl LoggedModelStatus {
    /// The name stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::Failed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
}

impl FromStr for LoggedModelStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "LOGGED_MODEL_PENDING" => Ok(LoggedModelStatus::Pending),
            "LOGGED_MODEL_READY" => Ok(LoggedModelStatus::Ready),
            "LOGGED_MODEL_UPLOAD_FAILED" => Ok(LoggedModelStatus::Failed),
            _ => Err(Error::InvalidName {
                what: "status",
                got: s.into(),
                expected: "LOGGED_MODEL_PENDING, LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED",
            }),
        }
    }
}

/// A model logged by a run, addressable as `models:/<model_id>`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    /// `m-` followed by 32 hex digits.
    pub model_id: String,
    /// The experiment that holds it.
    pub experiment_id: String,
    /// Name given when logging (e.g. `model`).
    pub name: String,
    /// Where its files live.
    pub artifact_location: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Upload state.
    pub status: LoggedModelStatus,
    /// Free-text detail on the status.
    pub status_message: String,
    /// Kind of model, if given.
    pub model_type: String,
    /// The run that logged it, if any.
    pub source_run_id: String,
    /// Parameters.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}
