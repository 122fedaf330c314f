//! The hand-off between preprocessing and learners: a dense feature matrix
//! and an encoded target.
//!
//! The `data` crate produces these from a DataFrame (or a single JSON row);
//! the `train` crate's learners consume them. Neither knows the other, so
//! the types live here.

use crate::{Error, Result};

/// Dense numeric features, row-major, `rows × names.len()`.
///
/// Row-major because serving transforms one row at a time and learners read
/// rows; `NaN` marks a value the learner must treat as missing (tree
/// learners route it, linear ones refuse it).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    names: Vec<String>,
    values: Vec<f64>,
}

impl FeatureMatrix {
    /// A matrix from row-major `values`; fails when `values.len()` is not a
    /// multiple of the number of names.
    pub fn new(names: Vec<String>, values: Vec<f64>) -> Result<FeatureMatrix> {
        let cols = names.len();
        if cols == 0 && !values.is_empty() || cols > 0 && !values.len().is_multiple_of(cols) {
            return Err(Error::InvalidArgument(format!(
                "feature matrix: {} values do not fill rows of {cols} columns",
                values.len()
            )));
        }
        Ok(FeatureMatrix { names, values })
    }

    /// Column (feature) names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        if self.names.is_empty() {
            0
        } else {
            self.values.len() / self.names.len()
        }
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// Row `i`.
    ///
    /// # Panics
    /// When `i >= rows()`.
    pub fn row(&self, i: usize) -> &[f64] {
        let c = self.cols();
        &self.values[i * c..(i + 1) * c]
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The rows at `indices`, in that order (for splits and folds).
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn select_rows(&self, indices: &[usize]) -> FeatureMatrix {
        let mut values = Vec::with_capacity(indices.len() * self.cols());
        for &i in indices {
            values.extend_from_slice(self.row(i));
        }
        FeatureMatrix { names: self.names.clone(), values }
    }
}

/// What a learner predicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskKind {
    /// Two classes; `classes[1]` is the positive one.
    Binary,
    /// Three or more classes.
    Multiclass,
    /// A real number.
    Regression,
}

/// The target column, encoded: class indices (as `f64`) into `classes` for
/// classifiers, the values themselves for regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Target column name.
    pub name: String,
    /// Binary, multiclass or regression.
    pub kind: TaskKind,
    /// One value per row.
    pub values: Vec<f64>,
    /// Class labels in index order (sorted); empty for regression.
    pub classes: Vec<String>,
}

impl Target {
    /// The rows at `indices`, in that order.
    ///
    /// # Panics
    /// When an index is out of range.
    pub fn select_rows(&self, indices: &[usize]) -> Target {
        Target {
            name: self.name.clone(),
            kind: self.kind.clone(),
            values: indices.iter().map(|&i| self.values[i]).collect(),
            classes: self.classes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_selection() -> Result<()> {
        let m = FeatureMatrix::new(vec!["a".into(), "b".into()], vec![1., 2., 3., 4., 5., 6.])?;
        assert_eq!((m.rows(), m.cols()), (3, 2));
        assert_eq!(m.row(1), &[3., 4.]);
        assert_eq!(m.select_rows(&[2, 0]).values(), &[5., 6., 1., 2.]);
        assert!(FeatureMatrix::new(vec!["a".into(), "b".into()], vec![1., 2., 3.]).is_err());
        Ok(())
    }
}
