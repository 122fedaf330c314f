//! Evaluation metrics of lathe, as pure functions over slices.
//!
//! Today: binary classification ([`accuracy`], [`precision`], [`recall`],
//! [`f1`], [`log_loss`], [`roc_auc`], [`confusion`]). Every function follows
//! scikit-learn's definition, edge cases included, and is tested against
//! values scikit-learn computed on the same inputs
//! (`test_data/binary_reference.json`, made by `test_data/make_reference.py`).
//! Comparing two models on the same rows: [`paired_bootstrap`] and the
//! champion/challenger [`gate`].
//!
//! ```
//! use lathe_eval::{roc_auc, BinaryMetrics};
//! let y_true = [0, 0, 1, 1];
//! let y_prob = [0.1, 0.4, 0.35, 0.8];
//! assert_eq!(roc_auc(&y_true, &y_prob).unwrap(), 0.75);
//! let m = BinaryMetrics::compute(&y_true, &y_prob, 0.5).unwrap();
//! assert_eq!((m.accuracy, m.precision, m.recall), (0.75, 1.0, 0.5));
//! ```

mod classification;
mod compare;
mod error;

pub use classification::{
    accuracy, confusion, f1, log_loss, precision, predict_labels, recall, roc_auc, BinaryMetrics,
    Confusion,
};
pub use compare::{
    bootstrap_indices, gate, paired_bootstrap, BootstrapConfig, Decision, Metric, PairedDiff,
};
pub use error::{Error, Result};

#[cfg(test)]
mod tests;
