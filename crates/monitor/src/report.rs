//! The drift report between two datasets: one test per column, the verdict
//! per column, and the dataset verdict (share of drifted columns ≥ 0.5), as
//! Evidently's `DataDriftPreset` decides them; plus the `corrected` mode.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;

use crate::{
    correction::benjamini_hochberg, select, stats, stats::binning, Column, ColumnKind, Error,
    Method, Result, ScoreKind,
};

/// How columns are tested and verdicts reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Evidently 0.7's defaults exactly: its test choice, thresholds and rules.
    #[default]
    Evidently,
    /// Evidently's choice of test, except that chi-squared compares the two
    /// samples (test of homogeneity) instead of fitting the current counts to
    /// the reference proportions; then the p-value tests are adjusted together
    /// by Benjamini–Hochberg and each verdict uses its adjusted p-value at the
    /// same threshold. Distance tests are unchanged.
    Corrected,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Evidently => "evidently",
            Mode::Corrected => "corrected",
        })
    }
}

/// A test chosen for one column instead of the default.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnTest {
    /// The test.
    pub method: Method,
    /// Its threshold; `None` for the test's default (0.05 or 0.1).
    pub threshold: Option<f64>,
}

/// Options of a drift report.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftOptions {
    /// Evidently's defaults or the corrected mode.
    pub mode: Mode,
    /// The dataset drifts when at least this share of columns drift (Evidently: 0.5).
    pub drift_share: f64,
    /// Per-column overrides of the test and threshold.
    pub tests: BTreeMap<String, ColumnTest>,
}

impl DriftOptions {
    /// Checks the options against the columns to be compared, before any is
    /// read: at least one column, a share in (0, 1], overrides only for
    /// columns that exist.
    pub fn check(&self, names: &[String]) -> Result<()> {
        if names.is_empty() {
            return Err(Error::NoColumns);
        }
        if !(self.drift_share > 0.0 && self.drift_share <= 1.0) {
            return Err(Error::InvalidDriftShare(self.drift_share));
        }
        for name in self.tests.keys() {
            if !names.contains(name) {
                return Err(Error::UnknownColumn(name.clone()));
            }
        }
        Ok(())
    }
}

impl Default for DriftOptions {
    fn default() -> DriftOptions {
        DriftOptions { mode: Mode::Evidently, drift_share: 0.5, tests: BTreeMap::new() }
    }
}

/// One column of both datasets.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPair {
    /// The column's name.
    pub name: String,
    /// Its values in the reference data.
    pub reference: Column,
    /// Its values in the current data.
    pub current: Column,
}

/// The result for one column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnDrift {
    /// `num` or `cat`.
    #[serde(rename = "type")]
    pub kind: ColumnKind,
    /// The test that ran.
    pub method: Method,
    /// Its statistic (KS D, χ², z, or the distance). Infinite values are written as JSON `null`.
    pub statistic: f64,
    /// The p-value or the distance, as Evidently reports it.
    pub score: f64,
    /// The threshold the score was compared with.
    pub threshold: f64,
    /// The verdict.
    pub drift: bool,
    /// `corrected` mode, p-value tests only: the Benjamini–Hochberg adjusted
    /// p-value the verdict was based on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjusted_score: Option<f64>,
    /// Values compared from the reference data (missing, NaN and ±inf dropped).
    pub reference_rows: usize,
    /// Values compared from the current data.
    pub current_rows: usize,
    /// Anything worth knowing about how the result came about (a constant column, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DriftReport {
    /// Whether the dataset drifted: `drift_share >= drift_share_threshold`.
    pub dataset_drift: bool,
    /// Share of the columns that drifted.
    pub drift_share: f64,
    /// The share at which the dataset counts as drifted.
    pub drift_share_threshold: f64,
    /// Number of columns compared.
    pub number_of_columns: usize,
    /// Number of columns that drifted.
    pub number_of_drifted_columns: usize,
    /// How the verdicts were reached.
    pub mode: Mode,
    /// Per column, in the order given.
    #[serde(serialize_with = "in_order")]
    pub columns: Vec<(String, ColumnDrift)>,
}

fn in_order<S: serde::Serializer>(
    columns: &[(String, ColumnDrift)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(columns.len()))?;
    for (name, drift) in columns {
        map.serialize_entry(name, drift)?;
    }
    map.end()
}

impl DriftReport {
    /// Tests every column and reaches the verdicts. Columns are tested on up
    /// to `std::thread::available_parallelism()` threads; each pair is dropped
    /// as soon as its test is done.
    pub fn compute(pairs: Vec<ColumnPair>, options: &DriftOptions) -> Result<DriftReport> {
        let names: Vec<String> = pairs.iter().map(|p| p.name.clone()).collect();
        options.check(&names)?;
        let results = test_all(pairs, options);
        let mut columns = Vec::with_capacity(results.len());
        for (name, result) in names.into_iter().zip(results) {
            columns.push((name, result?));
        }
        Ok(DriftReport::assemble(columns, options))
    }

