//! The reference profile: what the training data looked like, saved with a
//! model version so that production data can later be compared with it.
//!
//! Per column (features, and the model's predictions when given): its type,
//! row count, missing count and share; for numbers the min, max, mean, sample
//! standard deviation (ddof = 1, as pandas), quantiles with NumPy's default
//! `linear` interpolation and a histogram on the Sturges edges the
//! Jensen–Shannon test uses; for categories the 100 most frequent values and
//! the count of all others (`__other__`).
//!
//! Data above [`ProfileOptions::sample_cap`] rows is sampled: the same
//! seeded, deterministic choice of rows for every column, with
//! `sample_size` and `total_rows` recorded.

use lathe_core::SplitMix64;

use crate::stats::binning::{histogram, sturges_edges};
use crate::{CategoricalColumn, Column, ColumnKind, NumericColumn};

/// The quantiles every numerical column records.
pub const QUANTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Name of the count of categories beyond the most frequent ones.
pub const OTHER: &str = "__other__";

/// How a profile is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Above this many rows, a sample of this many rows is profiled.
    pub sample_cap: usize,
    /// Seed of the sample.
    pub seed: u64,
    /// How many categories are listed by name; the rest are counted as [`OTHER`].
    pub top_categories: usize,
}

impl Default for ProfileOptions {
    fn default() -> ProfileOptions {
        ProfileOptions { sample_cap: 100_000, seed: 42, top_categories: 100 }
    }
}

/// One column's values in row order, before sampling.
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileValues {
    /// Numbers; NaN and ±inf count as missing.
    Numerical {
        /// The values, NaN where missing.
        values: Vec<f64>,
        /// Whether the column is integer-typed (see [`NumericColumn::new`]).
        integer: bool,
    },
    /// Categories; `None` is missing.
    Categorical(Vec<Option<String>>),
}

impl ProfileValues {
    fn len(&self) -> usize {
        match self {
            ProfileValues::Numerical { values, .. } => values.len(),
            ProfileValues::Categorical(v) => v.len(),
        }
    }

    /// The column at rows `rows` (all rows when `None`).
    fn to_column(&self, rows: Option<&[usize]>) -> Column {
        match (self, rows) {
            (ProfileValues::Numerical { values, integer }, None) => {
                Column::Numerical(NumericColumn::new(values.clone(), *integer))
            }
            (ProfileValues::Numerical { values, integer }, Some(rows)) => Column::Numerical(
                NumericColumn::new(rows.iter().map(|&i| values[i]).collect(), *integer),
            ),
            (ProfileValues::Categorical(v), None) => {
                Column::Categorical(CategoricalColumn::from_values(v.iter().map(|c| c.as_deref())))
            }
            (ProfileValues::Categorical(v), Some(rows)) => Column::Categorical(
                CategoricalColumn::from_values(rows.iter().map(|&i| v[i].as_deref())),
            ),
        }
    }
}

/// The profile of a dataset (and of a model's predictions on it).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReferenceProfile {
    /// Rows in the data given.
    pub total_rows: usize,
    /// Rows profiled: `total_rows`, or the sample cap when the data was sampled.
    pub sample_size: usize,
    /// Seed of the sample (recorded whether or not the data was sampled).
    pub seed: u64,
    /// The features, in the order given.
    pub features: Vec<ColumnProfile>,
    /// The predictions, in the order given (empty when none were given).
    #[serde(default)]
    pub predictions: Vec<ColumnProfile>,
}

/// One column's profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// `num` or `cat`.
    #[serde(rename = "type")]
    pub kind: ColumnKind,
    /// Rows profiled, missing ones included.
    pub rows: usize,
    /// Missing values (empty, NaN, ±inf).
    pub missing: usize,
    /// `missing / rows` (0 when there are no rows).
    pub missing_share: f64,
    /// Statistics of a numerical column with at least one finite value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalProfile>,
    /// Frequencies of a categorical column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categorical: Option<CategoricalProfile>,
}

