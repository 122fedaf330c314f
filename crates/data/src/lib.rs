//! Tables in, features out: reading CSV/Parquet/JSON lines through Polars,
//! typing columns, encoding the target, splitting rows, fingerprinting a
//! dataset for lineage, and the fitted preprocessing pipeline that turns
//! columns (or one JSON row at serving time) into a
//! [`lathe_core::FeatureMatrix`].
//!
//! ```
//! use lathe_data::{encode_target, read_table, split, Preprocessor, PreprocessSpec, ReadOptions};
//! # fn main() -> lathe_data::Result<()> {
//! let dir = tempfile::tempdir().map_err(|e| lathe_data::Error::InvalidArgument(e.to_string()))?;
//! let path = dir.path().join("pets.csv");
//! std::fs::write(&path, "age,kind,adopted\n3,cat,yes\n5,dog,no\n,cat,yes\n8,bird,no\n")
//!     .map_err(|source| lathe_data::Error::Io { path: path.clone(), error: source })?;
//!
//! let table = read_table(&path, &ReadOptions::default())?;
//! let target = encode_target(&table.frame, "adopted", None)?;
//! assert_eq!(target.classes, ["no", "yes"]);
//!
//! let rows = split::stratified(&target.values, 0.5, 42)?;
//! let train = split::take_rows(&table.frame, &rows.train)?;
//! let prep = Preprocessor::fit(&train, "adopted", &PreprocessSpec::default())?;
//! let (features, _report) = prep.transform(&table.frame)?;
//! assert_eq!(features.rows(), 4);
//!
//! let row = serde_json::json!({"age": 4, "kind": "fish"});
//! let one = prep.transform_row(row.as_object().unwrap())?;
//! assert_eq!(one.len(), prep.feature_names().len());
//! # Ok(())
//! # }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod chunks;
mod convert;
mod error;
pub mod fingerprint;
pub mod preprocess;
pub mod profile;
mod profile_html;
mod read;
pub mod split;
mod target;
pub mod types;
mod write;

pub use chunks::{ChunkedReader, ReadProgress};
pub use error::{Error, Result};
pub use fingerprint::{fingerprint, Fingerprint};
/// The Polars version lathe-data reads with, for callers that handle its frames.
pub use polars;
pub use preprocess::{
    CategoricalEncoding, Imputation, PreprocessSpec, Preprocessor, Scaling, TransformReport,
};
pub use profile_html::profile_html;
pub use read::{read_table, Diagnostic, DiagnosticKind, ReadOptions, Table};
pub use target::{encode_target, MAX_INTEGER_CLASSES};
pub use types::ColumnType;
pub use write::write_table;
