//! Reading the columns of a CSV file for `lathe monitor drift`.
//!
//! CSV is stored row by row, so the whole file is read in one pass and all
//! its columns are kept until their pairs are tested. It owns only the
//! turning of text cells into `lathe_monitor` columns, so the statistics do
//! not depend on it.
//!
//! What a cell means follows `pandas.read_csv`, the way an Evidently user
//! loads the same files: pandas' default missing-value tokens (empty, `NA`,
//! `NaN`, `null`, …) are missing; a column is numerical when every other cell
//! in both files parses as a number (`inf` included; the statistics drop it
//! later), categorical otherwise, unless `--numerical`/`--categorical` say
//! so; a column is integer-typed when every cell is an integer literal and
//! none is missing (NumPy's histogram treats those differently).

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    path::Path,
};

use anyhow::{bail, Context};
use lathe_monitor::{ColumnKind, NumericColumn};

/// pandas' default `na_values`.
const MISSING: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// A numerical column keeps the text of its cells as long as it has at most
/// this many distinct ones, so that it can still become categorical with its
/// labels intact if the other file has text in it.
const KEEP_TEXT_UP_TO: usize = 1000;

pub(super) fn is_missing(cell: &str) -> bool {
    cell.len() <= 9 && MISSING.contains(&cell)
}

