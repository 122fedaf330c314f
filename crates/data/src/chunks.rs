//! Reading a table a chunk of rows at a time, so that a file larger than
//! memory can be scored: peak memory follows the chunk, not the file.
//!
//! Polars 0.55 has no batched CSV or Parquet reader, so a CSV is walked
//! record by record with the `csv` crate (quoted fields may span lines, and
//! each record keeps its line in the whole file for messages), a Parquet
//! file is read one row slice at a time (Polars decodes only the row groups
//! a slice overlaps), and JSON lines are cut by lines.
//!
//! Each column's type is fixed once, by the caller's overrides or else by
//! the first chunk, and numeric columns always come out as `Float64`: a
//! column that is all-null or integer-looking in one chunk reads the same
//! as in the others.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor};
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::convert::{Findings, Locator};
use crate::read::{check_header, check_json_line, csv_err, finish, polars_err, ReadOptions, Table};
use crate::types::ColumnType;
use crate::{Error, Result};

/// How far a [`ChunkedReader`] has got through its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadProgress {
    /// Units read so far.
    pub done: u64,
    /// Units in the whole file.
    pub total: u64,
    /// Whether the units are bytes (CSV, JSON lines) or rows (Parquet).
    pub bytes: bool,
}

/// A table read a chunk of rows at a time; see the module docs. Each item
/// is one chunk typed like [`crate::read_table`] types a whole file; its
/// diagnostics are about values only (NaN, ±inf), since a chunk cannot say
/// whether its column is all-null or constant.
pub struct ChunkedReader {
    path: PathBuf,
    source: Source,
    columns: Vec<String>,
    selected: Vec<String>,
    opts: ReadOptions,
    rows: usize,
    read: usize,
    done: bool,
}

enum Source {
    Csv { reader: csv::Reader<File>, record: csv::ByteRecord, total: u64 },
    Parquet { file: File, metadata: FileMetadataRef, total: usize },
    Json { reader: BufReader<File>, line: u64, bytes: u64, total: u64, first: Option<Raw> },
}

/// A chunk as the file gave it, before typing.
struct Raw {
    frame: DataFrame,
    locator: Locator<'static>,
}

