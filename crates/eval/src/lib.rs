//! Evaluation metrics of lathe, as pure functions over slices.
//!
//! - Classification, binary and multiclass, from true class indices and a
//!   row-major `n × k` probability matrix: [`ClassificationMetrics::compute`]
//!   (accuracy, balanced accuracy, precision/recall/F1 macro, micro,
//!   weighted and per class, ROC AUC one-vs-rest, PR AUC, log loss, Brier,
//!   ECE, confusion matrix, the F1-maximizing threshold). The binary
//!   building blocks over 0/1 labels stay available ([`accuracy`],
//!   [`roc_auc`], [`roc_curve`], [`average_precision`], …).
//! - Regression: [`RegressionMetrics::compute`] (MAE, RMSE, R², MAPE,
//!   median absolute error).
//! - Bootstrap confidence intervals of any metric ([`bootstrap_metrics`],
//!   [`classification_intervals`], [`regression_intervals`]), per-slice
//!   metrics ([`classification_slices`], [`regression_slices`]).
//! - Comparing two models on the same rows on any metric:
//!   [`compare_classifiers`] (paired bootstrap of the difference and
//!   McNemar's test, [`mcnemar`]) and [`compare_regressors`]; the binary
//!   [`paired_bootstrap`] and the champion/challenger [`gate`] built on it.
//! - A report: [`EvalReport`] (serde JSON) and its self-contained HTML page
//!   with SVG plots ([`EvalReport::to_html`]).
//!
//! Every metric follows scikit-learn's definition, edge cases included, and
//! is tested against values scikit-learn computed on the same inputs
//! (`test_data/*.json`, made by the `test_data/*.py` scripts next to them).
//!
//! ```
//! use lathe_eval::{roc_auc, BinaryMetrics, ClassificationMetrics};
//! let y_true = [0, 0, 1, 1];
//! let y_prob = [0.1, 0.4, 0.35, 0.8];
//! assert_eq!(roc_auc(&y_true, &y_prob).unwrap(), 0.75);
//! let m = BinaryMetrics::compute(&y_true, &y_prob, 0.5).unwrap();
//! assert_eq!((m.accuracy, m.precision, m.recall), (0.75, 1.0, 0.5));
//!
//! let classes = ["cat", "dog", "fox"].map(String::from);
//! let proba = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.3, 0.4, 0.5, 0.1, 0.4];
//! let m = ClassificationMetrics::compute(&[0, 1, 2, 2], &proba, &classes).unwrap();
//! assert_eq!(m.accuracy, 0.75);
//! assert_eq!(m.confusion[2], [1, 0, 1]);
//! ```

mod bootstrap;
pub mod classification;
mod compare;
mod comparison;
mod error;
mod mcnemar;
mod regression;
pub mod report;
mod slices;

pub use bootstrap::{bootstrap_metrics, classification_intervals, regression_intervals, Interval};
pub use classification::binary::{
    accuracy, confusion, f1, log_loss, precision, predict_labels, recall, roc_auc, BinaryMetrics,
    Confusion,
};
pub use classification::calibration::{
    binary_calibration, brier_score, calibration, Calibration, CalibrationBin, CALIBRATION_BINS,
};
pub use classification::curves::{
    average_precision, best_f1_threshold, precision_recall_curve, roc_curve, BestThreshold, Curve,
};
pub use classification::multiclass::{
    binary_proba_matrix, check_classification, confusion_matrix, predict_classes, Averages,
    ClassMetrics, ClassificationMetrics, ROW_SUM_TOLERANCE,
};
pub use compare::{
    bootstrap_indices, gate, paired_bootstrap, BootstrapConfig, Decision, Metric, PairedDiff,
};
pub use comparison::{compare_classifiers, compare_regressors, Comparison};
pub use error::{Error, Result};
pub use mcnemar::{mcnemar, mcnemar_from_counts, McNemar, EXACT_BELOW};
pub use regression::{check_regression, RegressionMetrics};
pub use report::EvalReport;
pub use slices::{classification_slices, group_rows, regression_slices, Slice};

#[cfg(test)]
mod tests;
