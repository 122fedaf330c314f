//! Reading CSV, Parquet and JSON-lines files into a typed DataFrame.
//!
//! CSV goes through two passes: the `csv` crate checks the structure
//! (empty file, duplicate header names, ragged rows with their line), then
//! Polars reads every column as text and [`crate::convert`] types it, so a
//! bad cell is reported with its line, column and value instead of Polars'
//! line-less parse error. Parquet and JSON lines carry their own types;
//! their text columns go through the same conversion.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::convert::{convert_column, Findings, Locator};
use crate::types::ColumnType;
use crate::{Error, Result};

/// How to read a table.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Forced column types, by column name (the rest are inferred).
    pub schema_overrides: Vec<(String, ColumnType)>,
    /// CSV field separator.
    pub separator: u8,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { schema_overrides: Vec::new(), separator: b',' }
    }
}

/// A table read from a file, with its column types and non-fatal findings.
#[derive(Debug, Clone)]
pub struct Table {
    /// The data. Numeric columns are `Int64` or `Float64` (NaN already turned
    /// into null), booleans `Boolean`, everything else `String`.
    pub frame: DataFrame,
    /// Each column's type, in frame order.
    pub columns: Vec<(String, ColumnType)>,
    /// Non-fatal findings, in column order.
    pub diagnostics: Vec<Diagnostic>,
}

/// A non-fatal finding about a column.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The column.
    pub column: String,
    /// What was found.
    pub kind: DiagnosticKind,
    /// A sentence for the user saying what was found and what lathe does about it.
    pub message: String,
}

/// The kinds of [`Diagnostic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticKind {
    /// Every value is missing: the column is dropped from features.
    AllNull,
    /// One distinct value: it carries no information.
    Constant,
    /// NaN values, treated as missing.
    NotANumber,
    /// `inf`/`-inf` values: preprocessing refuses them.
    Infinite,
    /// Nested values (lists, structs): the column is left out of the table.
    Unsupported,
    /// Every value distinct and a single token: probably an identifier.
    Identifier,
}

/// Reads `.csv`, `.parquet`, `.jsonl` or `.ndjson` (by extension).
///
/// Errors name the file and, for cell problems, the line (CSV, JSONL) or
/// row (Parquet), the column and the value.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let bytes =
        std::fs::read(path).map_err(|source| Error::Io { path: path.into(), error: source })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyFile { path: path.into(), what: "no bytes" });
    }
    match ext.as_deref() {
        Some("csv") => read_csv(path, bytes, opts),
        Some("parquet") => {
            let frame = ParquetReader::new(Cursor::new(bytes))
                .finish()
                .map_err(|e| polars_err(path, &e))?;
            finish(path, frame, opts, Locator::Row, Findings::All)
        }
        Some("jsonl" | "ndjson") => {
            check_json_lines(path, &bytes)?;
            let frame = JsonReader::new(Cursor::new(bytes))
                .with_json_format(JsonFormat::JsonLines)
                .infer_schema_len(None)
                .finish()
                .map_err(|e| polars_err(path, &e))?;
            finish(path, frame, opts, Locator::JsonLine, Findings::All)
        }
        _ => Err(Error::UnsupportedFormat { path: path.into() }),
    }
}

pub(crate) fn polars_err(path: &Path, e: &PolarsError) -> Error {
    Error::Polars { path: path.into(), message: e.to_string() }
}

fn read_csv(path: &Path, bytes: Vec<u8>, opts: &ReadOptions) -> Result<Table> {
    check_csv_structure(path, &bytes, opts.separator)?;
    let parse = CsvParseOptions::default().with_separator(opts.separator);
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .with_parse_options(parse)
        .into_reader_with_file_handle(Cursor::new(&bytes))
        .finish()
        .map_err(|e| polars_err(path, &e))?;
    let locator = Locator::Csv { bytes: &bytes, separator: opts.separator };
    finish(path, frame, opts, locator, Findings::All)
}