impl ChunkedReader {
    /// Opens `.csv`, `.parquet`, `.jsonl` or `.ndjson` (by extension) for
    /// chunks of at most `rows` rows. The header is read (for JSON lines, the
    /// first chunk); the overrides in `opts` apply to the selected columns.
    pub fn open(path: &Path, opts: &ReadOptions, rows: usize) -> Result<ChunkedReader> {
        if rows == 0 {
            return Err(Error::InvalidArgument("chunks need at least one row".into()));
        }
        let io = |error| Error::Io { path: path.into(), error };
        let file = File::open(path).map_err(io)?;
        let total = file.metadata().map_err(io)?.len();
        if total == 0 {
            return Err(Error::EmptyFile { path: path.into(), what: "no bytes" });
        }
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let (source, columns): (Source, Vec<String>) = match ext.as_deref() {
            Some("csv") => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(opts.separator)
                    .has_headers(true)
                    .from_reader(file);
                let headers = reader.byte_headers().map_err(|e| csv_err(path, &e))?;
                check_header(path, headers)?;
                let columns =
                    headers.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect();
                (Source::Csv { reader, record: csv::ByteRecord::new(), total }, columns)
            }
            Some("parquet") => {
                let mut reader = ParquetReader::new(file.try_clone().map_err(io)?);
                let schema = reader.schema().map_err(|e| polars_err(path, &e))?;
                let columns = schema.iter_names().map(|n| n.to_string()).collect();
                let total = reader.num_rows().map_err(|e| polars_err(path, &e))?;
                let metadata = reader.get_metadata().map_err(|e| polars_err(path, &e))?.clone();
                (Source::Parquet { file, metadata, total }, columns)
            }
            Some("jsonl" | "ndjson") => {
                let mut source = Source::Json {
                    reader: BufReader::new(file),
                    line: 0,
                    bytes: 0,
                    total,
                    first: None,
                };
                let first = source.json_chunk(path, rows)?;
                let columns = first
                    .as_ref()
                    .map(|raw| raw.frame.get_column_names().iter().map(|c| c.to_string()).collect())
                    .unwrap_or_default();
                if let Source::Json { first: slot, .. } = &mut source {
                    *slot = first;
                }
                (source, columns)
            }
            _ => return Err(Error::UnsupportedFormat { path: path.into() }),
        };
        Ok(ChunkedReader {
            path: path.into(),
            source,
            selected: columns.clone(),
            columns,
            opts: opts.clone(),
            rows,
            read: 0,
            done: false,
        })
    }

    /// The file's columns (for JSON lines, the keys of the first chunk).
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Reads only `names`, in this order (all columns by default): the others
    /// are neither typed nor checked, and overrides of them are ignored.
    pub fn select(&mut self, names: &[&str]) -> Result<()> {
        if let Some(name) = names.iter().find(|n| !self.columns.iter().any(|c| c == *n)) {
            return Err(Error::MissingColumn {
                column: name.to_string(),
                available: self.columns.clone(),
            });
        }
        self.selected = names.iter().map(|n| n.to_string()).collect();
        let selected = &self.selected;
        self.opts.schema_overrides.retain(|(n, _)| selected.contains(n));
        Ok(())
    }

    /// How far the reading has got.
    pub fn progress(&self) -> ReadProgress {
        match &self.source {
            Source::Csv { reader, total, .. } => {
                ReadProgress { done: reader.position().byte(), total: *total, bytes: true }
            }
            Source::Parquet { total, .. } => {
                ReadProgress { done: self.read as u64, total: *total as u64, bytes: false }
            }
            Source::Json { bytes, total, .. } => {
                ReadProgress { done: *bytes, total: *total, bytes: true }
            }
        }
    }

    fn next_chunk(&mut self) -> Result<Option<Table>> {
        let raw = match &mut self.source {
            Source::Csv { reader, record, .. } => {
                let wanted: Vec<usize> = self
                    .selected
                    .iter()
                    .filter_map(|n| self.columns.iter().position(|c| c == n))
                    .collect();
                csv_chunk(&self.path, reader, record, &self.selected, &wanted, self.rows)?
            }
            Source::Parquet { file, metadata, total } => {
                if self.read >= *total {
                    None
                } else {
                    let io = |error| Error::Io { path: self.path.clone(), error };
                    let mut reader = ParquetReader::new(file.try_clone().map_err(io)?);
                    reader.set_metadata(metadata.clone());
                    let frame = reader
                        .with_columns(Some(self.selected.clone()))
                        .with_slice(Some((self.read, self.rows)))
                        .finish()
                        .map_err(|e| polars_err(&self.path, &e))?;
                    Some(Raw { frame, locator: Locator::RowsFrom(self.read) })
                }
            }
            json @ Source::Json { .. } => json.json_chunk(&self.path, self.rows)?,
        };
        let Some(raw) = raw else {
            if self.read == 0 {
                return Err(Error::EmptyFile { path: self.path.clone(), what: "no rows" });
            }
            return Ok(None);
        };
        let table = self.type_chunk(raw)?;
        self.read += table.frame.height();
        Ok(Some(table))
    }

    /// Types the selected columns with the fixed types; the first chunk fixes
    /// the types the caller left open.
    fn type_chunk(&mut self, raw: Raw) -> Result<Table> {
        let height = raw.frame.height();
        let columns: Vec<Column> = self
            .selected
            .iter()
            .map(|name| match raw.frame.column(name) {
                // A key absent from a chunk of JSON lines, or null throughout it.
                Ok(c) if c.dtype() != &DataType::Null => c.clone(),
                _ => Column::full_null(name.as_str().into(), height, &DataType::String),
            })
            .collect();
        let frame = DataFrame::new(height, columns).map_err(|e| polars_err(&self.path, &e))?;
        let mut table = finish(&self.path, frame, &self.opts, raw.locator, Findings::Values)?;
        if self.read == 0 {
            for (name, kind) in &table.columns {
                if !self.opts.schema_overrides.iter().any(|(n, _)| n == name) {
                    self.opts.schema_overrides.push((name.clone(), *kind));
                }
            }
        }
        let mut out = Vec::with_capacity(table.columns.len());
        for (col, (_, kind)) in table.frame.columns().iter().zip(&table.columns) {
            if *kind == ColumnType::Numeric && col.dtype() != &DataType::Float64 {
                out.push(col.cast(&DataType::Float64).map_err(|e| polars_err(&self.path, &e))?);
            } else {
                out.push(col.clone());
            }
        }
        table.frame = DataFrame::new(height, out).map_err(|e| polars_err(&self.path, &e))?;
        Ok(table)
    }
}

