//! Typing one column read from a file: text cells become numbers, booleans
//! or stay strings, with the line of any bad cell, and the non-fatal
//! findings (all-null, constant, NaN, ±inf) are collected.

use std::path::Path;

use polars::prelude::*;

use crate::read::{Diagnostic, DiagnosticKind};
use crate::types::{infer_string_type, is_na_token, parse_bool, parse_datetime, ColumnType};
use crate::{Error, Result};

/// Share of parseable numbers from which a text column counts as numeric,
/// so that its few non-numbers are reported as errors instead of silently
/// turning the whole column into categories.
pub const NUMERIC_SHARE: f64 = 0.9;

/// How to name the place of row `i` in the source file.
pub(crate) enum Locator<'a> {
    /// CSV: the line is found by re-scanning (quoted fields may span lines).
    Csv { bytes: &'a [u8], separator: u8 },
    /// JSON lines: one row per line.
    JsonLine,
    /// Parquet: the 1-based row.
    Row,
    /// A chunk of a larger file: each row's line in the whole file.
    Lines(Vec<u64>),
    /// A chunk of a Parquet file starting at this 0-based row of the whole file.
    RowsFrom(usize),
}

impl Locator<'_> {
    fn locate(&self, row: usize) -> String {
        match self {
            Locator::Csv { bytes, separator } => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(*separator)
                    .has_headers(true)
                    .from_reader(*bytes);
                let mut record = csv::ByteRecord::new();
                let mut i = 0;
                while let Ok(true) = reader.read_byte_record(&mut record) {
                    if i == row {
                        return format!(
                            "line {}",
                            record.position().map_or(0, csv::Position::line)
                        );
                    }
                    i += 1;
                }
                format!("line {}", row + 2)
            }
            Locator::JsonLine => format!("line {}", row + 1),
            Locator::Row => format!("row {}", row + 1),
            Locator::Lines(lines) => format!("line {}", lines.get(row).copied().unwrap_or(0)),
            Locator::RowsFrom(first) => format!("row {}", first + row + 1),
        }
    }
}

/// A typed column with what was noticed on the way.
pub(crate) struct Converted {
    pub column: Column,
    pub kind: ColumnType,
    pub diagnostics: Vec<Diagnostic>,
}

/// Which findings to look for: a chunk of a file cannot tell whether its
/// column is all-null, constant or an identifier, and looking costs time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Findings {
    /// Everything, for a whole table.
    All,
    /// NaN and ±inf only (they are about values, not the column).
    Values,
}

pub(crate) fn convert_column(
    path: &Path,
    col: &Column,
    forced: Option<ColumnType>,
    locator: &Locator<'_>,
    findings: Findings,
) -> Result<Converted> {
    let name = col.name().to_string();
    let polars = |e: PolarsError| Error::Polars { path: path.into(), message: e.to_string() };
    let bad = |row: usize, value: &str, expected: &str| Error::BadValue {
        path: path.into(),
        location: locator.locate(row),
        column: name.clone(),
        value: value.to_string(),
        expected: expected.to_string(),
    };
    let dtype = col.dtype().clone();
    let (column, kind) = if dtype == DataType::String {
        let ca = col.str().map_err(polars)?;
        let cells: Vec<Option<&str>> =
            ca.iter().map(|v| v.filter(|s| !is_na_token(s)).map(str::trim)).collect();
        match forced {
            Some(ColumnType::Numeric) => {
                for (i, v) in cells.iter().enumerate() {
                    if let Some(s) = v {
                        if s.parse::<f64>().is_err() {
                            return Err(bad(i, s, "a number (the column's type is numeric)"));
                        }
                    }
                }
                (numeric_column(&name, &cells), ColumnType::Numeric)
            }
            Some(ColumnType::Boolean) => {
                let mut out = Vec::with_capacity(cells.len());
                for (i, v) in cells.iter().enumerate() {
                    out.push(match v {
                        None => None,
                        Some(s) => Some(parse_bool(s).ok_or_else(|| bad(i, s, "true or false"))?),
                    });
                }
                (Column::new(name.as_str().into(), out), ColumnType::Boolean)
            }
            Some(ColumnType::Datetime) => {
                for (i, v) in cells.iter().enumerate() {
                    if let Some(s) = v {
                        if parse_datetime(s).is_none() {
                            return Err(bad(i, s, "an ISO 8601 date (YYYY-MM-DD[THH:MM[:SS]])"));
                        }
                    }
                }
                (Column::new(name.as_str().into(), cells), ColumnType::Datetime)
            }
            Some(t @ (ColumnType::Categorical | ColumnType::Text)) => {
                (Column::new(name.as_str().into(), cells), t)
            }
            None => infer_text_column(&name, cells, &bad)?,
        }
    } else if dtype.is_primitive_numeric() {
        match forced {
            Some(t @ (ColumnType::Categorical | ColumnType::Text)) => {
                (col.cast(&DataType::String).map_err(polars)?, t)
            }
            Some(t @ (ColumnType::Boolean | ColumnType::Datetime)) => {
                return Err(Error::InvalidArgument(format!(
                    "{}: column {name:?} holds numbers and cannot be read as {}",
                    path.display(),
                    t.as_str()
                )))
            }
            _ if dtype.is_float() => {
                let ca = col.cast(&DataType::Float64).map_err(polars)?;
                let values: Vec<Option<f64>> = ca.f64().map_err(polars)?.iter().collect();
                (Column::new(name.as_str().into(), values), ColumnType::Numeric)
            }
            _ => (col.cast(&DataType::Int64).map_err(polars)?, ColumnType::Numeric),
        }
    } else if dtype == DataType::Boolean {
        match forced {
            Some(ColumnType::Numeric) => {
                (col.cast(&DataType::Float64).map_err(polars)?, ColumnType::Numeric)
            }
            Some(t @ (ColumnType::Categorical | ColumnType::Text)) => {
                (col.cast(&DataType::String).map_err(polars)?, t)
            }
            _ => (col.clone(), ColumnType::Boolean),
        }
    } else if matches!(dtype, DataType::Date | DataType::Datetime(..)) {
        (col.cast(&DataType::String).map_err(polars)?, forced.unwrap_or(ColumnType::Datetime))
    } else {
        return Err(Error::InvalidArgument(format!(
            "{}: column {name:?} has type {dtype}; expected numbers, booleans, dates or text",
            path.display()
        )));
    };
    let (column, diagnostics) = diagnose(&name, column, kind, locator, findings).map_err(polars)?;
    Ok(Converted { column, kind, diagnostics })
}

