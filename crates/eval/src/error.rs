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