impl Iterator for ChunkedReader {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Result<Table>> {
        if self.done {
            return None;
        }
        match self.next_chunk() {
            Ok(Some(table)) => Some(Ok(table)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Up to `rows` records as text columns (`names`, at field positions
/// `wanted`); an empty field is missing, as Polars reads it.
fn csv_chunk(
    path: &Path,
    reader: &mut csv::Reader<File>,
    record: &mut csv::ByteRecord,
    names: &[String],
    wanted: &[usize],
    rows: usize,
) -> Result<Option<Raw>> {
    let mut builders: Vec<StringChunkedBuilder> =
        names.iter().map(|n| StringChunkedBuilder::new(n.as_str().into(), rows)).collect();
    let mut lines = Vec::with_capacity(rows.min(1 << 20));
    while lines.len() < rows {
        if !reader.read_byte_record(record).map_err(|e| csv_err(path, &e))? {
            break;
        }
        let line = record.position().map_or(0, csv::Position::line);
        for ((builder, &i), name) in builders.iter_mut().zip(wanted).zip(names) {
            match record.get(i).unwrap_or_default() {
                b"" => builder.append_null(),
                field => match std::str::from_utf8(field) {
                    Ok(text) => builder.append_value(text),
                    Err(_) => {
                        return Err(Error::BadValue {
                            path: path.into(),
                            location: format!("line {line}"),
                            column: name.clone(),
                            value: String::from_utf8_lossy(field).into_owned(),
                            expected: "UTF-8 text".into(),
                        })
                    }
                },
            }
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let columns = builders.into_iter().map(|b| b.finish().into_column()).collect();
    let frame = DataFrame::new(lines.len(), columns).map_err(|e| polars_err(path, &e))?;
    Ok(Some(Raw { frame, locator: Locator::Lines(lines) }))
}

impl Source {
    /// The next `rows` non-blank JSON lines, each checked to be an object.
    fn json_chunk(&mut self, path: &Path, rows: usize) -> Result<Option<Raw>> {
        let Source::Json { reader, line, bytes, first, .. } = self else {
            return Ok(None);
        };
        if let Some(raw) = first.take() {
            return Ok(Some(raw));
        }
        let mut buffer = Vec::new();
        let mut lines = Vec::new();
        let mut text = Vec::new();
        while lines.len() < rows {
            text.clear();
            let n = reader
                .read_until(b'\n', &mut text)
                .map_err(|error| Error::Io { path: path.into(), error })?;
            if n == 0 {
                break;
            }
            *bytes += n as u64;
            *line += 1;
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            check_json_line(path, &text, *line)?;
            buffer.extend_from_slice(&text);
            if text.last() != Some(&b'\n') {
                buffer.push(b'\n');
            }
            lines.push(*line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let frame = JsonReader::new(Cursor::new(buffer))
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(None)
            .finish()
            .map_err(|e| polars_err(path, &e))?;
        Ok(Some(Raw { frame, locator: Locator::Lines(lines) }))
    }
}