fn infer_text_column(
    name: &str,
    cells: Vec<Option<&str>>,
    bad: &dyn Fn(usize, &str, &str) -> Error,
) -> Result<(Column, ColumnType)> {
    let present = cells.iter().flatten().count();
    let numbers = cells.iter().flatten().filter(|s| s.parse::<f64>().is_ok()).count();
    if present > 0 && numbers == present {
        return Ok((numeric_column(name, &cells), ColumnType::Numeric));
    }
    if present > 0 && numbers as f64 >= NUMERIC_SHARE * present as f64 {
        let (i, s) = cells
            .iter()
            .enumerate()
            .find_map(|(i, v)| v.filter(|s| s.parse::<f64>().is_err()).map(|s| (i, s)))
            .unwrap_or((0, ""));
        let share = 100.0 * numbers as f64 / present as f64;
        return Err(bad(
            i,
            s,
            &format!(
                "a number ({share:.1}% of the column is numeric; override its type to categorical to keep it as text)"
            ),
        ));
    }
    if present > 0 && cells.iter().flatten().all(|s| parse_bool(s).is_some()) {
        let values: Vec<Option<bool>> = cells.iter().map(|v| v.and_then(parse_bool)).collect();
        return Ok((Column::new(name.into(), values), ColumnType::Boolean));
    }
    let kind = infer_string_type(cells.iter().flatten().copied());
    Ok((Column::new(name.into(), cells), kind))
}

/// Integers stay `Int64`; anything else becomes `Float64`.
fn numeric_column(name: &str, cells: &[Option<&str>]) -> Column {
    if cells.iter().flatten().all(|s| s.parse::<i64>().is_ok()) {
        let v: Vec<Option<i64>> = cells.iter().map(|c| c.and_then(|s| s.parse().ok())).collect();
        Column::new(name.into(), v)
    } else {
        let v: Vec<Option<f64>> = cells.iter().map(|c| c.and_then(|s| s.parse().ok())).collect();
        Column::new(name.into(), v)
    }
}

/// NaN becomes null (reported); ±inf, all-null and constant columns are reported.
fn diagnose(
    name: &str,
    column: Column,
    kind: ColumnType,
    locator: &Locator<'_>,
    findings: Findings,
) -> PolarsResult<(Column, Vec<Diagnostic>)> {
    let mut out = Vec::new();
    let mut diag = |kind, message: String| {
        out.push(Diagnostic { column: name.to_string(), kind, message });
    };
    let mut column = column;
    if column.dtype() == &DataType::Float64 {
        let values: Vec<Option<f64>> = column.f64()?.iter().collect();
        let nan = values.iter().flatten().filter(|v| v.is_nan()).count();
        let inf: Vec<usize> =
            (0..values.len()).filter(|&i| values[i].is_some_and(f64::is_infinite)).collect();
        if nan > 0 {
            diag(
                DiagnosticKind::NotANumber,
                format!("column {name:?}: {nan} NaN value(s), treated as missing"),
            );
            let cleaned: Vec<Option<f64>> =
                values.into_iter().map(|v| v.filter(|x| !x.is_nan())).collect();
            column = Column::new(name.into(), cleaned);
        }
        if let Some(&first) = inf.first() {
            diag(
                DiagnosticKind::Infinite,
                format!(
                    "column {name:?}: {} infinite value(s) (first at {}); preprocessing refuses them: replace them or mark them missing",
                    inf.len(),
                    locator.locate(first)
                ),
            );
        }
    }
    let len = column.len();
    if findings == Findings::Values {
        return Ok((column, out));
    }
    if column.null_count() == len {
        diag(
            DiagnosticKind::AllNull,
            format!("column {name:?}: every value is missing; it is dropped from the features"),
        );
    } else if matches!(kind, ColumnType::Categorical | ColumnType::Text)
        && column.null_count() == 0
        && len > 20
        && is_identifier(&column)?
    {
        diag(
            DiagnosticKind::Identifier,
            format!(
                "column {name:?}: every value is distinct and a single token; an identifier? It carries no signal a model can generalize from"
            ),
        );
    } else if is_constant(&column)? {
        diag(
            DiagnosticKind::Constant,
            format!(
                "column {name:?} ({}): a single distinct value; it carries no information",
                kind.as_str()
            ),
        );
    }
    Ok((column, out))
}

fn is_identifier(column: &Column) -> PolarsResult<bool> {
    let ca = column.str()?;
    let mut seen = std::collections::HashSet::with_capacity(ca.len());
    for v in ca.iter().flatten() {
        if v.split_whitespace().nth(1).is_some() || !seen.insert(v) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn is_constant(column: &Column) -> PolarsResult<bool> {
    let s = column.cast(&DataType::String)?;
    let mut iter = s.str()?.iter().flatten();
    let Some(first) = iter.next() else { return Ok(false) };
    Ok(iter.all(|v| v == first))
}
