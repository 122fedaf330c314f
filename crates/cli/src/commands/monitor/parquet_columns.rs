//! Reading single columns of Parquet files for `lathe monitor drift`.
//!
//! Parquet stores each column apart, so a column is read from the file only
//! when its pair is tested and dropped right after: memory holds a couple of
//! columns, not the whole table (a million-row file of 25 columns is tested
//! in tens of megabytes). What a cell means follows `pandas.read_parquet`,
//! the way an Evidently user loads the same file: nulls (and NaN in float
//! columns) are missing; integer and float columns are numerical, and an
//! integer column with no nulls is integer-typed (pandas reads one with
//! nulls as floats); text, booleans and categoricals are categorical, unless
//! `--numerical`/`--categorical` say otherwise.

use std::{
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context};
use lathe_monitor::ColumnKind;
use polars::prelude::{
    DataType, FileMetadataRef, Float64Chunked, ParquetReader, SerReader, StringChunked,
};

use super::csv_columns::{count, is_integer_literal, Counts, RawColumn};

/// A Parquet file's schema, ready to read columns from.
pub(super) struct ParquetFile {
    path: PathBuf,
    pub(super) names: Vec<String>,
    pub(super) rows: usize,
    metadata: FileMetadataRef,
}

impl ParquetFile {
    /// Reads the footer: column names, row count, where each column lies.
    pub(super) fn open(path: &Path) -> anyhow::Result<ParquetFile> {
        let file = open(path)?;
        let mut reader = ParquetReader::new(file);
        let bad = || format!("{} is not a readable Parquet file", path.display());
        let names: Vec<String> =
            reader.schema().with_context(bad)?.iter_names().map(|n| n.to_string()).collect();
        let rows = reader.num_rows().with_context(bad)?;
        let metadata = reader.get_metadata().with_context(bad)?.clone();
        if names.is_empty() {
            bail!("{} has no columns", path.display());
        }
        if rows == 0 {
            bail!("{} has columns but no rows", path.display());
        }
        Ok(ParquetFile { path: path.to_path_buf(), names, rows, metadata })
    }

    /// Reads one column and turns it into the statistics' input.
    pub(super) fn column(
        &self,
        name: &str,
        declared: &HashMap<String, ColumnKind>,
    ) -> anyhow::Result<RawColumn> {
        let mut reader = ParquetReader::new(open(&self.path)?);
        reader.set_metadata(self.metadata.clone());
        let frame = reader
            .with_columns(Some(vec![name.to_string()]))
            .finish()
            .with_context(|| format!("{}: cannot read column '{name}'", self.path.display()))?;
        let series = frame
            .column(name)
            .with_context(|| format!("{}: no column '{name}'", self.path.display()))?
            .as_materialized_series()
            .clone();
        drop(frame);
        let declared = declared.get(name).copied();
        let place = || format!("{}: column '{name}'", self.path.display());
        match series.dtype() {
            dtype if dtype.is_primitive_numeric() => {
                let integer = dtype.is_integer() && series.null_count() == 0;
                let values = series.cast(&DataType::Float64).with_context(place)?;
                let values = values.f64().with_context(place)?;
                match declared {
                    Some(ColumnKind::Categorical) => {
                        Ok(text_of_numbers(values, dtype.is_integer()))
                    }
                    _ => Ok(numbers(values, integer)),
                }
            }
            DataType::String => {
                let text = series.str().with_context(place)?;
                match declared {
                    Some(ColumnKind::Numerical) => parse_numbers(text, &place()),
                    _ => Ok(categories(text.iter())),
                }
            }
            DataType::Boolean => {
                if declared == Some(ColumnKind::Numerical) {
                    bail!("{}: booleans, declared numerical; expected numbers", place());
                }
                // pandas writes booleans as `True`/`False`.
                let cells = series.bool().with_context(place)?;
                Ok(categories(cells.iter().map(|b| b.map(|b| if b { "True" } else { "False" }))))
            }
            DataType::Null => Ok(RawColumn::text(Counts::default(), series.len())),
            other => bail!(
                "{}: type {other} cannot be compared; expected numbers, text or booleans \
                 (leave the column out of both files)",
                place()
            ),
        }
    }
}

fn open(path: &Path) -> anyhow::Result<File> {
    File::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Nulls and NaN are missing; ±inf stay for the statistics to drop, as from CSV.
fn numbers(values: &Float64Chunked, integer: bool) -> RawColumn {
    let mut kept = Vec::with_capacity(values.len() - values.null_count());
    let mut missing = values.null_count();
    for array in values.downcast_iter() {
        let slice = array.values().as_slice();
        match array.validity() {
            None => kept.extend(slice.iter().copied().filter(|v| !v.is_nan())),
            Some(valid) => kept.extend(
                slice
                    .iter()
                    .zip(valid.iter())
                    .filter(|(v, ok)| *ok && !v.is_nan())
                    .map(|(v, _)| *v),
            ),
        }
    }
    missing += values.len() - values.null_count() - kept.len();
    RawColumn::numbers(kept, integer, missing)
}

/// A numerical column declared categorical: each number's text is its label.
fn text_of_numbers(values: &Float64Chunked, integer: bool) -> RawColumn {
    let mut counts = Counts::default();
    let mut missing = 0;
    for v in values.iter() {
        match v {
            Some(v) if !v.is_nan() => {
                let label = if integer { format!("{v:.0}") } else { v.to_string() };
                count(&mut counts, &label, 1);
            }
            _ => missing += 1,
        }
    }
    RawColumn::text(counts, missing)
}

fn categories<'a>(cells: impl Iterator<Item = Option<&'a str>>) -> RawColumn {
    let mut counts = Counts::default();
    let mut missing = 0;
    for cell in cells {
        match cell {
            Some(cell) => count(&mut counts, cell, 1),
            None => missing += 1,
        }
    }
    RawColumn::text(counts, missing)
}

/// A text column declared numerical: every non-null cell must read as a number.
fn parse_numbers(text: &StringChunked, place: &str) -> anyhow::Result<RawColumn> {
    let mut values = Vec::with_capacity(text.len());
    let mut missing = 0;
    let mut integer = true;
    for (row, cell) in text.iter().enumerate() {
        let Some(cell) = cell else {
            missing += 1;
            continue;
        };
        match cell.trim().parse::<f64>() {
            Ok(v) if v.is_nan() => missing += 1,
            Ok(v) => {
                integer &= is_integer_literal(cell.trim());
                values.push(v);
            }
            Err(_) => bail!(
                "{place} (declared numerical), row {}: '{}' is not a number",
                row + 1,
                cell.chars().take(40).collect::<String>()
            ),
        }
    }
    Ok(RawColumn::numbers(values, integer && missing == 0, missing))
}
