//! Model-registry entities: registered models, their versions and aliases.

use std::str::FromStr;

use crate::{Error, Result, Tag};

/// A named model with numbered versions.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Free text.
    pub description: String,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Alias → version number.
    pub aliases: Vec<(String, i64)>,
    /// The newest version, if any.
    pub latest_versions: Vec<ModelVersion>,
}

/// Whether a model version is usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelVersionStatus {
    /// Still being registered.
    PendingRegistration,
    /// Registration failed.
    FailedRegistration,
    /// Usable.
    Ready,
}

impl ModelVersionStatus {
    /// The name stored and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelVersionStatus::PendingRegistration => "PENDING_REGISTRATION",
            ModelVersionStatus::FailedRegistration => "FAILED_REGISTRATION",
            ModelVersionStatus::Ready => "READY",
        }
    }
}

impl FromStr for ModelVersionStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "PENDING_REGISTRATION" => Ok(ModelVersionStatus::PendingRegistration),
            "FAILED_REGISTRATION" => Ok(ModelVersionStatus::FailedRegistration),
            "READY" => Ok(ModelVersionStatus::Ready),
            _ => Err(Error::InvalidName {
                what: "status",
                got: s.into(),
                expected: "PENDING_REGISTRATION, FAILED_REGISTRATION, READY",
            }),
        }
    }
}

/// One version of a registered model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// 1, 2, 3, … per model.
    pub version: i64,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Free text.
    pub description: String,
    /// Who registered it.
    pub user_id: String,
    /// Legacy stage (`None`, `Staging`, `Production`, `Archived`).
    pub current_stage: String,
    /// Where the model's files are (`runs:/…`, `mlflow-artifacts:/…`, `models:/m-…`).
    pub source: String,
    /// The run that produced it, if known.
    pub run_id: String,
    /// Usability.
    pub status: ModelVersionStatus,
    /// Link to the run in a UI, if given.
    pub run_link: String,
    /// The MLflow 3 logged model this version was made from, if any.
    pub model_id: Option<String>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Aliases pointing at this version.
    pub aliases: Vec<String>,
}
