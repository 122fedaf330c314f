//! How compute crates report what a run did, without knowing the store.

use crate::{DatasetInput, Metric, Param, Tag};

/// The sink a training or evaluation job reports into.
///
/// The CLI adapts the tracking store to this trait; compute crates only see
/// the trait, so they never depend on a database or HTTP.
pub trait RunRecorder {
    /// The error the sink may return.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Record parameters (each key once).
    fn log_params(&mut self, params: &[Param]) -> Result<(), Self::Error>;
    /// Record metric points.
    fn log_metrics(&mut self, metrics: &[Metric]) -> Result<(), Self::Error>;
    /// Record or overwrite tags.
    fn set_tags(&mut self, tags: &[Tag]) -> Result<(), Self::Error>;
    /// Record the datasets the run read.
    fn log_inputs(&mut self, inputs: &[DatasetInput]) -> Result<(), Self::Error>;
    /// Store a file under the run's artifact root at `path`.
    fn log_artifact(&mut self, path: &str, bytes: &[u8]) -> Result<(), Self::Error>;
}
