//! The metric a search ranks its trials by, computed by `lathe-eval` on the
//! validation rows, with the direction that makes one trial better.

use lathe_core::{Target, TaskKind};
use lathe_eval::{ClassificationMetrics, RegressionMetrics};

use crate::{Error, Predictions, Result};

/// What trials are ranked by; each knows whether higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionMetric {
    /// Area under the ROC curve (one-vs-rest macro average for multiclass).
    RocAuc,
    /// Mean log loss (cross-entropy).
    LogLoss,
    /// Share of rows whose most probable class is right.
    Accuracy,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute error.
    Mae,
    /// Coefficient of determination.
    R2,
}

const NAMES: &str = "roc_auc, log_loss, accuracy (classifiers) or rmse, mae, r2 (regression)";

impl SelectionMetric {
    /// The metric called `name` (as `lathe-eval` names it).
    pub fn parse(name: &str) -> Result<SelectionMetric> {
        Ok(match name {
            "roc_auc" => SelectionMetric::RocAuc,
            "log_loss" => SelectionMetric::LogLoss,
            "accuracy" => SelectionMetric::Accuracy,
            "rmse" => SelectionMetric::Rmse,
            "mae" => SelectionMetric::Mae,
            "r2" => SelectionMetric::R2,
            other => {
                return Err(Error::Search(format!(
                    "unknown metric '{other}': expected one of {NAMES}"
                )))
            }
        })
    }

    /// The default for a task: ROC AUC for binary, log loss for multiclass,
    /// RMSE for regression.
    pub fn default_for(task: &TaskKind) -> SelectionMetric {
        match task {
            TaskKind::Binary => SelectionMetric::RocAuc,
            TaskKind::Multiclass => SelectionMetric::LogLoss,
            TaskKind::Regression => SelectionMetric::Rmse,
        }
    }

    /// The name, as `lathe-eval` and the logged `valid_<name>` metric use it.
    pub fn name(self) -> &'static str {
        match self {
            SelectionMetric::RocAuc => "roc_auc",
            SelectionMetric::LogLoss => "log_loss",
            SelectionMetric::Accuracy => "accuracy",
            SelectionMetric::Rmse => "rmse",
            SelectionMetric::Mae => "mae",
            SelectionMetric::R2 => "r2",
        }
    }

    /// Whether a larger value is a better model.
    pub fn higher_is_better(self) -> bool {
        matches!(self, SelectionMetric::RocAuc | SelectionMetric::Accuracy | SelectionMetric::R2)
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        if self.higher_is_better() {
            a > b
        } else {
            a < b
        }
    }

    fn for_classifiers(self) -> bool {
        matches!(
            self,
            SelectionMetric::RocAuc | SelectionMetric::LogLoss | SelectionMetric::Accuracy
        )
    }

    /// Refuses a metric that does not apply to `task`.
    pub fn check(self, task: &TaskKind) -> Result<()> {
        let classifier = *task != TaskKind::Regression;
        if self.for_classifiers() == classifier {
            return Ok(());
        }
        let kind = if classifier { "a classification" } else { "a regression" };
        Err(Error::Search(format!("metric '{}' does not apply to {kind} target", self.name())))
    }

    /// The metric of `predictions` against `truth`.
    pub fn score(self, truth: &Target, predictions: &Predictions) -> Result<f64> {
        let eval = |e: lathe_eval::Error| Error::Search(format!("validation {}: {e}", self.name()));
        if truth.kind == TaskKind::Regression {
            let m = RegressionMetrics::compute(&truth.values, &predictions.values).map_err(eval)?;
            return Ok(match self {
                SelectionMetric::Mae => m.mae,
                SelectionMetric::R2 => m.r2,
                _ => m.rmse,
            });
        }
        let labels: Vec<usize> = truth.values.iter().map(|&v| v as usize).collect();
        let m = ClassificationMetrics::compute(&labels, &predictions.values, &truth.classes)
            .map_err(eval)?;
        match self {
            SelectionMetric::RocAuc => m.roc_auc.ok_or_else(|| {
                Error::Search(
                    "validation roc_auc is undefined: a class is missing from the validation rows"
                        .into(),
                )
            }),
            SelectionMetric::Accuracy => Ok(m.accuracy),
            _ => Ok(m.log_loss),
        }
    }
}
