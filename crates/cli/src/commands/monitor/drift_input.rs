//! The two datasets `lathe monitor drift` compares, handed out one column
//! pair at a time.
//!
//! Each side is CSV or Parquet, told apart by Parquet's magic bytes, so a
//! Parquet training set can be checked against a CSV export. A CSV file is
//! read whole up front (`csv_columns`); a Parquet file only has its footer
//! read up front, and each column is read when its pair is asked for
//! (`parquet_columns`), which keeps memory to the columns being tested.

use std::{
    collections::HashMap,
    io::Read,
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::bail;
use lathe_monitor::{CategoricalColumn, Column, ColumnKind, ColumnPair};

use super::{
    csv_columns::{self, RawColumn},
    parquet_columns::ParquetFile,
};

/// One side of the comparison.
enum Source {
    /// Read whole; a column is taken out of the map when its pair is built.
    Csv { names: Vec<String>, rows: usize, columns: Mutex<HashMap<String, RawColumn>> },
    /// Read a column at a time.
    Parquet(ParquetFile),
}

struct Input {
    path: PathBuf,
    source: Source,
}

impl Input {
    fn open(path: &Path, declared: &HashMap<String, ColumnKind>) -> anyhow::Result<Input> {
        let source = if is_parquet(path) {
            Source::Parquet(ParquetFile::open(path)?)
        } else {
            let table = csv_columns::read_table(path, declared)?;
            Source::Csv {
                columns: Mutex::new(table.names.iter().cloned().zip(table.columns).collect()),
                names: table.names,
                rows: table.rows,
            }
        };
        Ok(Input { path: path.to_path_buf(), source })
    }

    fn names(&self) -> &[String] {
        match &self.source {
            Source::Csv { names, .. } => names,
            Source::Parquet(file) => &file.names,
        }
    }

    fn rows(&self) -> usize {
        match &self.source {
            Source::Csv { rows, .. } => *rows,
            Source::Parquet(file) => file.rows,
        }
    }

    fn take(
        &self,
        name: &str,
        declared: &HashMap<String, ColumnKind>,
    ) -> anyhow::Result<RawColumn> {
        match &self.source {
            Source::Csv { columns, .. } => {
                let mut columns = columns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match columns.remove(name) {
                    Some(column) => Ok(column),
                    None => bail!("{}: column '{name}' was already compared", self.path.display()),
                }
            }
            Source::Parquet(file) => file.column(name, declared),
        }
    }
}

/// Parquet files begin with `PAR1`; anything else is read as CSV.
fn is_parquet(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok()
        && &magic == b"PAR1"
}

/// Both datasets, their columns checked to match.
pub(crate) struct Inputs {
    reference: Input,
    current: Input,
    declared: HashMap<String, ColumnKind>,
}

impl Inputs {
    /// Opens both files (one thread each, since a CSV file is read whole
    /// here) and checks they have the same columns: a column in one file but
    /// not the other is schema drift, reported as an error naming them.
    pub(crate) fn open(
        reference: &Path,
        current: &Path,
        declared: HashMap<String, ColumnKind>,
    ) -> anyhow::Result<Inputs> {
        let (r, c) = std::thread::scope(|s| {
            let r = s.spawn(|| Input::open(reference, &declared));
            let c = Input::open(current, &declared);
            (r.join(), c)
        });
        let r = r.map_err(|_| anyhow::anyhow!("reading {} failed", reference.display()))??;
        let c = c?;
        check_schema(&r, &c)?;
        for name in declared.keys() {
            if !r.names().contains(name) {
                bail!(
                    "--numerical/--categorical name column '{name}', which the files do not have"
                );
            }
        }
        Ok(Inputs { reference: r, current: c, declared })
    }

    /// The columns to compare, in the reference file's order.
    pub(crate) fn names(&self) -> &[String] {
        self.reference.names()
    }

    /// Rows of the reference and the current data.
    pub(crate) fn rows(&self) -> (usize, usize) {
        (self.reference.rows(), self.current.rows())
    }

    /// Reads one column of both files. Each column can be asked for once.
    pub(crate) fn pair(&self, name: &str) -> anyhow::Result<ColumnPair> {
        let r = self.reference.take(name, &self.declared)?;
        let c = self.current.take(name, &self.declared)?;
        let (reference, current) = to_columns(r, c);
        Ok(ColumnPair { name: name.to_string(), reference, current })
    }
}

fn check_schema(r: &Input, c: &Input) -> anyhow::Result<()> {
    let only = |a: &Input, b: &Input| -> Vec<String> {
        a.names().iter().filter(|n| !b.names().contains(n)).map(|n| format!("'{n}'")).collect()
    };
    let (only_cur, only_ref) = (only(c, r), only(r, c));
    let mut problems = Vec::new();
    if !only_cur.is_empty() {
        problems.push(format!(
            "column(s) {} of the current data are missing from the reference ({})",
            only_cur.join(", "),
            r.path.display()
        ));
    }
    if !only_ref.is_empty() {
        problems.push(format!(
            "column(s) {} of the reference are missing from the current data ({})",
            only_ref.join(", "),
            c.path.display()
        ));
    }
    if !problems.is_empty() {
        bail!("schema drift: {}", problems.join("; "));
    }
    Ok(())
}

/// Numerical if both files read it as numbers, categorical otherwise.
fn to_columns(r: RawColumn, c: RawColumn) -> (Column, Column) {
    match (r, c) {
        (RawColumn::Sorted { column: r, .. }, RawColumn::Sorted { column: c, .. }) => {
            (Column::Numerical(r), Column::Numerical(c))
        }
        (mut r, mut c) => {
            let (rm, cm) = (r.missing(), c.missing());
            (
                Column::Categorical(CategoricalColumn::from_counts(r.take_as_text(), rm)),
                Column::Categorical(CategoricalColumn::from_counts(c.take_as_text(), cm)),
            )
        }
    }
}
