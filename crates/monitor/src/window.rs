//! Drift of one production window against a stored [`ReferenceProfile`].
//!
//! **Why a binned test.** A window is compared with the profile saved at
//! training time, which keeps per column a histogram (Sturges edges over
//! the reference sample), quantiles and category counts, not the rows. The
//! histogram counts are exactly what a binned two-sample test needs, so
//! each numerical column is tested by binning the window's values on the
//! reference edges (plus one bin below the reference minimum and one above
//! its maximum, which the reference leaves empty) and running the
//! chi-squared test of homogeneity on the 2×k table of (reference, window)
//! counts; a categorical column gets the same test on its category counts
//! (the reference's `other` bucket absorbs categories outside its top list,
//! a category the reference never saw gets a bin of its own). This is exact
//! for the binning and needs no reference rows, at the price of not seeing
//! a change inside one bin (KS on rows would). Sparse neighbouring bins are
//! merged first (Cochran's rule, see [`merge_sparse`]).
//!
//! **Why Holm, not Benjamini–Hochberg.** A window tests every column at
//! once and windows repeat forever, so the p-values are adjusted together.
//! The offline report's corrected mode uses Benjamini–Hochberg, which bounds
//! the expected share of false verdicts; but a window's per-column verdicts
//! feed alerts such as `feature_drift(name)`, where one wrong column is one
//! false alarm, and BH grows more lenient the more columns truly drift (with
//! three columns shifted, an unshifted one at p = 0.035 passes BH's bar).
//! Holm's step-down bounds the chance of *any* false column verdict at the
//! threshold, whatever the others do.
//!
//! Columns the window has and the reference lacks are schema drift, reported
//! by name and not tested; reference columns the window lacks are reported
//! as missing. A column constant in the reference (one value) is reported as
//! such; it drifts only when the window has values outside it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    profile::{ColumnProfile, ReferenceProfile},
    stats::{binning::histogram, chisquare::homogeneity},
    window_override::{distance, ColumnOverride, WindowMethod, WindowOptions},
};

/// One window's values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowValues {
    /// Numbers; NaN and ±inf are missing.
    Numerical(Vec<f64>),
    /// Categories; `None` is missing.
    Categorical(Vec<Option<String>>),
}

/// The drift verdict of one column in one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowColumnDrift {
    /// `num` or `cat`, as in the profile.
    pub kind: crate::ColumnKind,
    /// `binned_chisquare` (see the module documentation), or the distance
    /// a column override asks for (`psi`, `jensenshannon`).
    pub method: &'static str,
    /// χ² statistic.
    pub statistic: f64,
    /// p-value before correction (a distance: the distance).
    pub score: f64,
    /// Holm-adjusted p-value (a distance: the distance): the verdict
    /// compares it with the threshold.
    pub adjusted_score: f64,
    /// Significance level, or the distance at which the column drifts.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drift: bool,
    /// Non-missing values in the window.
    pub current_rows: usize,
    /// Missing values in the window.
    pub current_missing: usize,
    /// Reference and window counts per bin (for plots).
    pub bins: Vec<(String, u64, u64)>,
    /// Anything the verdict should be read with (constant column, no values…).
    pub notes: Vec<String>,
}

/// The drift of one window: per feature, of the prediction, and the schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowDrift {
    /// Whether the share of drifted features reached the threshold.
    pub dataset_drift: bool,
    /// Share of tested features that drifted.
    pub drift_share: f64,
    /// The dataset-drift threshold on that share.
    pub drift_share_threshold: f64,
    /// Features tested.
    pub number_of_columns: usize,
    /// Of which drifted.
    pub number_of_drifted_columns: usize,
    /// Per feature, in profile order.
    pub columns: BTreeMap<String, WindowColumnDrift>,
    /// The prediction's drift, when the profile has a prediction profile.
    pub prediction: Option<WindowColumnDrift>,
    /// Columns in production that the reference lacks (schema drift).
    pub extra_columns: Vec<String>,
    /// Reference columns the window lacks.
    pub missing_columns: Vec<String>,
}

