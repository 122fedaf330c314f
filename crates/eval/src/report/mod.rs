//! The evaluation report: every metric, interval and slice of one model on
//! one dataset, plus the data of its plots, as a serde value
//! ([`EvalReport`]), and a self-contained HTML page with inline SVG plots
//! ([`EvalReport::to_html`]).
//!
//! Curves keep at most [`MAX_CURVE_POINTS`] points and the residual scatter
//! at most [`MAX_SCATTER_POINTS`] rows (evenly spaced by index), so a
//! report of a million rows stays small; metrics always use every row.

mod categorical;
mod html;
mod logging;
mod svg;

use serde::{Deserialize, Serialize};

use crate::classification::binary::roc_auc_from;
use crate::classification::curves::{
    average_precision_from, pr_curve_from, roc_curve_from, threshold_counts,
};
use crate::classification::multiclass::check_classification;
use crate::regression::check_regression;
use crate::{
    classification_slices, regression_slices, ClassificationMetrics, Curve, Error, Interval,
    RegressionMetrics, Result, Slice,
};

/// Most points kept per curve in the report.
pub const MAX_CURVE_POINTS: usize = 400;
/// Most rows kept in the residual scatter plot.
pub const MAX_SCATTER_POINTS: usize = 2_000;
/// Bins of the residual histogram.
pub const RESIDUAL_BINS: usize = 30;

/// What kind of target the report evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Two classes.
    Binary,
    /// More than two classes.
    Multiclass,
    /// A numeric target.
    Regression,
}

/// A curve with the name of what it belongs to (a class, or "positive").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedCurve {
    /// Legend entry.
    pub name: String,
    /// Area under it (ROC AUC or average precision).
    pub area: f64,
    /// The points.
    pub curve: Curve,
}

/// Residuals of a regression, sampled for plotting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residuals {
    /// Predicted values of the sampled rows.
    pub predicted: Vec<f64>,
    /// `y_true − y_pred` of the same rows.
    pub residual: Vec<f64>,
    /// Histogram edges of all residuals (`counts.len() + 1` values).
    pub histogram_edges: Vec<f64>,
    /// Rows per histogram bin.
    pub histogram_counts: Vec<u64>,
}

/// A feature and its importance, as the caller measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Importance (gain, |coefficient|, permutation drop…).
    pub importance: f64,
}

/// Everything an evaluation found, ready for JSON or HTML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Heading of the report (model and dataset, say).
    pub title: String,
    /// Binary, multiclass or regression.
    pub task: Task,
    /// Rows evaluated.
    pub rows: usize,
    /// Classification metrics (binary and multiclass).
    pub classification: Option<ClassificationMetrics>,
    /// Regression metrics.
    pub regression: Option<RegressionMetrics>,
    /// Bootstrap intervals, when computed.
    pub intervals: Vec<Interval>,
    /// The slice column, when slices were computed.
    pub slice_column: Option<String>,
    /// Classification metrics per slice.
    pub classification_slices: Vec<Slice<ClassificationMetrics>>,
    /// Regression metrics per slice.
    pub regression_slices: Vec<Slice<RegressionMetrics>>,
    /// ROC curves: one (binary) or one per class, one-vs-rest (multiclass).
    pub roc_curves: Vec<NamedCurve>,
    /// Precision–recall curves, likewise.
    pub pr_curves: Vec<NamedCurve>,
    /// Regression residuals.
    pub residuals: Option<Residuals>,
    /// Feature importances, largest magnitude first.
    pub feature_importance: Vec<FeatureImportance>,
}

/// Keeps at most `max` evenly spaced indices of `0..n`, always the last.
fn sample_indices(n: usize, max: usize) -> Vec<usize> {
    if n <= max {
        return (0..n).collect();
    }
    let mut idx: Vec<usize> = (0..max).map(|i| i * (n - 1) / (max - 1)).collect();
    idx.dedup();
    idx
}

fn thin(curve: Curve) -> Curve {
    let keep = sample_indices(curve.x.len(), MAX_CURVE_POINTS);
    Curve {
        x: keep.iter().map(|&i| curve.x[i]).collect(),
        y: keep.iter().map(|&i| curve.y[i]).collect(),
        thresholds: keep.iter().map(|&i| curve.thresholds[i]).collect(),
    }
}

impl EvalReport {
    fn empty(title: &str, task: Task, rows: usize) -> EvalReport {
        EvalReport {
            title: title.to_string(),
            task,
            rows,
            classification: None,
            regression: None,
            intervals: Vec::new(),
            slice_column: None,
            classification_slices: Vec::new(),
            regression_slices: Vec::new(),
            roc_curves: Vec::new(),
            pr_curves: Vec::new(),
            residuals: None,
            feature_importance: Vec::new(),
        }
    }

