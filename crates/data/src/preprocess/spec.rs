//! What to fit: the preprocessing options and their defaults.

use serde::{Deserialize, Serialize};

use crate::types::ColumnType;

/// How missing numeric values are filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Imputation {
    /// The training mean.
    Mean,
    /// The training median (the default).
    Median,
    /// The most frequent training value (the smallest among ties).
    MostFrequent,
    /// A fixed value.
    Constant(f64),
}

/// How numeric features are scaled (after imputation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// `(x - mean) / std` (population std), the default.
    Standard,
    /// `(x - min) / (max - min)`.
    MinMax,
    /// `(x - median) / IQR`.
    Robust,
    /// Values as they are.
    None,
}

/// How categorical and boolean columns become numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoricalEncoding {
    /// One feature per frequent label plus an `unknown` bucket (the default).
    OneHot,
    /// One feature: the label's rank among sorted training labels; unseen → -1.
    Ordinal,
}

/// The preprocessing to fit. `PreprocessSpec::default()` is lathe's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessSpec {
    /// Numeric (and datetime-part) imputation; default median.
    pub imputation: Imputation,
    /// Add a `<col>__missing` 0/1 feature for numeric columns that had
    /// missing values in training; default on.
    pub missing_indicators: bool,
    /// Numeric scaling; default standard.
    pub scaling: Scaling,
    /// Categorical encoding; default one-hot.
    pub categorical: CategoricalEncoding,
    /// One-hot cap per column, the `unknown` bucket included in the count
    /// when it is needed (scikit-learn's `max_categories`); default 20.
    pub max_categories: usize,
    /// TF-IDF vocabulary size per text column; default 2000.
    pub max_features: usize,
    /// Forced column types (the rest are inferred, see [`crate::types`]).
    pub column_types: Vec<(String, ColumnType)>,
}

impl Default for PreprocessSpec {
    fn default() -> Self {
        PreprocessSpec {
            imputation: Imputation::Median,
            missing_indicators: true,
            scaling: Scaling::Standard,
            categorical: CategoricalEncoding::OneHot,
            max_categories: 20,
            max_features: 2000,
            column_types: Vec::new(),
        }
    }
}