/// Statistics of a numerical column's finite values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NumericalProfile {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); `None` with fewer than 2 values.
    pub std: Option<f64>,
    /// Whether the column is integer-typed.
    pub integer: bool,
    /// `(q, value)` for each of [`QUANTILES`], NumPy's `linear` method.
    pub quantiles: Vec<(f64, f64)>,
    /// Histogram on NumPy's Sturges edges.
    pub histogram: Histogram,
}

/// Counts per bin: `[e_i, e_{i+1})`, the last bin closed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Histogram {
    /// Bin edges, one more than the counts.
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<u64>,
}

/// Frequencies of a categorical column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CategoricalProfile {
    /// Distinct values.
    pub unique: usize,
    /// The most frequent values with their counts, most frequent first (ties by value).
    pub frequencies: Vec<(String, u64)>,
    /// Values beyond those listed.
    #[serde(rename = "__other__")]
    pub other: u64,
}

impl ReferenceProfile {
    /// Profiles `features` and `predictions` (all columns of one length, the
    /// rows), sampling the same rows of each when there are more than the cap.
    ///
    /// # Errors
    /// [`Error::RaggedColumns`](crate::Error::RaggedColumns) when the columns
    /// do not all have the same length.
    pub fn compute(
        features: &[(String, ProfileValues)],
        predictions: &[(String, ProfileValues)],
        options: &ProfileOptions,
    ) -> crate::Result<ReferenceProfile> {
        let total_rows =
            features.iter().chain(predictions).map(|(_, v)| v.len()).next().unwrap_or(0);
        if let Some((name, v)) =
            features.iter().chain(predictions).find(|(_, v)| v.len() != total_rows)
        {
            return Err(crate::Error::RaggedColumns {
                column: name.clone(),
                rows: v.len(),
                expected: total_rows,
            });
        }
        let rows = (total_rows > options.sample_cap)
            .then(|| sample_rows(total_rows, options.sample_cap, options.seed));
        let profile = |cols: &[(String, ProfileValues)]| {
            cols.iter()
                .map(|(name, v)| {
                    ColumnProfile::from_column(name, &v.to_column(rows.as_deref()), options)
                })
                .collect()
        };
        Ok(ReferenceProfile {
            total_rows,
            sample_size: rows.as_ref().map_or(total_rows, Vec::len),
            seed: options.seed,
            features: profile(features),
            predictions: profile(predictions),
        })
    }
}

impl ColumnProfile {
    /// The profile of one column.
    pub fn from_column(name: &str, column: &Column, options: &ProfileOptions) -> ColumnProfile {
        let missing = column.dropped();
        let rows = column.len() + missing;
        let (numerical, categorical) = match column {
            Column::Numerical(c) => (numerical(c), None),
            Column::Categorical(c) => (None, Some(categorical(c, options.top_categories))),
        };
        ColumnProfile {
            name: name.to_string(),
            kind: column.kind(),
            rows,
            missing,
            missing_share: if rows == 0 { 0.0 } else { missing as f64 / rows as f64 },
            numerical,
            categorical,
        }
    }
}