    /// A classification report: `proba` is row-major `y_true.len() × classes.len()`.
    /// Binary reports plot the curves of class 1; multiclass ones plot one
    /// one-vs-rest curve per class present in `y_true`.
    pub fn classification(
        title: &str,
        y_true: &[usize],
        proba: &[f64],
        classes: &[String],
    ) -> Result<EvalReport> {
        let metrics = ClassificationMetrics::compute(y_true, proba, classes)?;
        let k = classes.len();
        let task = if k == 2 { Task::Binary } else { Task::Multiclass };
        let mut report = EvalReport::empty(title, task, y_true.len());
        let plotted: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
        for c in plotted {
            let y: Vec<u8> = y_true.iter().map(|&t| u8::from(t == c)).collect();
            let p: Vec<f64> = proba.iter().skip(c).step_by(k).copied().collect();
            // Probabilities are checked; one sort gives both curves and areas.
            // A class absent from y_true, or alone in it, has no curve; the
            // metrics say so (None).
            let counts = threshold_counts(&y, &p);
            if counts.positives() > 0 && counts.negatives() > 0 {
                let name = classes[c].clone();
                report.roc_curves.push(NamedCurve {
                    name: name.clone(),
                    area: roc_auc_from(&counts),
                    curve: thin(roc_curve_from(&counts)),
                });
                report.pr_curves.push(NamedCurve {
                    name,
                    area: average_precision_from(&counts),
                    curve: thin(pr_curve_from(&counts)),
                });
            }
        }
        report.classification = Some(metrics);
        Ok(report)
    }

    /// A regression report from true and predicted values.
    pub fn regression(title: &str, y_true: &[f64], y_pred: &[f64]) -> Result<EvalReport> {
        let metrics = RegressionMetrics::compute(y_true, y_pred)?;
        let mut report = EvalReport::empty(title, Task::Regression, y_true.len());
        let residual: Vec<f64> = y_true.iter().zip(y_pred).map(|(t, p)| t - p).collect();
        let (lo, hi) = svg::extent(&residual);
        let width = if hi > lo { (hi - lo) / RESIDUAL_BINS as f64 } else { 1.0 };
        let edges: Vec<f64> = (0..=RESIDUAL_BINS).map(|i| lo + width * i as f64).collect();
        let mut counts = vec![0u64; RESIDUAL_BINS];
        for r in &residual {
            let b = (((r - lo) / width) as usize).min(RESIDUAL_BINS - 1);
            counts[b] += 1;
        }
        let keep = sample_indices(y_true.len(), MAX_SCATTER_POINTS);
        report.residuals = Some(Residuals {
            predicted: keep.iter().map(|&i| y_pred[i]).collect(),
            residual: keep.iter().map(|&i| residual[i]).collect(),
            histogram_edges: edges,
            histogram_counts: counts,
        });
        report.regression = Some(metrics);
        Ok(report)
    }

    /// Adds bootstrap intervals (from [`crate::classification_intervals`] or
    /// [`crate::regression_intervals`]).
    pub fn with_intervals(mut self, intervals: Vec<Interval>) -> EvalReport {
        self.intervals = intervals;
        self
    }

    /// Adds classification metrics per value of the `column` (one value per row).
    pub fn with_classification_slices(
        mut self,
        column: &str,
        values: &[String],
        y_true: &[usize],
        proba: &[f64],
        classes: &[String],
    ) -> Result<EvalReport> {
        check_classification("report", y_true, proba, classes)?;
        self.classification_slices = classification_slices(values, y_true, proba, classes)?;
        self.slice_column = Some(column.to_string());
        Ok(self)
    }

    /// Adds regression metrics per value of the `column` (one value per row).
    pub fn with_regression_slices(
        mut self,
        column: &str,
        values: &[String],
        y_true: &[f64],
        y_pred: &[f64],
    ) -> Result<EvalReport> {
        check_regression("report", y_true, y_pred)?;
        self.regression_slices = regression_slices(values, y_true, y_pred)?;
        self.slice_column = Some(column.to_string());
        Ok(self)
    }

    /// Adds feature importances (names and values pair up; values finite),
    /// sorted by magnitude, largest first.
    pub fn with_feature_importance(
        mut self,
        names: &[String],
        values: &[f64],
    ) -> Result<EvalReport> {
        const WHAT: &str = "feature_importance";
        if names.len() != values.len() {
            return Err(Error::LengthMismatch {
                what: WHAT,
                expected: names.len(),
                got: values.len(),
            });
        }
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NotFinite { what: WHAT, field: "importance", index, value });
        }
        let mut fi: Vec<FeatureImportance> = names
            .iter()
            .zip(values)
            .map(|(n, &v)| FeatureImportance { feature: n.clone(), importance: v })
            .collect();
        fi.sort_by(|a, b| b.importance.abs().total_cmp(&a.importance.abs()));
        self.feature_importance = fi;
        Ok(self)
    }

    /// The report as pretty JSON (non-finite numbers, such as the `+inf`
    /// threshold of a curve's first point, become `null`).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map_err(|e| Error::InvalidConfig { what: "report", reason: e.to_string() })
    }

    /// The report as one self-contained HTML page (inline CSS and SVG, no
    /// script, nothing loaded from elsewhere).
    pub fn to_html(&self) -> String {
        html::render(self)
    }
}
