//! Recorders that keep what a fit reports without a store: for tests,
//! examples and fits nobody tracks.

use std::convert::Infallible;

use lathe_core::{DatasetInput, Metric, Param, RunRecorder, Tag};

/// Drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopRecorder;

impl RunRecorder for NoopRecorder {
    type Error = Infallible;
    fn log_params(&mut self, _: &[Param]) -> Result<(), Infallible> {
        Ok(())
    }
    fn log_metrics(&mut self, _: &[Metric]) -> Result<(), Infallible> {
        Ok(())
    }
    fn set_tags(&mut self, _: &[Tag]) -> Result<(), Infallible> {
        Ok(())
    }
    fn log_inputs(&mut self, _: &[DatasetInput]) -> Result<(), Infallible> {
        Ok(())
    }
    fn log_artifact(&mut self, _: &str, _: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Keeps everything in memory, in the order it was reported.
#[derive(Debug, Clone, Default)]
pub struct MemoryRecorder {
    /// Parameters logged.
    pub params: Vec<Param>,
    /// Metric points logged.
    pub metrics: Vec<Metric>,
    /// Tags set.
    pub tags: Vec<Tag>,
    /// Datasets logged.
    pub inputs: Vec<DatasetInput>,
    /// Artifacts: path and bytes.
    pub artifacts: Vec<(String, Vec<u8>)>,
}

impl MemoryRecorder {
    /// The history of one metric, as `(step, value)`.
    pub fn history(&self, key: &str) -> Vec<(i64, f64)> {
        self.metrics.iter().filter(|m| m.key == key).map(|m| (m.step, m.value)).collect()
    }
}

impl RunRecorder for MemoryRecorder {
    type Error = Infallible;
    fn log_params(&mut self, params: &[Param]) -> Result<(), Infallible> {
        self.params.extend_from_slice(params);
        Ok(())
    }
    fn log_metrics(&mut self, metrics: &[Metric]) -> Result<(), Infallible> {
        self.metrics.extend_from_slice(metrics);
        Ok(())
    }
    fn set_tags(&mut self, tags: &[Tag]) -> Result<(), Infallible> {
        self.tags.extend_from_slice(tags);
        Ok(())
    }
    fn log_inputs(&mut self, inputs: &[DatasetInput]) -> Result<(), Infallible> {
        self.inputs.extend_from_slice(inputs);
        Ok(())
    }
    fn log_artifact(&mut self, path: &str, bytes: &[u8]) -> Result<(), Infallible> {
        self.artifacts.push((path.to_string(), bytes.to_vec()));
        Ok(())
    }
}
