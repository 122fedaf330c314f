//! Columns as the drift tests see them: numerical values sorted, categorical
//! values counted, with missing values, NaN and ±inf dropped first, as
//! Evidently does (`replace([-inf, inf], nan).dropna()` per column).

use std::collections::BTreeMap;

/// Whether a column is compared as numbers or as categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ColumnKind {
    /// Numbers (Evidently's `num`).
    #[serde(rename = "num")]
    Numerical,
    /// Categories (Evidently's `cat`).
    #[serde(rename = "cat")]
    Categorical,
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ColumnKind::Numerical => "numerical",
            ColumnKind::Categorical => "categorical",
        })
    }
}

/// A numerical column: its finite values in ascending order.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericColumn {
    sorted: Vec<f64>,
    dropped: usize,
    integer: bool,
}

impl NumericColumn {
    /// Drops NaN and ±inf and sorts the rest .
    ///
    /// `integer` says the values came from an integer-typed column (every cell
    /// an integer literal, none missing): NumPy's Sturges binning then uses
    /// bins at least 1 wide, and so do we.
    pub fn new(mut values: Vec<f64>, integer: bool) -> NumericColumn {
        let before = values.len();
        values.retain(|v| v.is_finite());
        let dropped = before - values.len();
        // Sorting the bit patterns as integers, mapped so that integer order is
        // numeric order, is a quarter faster than comparing doubles. The maps
        // reuse the vector's memory. -0.0 sorts before 0.0; equality (==)
        // still treats them as one value.
        let mut keys: Vec<u64> = values.into_iter().map(order_key).collect();
        keys.sort_unstable();
        let sorted = keys.into_iter().map(from_order_key).collect();
        NumericColumn { dropped, sorted, integer }
    }

    /// Counts `missing` more dropped values: cells that were empty or
    /// missing before they ever became numbers.
    pub fn with_missing(mut self, missing: usize) -> NumericColumn {
        self.dropped += missing;
        self
    }

    /// The finite values, ascending.
    pub fn sorted(&self) -> &[f64] {
        &self.sorted
    }

    /// How many values were dropped: NaN, ±inf and those counted by [`NumericColumn::with_missing`].
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Whether the column is integer-typed (see [`NumericColumn::new`]).
    pub fn is_integer(&self) -> bool {
        self.integer
    }

    /// Distinct values with their counts, ascending.
    pub fn value_counts(&self) -> Vec<(f64, u64)> {
        let mut out: Vec<(f64, u64)> = Vec::new();
        for &v in &self.sorted {
            match out.last_mut() {
                Some((last, n)) if *last == v => *n += 1,
                _ => out.push((v, 1)),
            }
        }
        out
    }

    /// Number of distinct values.
    pub fn unique(&self) -> usize {
        let mut n = 0;
        let mut last = None;
        for &v in &self.sorted {
            if last != Some(v) {
                n += 1;
                last = Some(v);
            }
        }
        n
    }
}

/// The bits of `v` with the sign flipped for positives and all bits flipped
/// for negatives: unsigned order is then `f64::total_cmp` order.
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// A categorical column: how often each category occurs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoricalColumn {
    counts: BTreeMap<String, u64>,
    total: u64,
    dropped: usize,
}

impl CategoricalColumn {
    /// Counts the categories; `None` is a missing value and is dropped.
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> CategoricalColumn {
        let mut column = CategoricalColumn::default();
        for v in values {
            match v {
                Some(v) => column.add(v, 1),
                None => column.dropped += 1,
            }
        }
        column
    }

    /// A column from counts already made; `dropped` is how many missing values were left out.
    pub fn from_counts(
        counts: impl IntoIterator<Item = (String, u64)>,
        dropped: usize,
    ) -> CategoricalColumn {
        let mut column = CategoricalColumn { dropped, ..CategoricalColumn::default() };
        for (k, n) in counts {
            if n > 0 {
                *column.counts.entry(k).or_insert(0) += n;
                column.total += n;
            }
        }
        column
    }

    /// Adds `n` occurrences of `value`.
    pub fn add(&mut self, value: &str, n: u64) {
        if n == 0 {
            return;
        }
        match self.counts.get_mut(value) {
            Some(c) => *c += n,
            None => {
                self.counts.insert(value.to_string(), n);
            }
        }
        self.total += n;
    }

    /// Categories and their counts, in ascending (code point) order.
    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    /// Number of values counted.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether no value was counted.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many missing values were dropped.
    pub fn dropped(&self) -> usize {
        self.dropped
    }
}

/// One column of one dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers.
    Numerical(NumericColumn),
    /// Categories.
    Categorical(CategoricalColumn),
}

impl Column {
    /// The column's type.
    pub fn kind(&self) -> ColumnKind {
        match self {
            Column::Numerical(_) => ColumnKind::Numerical,
            Column::Categorical(_) => ColumnKind::Categorical,
        }
    }

    /// Number of values left after dropping missing values, NaN and ±inf.
    pub fn len(&self) -> usize {
        match self {
            Column::Numerical(c) => c.sorted.len(),
            Column::Categorical(c) => usize::try_from(c.total).unwrap_or(usize::MAX),
        }
    }

    /// Whether no value is left.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values were dropped (missing, NaN, ±inf).
    pub fn dropped(&self) -> usize {
        match self {
            Column::Numerical(c) => c.dropped,
            Column::Categorical(c) => c.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_columns_drop_nan_and_infinities_and_sort() {
        let c = NumericColumn::new(vec![3.0, f64::NAN, -1.0, f64::INFINITY, 0.0, -0.0, 3.0], false);
        assert_eq!(c.sorted().len(), 5);
        assert_eq!(c.dropped(), 2);
        assert_eq!(c.unique(), 3, "-0.0 and 0.0 are one value, as in pandas");
        assert_eq!(c.value_counts(), vec![(-1.0, 1), (-0.0, 2), (3.0, 2)]);
        let mut v = vec![5.5, -1e300, 0.0, -0.0, f64::MIN_POSITIVE, -2.25, 1e300, 3.0];
        let sorted = NumericColumn::new(v.clone(), false);
        v.sort_unstable_by(f64::total_cmp);
        assert_eq!(
            sorted.sorted().iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn categorical_columns_count_and_drop_missing() {
        let c = CategoricalColumn::from_values([Some("b"), None, Some("a"), Some("b")]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.dropped(), 1);
        assert_eq!(
            c.counts().iter().map(|(k, n)| (k.as_str(), *n)).collect::<Vec<_>>(),
            [("a", 1), ("b", 2)]
        );
    }
}
