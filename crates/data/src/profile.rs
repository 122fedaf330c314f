//! A table's profile: per-column type, missing share, distinct count,
//! numeric summary or top labels, correlation with the target, and the
//! warnings a data scientist wants before training (constant, all-null,
//! leakage suspects, class imbalance).

use std::collections::HashMap;

use lathe_core::{Target, TaskKind};
use polars::prelude::*;

use crate::preprocess::quantile;
use crate::read::Table;
use crate::types::ColumnType;
use crate::{Error, Result};

/// |Pearson correlation| with the target above which a column is a leakage suspect.
pub const LEAKAGE_CORRELATION: f64 = 0.95;
/// Smallest class share below which the target is called imbalanced.
pub const IMBALANCE_SHARE: f64 = 0.1;

/// One column's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Its type.
    pub kind: ColumnType,
    /// Share of missing values, 0–1.
    pub missing_share: f64,
    /// Distinct non-missing values.
    pub distinct: usize,
    /// For numbers: mean and the min, 25%, 50%, 75%, max quantiles.
    pub numeric: Option<(f64, [f64; 5])>,
    /// For labels and text: the most frequent values with their counts (at most 5).
    pub top: Vec<(String, usize)>,
    /// Pearson correlation with the target (numeric columns; binary or
    /// regression targets).
    pub target_correlation: Option<f64>,
    /// For numbers: [`HISTOGRAM_BINS`] equal-width bins over [min, max] as
    /// (lower edge, upper edge, count); the last bin includes max.
    pub histogram: Vec<(f64, f64, usize)>,
}

/// Bins of a numeric column's histogram.
pub const HISTOGRAM_BINS: usize = 20;

/// A table's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Rows in the table.
    pub rows: usize,
    /// Every column, the target included, in table order.
    pub columns: Vec<ColumnProfile>,
    /// Warnings, one sentence each.
    pub warnings: Vec<String>,
}

/// Profiles `table`; with `target`, adds correlations, leakage and imbalance checks.
pub fn profile(table: &Table, target: Option<&Target>) -> Result<Profile> {
    let polars = |e: PolarsError| Error::InvalidArgument(e.to_string());
    let rows = table.frame.height();
    let mut columns = Vec::new();
    let mut warnings: Vec<String> = table.diagnostics.iter().map(|d| d.message.clone()).collect();
    let target_labels = match target {
        Some(t) => Some(labels(table.frame.column(&t.name).map_err(polars)?).map_err(polars)?),
        None => None,
    };
    for (name, kind) in &table.columns {
        let col = table.frame.column(name).map_err(polars)?;
        let texts = labels(col).map_err(polars)?;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for v in texts.iter().flatten() {
            *counts.entry(v.as_str()).or_default() += 1;
        }
        let mut top: Vec<(String, usize)> =
            counts.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(5);
        let is_target = target.is_some_and(|t| t.name == *name);
        let (numeric, target_correlation, histogram) = if *kind == ColumnType::Numeric {
            let values: Vec<Option<f64>> = col
                .cast(&DataType::Float64)
                .map_err(polars)?
                .f64()
                .map_err(polars)?
                .iter()
                .collect();
            let corr = target
                .filter(|t| !is_target && t.kind != TaskKind::Multiclass)
                .and_then(|t| pearson(&values, &t.values));
            let s = summary(&values);
            let hist = s.map_or(Vec::new(), |(_, q)| histogram(&values, q[0], q[4]));
            (s, corr, hist)
        } else {
            (None, None, Vec::new())
        };
        if let Some(r) = target_correlation.filter(|r| r.abs() > LEAKAGE_CORRELATION) {
            warnings.push(format!(
                "column {name:?}: correlation {r:.3} with the target; leakage suspect"
            ));
        }
        if let (false, Some(t)) = (is_target, &target_labels) {
            if texts == *t {
                warnings
                    .push(format!("column {name:?} is identical to the target; leakage suspect"));
            }
        }
        columns.push(ColumnProfile {
            name: name.clone(),
            kind: *kind,
            missing_share: if rows == 0 { 0.0 } else { col.null_count() as f64 / rows as f64 },
            distinct: counts.len(),
            top: if *kind == ColumnType::Numeric { Vec::new() } else { top },
            numeric,
            target_correlation,
            histogram,
        });
    }
    if let Some(t) = target.filter(|t| !t.classes.is_empty()) {
        let mut counts = vec![0usize; t.classes.len()];
        for &v in &t.values {
            counts[v as usize] += 1;
        }
        let n = t.values.len().max(1) as f64;
        if let Some((i, c)) = counts.iter().enumerate().min_by_key(|e| e.1) {
            if (*c as f64 / n) < IMBALANCE_SHARE {
                warnings.push(format!(
                    "class imbalance: {:?} is {:.1}% of the rows (under {:.0}%)",
                    t.classes[i],
                    100.0 * *c as f64 / n,
                    100.0 * IMBALANCE_SHARE
                ));
            }
        }
    }
    Ok(Profile { rows, columns, warnings })
}

