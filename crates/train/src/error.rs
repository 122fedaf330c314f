//! The one error type of `lathe-train`.

/// What can go wrong reading data, fitting or using a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CSV itself could not be read (bad quoting, uneven rows, not UTF-8).
    #[error("cannot read CSV: {0}")]
    Csv(#[from] csv::Error),
    /// The label column is not in the header.
    #[error("label column '{column}' not found; the columns are: {available}")]
    MissingColumn {
        /// The column asked for.
        column: String,
        /// The header, comma-separated.
        available: String,
    },
    /// A feature cell that is neither a number nor empty.
    #[error("line {line}, column '{column}': '{value}' is not a number")]
    NotNumeric {
        /// 1-based line in the file.
        line: u64,
        /// Column name.
        column: String,
        /// The cell.
        value: String,
    },
    /// The label column does not hold exactly two classes, one of them the positive class.
    #[error("label column '{column}': {problem}")]
    Labels {
        /// Label column name.
        column: String,
        /// What is wrong, e.g. "positive class 'yes' never occurs".
        problem: String,
    },
    /// No rows where rows are needed.
    #[error("{what}: no rows")]
    Empty {
        /// What needed rows.
        what: &'static str,
    },
    /// A feature with missing values where a fit needs complete data.
    #[error("feature '{column}' has {count} missing or non-finite values; impute or drop them before fitting")]
    Missing {
        /// Column name.
        column: String,
        /// How many values are missing.
        count: usize,
    },
    /// A hyperparameter or argument outside its range.
    #[error("invalid {name} {value}: expected {expected}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// Rows given to a model do not have the features it was trained on.
    #[error("feature mismatch: {0}")]
    Features(String),
    /// A model file that cannot be read back.
    #[error("invalid model file: {0}")]
    ModelFile(String),
    /// LightGBM refused to train or to hand back its model.
    #[error("lightgbm: {0}")]
    LightGbm(String),
    /// Reading, encoding or preprocessing data failed (see `lathe-data`).
    #[error(transparent)]
    Data(#[from] lathe_data::Error),
    /// A hyperparameter search space that cannot be searched as declared.
    #[error("search space: '{parameter}': {problem}")]
    SearchSpace {
        /// The hyperparameter (`(space)` for the table itself).
        parameter: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// A hyperparameter search that cannot run as configured.
    #[error("hyperparameter search: {0}")]
    Search(String),
    /// The run recorder refused a write.
    #[error("cannot record the run: {0}")]
    Recorder(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub(crate) fn recorder(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Recorder(Box::new(e))
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