/// Empty file, duplicate header names and ragged rows, with lines.
fn check_csv_structure(path: &Path, bytes: &[u8], separator: u8) -> Result<()> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(separator).has_headers(true).from_reader(bytes);
    let headers = reader.byte_headers().map_err(|e| csv_err(path, &e))?;
    check_header(path, headers)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => rows += 1,
            Ok(false) => break,
            Err(e) => return Err(csv_err(path, &e)),
        }
    }
    if rows == 0 {
        return Err(Error::EmptyFile { path: path.into(), what: "no rows" });
    }
    Ok(())
}

/// A header with no names or a name twice is refused.
pub(crate) fn check_header(path: &Path, headers: &csv::ByteRecord) -> Result<()> {
    if headers.is_empty() {
        return Err(Error::EmptyFile { path: path.into(), what: "no header" });
    }
    let mut seen = std::collections::HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_string();
        if let Some(first) = seen.insert(name.clone(), i + 1) {
            return Err(Error::DuplicateHeader { path: path.into(), name, first, position: i + 1 });
        }
    }
    Ok(())
}

pub(crate) fn csv_err(path: &Path, e: &csv::Error) -> Error {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => Error::RaggedRow {
            path: path.into(),
            line: pos.as_ref().map_or(0, csv::Position::line),
            expected: *expected_len as usize,
            found: *len as usize,
        },
        _ => Error::Polars { path: path.into(), message: e.to_string() },
    }
}

/// Polars reports a bad JSON line without its number: find it first.
fn check_json_lines(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut rows = 0;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        rows += 1;
        check_json_line(path, line, i as u64 + 1)?;
    }
    if rows == 0 {
        return Err(Error::EmptyFile { path: path.into(), what: "no rows" });
    }
    Ok(())
}

/// One JSON line must hold an object; `number` is its 1-based line.
pub(crate) fn check_json_line(path: &Path, line: &[u8], number: u64) -> Result<()> {
    let expected = match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(_)) => return Ok(()),
        Ok(_) => "a JSON object".to_string(),
        Err(e) => format!("valid JSON ({e})"),
    };
    Err(Error::BadValue {
        path: path.into(),
        location: format!("line {number}"),
        column: String::new(),
        value: String::from_utf8_lossy(line).chars().take(80).collect(),
        expected,
    })
}

/// Types every column and collects the diagnostics.
pub(crate) fn finish(
    path: &Path,
    frame: DataFrame,
    opts: &ReadOptions,
    locator: Locator,
    findings: Findings,
) -> Result<Table> {
    let path: PathBuf = path.into();
    if frame.height() == 0 {
        return Err(Error::EmptyFile { path, what: "no rows" });
    }
    for (name, _) in &opts.schema_overrides {
        if frame.column(name).is_err() {
            return Err(Error::MissingColumn {
                column: name.clone(),
                available: frame.get_column_names().iter().map(|c| c.to_string()).collect(),
            });
        }
    }
    let mut out = Vec::with_capacity(frame.width());
    let mut columns = Vec::with_capacity(frame.width());
    let mut diagnostics = Vec::new();
    for col in frame.columns() {
        let name = col.name().to_string();
        if col.dtype().is_nested() {
            diagnostics.push(Diagnostic {
                kind: DiagnosticKind::Unsupported,
                message: format!(
                    "column {name:?}: nested values ({}) are not supported; the column is left out",
                    col.dtype()
                ),
                column: name,
            });
            continue;
        }
        let forced = opts.schema_overrides.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
        let converted = convert_column(&path, col, forced, &locator, findings)?;
        diagnostics.extend(converted.diagnostics);
        columns.push((name, converted.kind));
        out.push(converted.column);
    }
    if out.is_empty() {
        return Err(Error::EmptyFile { path, what: "no readable columns" });
    }
    let frame = DataFrame::new(frame.height(), out).map_err(|e| polars_err(&path, &e))?;
    Ok(Table { frame, columns, diagnostics })
}