impl WindowDrift {
    /// Names of the drifted features.
    pub fn drifted_columns(&self) -> Vec<&str> {
        self.columns.iter().filter(|(_, c)| c.drift).map(|(n, _)| n.as_str()).collect()
    }
}

/// Tests `window` (features by name) and `prediction` (the window's
/// predictions, tested against the profile's first prediction column)
/// against `profile`, at significance `threshold` (0.05 in Evidently) and
/// dataset-drift share `drift_share` (0.5).
pub fn window_drift(
    profile: &ReferenceProfile,
    window: &BTreeMap<String, WindowValues>,
    prediction: Option<&WindowValues>,
    threshold: f64,
    drift_share: f64,
) -> WindowDrift {
    let options = WindowOptions { threshold, drift_share, ..WindowOptions::default() };
    window_drift_with(profile, window, prediction, &options)
}

/// [`window_drift`] with per-column overrides of the test and threshold
/// (see [`crate::window_override`]).
pub fn window_drift_with(
    profile: &ReferenceProfile,
    window: &BTreeMap<String, WindowValues>,
    prediction: Option<&WindowValues>,
    options: &WindowOptions,
) -> WindowDrift {
    let (threshold, drift_share) = (options.threshold, options.drift_share);
    let mut tested: Vec<(String, WindowColumnDrift)> = Vec::new();
    let mut missing_columns = Vec::new();
    for reference in &profile.features {
        match window.get(&reference.name) {
            Some(values) => tested.push((reference.name.clone(), test(reference, values))),
            None => missing_columns.push(reference.name.clone()),
        }
    }
    let prediction = match (profile.predictions.first(), prediction) {
        (Some(reference), Some(values)) => Some(test(reference, values)),
        _ => None,
    };
    let overrides: Vec<ColumnOverride> = tested
        .iter()
        .map(|(name, _)| options.columns.get(name).copied().unwrap_or_default())
        .collect();
    let by_distance = |o: &ColumnOverride| o.method.is_some_and(WindowMethod::is_distance);
    // One correction over every p-value test of the window, the prediction included.
    let mut pvalues: Vec<f64> = tested
        .iter()
        .zip(&overrides)
        .filter(|(_, o)| !by_distance(o))
        .map(|((_, c), _)| c.score)
        .collect();
    pvalues.extend(prediction.iter().map(|c| c.score));
    let adjusted = holm(&pvalues);
    let mut adjusted = adjusted.into_iter();
    let mut judge = |c: &mut WindowColumnDrift, o: &ColumnOverride| match o.method {
        Some(method) if method.is_distance() => {
            let d = distance(method, &c.bins);
            c.method = method.name();
            (c.statistic, c.score, c.adjusted_score) = (d, d, d);
            c.threshold = o.threshold.or(method.default_threshold()).unwrap_or(0.1);
            c.drift = c.current_rows > 0 && d >= c.threshold;
        }
        _ => {
            c.adjusted_score = adjusted.next().unwrap_or(f64::NAN);
            c.threshold = o.threshold.unwrap_or(threshold);
            c.drift = c.adjusted_score <= c.threshold;
        }
    };
    for ((_, c), o) in tested.iter_mut().zip(&overrides) {
        judge(c, o);
    }
    let mut prediction = prediction;
    if let Some(c) = prediction.as_mut() {
        judge(c, &ColumnOverride::default());
    }
    let known: Vec<&str> = profile.features.iter().map(|c| c.name.as_str()).collect();
    let extra_columns =
        window.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect::<Vec<_>>();
    let drifted = tested.iter().filter(|(_, c)| c.drift).count();
    let share = if tested.is_empty() { 0.0 } else { drifted as f64 / tested.len() as f64 };
    WindowDrift {
        dataset_drift: !tested.is_empty() && share >= drift_share,
        drift_share: share,
        drift_share_threshold: drift_share,
        number_of_columns: tested.len(),
        number_of_drifted_columns: drifted,
        columns: tested.into_iter().collect(),
        prediction,
        extra_columns,
        missing_columns,
    }
}

