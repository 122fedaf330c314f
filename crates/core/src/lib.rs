//! Shared types of lathe with no IO.
//!
//! Every other crate speaks in these types: the tracking entities
//! (experiments, runs, metrics, params, tags, dataset inputs), the registry
//! entities (registered models, versions, aliases, MLflow 3 logged models),
//! model URIs, and the [`RunRecorder`] trait through which compute crates
//! report what they did without knowing where it is stored.
//!
//! ```
//! use lathe_core::{ModelUri, RunStatus};
//! let uri: ModelUri = "models:/churn@champion".parse().unwrap();
//! assert_eq!(uri, ModelUri::Alias { name: "churn".into(), alias: "champion".into() });
//! assert_eq!("FINISHED".parse::<RunStatus>().unwrap(), RunStatus::Finished);
//! ```

mod error;
mod features;
mod html;
mod ids;
mod logged_model;
mod recorder;
mod registry;
mod rng;
mod tracking;
mod uri;

pub use error::{Error, Result};
pub use features::{FeatureMatrix, Target, TaskKind};
pub use html::{html_escape, HtmlEscaped};
pub use ids::{format_utc, new_id, now_millis};
pub use logged_model::{LoggedModel, LoggedModelStatus};
pub use recorder::RunRecorder;
pub use registry::{ModelVersion, ModelVersionStatus, RegisteredModel};
pub use rng::SplitMix64;
pub use tracking::{
    Dataset, DatasetInput, Experiment, LifecycleStage, Metric, ModelOutput, Param, Run, RunInfo,
    RunStatus, Tag, ViewType,
};
pub use uri::ModelUri;
