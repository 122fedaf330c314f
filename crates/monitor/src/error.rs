//! The one error type of `lathe-monitor`: inputs a drift test cannot run on.

use crate::{ColumnKind, Method};

/// Why a drift report could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A column has no value left once missing values, NaN and ±inf are dropped
    /// (Evidently refuses such a column too).
    #[error("column '{column}' has no finite values in the {side} data")]
    EmptyColumn {
        /// The column.
        column: String,
        /// `reference` or `current`.
        side: &'static str,
    },
    /// The reference and current columns of one name have different types.
    #[error(
        "column '{column}' is {reference} in the reference data but {current} in the current data"
    )]
    KindMismatch {
        /// The column.
        column: String,
        /// Type in the reference data.
        reference: ColumnKind,
        /// Type in the current data.
        current: ColumnKind,
    },
    /// A test was asked for on a column type it does not apply to.
    #[error("column '{column}': the {method} test applies to numerical columns only")]
    MethodNotApplicable {
        /// The column.
        column: String,
        /// The test.
        method: Method,
    },
    /// A threshold that is not a finite positive number.
    #[error("column '{column}': threshold {threshold} is not a finite number above 0")]
    InvalidThreshold {
        /// The column.
        column: String,
        /// The threshold given.
        threshold: f64,
    },
    /// A dataset-drift share outside (0, 1].
    #[error("drift share {0} is not in (0, 1]")]
    InvalidDriftShare(f64),
    /// An override names a column that is not compared.
    #[error("a test is configured for column '{0}', which is not among the compared columns")]
    UnknownColumn(String),
    /// Nothing to compare.
    #[error("no columns to compare")]
    NoColumns,
    /// Columns of one profile with different row counts.
    #[error("column '{column}' has {rows} rows, the others {expected}")]
    RaggedColumns {
        /// The column.
        column: String,
        /// Its rows.
        rows: usize,
        /// The first column's rows.
        expected: usize,
    },
    /// A method name that is not one of the known tests.
    #[error("unknown drift test '{0}' (expected one of: ks, chisquare, z, wasserstein, jensenshannon, psi, chisquare_homogeneity)")]
    UnknownMethod(String),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
