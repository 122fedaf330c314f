//! The one error type of `lathe-data`.
//!
//! Every variant names where the problem is (file, line or row, column,
//! field) and what was expected, because the person reading it has a file
//! open in an editor and wants to jump to the cell.

use std::path::PathBuf;

/// Everything that can go wrong while reading, encoding, splitting or
/// preprocessing a table.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (kept out of the source chain: the message already says it).
        error: std::io::Error,
    },
    /// The file has no bytes, no header or no rows.
    #[error("{}: the file is empty ({what}); expected a header and at least one row", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// What is missing: `no bytes`, `no header`, `no rows`.
        what: &'static str,
    },
    /// The extension says nothing lathe can read.
    #[error("{}: unsupported extension; expected .csv, .parquet, .jsonl or .ndjson", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// A CSV row has a different number of fields than the header.
    #[error("{}: line {line} has {found} fields; expected {expected} like the header", path.display())]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// Two columns share a name.
    #[error("{}: column {position} repeats the header name {name:?} (first at column {first}); expected unique names", path.display())]
    DuplicateHeader {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        name: String,
        /// 1-based column of the first occurrence.
        first: usize,
        /// 1-based column of the repeat.
        position: usize,
    },
    /// A cell does not parse as its column's type.
    #[error("{}: {location}, column {column:?}: {value:?} is not {expected}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// `line N` (CSV, JSONL) or `row N` (Parquet), 1-based.
        location: String,
        /// The column.
        column: String,
        /// The offending text.
        value: String,
        /// What the column needs, with a hint to fix it.
        expected: String,
    },
    /// Polars failed on the file.
    #[error("{}: {message}", path.display())]
    Polars {
        /// The file.
        path: PathBuf,
        /// Polars' message.
        message: String,
    },
    /// A column the caller named is not in the data.
    #[error("column {column:?} not found; available columns: {}", available.join(", "))]
    MissingColumn {
        /// The column asked for.
        column: String,
        /// The columns present.
        available: Vec<String>,
    },
    /// The target cannot be learned from.
    #[error("target {column:?}: {message}")]
    BadTarget {
        /// The target column.
        column: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A numeric value is infinite: refused rather than guessed.
    #[error("row {row}, column {column:?}: value is {value}; expected a finite number (NaN and empty mean missing)")]
    Infinite {
        /// 0-based row index in the frame.
        row: usize,
        /// The column.
        column: String,
        /// `inf` or `-inf`.
        value: f64,
    },
    /// A frame at transform time does not have the fitted columns.
    #[error(
        "schema mismatch with the fitted preprocessing: {}",
        describe_mismatch(missing, extra)
    )]
    SchemaMismatch {
        /// Columns the preprocessing needs that the data lacks.
        missing: Vec<String>,
        /// Columns in the data the preprocessing does not know.
        extra: Vec<String>,
    },
    /// A value in a frame column or a JSON field has the wrong type.
    #[error("{location}: field {field:?}: expected {expected}, got {got}")]
    FieldType {
        /// `row N` in a frame, `request` for a single JSON row.
        location: String,
        /// The column / JSON field.
        field: String,
        /// The expected type.
        expected: String,
        /// What was there.
        got: String,
    },
    /// A caller-supplied argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A saved preprocessing does not parse.
    #[error("preprocessing JSON: {0}")]
    Json(String),
}

fn describe_mismatch(missing: &[String], extra: &[String]) -> String {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing column(s) {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        parts.push(format!("unexpected column(s) {}", extra.join(", ")));
    }
    parts.join("; ")
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