fn test(reference: &ColumnProfile, values: &WindowValues) -> WindowColumnDrift {
    let mut notes = Vec::new();
    let (bins, current_rows, current_missing) = match (values, reference) {
        (WindowValues::Numerical(v), ColumnProfile { numerical: Some(num), .. }) => {
            let mut sorted: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
            let missing = v.len() - sorted.len();
            sorted.sort_by(f64::total_cmp);
            let edges = &num.histogram.edges;
            if num.min == num.max {
                notes.push(format!("constant in the reference ({})", num.min));
            }
            if sorted.first() == sorted.last() && sorted.len() > 1 {
                notes.push("constant in this window".into());
            }
            let (lo, hi) =
                (edges.first().copied().unwrap_or(0.0), edges.last().copied().unwrap_or(0.0));
            let below = sorted.partition_point(|&x| x < lo) as u64;
            let above = (sorted.len() - sorted.partition_point(|&x| x <= hi)) as u64;
            let inside = histogram(&sorted, edges);
            let mut bins = vec![(format!("< {}", short(lo)), 0, below)];
            for (i, (&r, c)) in num.histogram.counts.iter().zip(inside).enumerate() {
                bins.push((format!("[{}, {}]", short(edges[i]), short(edges[i + 1])), r, c));
            }
            bins.push((format!("> {}", short(hi)), 0, above));
            (bins, sorted.len(), missing)
        }
        (WindowValues::Categorical(v), ColumnProfile { categorical: Some(cat), .. }) => {
            let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
            let mut missing = 0;
            for value in v {
                match value {
                    Some(s) => *counts.entry(s.as_str()).or_default() += 1,
                    None => missing += 1,
                }
            }
            let mut bins: Vec<(String, u64, u64)> = Vec::new();
            for (name, r) in &cat.frequencies {
                bins.push((name.clone(), *r, counts.remove(name.as_str()).unwrap_or(0)));
            }
            if cat.other > 0 {
                let rest: u64 = counts.values().sum();
                bins.push(("(other)".into(), cat.other, rest));
            } else {
                for (name, c) in counts {
                    notes.push(format!("category '{name}' is new"));
                    bins.push((name.to_string(), 0, c));
                }
            }
            if cat.frequencies.len() == 1 && cat.other == 0 {
                notes.push("constant in the reference".into());
            }
            (bins, v.len() - missing, missing)
        }
        _ => {
            notes.push("type differs from the reference: not tested".into());
            (Vec::new(), 0, 0)
        }
    };
    let mut levels: Vec<(u64, u64)> = bins.iter().map(|(_, r, c)| (*r, *c)).collect();
    let constant = matches!(reference.numerical.as_ref(), Some(n) if n.min == n.max);
    if reference.numerical.is_some() && !constant {
        levels = merge_sparse(&levels, current_rows as u64);
    }
    levels.retain(|(r, c)| r + c > 0);
    let (statistic, score) = if current_rows == 0 {
        notes.push("no values in this window: not tested".into());
        (0.0, 1.0)
    } else {
        let r = homogeneity(&levels);
        (r.statistic, r.score)
    };
    WindowColumnDrift {
        kind: reference.kind,
        method: "binned_chisquare",
        statistic,
        score,
        adjusted_score: score,
        threshold: 0.0,
        drift: false,
        current_rows,
        current_missing,
        bins,
        notes,
    }
}

/// A bin edge as a label: 4 significant digits.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.digits$}")
}

