//! The storage boundary of lathe.
//!
//! [`Store`] holds tracking and registry metadata (experiments, runs,
//! metrics, params, tags, dataset inputs, registered models, versions,
//! aliases, logged models); [`ArtifactStore`] holds files. Backends live in
//! `lathe-store-sqlite`, `lathe-store-postgres` (both through
//! `lathe-store-sql`) and, over HTTP, in the CLI's REST client; the
//! [`conformance`] suite runs the same story against each of them.
//!
//! Rules every backend keeps, checked by the suite:
//! - a write that fails validation changes nothing (a `log_batch` is one transaction);
//! - MLflow's limits ([`limits`]) are enforced with MLflow's messages;
//! - searches run in the backend (SQL), never by loading every row.

pub mod artifacts;
pub mod conformance;
pub mod conformance_monitoring;
mod error;
pub mod limits;
mod monitoring;
mod page;
pub mod search;
mod store;

pub use artifacts::{ArtifactStore, FileInfo, LocalArtifactStore};
pub use error::{Result, StoreError};
pub use monitoring::{
    AlertDelivery, AlertEpisode, Feedback, FeedbackOutcome, LabelArrival, LabelQuery,
    LoggedPrediction, MonitoringWindow, PredictionLogSummary, PredictionQuery, PredictionRecord,
};
pub use page::{Page, PageToken};
pub use store::{
    CreateLoggedModel, CreateModelVersion, CreateRun, SearchLoggedModels, SearchQuery, SearchRuns,
    Store, UpdateRun,
};