fn labels(col: &Column) -> PolarsResult<Vec<Option<String>>> {
    let s = col.cast(&DataType::String)?;
    Ok(s.str()?.iter().map(|v| v.map(str::to_string)).collect())
}

fn summary(values: &[Option<f64>]) -> Option<(f64, [f64; 5])> {
    let mut v: Vec<f64> = values.iter().flatten().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    Some((mean, [0.0, 0.25, 0.5, 0.75, 1.0].map(|q| quantile(&v, q))))
}

fn histogram(values: &[Option<f64>], lo: f64, hi: f64) -> Vec<(f64, f64, usize)> {
    let bins = if hi > lo { HISTOGRAM_BINS } else { 1 };
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for x in values.iter().flatten().filter(|x| x.is_finite()) {
        let b = if width > 0.0 { ((x - lo) / width) as usize } else { 0 };
        counts[b.min(bins - 1)] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (lo + width * i as f64, lo + width * (i + 1) as f64, c))
        .collect()
}

/// Pearson correlation over rows where the column is present and finite.
fn pearson(x: &[Option<f64>], y: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> =
        x.iter().zip(y).filter_map(|(a, b)| a.filter(|a| a.is_finite()).map(|a| (a, *b))).collect();
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = pairs.iter().fold((0.0, 0.0), |s, p| (s.0 + p.0 / n, s.1 + p.1 / n));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_target, read_table, ReadOptions};

    #[test]
    fn warns_about_leaks_constants_and_imbalance() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let path = dir.path().join("p.csv");
        let mut csv = String::from("x,leak,same,copy,y\n");
        for i in 0..40 {
            let y = if i < 2 { "rare" } else { "common" };
            csv.push_str(&format!(
                "{},{},k,{y},{y}\n",
                (i * 7) % 11,
                if i < 2 { 1.0 } else { 0.0 }
            ));
        }
        std::fs::write(&path, csv)
            .map_err(|source| Error::Io { path: path.clone(), error: source })?;
        let table = read_table(&path, &ReadOptions::default())?;
        let target = encode_target(&table.frame, "y", None)?;
        let p = profile(&table, Some(&target))?;
        assert_eq!(p.rows, 40);
        let w = p.warnings.join("\n");
        assert!(w.contains("column \"same\" (categorical): a single distinct value"), "{w}");
        assert!(w.contains("column \"leak\": correlation 1.000 with the target"), "{w}");
        assert!(w.contains("column \"copy\" is identical to the target"), "{w}");
        assert!(w.contains("class imbalance: \"rare\" is 5.0% of the rows"), "{w}");
        assert!(!w.contains("column \"x\""), "{w}");
        let x = &p.columns[0];
        assert_eq!((x.distinct, x.missing_share), (11, 0.0));
        assert_eq!(x.numeric.map(|n| n.1), Some([0.0, 2.0, 5.0, 8.0, 10.0]));
        assert_eq!(p.columns[3].top, vec![("common".to_string(), 38), ("rare".to_string(), 2)]);
        let h = &x.histogram;
        assert_eq!((h.len(), h.iter().map(|b| b.2).sum::<usize>()), (HISTOGRAM_BINS, 40));
        assert_eq!((h[0].0, h[19].1, h[19].2), (0.0, 10.0, 4)); // the four 10s land in the last bin
        Ok(())
    }
}