fn numerical(c: &NumericColumn) -> Option<NumericalProfile> {
    let x = c.sorted();
    let (&min, &max) = (x.first()?, x.last()?);
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let std = (x.len() > 1)
        .then(|| (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt());
    let edges = sturges_edges(min, max, x.len(), c.is_integer());
    let counts = histogram(x, &edges);
    Some(NumericalProfile {
        min,
        max,
        mean,
        std,
        integer: c.is_integer(),
        quantiles: QUANTILES.iter().map(|&q| (q, quantile(x, q))).collect(),
        histogram: Histogram { edges, counts },
    })
}

/// NumPy's default (`linear`, type 7) quantile of sorted, non-empty `x`:
/// position h = (n − 1)·q, value x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]),
/// computed as NumPy's `_lerp` does (from the upper end when the fraction is ≥ ½).
pub fn quantile(x: &[f64], q: f64) -> f64 {
    let h = (x.len() - 1) as f64 * q;
    let lo = (h.floor() as usize).min(x.len() - 1);
    let hi = (lo + 1).min(x.len() - 1);
    let t = h - lo as f64;
    let (a, b) = (x[lo], x[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

fn categorical(c: &CategoricalColumn, top: usize) -> CategoricalProfile {
    let mut all: Vec<(&String, u64)> = c.counts().iter().map(|(k, n)| (k, *n)).collect();
    // Stable sort of a value-ordered list: ties stay in value order.
    all.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    let frequencies: Vec<(String, u64)> =
        all.iter().take(top).map(|(k, n)| ((*k).clone(), *n)).collect();
    let other = all.iter().skip(top).map(|(_, n)| n).sum();
    CategoricalProfile { unique: all.len(), frequencies, other }
}

/// `size` distinct rows of `0..total`, ascending: the first `size` steps of a
/// Fisher–Yates shuffle driven by SplitMix64(`seed`).
pub fn sample_rows(total: usize, size: usize, seed: u64) -> Vec<usize> {
    let mut rng = SplitMix64::new(seed);
    let mut idx: Vec<usize> = (0..total).collect();
    let size = size.min(total);
    for i in 0..size {
        let j = i + rng.scaled(total - i);
        idx.swap(i, j);
    }
    idx.truncate(size);
    idx.sort_unstable();
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../test_data/profile_reference.json");

    fn num(values: Vec<f64>) -> ProfileValues {
        ProfileValues::Numerical { values, integer: false }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn quantiles_mean_std_and_histogram_match_numpy() {
        let fixture: serde_json::Value = serde_json::from_str(FIXTURE).unwrap();
        let cases = fixture["cases"].as_array().unwrap();
        assert!(cases.len() >= 4);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let divisor = case["divisor"].as_f64().unwrap();
            let values: Vec<f64> = case["ints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() / divisor)
                .collect();
            let integer = case["integer"].as_bool().unwrap();
            let column = Column::Numerical(NumericColumn::new(values, integer));
            let p = ColumnProfile::from_column(name, &column, &ProfileOptions::default());
            let s = p.numerical.unwrap();
            let want: Vec<f64> =
                case["quantiles"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            for ((q, got), want) in s.quantiles.iter().zip(&want) {
                assert!(close(*got, *want), "{name} q{q}: {got} vs numpy {want}");
            }
            assert!(close(s.mean, case["mean"].as_f64().unwrap()), "{name} mean");
            assert!(close(s.std.unwrap(), case["std"].as_f64().unwrap()), "{name} std");
            let edges: Vec<f64> =
                case["edges"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert_eq!(s.histogram.edges.len(), edges.len(), "{name} edges");
            for (a, b) in s.histogram.edges.iter().zip(&edges) {
                assert!(close(*a, *b), "{name} edge {a} vs {b}");
            }
            let counts: Vec<u64> =
                case["counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
            assert_eq!(s.histogram.counts, counts, "{name} counts");
        }
    }

    #[test]
    fn histogram_counts_sum_to_the_non_missing_count() {
        let values: Vec<f64> = (0..1000)
            .map(|i| if i % 7 == 0 { f64::NAN } else { ((i * 37) % 101) as f64 / 3.0 })
            .collect();
        let profile = ReferenceProfile::compute(
            &[("x".into(), num(values))],
            &[],
            &ProfileOptions::default(),
        )
        .unwrap();
        let x = &profile.features[0];
        assert_eq!((x.rows, x.missing), (1000, 143));
        assert!((x.missing_share - 0.143).abs() < 1e-15);
        let h = &x.numerical.as_ref().unwrap().histogram;
        assert_eq!(h.counts.iter().sum::<u64>(), 1000 - 143);
        assert_eq!(h.edges.len(), h.counts.len() + 1);
    }

    #[test]
    fn categories_keep_the_top_100_and_count_the_rest_as_other() {
        // Category k occurs k + 1 times, k in 0..150.
        let values: Vec<Option<String>> =
            (0..150).flat_map(|k| std::iter::repeat_n(Some(format!("c{k:03}")), k + 1)).collect();
        let mut values = values;
        values.push(None);
        let profile = ReferenceProfile::compute(
            &[("c".into(), ProfileValues::Categorical(values))],
            &[],
            &ProfileOptions::default(),
        )
        .unwrap();
        let c = &profile.features[0];
        assert_eq!((c.kind, c.missing), (ColumnKind::Categorical, 1));
        let cat = c.categorical.as_ref().unwrap();
        assert_eq!(cat.unique, 150);
        assert_eq!(cat.frequencies.len(), 100);
        assert_eq!(cat.frequencies[0], ("c149".to_string(), 150));
        assert_eq!(cat.frequencies[99], ("c050".to_string(), 51));
        assert_eq!(cat.other, (1..=50).sum::<u64>());
        let json = serde_json::to_value(&profile).unwrap();
        assert_eq!(json["features"][0]["categorical"][OTHER], 1275);
        assert_eq!(json["features"][0]["type"], "cat");
    }

    #[test]
    fn large_data_is_sampled_deterministically_and_sizes_are_recorded() {
        let values: Vec<f64> = (0..5000).map(|i| i as f64).collect();
        let labels: Vec<Option<String>> = (0..5000).map(|i| Some(format!("{}", i % 3))).collect();
        let cols =
            [("x".to_string(), num(values)), ("y".to_string(), ProfileValues::Categorical(labels))];
        let options = ProfileOptions { sample_cap: 1000, seed: 7, ..ProfileOptions::default() };
        let a = ReferenceProfile::compute(&cols, &[], &options).unwrap();
        let b = ReferenceProfile::compute(&cols, &[], &options).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.total_rows, a.sample_size, a.seed), (5000, 1000, 7));
        assert!(a.features.iter().all(|f| f.rows == 1000));
        let other =
            ReferenceProfile::compute(&cols, &[], &ProfileOptions { seed: 8, ..options }).unwrap();
        assert_ne!(a.features[0], other.features[0], "another seed, another sample");
        let rows = sample_rows(5000, 1000, 7);
        assert_eq!(rows.len(), 1000);
        assert!(rows.windows(2).all(|w| w[0] < w[1]), "distinct and ascending");
        let small = ReferenceProfile::compute(&cols, &[], &ProfileOptions::default()).unwrap();
        assert_eq!((small.total_rows, small.sample_size), (5000, 5000));
        let json = serde_json::to_string(&a).unwrap();
        let back: ReferenceProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(back.sample_size, 1000);
    }

    #[test]
    fn a_constant_column_has_zero_spread_and_one_bin() {
        let profile = ReferenceProfile::compute(
            &[("k".into(), num(vec![2.5; 10]))],
            &[("p".into(), num(vec![0.25; 10]))],
            &ProfileOptions::default(),
        )
        .unwrap();
        let k = profile.features[0].numerical.as_ref().unwrap();
        assert_eq!((k.min, k.max, k.mean, k.std), (2.5, 2.5, 2.5, Some(0.0)));
        assert!(k.quantiles.iter().all(|(_, v)| *v == 2.5));
        assert_eq!(k.histogram.edges, vec![2.0, 3.0]);
        assert_eq!(k.histogram.counts, vec![10]);
        assert_eq!(profile.predictions[0].name, "p");
        assert!(serde_json::to_string(&profile).is_ok());
    }

    #[test]
    fn columns_of_different_lengths_are_an_error() {
        let err = ReferenceProfile::compute(
            &[("a".into(), num(vec![1.0, 2.0])), ("b".into(), num(vec![1.0]))],
            &[],
            &ProfileOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err, crate::Error::RaggedColumns { column: "b".into(), rows: 1, expected: 2 });
    }

    #[test]
    fn an_all_missing_column_is_reported_as_such() {
        let profile = ReferenceProfile::compute(
            &[
                ("n".into(), num(vec![f64::NAN, f64::INFINITY, f64::NAN])),
                ("c".into(), ProfileValues::Categorical(vec![None, None, None])),
            ],
            &[],
            &ProfileOptions::default(),
        )
        .unwrap();
        let (n, c) = (&profile.features[0], &profile.features[1]);
        assert_eq!((n.rows, n.missing, n.missing_share), (3, 3, 1.0));
        assert!(n.numerical.is_none());
        assert_eq!((c.rows, c.missing, c.missing_share), (3, 3, 1.0));
        let cat = c.categorical.as_ref().unwrap();
        assert_eq!((cat.unique, cat.other), (0, 0));
        assert!(cat.frequencies.is_empty());
        let json = serde_json::to_string(&profile).unwrap();
        let back: ReferenceProfile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, profile);
    }
}
