//! The one error type of `lathe-eval`: inputs a metric cannot be computed on.

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two inputs that must pair up element by element have different lengths.
    #[error("{what}: y_true has {expected} values but the predictions have {got}")]
    LengthMismatch {
        /// The metric.
        what: &'static str,
        /// Length of `y_true`.
        expected: usize,
        /// Length of the other input.
        got: usize,
    },
    /// No samples at all.
    #[error("{what}: no samples")]
    Empty {
        /// The metric.
        what: &'static str,
    },
    /// A label that is not 0 or 1.
    #[error("{what}: label {value} at index {index} is not 0 or 1")]
    InvalidLabel {
        /// The metric.
        what: &'static str,
        /// Position of the bad label.
        index: usize,
        /// The label found.
        value: u8,
    },
    /// A probability outside [0, 1], or a score that is NaN or infinite.
    #[error("{what}: value {value} at index {index} is not {expected}")]
    InvalidScore {
        /// The metric.
        what: &'static str,
        /// Position of the bad value.
        index: usize,
        /// The value found.
        value: f64,
        /// What was expected instead.
        expected: &'static str,
    },
    /// ROC AUC needs both classes in `y_true` (scikit-learn returns NaN here).
    #[error("{what}: only one class is present in y_true, the ROC curve is not defined")]
    SingleClass {
        /// The metric.
        what: &'static str,
    },
    /// A probability matrix whose length is not rows × classes.
    #[error("{what}: {rows} rows × {classes} classes need {} probabilities, got {got}", rows * classes)]
    Shape {
        /// The metric.
        what: &'static str,
        /// Rows of `y_true`.
        rows: usize,
        /// Number of classes.
        classes: usize,
        /// Length of the probability slice.
        got: usize,
    },
    /// A class index at or beyond the number of classes.
    #[error("{what}: label {value} at index {index} is not a class index below {classes}")]
    LabelOutOfRange {
        /// The metric.
        what: &'static str,
        /// Position of the bad label.
        index: usize,
        /// The label found.
        value: usize,
        /// Number of classes.
        classes: usize,
    },
    /// A probability that is NaN, infinite or outside [0, 1].
    #[error("{what}: probability {value} of class '{class}' in row {row} is not in [0, 1]")]
    InvalidProbability {
        /// The metric.
        what: &'static str,
        /// Row of the bad value.
        row: usize,
        /// Class of the column.
        class: String,
        /// The value found.
        value: f64,
    },
    /// A row of class probabilities that does not sum to 1.
    #[error("{what}: probabilities of row {row} sum to {sum}, expected 1 (within {tolerance:e})")]
    RowSum {
        /// The metric.
        what: &'static str,
        /// The row.
        row: usize,
        /// Its sum.
        sum: f64,
        /// The tolerance allowed.
        tolerance: f64,
    },
    /// A one-vs-rest curve of a class that has no sample in `y_true`.
    #[error(
        "{what}: class '{class}' has no sample in y_true, its one-vs-rest curve is not defined"
    )]
    ClassAbsent {
        /// The metric.
        what: &'static str,
        /// The class.
        class: String,
    },
    /// A prediction or target that is NaN or infinite (regression).
    #[error("{what}: {field} value {value} at index {index} is not finite")]
    NotFinite {
        /// The metric.
        what: &'static str,
        /// `y_true` or `y_pred`.
        field: &'static str,
        /// Position of the bad value.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// The run recorder refused what was logged.
    #[error("logging the evaluation to the run: {reason}")]
    Recorder {
        /// The recorder's error.
        reason: String,
    },
    /// A setting or an input that makes a computation impossible.
    #[error("{what}: {reason}")]
    InvalidConfig {
        /// The computation.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