    /// Reaches the verdicts from tested columns: in `corrected` mode adjusts
    /// the p-values first; then the dataset rule.
    pub fn assemble(
        mut columns: Vec<(String, ColumnDrift)>,
        options: &DriftOptions,
    ) -> DriftReport {
        if options.mode == Mode::Corrected {
            let idx: Vec<usize> = (0..columns.len())
                .filter(|&i| columns[i].1.method.score_kind() == ScoreKind::PValue)
                .collect();
            let p: Vec<f64> = idx.iter().map(|&i| columns[i].1.score).collect();
            for (&i, q) in idx.iter().zip(benjamini_hochberg(&p)) {
                let c = &mut columns[i].1;
                c.adjusted_score = Some(q);
                c.drift = c.method.drifted(q, c.threshold);
            }
        }
        let drifted = columns.iter().filter(|(_, c)| c.drift).count();
        let share = drifted as f64 / columns.len().max(1) as f64;
        DriftReport {
            dataset_drift: !columns.is_empty() && share >= options.drift_share,
            drift_share: share,
            drift_share_threshold: options.drift_share,
            number_of_columns: columns.len(),
            number_of_drifted_columns: drifted,
            mode: options.mode,
            columns,
        }
    }

    /// Names of the drifted columns, in order.
    pub fn drifted_columns(&self) -> Vec<&str> {
        self.columns.iter().filter(|(_, c)| c.drift).map(|(n, _)| n.as_str()).collect()
    }
}

fn test_all(pairs: Vec<ColumnPair>, options: &DriftOptions) -> Vec<Result<ColumnDrift>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(pairs.len());
    if threads <= 1 {
        return pairs.into_iter().map(|p| test_column(&p, options)).collect();
    }
    // Deal the pairs out round-robin so big and small columns mix, then put results back in order.
    let mut buckets: Vec<Vec<(usize, ColumnPair)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, p) in pairs.into_iter().enumerate() {
        buckets[i % threads].push((i, p));
    }
    let mut out: Vec<(usize, Result<ColumnDrift>)> = std::thread::scope(|s| {
        let handles: Vec<_> = buckets
            .into_iter()
            .map(|bucket| {
                s.spawn(move || {
                    bucket
                        .into_iter()
                        .map(|(i, p)| (i, test_column(&p, options)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Tests one column with its override or the default test.
pub fn test_column(pair: &ColumnPair, options: &DriftOptions) -> Result<ColumnDrift> {
    let name = pair.name.as_str();
    for (side, column) in [("reference", &pair.reference), ("current", &pair.current)] {
        if column.is_empty() {
            return Err(Error::EmptyColumn { column: name.to_string(), side });
        }
    }
    if pair.reference.kind() != pair.current.kind() {
        return Err(Error::KindMismatch {
            column: name.to_string(),
            reference: pair.reference.kind(),
            current: pair.current.kind(),
        });
    }
    // Enough to tell Evidently's cases apart (1, 2, ≤ 5, more).
    let distinct = binning::union_unique(&pair.reference, &pair.current, 6);
    let (method, threshold) = match options.tests.get(name) {
        Some(t) => (t.method, t.threshold.unwrap_or(t.method.default_threshold())),
        None => {
            let m = select::default_method(
                pair.reference.kind(),
                pair.reference.len(),
                distinct,
                options.mode,
            );
            (m, m.default_threshold())
        }
    };
    if !(threshold.is_finite() && threshold > 0.0) {
        return Err(Error::InvalidThreshold { column: name.to_string(), threshold });
    }
    let result = stats::run(method, name, &pair.reference, &pair.current)?;
    Ok(ColumnDrift {
        kind: pair.reference.kind(),
        method,
        statistic: result.statistic,
        score: result.score,
        threshold,
        drift: method.drifted(result.score, threshold),
        adjusted_score: None,
        reference_rows: pair.reference.len(),
        current_rows: pair.current.len(),
        notes: notes(pair, method, distinct, &result),
    })
}

fn notes(
    pair: &ColumnPair,
    method: Method,
    distinct: usize,
    result: &stats::TestResult,
) -> Vec<String> {
    let mut notes = Vec::new();
    if distinct == 1 {
        notes.push(
            "constant column: the same single value in reference and current, no drift possible"
                .to_string(),
        );
    }
    if let (Method::Wasserstein, Column::Numerical(r)) = (method, &pair.reference) {
        // std >= range/√(2n): only a narrow column can fall under the floor.
        let v = r.sorted();
        let range = v.last().copied().unwrap_or(0.0) - v.first().copied().unwrap_or(0.0);
        let narrow = range / (2.0 * v.len() as f64).sqrt() < stats::wasserstein::STD_FLOOR;
        if narrow && stats::wasserstein::std_dev(v) < stats::wasserstein::STD_FLOOR {
            notes.push(format!(
                "reference standard deviation below {}: the distance is divided by {} instead, as Evidently does",
                stats::wasserstein::STD_FLOOR,
                stats::wasserstein::STD_FLOOR
            ));
        }
    }
    if method == Method::ChiSquare && result.statistic == f64::INFINITY {
        notes.push(
            "a category occurs only in the current data: Evidently's chi-squared is infinite (p = 0)"
                .to_string(),
        );
    }
    let dropped = (pair.reference.dropped(), pair.current.dropped());
    if dropped != (0, 0) {
        notes.push(format!(
            "dropped missing/NaN/inf values: {} in reference, {} in current",
            dropped.0, dropped.1
        ));
    }
    notes
}