pub(super) fn is_integer_literal(cell: &str) -> bool {
    let digits = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// FNV-1a: category labels are short and not adversarial, and SipHash showed
/// up in profiles of million-row files.
pub(super) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Category labels and how often each occurs.
pub(super) type Counts = HashMap<String, u64, BuildHasherDefault<Fnv>>;

/// One column of one file, as read.
pub(super) enum RawColumn {
    /// Every cell so far a number or missing.
    Numbers { values: Vec<f64>, missing: usize, integer: bool, text: Option<Counts> },
    /// The same once the file is read: sorted, NaN and ±inf dropped.
    Sorted { column: NumericColumn, missing: usize, text: Option<Counts> },
    /// Some cell was not a number (or the column was declared categorical).
    Text { counts: Counts, missing: usize },
}

impl RawColumn {
    /// A finished numerical column: finite values sorted, `missing` cells dropped.
    pub(super) fn numbers(values: Vec<f64>, integer: bool, missing: usize) -> RawColumn {
        RawColumn::Numbers { values, missing, integer, text: None }.finish()
    }

    /// A finished categorical column.
    pub(super) fn text(counts: Counts, missing: usize) -> RawColumn {
        RawColumn::Text { counts, missing }
    }

    fn new(declared: Option<ColumnKind>) -> RawColumn {
        match declared {
            Some(ColumnKind::Categorical) => {
                RawColumn::Text { counts: Counts::default(), missing: 0 }
            }
            _ => RawColumn::Numbers {
                values: Vec::new(),
                missing: 0,
                integer: true,
                text: Some(Counts::default()),
            },
        }
    }

    /// Adds one cell; `Err` when a declared numerical cell is not a number.
    fn push(&mut self, cell: &str, declared: Option<ColumnKind>) -> Result<(), ()> {
        match self {
            RawColumn::Text { counts, missing } => {
                if is_missing(cell) {
                    *missing += 1;
                } else {
                    count(counts, cell, 1);
                }
                Ok(())
            }
            RawColumn::Numbers { values, missing, integer, text } => {
                // Numbers first: they are most cells of most files.
                let parsed = cell.parse::<f64>().or_else(|e| {
                    let trimmed = cell.trim();
                    if trimmed.len() == cell.len() {
                        Err(e)
                    } else {
                        trimmed.parse::<f64>()
                    }
                });
                match parsed {
                    Ok(v) if v.is_nan() => {
                        *missing += 1;
                        *integer = false;
                    }
                    Ok(v) => {
                        values.push(v);
                        if *integer && !is_integer_literal(cell.trim()) {
                            *integer = false;
                        }
                        if let Some(t) = text {
                            count(t, cell, 1);
                            if t.len() > KEEP_TEXT_UP_TO {
                                *text = None;
                            }
                        }
                    }
                    Err(_) if is_missing(cell) => {
                        *missing += 1;
                        *integer = false;
                    }
                    Err(_) if declared == Some(ColumnKind::Numerical) => return Err(()),
                    Err(_) => {
                        // Not a number: the column is categorical from now on.
                        let missing = *missing;
                        let mut counts = self.take_as_text();
                        count(&mut counts, cell, 1);
                        *self = RawColumn::Text { counts, missing };
                    }
                }
                Ok(())
            }
            // Cells are only pushed while reading, before `finish`.
            RawColumn::Sorted { .. } => Ok(()),
        }
    }

    /// Sorts a numerical column once its file is read.
    fn finish(self) -> RawColumn {
        match self {
            RawColumn::Numbers { values, missing, integer, text } => RawColumn::Sorted {
                column: NumericColumn::new(values, integer).with_missing(missing),
                missing,
                text,
            },
            other => other,
        }
    }

    pub(super) fn missing(&self) -> usize {
        match self {
            RawColumn::Numbers { missing, .. }
            | RawColumn::Sorted { missing, .. }
            | RawColumn::Text { missing, .. } => *missing,
        }
    }

    /// The column's values as category counts: the cells' own text if it was
    /// kept, else the numbers written the shortest way that reads back the same.
    pub(super) fn take_as_text(&mut self) -> Counts {
        let numbers: &[f64] = match self {
            RawColumn::Text { counts, .. } => return std::mem::take(counts),
            RawColumn::Numbers { text: Some(t), .. } | RawColumn::Sorted { text: Some(t), .. } => {
                return std::mem::take(t)
            }
            RawColumn::Numbers { values, .. } => values,
            RawColumn::Sorted { column, .. } => column.sorted(),
        };
        let mut counts = Counts::default();
        for v in numbers {
            count(&mut counts, &v.to_string(), 1);
        }
        counts
    }
}

pub(super) fn count(counts: &mut Counts, cell: &str, n: u64) {
    match counts.get_mut(cell) {
        Some(c) => *c += n,
        None => {
            counts.insert(cell.to_string(), n);
        }
    }
}

/// One file, read.
pub(super) struct Table {
    pub(super) names: Vec<String>,
    pub(super) columns: Vec<RawColumn>,
    pub(super) rows: usize,
}

pub(super) fn read_table(
    path: &Path,
    declared: &HashMap<String, ColumnKind>,
) -> anyhow::Result<Table> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 20)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let header = reader
        .byte_headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        bail!("{} is empty: no header row", path.display());
    }
    let mut names = Vec::with_capacity(header.len());
    for field in &header {
        let name = String::from_utf8_lossy(field).trim_start_matches('\u{feff}').to_string();
        if names.contains(&name) {
            bail!("{}: column '{name}' appears twice in the header", path.display());
        }
        names.push(name);
    }
    let kinds: Vec<Option<ColumnKind>> = names.iter().map(|n| declared.get(n).copied()).collect();
    let mut columns: Vec<RawColumn> = kinds.iter().map(|k| RawColumn::new(*k)).collect();
    let started = std::time::Instant::now();
    // One UTF-8 check per record, not per cell.
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    while reader
        .read_record(&mut record)
        .with_context(|| format!("cannot read {}", path.display()))?
    {
        rows += 1;
        for (i, cell) in record.iter().enumerate() {
            if columns[i].push(cell, kinds[i]).is_err() {
                bail!(
                    "{}: row {rows}, column '{}' (declared numerical): '{cell}' is not a number",
                    path.display(),
                    names[i]
                );
            }
        }
    }
    if rows == 0 {
        bail!("{} has a header but no rows", path.display());
    }
    let parsed = started.elapsed();
    // Sort here, one thread per file.
    let columns = columns.into_iter().map(RawColumn::finish).collect();
    tracing::debug!(
        file = %path.display(),
        rows,
        parse_s = parsed.as_secs_f64(),
        sort_s = (started.elapsed() - parsed).as_secs_f64(),
        "read"
    );
    Ok(Table { names, columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push_all(cells: &[&str]) -> RawColumn {
        let mut c = RawColumn::new(None);
        for cell in cells {
            c.push(cell, None).unwrap();
        }
        c
    }

    #[test]
    fn numbers_with_pandas_missing_tokens_stay_numerical() {
        let c = push_all(&["1", "NA", "2.5", "", "inf", "nan"]);
        let RawColumn::Numbers { values, missing, integer, .. } = c else { panic!("not numbers") };
        assert_eq!(values, vec![1.0, 2.5, f64::INFINITY]);
        assert_eq!((missing, integer), (3, false));
        let RawColumn::Sorted { column, .. } = push_all(&["3", " 1 ", "NaN"]).finish() else {
            panic!("not sorted")
        };
        assert_eq!((column.sorted(), column.dropped()), (&[1.0, 3.0][..], 1));
    }

    #[test]
    fn a_word_turns_the_column_categorical_keeping_labels() {
        let c = push_all(&["1", "01", "x", "1"]);
        let RawColumn::Text { counts, .. } = c else { panic!("not text") };
        assert_eq!(counts.get("1"), Some(&2));
        assert_eq!(counts.get("01"), Some(&1));
        assert_eq!(counts.get("x"), Some(&1));
    }

    #[test]
    fn integer_columns_are_recognised() {
        let RawColumn::Numbers { integer, .. } = push_all(&["1", "-2", "+3"]) else {
            panic!("not numbers")
        };
        assert!(integer);
        let RawColumn::Numbers { integer, .. } = push_all(&["1", "2.0"]) else {
            panic!("not numbers")
        };
        assert!(!integer);
    }

    #[test]
    fn declared_numerical_refuses_words() {
        let mut c = RawColumn::new(Some(ColumnKind::Numerical));
        assert!(c.push("abc", Some(ColumnKind::Numerical)).is_err());
    }
}
