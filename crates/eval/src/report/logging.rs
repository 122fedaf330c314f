//! What a report logs to a run: every scalar metric, the bounds of its
//! bootstrap interval, per-slice metrics, and the report itself as the
//! artifacts `eval/report.html` and `eval/report.json`.
//!
//! Metric keys follow MLflow's rules (alphanumerics, `_ - . space : /`):
//! `accuracy`, `accuracy_ci_low`, `accuracy_ci_high`, and
//! `slice/<column>/<value>/accuracy`, with any other character of a slice
//! column or value replaced by `_`.

use lathe_core::{Metric, RunRecorder};

use super::EvalReport;
use crate::{Error, Result};

/// Longest slice value kept in a key (MLflow keys stop at 250 characters).
const MAX_VALUE_CHARS: usize = 64;

/// A slice column or value made safe for a metric key.
fn key_part(text: &str) -> String {
    let cleaned: String =
        text.chars()
            .take(MAX_VALUE_CHARS)
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    match cleaned.trim() {
        "" => "_".to_string(),
        // `..` is refused as a path part; `.` alone would read as one too.
        "." | ".." => "_".to_string(),
        t => t.to_string(),
    }
}

impl EvalReport {
    /// The metrics this report logs, all at `timestamp` (ms since the epoch), step 0.
    pub fn run_metrics(&self, timestamp: i64) -> Vec<Metric> {
        let point = |key: String, value: f64| Metric { key, value, timestamp, step: 0 };
        let named: Vec<(&'static str, f64)> = match (&self.classification, &self.regression) {
            (Some(c), _) => c.named(),
            (None, Some(r)) => r.named(),
            (None, None) => Vec::new(),
        };
        let mut out: Vec<Metric> = named.iter().map(|&(n, v)| point(n.to_string(), v)).collect();
        for i in &self.intervals {
            out.push(point(format!("{}_ci_low", i.metric), i.low));
            out.push(point(format!("{}_ci_high", i.metric), i.high));
        }
        let column = self.slice_column.as_deref().map(key_part).unwrap_or_default();
        let mut slice = |value: &str, count: usize, named: Vec<(&'static str, f64)>| {
            let prefix = format!("slice/{column}/{}", key_part(value));
            out.push(point(format!("{prefix}/count"), count as f64));
            out.extend(named.into_iter().map(|(n, v)| point(format!("{prefix}/{n}"), v)));
        };
        for s in &self.classification_slices {
            slice(&s.value, s.count, s.metrics.named());
        }
        for s in &self.regression_slices {
            slice(&s.value, s.count, s.metrics.named());
        }
        out
    }

    /// Logs [`run_metrics`](Self::run_metrics) and stores the report as
    /// `eval/report.html` and `eval/report.json` in the run's artifacts.
    pub fn log_to<R: RunRecorder>(&self, recorder: &mut R, timestamp: i64) -> Result<()> {
        let failed = |e: R::Error| Error::Recorder { reason: e.to_string() };
        recorder.log_metrics(&self.run_metrics(timestamp)).map_err(failed)?;
        recorder.log_artifact("eval/report.html", self.to_html().as_bytes()).map_err(failed)?;
        recorder.log_artifact("eval/report.json", self.to_json()?.as_bytes()).map_err(failed)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_values_become_valid_key_parts() {
        assert_eq!(key_part("Biscoe"), "Biscoe");
        assert_eq!(key_part("a=b/c"), "a_b_c");
        assert_eq!(key_part(".."), "_");
        assert_eq!(key_part(""), "_");
        assert_eq!(key_part(&"x".repeat(300)).len(), MAX_VALUE_CHARS);
    }
}