/// Holm's step-down adjusted p-values, in input order: for the i-th smallest
/// of m, max over j ≤ i of min(1, (m − j + 1)·p₍ⱼ₎). NaN stays NaN and is
/// not counted in m.
pub fn holm(pvalues: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..pvalues.len()).filter(|&i| !pvalues[i].is_nan()).collect();
    order.sort_by(|&a, &b| pvalues[a].total_cmp(&pvalues[b]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; pvalues.len()];
    let mut running: f64 = 0.0;
    for (j, &i) in order.iter().enumerate() {
        running = running.max(((m - j) as f64 * pvalues[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Merges neighbouring bins (in order) until each group expects at least 5
/// window values and holds at least 5 reference values (Cochran's rule for
/// the χ² approximation); a short tail joins the last group. Without it, one
/// window value beyond the reference range, where the reference has no
/// value, would alone make a column "drift". A shift still shows: the mass
/// moves between groups.
fn merge_sparse(levels: &[(u64, u64)], n_cur: u64) -> Vec<(u64, u64)> {
    let n_ref: u64 = levels.iter().map(|l| l.0).sum();
    if n_ref == 0 {
        return levels.to_vec();
    }
    let enough = |r: u64| r >= 5 && r as f64 * n_cur as f64 / n_ref as f64 >= 5.0;
    let mut groups: Vec<(u64, u64)> = Vec::new();
    let mut open = (0, 0);
    for &(r, c) in levels {
        open = (open.0 + r, open.1 + c);
        if enough(open.0) {
            groups.push(open);
            open = (0, 0);
        }
    }
    match groups.last_mut() {
        Some(last) => *last = (last.0 + open.0, last.1 + open.1),
        None => groups.push(open),
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProfileOptions, ProfileValues};

    /// Standard normals by Box–Muller from a seeded generator.
    fn normal(seed: u64, n: usize, shift: f64) -> Vec<f64> {
        let mut rng = lathe_core::SplitMix64::new(seed);
        let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (0..n)
            .map(|_| {
                let (u, v) = (unit().max(1e-300), unit());
                (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos() + shift
            })
            .collect()
    }

    fn num(values: Vec<f64>) -> ProfileValues {
        ProfileValues::Numerical { values, integer: false }
    }

    fn colours(n: usize, blue_every: usize) -> Vec<Option<String>> {
        (0..n).map(|i| Some(if i % blue_every == 0 { "blue" } else { "red" }.to_string())).collect()
    }

    fn profile() -> ReferenceProfile {
        let features = vec![
            ("a".to_string(), num(normal(1, 5_000, 0.0))),
            ("b".to_string(), num(normal(2, 5_000, 0.0))),
            ("k".to_string(), num(vec![5.0; 5_000])),
            ("colour".to_string(), ProfileValues::Categorical(colours(5_000, 4))),
        ];
        let predictions = vec![("prediction".to_string(), num(normal(3, 5_000, 0.0)))];
        ReferenceProfile::compute(&features, &predictions, &ProfileOptions::default()).unwrap()
    }

    fn window(shift_a: f64, k: f64, blue_every: usize) -> BTreeMap<String, WindowValues> {
        BTreeMap::from([
            ("a".to_string(), WindowValues::Numerical(normal(11, 1_000, shift_a))),
            ("b".to_string(), WindowValues::Numerical(normal(12, 1_000, 0.0))),
            ("k".to_string(), WindowValues::Numerical(vec![k; 1_000])),
            ("colour".to_string(), WindowValues::Categorical(colours(1_000, blue_every))),
        ])
    }

    #[test]
    fn the_same_distribution_does_not_drift_and_a_shift_does() {
        let p = profile();
        let pred = WindowValues::Numerical(normal(13, 1_000, 0.0));
        let same = window_drift(&p, &window(0.0, 5.0, 4), Some(&pred), 0.05, 0.5);
        assert!(same.drifted_columns().is_empty(), "{same:?}");
        assert!(!same.dataset_drift && !same.prediction.as_ref().unwrap().drift);
        assert!(same.extra_columns.is_empty() && same.missing_columns.is_empty());
        let k = &same.columns["k"];
        assert!(k.notes.iter().any(|n| n.contains("constant in the reference")), "{k:?}");
        assert!(k.score.is_finite() && !k.drift, "a constant column divides by nothing");

        let shifted = WindowValues::Numerical(normal(13, 1_000, 1.0));
        let drifted = window_drift(&p, &window(0.5, 6.0, 2), Some(&shifted), 0.05, 0.5);
        assert_eq!(drifted.drifted_columns(), vec!["a", "colour", "k"]);
        assert!(drifted.dataset_drift, "3 of 4 columns");
        assert!(drifted.prediction.as_ref().unwrap().drift);
        let a = &drifted.columns["a"];
        assert!(a.adjusted_score >= a.score && a.adjusted_score < 1e-6, "{a:?}");
        let counted: u64 = a.bins.iter().map(|b| b.2).sum();
        assert_eq!(counted, 1_000, "every value lands in a bin, outside ones too");
    }

    #[test]
    fn schema_drift_new_categories_and_empty_columns_are_reported() {
        let p = profile();
        let mut w = window(0.0, 5.0, 4);
        w.remove("b");
        w.insert("extra".into(), WindowValues::Numerical(vec![1.0; 10]));
        w.insert(
            "colour".into(),
            WindowValues::Categorical(
                (0..1_000).map(|i| Some(if i % 2 == 0 { "green" } else { "red" }.into())).collect(),
            ),
        );
        w.insert("a".into(), WindowValues::Numerical(vec![f64::NAN; 20]));
        let d = window_drift(&p, &w, None, 0.05, 0.5);
        assert_eq!(d.extra_columns, vec!["extra".to_string()]);
        assert_eq!(d.missing_columns, vec!["b".to_string()]);
        assert!(d.prediction.is_none());
        let colour = &d.columns["colour"];
        assert!(colour.drift && colour.notes.iter().any(|n| n.contains("'green' is new")));
        let a = &d.columns["a"];
        assert_eq!((a.current_rows, a.current_missing, a.drift), (0, 20, false));
        assert!(a.notes.iter().any(|n| n.contains("no values")));
    }

    #[test]
    fn column_overrides_change_the_test_or_the_threshold() {
        let p = profile();
        let w = window(0.5, 5.0, 4);
        let plain = window_drift(&p, &w, None, 0.05, 0.5);
        assert!(plain.columns["a"].drift);
        let columns = BTreeMap::from([
            (
                "a".to_string(),
                ColumnOverride { method: Some(WindowMethod::Psi), threshold: Some(0.5) },
            ),
            ("b".to_string(), ColumnOverride { method: None, threshold: Some(0.000_001) }),
            (
                "colour".to_string(),
                ColumnOverride { method: Some(WindowMethod::JensenShannon), threshold: None },
            ),
        ]);
        let options = WindowOptions { columns, ..WindowOptions::default() };
        let d = window_drift_with(&p, &w, None, &options);
        let a = &d.columns["a"];
        assert_eq!((a.method, a.threshold), ("psi", 0.5));
        assert!(a.score > 0.1 && a.score < 0.5 && !a.drift, "a shift of 0.5 sd: PSI {}", a.score);
        let colour = &d.columns["colour"];
        assert_eq!((colour.method, colour.threshold, colour.drift), ("jensenshannon", 0.1, false));
        assert_eq!(d.columns["b"].threshold, 0.000_001);
        // Two p-value tests are left (b and k), so Holm multiplies by at most 2.
        let b = &d.columns["b"];
        assert!(b.adjusted_score <= 2.0 * b.score + 1e-15 && b.adjusted_score >= b.score);
    }

    #[test]
    fn sparse_bins_merge_with_their_neighbours() {
        // 1,000 reference values, 100 in the window: a bin must hold 50 reference values.
        let levels = [(0, 1), (10, 0), (40, 5), (450, 44), (450, 45), (50, 4), (0, 1)];
        assert_eq!(merge_sparse(&levels, 100), vec![(50, 6), (450, 44), (450, 45), (50, 5)]);
        assert_eq!(merge_sparse(&[(3, 1), (2, 1)], 10), vec![(5, 2)]);
    }

    #[test]
    fn holm_steps_down_and_keeps_order() {
        // m = 4, sorted 0.01, 0.03, 0.04, 0.5: 4·0.01, 3·0.03, max(0.09, 2·0.04), 1·0.5
        // (statsmodels' multipletests(method="holm") gives the same).
        let adjusted = holm(&[0.04, 0.01, 0.5, f64::NAN, 0.03]);
        let want = [0.09, 0.04, 0.5, f64::NAN, 0.09];
        for (a, w) in adjusted.iter().zip(want) {
            assert!(a.is_nan() && w.is_nan() || (a - w).abs() < 1e-15, "{adjusted:?}");
        }
    }
}
