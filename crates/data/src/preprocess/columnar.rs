//! The frame path of [`Preprocessor::transform`](super::Preprocessor::transform):
//! each column's features are worked out in one pass down the column, then
//! laid into the row-major matrix a block of rows at a time.
//!
//! Every value still goes through `Step::apply`, the per-cell code
//! `transform_row` runs, so both paths stay bit-identical. Two things make
//! it fast on large frames. A categorical column's features depend only on
//! its cell, so that code runs once per distinct value and each row reuses
//! the answer, instead of building a label (a `String`) and searching the
//! categories per row. And writing column after column straight into the
//! row-major matrix would pull every row's cache line in once per column;
//! a block of rows small enough to stay in cache takes every column's
//! writes while it is there.

use super::cell::{Loc, Values};
use super::{FittedColumn, Step};
use crate::Result;

/// Bytes of the output matrix filled as one block (about an L2 cache).
const BLOCK_BYTES: usize = 256 * 1024;

/// One column's features for every row, before they are laid out.
pub(super) enum Prepared {
    /// `width` values per row, row after row (numeric and datetime steps).
    Dense { width: usize, values: Vec<f64> },
    /// Per row, its nonzero features as (position in the column's block,
    /// value), in `entries[starts[i]..starts[i + 1]]` (TF-IDF, mostly zeros).
    Sparse { starts: Vec<usize>, entries: Vec<(u32, f64)> },
    /// Per row, an index into a table of nonzero features, one entry per
    /// distinct value (categorical steps).
    Coded { table: Vec<Vec<(u32, f64)>>, codes: Vec<u32> },
}

/// Column `c`'s features for every row of `values`, and how many rows held
/// a label unseen in training.
pub(super) fn prepare(c: &FittedColumn, values: &Values) -> Result<(Prepared, usize)> {
    let w = c.step.width();
    let mut scratch = vec![0.0; w];
    Ok(match &c.step {
        Step::OneHot(_) | Step::Ordinal(_) => {
            let (distinct, codes) = values.distinct();
            let mut table = Vec::with_capacity(distinct.len());
            let mut unseen = 0;
            for (cell, n) in &distinct {
                // Categorical steps never fail, so no row is needed for a message.
                if c.step.apply(&c.name, cell, Loc::Request, &mut scratch)? {
                    unseen += n;
                }
                table.push(nonzeros(&scratch));
            }
            (Prepared::Coded { table, codes }, unseen)
        }
        Step::Tfidf(_) => {
            let mut starts = vec![0];
            let mut entries = Vec::new();
            for (i, cell) in values.cells().enumerate() {
                c.step.apply(&c.name, &cell, Loc::Row(i), &mut scratch)?;
                entries.extend(nonzeros(&scratch));
                starts.push(entries.len());
            }
            (Prepared::Sparse { starts, entries }, 0)
        }
        Step::Numeric(_) | Step::Datetime { .. } => {
            let mut out = vec![0.0; values.len() * w];
            // Both steps are at least one feature wide.
            for ((i, cell), out) in values.cells().enumerate().zip(out.chunks_exact_mut(w.max(1))) {
                c.step.apply(&c.name, &cell, Loc::Row(i), out)?;
            }
            (Prepared::Dense { width: w, values: out }, 0)
        }
    })
}

/// The features that are not `+0.0` (the matrix starts as `+0.0`; `-0.0`
/// is kept, so the layout is bit-identical).
fn nonzeros(features: &[f64]) -> Vec<(u32, f64)> {
    features
        .iter()
        .enumerate()
        .filter(|(_, v)| v.to_bits() != 0)
        // A column's features are indexed by u32: far below 2^32 features.
        .map(|(i, v)| (i as u32, *v))
        .collect()
}

/// The row-major matrix of `rows` rows and `width` features from each
/// column's prepared features and its first feature's position.
pub(super) fn lay_out(columns: &[(Prepared, usize)], rows: usize, width: usize) -> Vec<f64> {
    let mut values = vec![0.0; rows * width];
    if width == 0 {
        return values;
    }
    let block = (BLOCK_BYTES / (8 * width)).max(1);
    for (b, out) in values.chunks_mut(block * width).enumerate() {
        for (p, offset) in columns {
            p.write(b * block, out, width, *offset);
        }
    }
    values
}

impl Prepared {
    /// Writes rows `first..` into `out` (whole rows of `width` features),
    /// this column's features starting at `offset` in each.
    fn write(&self, first: usize, out: &mut [f64], width: usize, offset: usize) {
        let rows = out.chunks_exact_mut(width).enumerate().map(|(r, row)| (first + r, row));
        match self {
            Prepared::Dense { width: w, values } => {
                for (i, row) in rows {
                    row[offset..offset + w].copy_from_slice(&values[i * w..(i + 1) * w]);
                }
            }
            Prepared::Sparse { starts, entries } => {
                for (i, row) in rows {
                    for &(at, v) in &entries[starts[i]..starts[i + 1]] {
                        row[offset + at as usize] = v;
                    }
                }
            }
            Prepared::Coded { table, codes } => {
                for (i, row) in rows {
                    for &(at, v) in &table[codes[i] as usize] {
                        row[offset + at as usize] = v;
                    }
                }
            }
        }
    }
}
