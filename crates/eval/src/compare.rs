//! Comparing two models scored on the same held-out rows: a paired
//! bootstrap of the difference of a metric, and the champion/challenger
//! [`gate`] built on it.
//!
//! Paired means both models are evaluated on the *same* resampled rows in
//! each resample, so the row-to-row noise they share cancels out of the
//! difference. The interval is the percentile interval of the resampled
//! differences, with numpy's default (`linear`) interpolation between order
//! statistics.
//!
//! The index draws come from `lathe_core::SplitMix64` rather than the `rand`
//! crate: a decision recorded in the registry must be reproducible from its
//! seed forever, which a generator we own guarantees and a dependency's
//! unspecified stream (it changed between `rand` releases) does not.

use lathe_core::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A metric over labels and positive-class probabilities. Return a
/// non-finite value when it is undefined on a resample (e.g. ROC AUC with one
/// class); such resamples are left out of the interval.
pub type Metric = fn(&[u8], &[f64]) -> f64;

/// How the bootstrap resamples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples `B`.
    pub resamples: usize,
    /// Confidence level of the interval, in (0, 1).
    pub level: f64,
    /// Seed of the index draws; the same seed gives the same result.
    pub seed: u64,
}

impl Default for BootstrapConfig {
    /// 2,000 resamples, a 95% interval, seed 0.
    fn default() -> Self {
        BootstrapConfig { resamples: 2_000, level: 0.95, seed: 0 }
    }
}

/// The difference `metric(a) - metric(b)` and its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDiff {
    /// The difference on the rows as given.
    pub observed: f64,
    /// Lower end of the percentile interval.
    pub ci_low: f64,
    /// Upper end of the percentile interval.
    pub ci_high: f64,
    /// Resamples the interval was computed from (those where both metrics were finite).
    pub resamples: usize,
    /// The confidence level used.
    pub level: f64,
}

/// The row indices of every resample: `resamples` draws of `n` indices in
/// `0..n`, with replacement, in the order [`paired_bootstrap`] uses them.
pub fn bootstrap_indices(n: usize, resamples: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    (0..resamples).map(|_| (0..n).map(|_| rng.scaled(n)).collect()).collect()
}

/// The `q`-quantile (`q` in [0, 1]) of sorted values, numpy's `linear` method.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (pos - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Paired bootstrap of `metric(y_true, a) - metric(y_true, b)`, where `a` and
/// `b` are two models' probabilities on the same rows.
pub fn paired_bootstrap(
    y_true: &[u8],
    a: &[f64],
    b: &[f64],
    metric: Metric,
    config: &BootstrapConfig,
) -> Result<PairedDiff> {
    const WHAT: &str = "paired_bootstrap";
    for other in [a.len(), b.len()] {
        if other != y_true.len() {
            return Err(Error::LengthMismatch { what: WHAT, expected: y_true.len(), got: other });
        }
    }
    if y_true.is_empty() {
        return Err(Error::Empty { what: WHAT });
    }
    if config.resamples == 0 || !(config.level > 0.0 && config.level < 1.0) {
        return Err(Error::InvalidConfig {
            what: WHAT,
            reason: format!(
                "need at least one resample and a level in (0, 1), got {} and {}",
                config.resamples, config.level
            ),
        });
    }
    let observed = metric(y_true, a) - metric(y_true, b);
    let n = y_true.len();
    let (mut ys, mut xa, mut xb) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
    let mut rng = SplitMix64::new(config.seed);
    let mut diffs = Vec::with_capacity(config.resamples);
    for _ in 0..config.resamples {
        for k in 0..n {
            let i = rng.scaled(n);
            (ys[k], xa[k], xb[k]) = (y_true[i], a[i], b[i]);
        }
        let d = metric(&ys, &xa) - metric(&ys, &xb);
        if d.is_finite() {
            diffs.push(d);
        }
    }
    if diffs.is_empty() || !observed.is_finite() {
        return Err(Error::InvalidConfig {
            what: WHAT,
            reason: "the metric is not defined on these rows".to_string(),
        });
    }
    diffs.sort_by(f64::total_cmp);
    let alpha = (1.0 - config.level) / 2.0;
    Ok(PairedDiff {
        observed,
        ci_low: quantile(&diffs, alpha),
        ci_high: quantile(&diffs, 1.0 - alpha),
        resamples: diffs.len(),
        level: config.level,
    })
}

/// What the gate decided and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Whether the challenger should replace the champion.
    pub promote: bool,
    /// One sentence saying why, with the numbers.
    pub reason: String,
    /// The improvement of the challenger over the champion (positive is
    /// better, whatever the metric's direction) with its interval.
    pub diff: PairedDiff,
}

/// The champion/challenger gate: promote only when the challenger's
/// improvement is at least `margin` and the lower end of its bootstrap
/// interval is above zero. For a metric where lower is better
/// (`higher_is_better == false`, e.g. log loss) the improvement is
/// `champion - challenger`.
pub fn gate(
    y_true: &[u8],
    challenger: &[f64],
    champion: &[f64],
    metric: Metric,
    higher_is_better: bool,
    margin: f64,
    config: &BootstrapConfig,
) -> Result<Decision> {
    let diff = if higher_is_better {
        paired_bootstrap(y_true, challenger, champion, metric, config)?
    } else {
        paired_bootstrap(y_true, champion, challenger, metric, config)?
    };
    let (d, lo, hi, b) = (diff.observed, diff.ci_low, diff.ci_high, diff.resamples);
    let pct = 100.0 * diff.level;
    let interval = format!("{pct:.0}% CI [{lo:.4}, {hi:.4}], B={b}");
    let (promote, reason) = if d < margin {
        (false, format!("improvement {d:.4} is below the margin {margin:.4} ({interval})"))
    } else if lo <= 0.0 {
        (false, format!("improvement {d:.4} is not significant: {interval} reaches 0"))
    } else {
        (true, format!("improvement {d:.4} ≥ margin {margin:.4} and {interval} is above 0"))
    };
    Ok(Decision { promote, reason, diff })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auc(y: &[u8], p: &[f64]) -> f64 {
        crate::roc_auc(y, p).unwrap_or(f64::NAN)
    }

    fn loss(y: &[u8], p: &[f64]) -> f64 {
        crate::log_loss(y, p).unwrap_or(f64::NAN)
    }

    /// Share of rows where `p >= 0.5` matches the label.
    fn acc(y: &[u8], p: &[f64]) -> f64 {
        y.iter().zip(p).filter(|(&t, &q)| (q >= 0.5) == (t == 1)).count() as f64 / y.len() as f64
    }

    /// 200 rows: `good` separates the classes well, `noisy` barely.
    fn data() -> (Vec<u8>, Vec<f64>, Vec<f64>) {
        let mut rng = SplitMix64::new(7);
        let (mut y, mut good, mut noisy) = (vec![], vec![], vec![]);
        for i in 0..200 {
            let label = u8::from(i % 2 == 0);
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let v = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            y.push(label);
            good.push(if label == 1 { 0.6 + 0.39 * u } else { 0.01 + 0.39 * u });
            noisy.push(if label == 1 { 0.3 + 0.6 * v } else { 0.1 + 0.6 * v });
        }
        (y, good, noisy)
    }

    #[test]
    fn the_same_seed_gives_the_same_result() {
        let (y, good, noisy) = data();
        let c = BootstrapConfig { resamples: 300, ..BootstrapConfig::default() };
        let first = paired_bootstrap(&y, &good, &noisy, auc, &c).unwrap();
        assert_eq!(first, paired_bootstrap(&y, &good, &noisy, auc, &c).unwrap());
        let other = BootstrapConfig { seed: 1, ..c };
        assert_ne!(first, paired_bootstrap(&y, &good, &noisy, auc, &other).unwrap());
        assert_eq!(bootstrap_indices(5, 3, 9), bootstrap_indices(5, 3, 9));
    }

    #[test]
    fn a_clearly_better_model_is_promoted() {
        let (y, good, noisy) = data();
        let c = BootstrapConfig::default();
        let d = gate(&y, &good, &noisy, auc, true, 0.0, &c).unwrap();
        assert!(d.promote, "{d:?}");
        assert!(d.diff.ci_low > 0.0 && d.diff.observed > 0.0 && d.diff.resamples == 2_000);
        // Log loss: lower is better, the sign flips and the better model still wins.
        let d = gate(&y, &good, &noisy, loss, false, 0.0, &c).unwrap();
        assert!(d.promote && d.diff.observed > 0.0, "{d:?}");
        // Not by a margin larger than the improvement.
        let d = gate(&y, &good, &noisy, auc, true, 0.9, &c).unwrap();
        assert!(!d.promote && d.reason.contains("below the margin"), "{d:?}");
    }

    #[test]
    fn identical_or_worse_models_are_never_promoted() {
        let (y, good, noisy) = data();
        for seed in 0..5 {
            let c = BootstrapConfig { resamples: 500, seed, ..BootstrapConfig::default() };
            for (m, hib) in [(auc as Metric, true), (loss, false), (acc, true)] {
                let same = gate(&y, &good, &good, m, hib, 0.0, &c).unwrap();
                assert!(!same.promote, "{same:?}");
                assert!(same.diff.ci_low <= 0.0 && same.diff.ci_high >= 0.0, "{same:?}");
                let worse = gate(&y, &noisy, &good, m, hib, 0.0, &c).unwrap();
                assert!(!worse.promote && worse.diff.observed < 0.0, "{worse:?}");
            }
        }
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        // np.percentile([1, 2, 4, 8, 16], [2.5, 50, 97.5]) == [1.1, 4.0, 15.2]
        let v = [1.0, 2.0, 4.0, 8.0, 16.0];
        for (q, want) in [(0.025, 1.1), (0.5, 4.0), (0.975, 15.2), (0.0, 1.0), (1.0, 16.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "{q}: {}", quantile(&v, q));
        }
    }

    /// Brute force on a small fixed case: the exported draws, each resample's
    /// difference by hand, the interval by numpy's rule — must equal the result.
    #[test]
    fn the_interval_equals_a_brute_force_reference_on_the_same_draws() {
        let y = [0u8, 1, 1, 0, 1, 0, 1];
        let a = [0.2, 0.9, 0.4, 0.6, 0.7, 0.1, 0.8];
        let b = [0.5, 0.3, 0.6, 0.4, 0.2, 0.7, 0.9];
        let c = BootstrapConfig { resamples: 40, level: 0.9, seed: 3 };
        let draws = bootstrap_indices(y.len(), c.resamples, c.seed);
        assert!(draws.iter().all(|d| d.len() == 7 && d.iter().all(|&i| i < 7)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "resamples differ");
        let mut diffs: Vec<f64> = draws
            .iter()
            .map(|d| {
                let (mut right_a, mut right_b) = (0, 0);
                for &i in d {
                    right_a += usize::from((a[i] >= 0.5) == (y[i] == 1));
                    right_b += usize::from((b[i] >= 0.5) == (y[i] == 1));
                }
                (right_a as f64 - right_b as f64) / 7.0
            })
            .collect();
        diffs.sort_by(|x, y| x.partial_cmp(y).unwrap());
        // 40 values: the 5% quantile sits at position 0.05 * 39 = 1.95.
        let low = diffs[1] + 0.95 * (diffs[2] - diffs[1]);
        let high = diffs[37] + 0.05 * (diffs[38] - diffs[37]);
        let got = paired_bootstrap(&y, &a, &b, acc, &c).unwrap();
        assert!((got.ci_low - low).abs() < 1e-12, "{} vs {low}", got.ci_low);
        assert!((got.ci_high - high).abs() < 1e-12, "{} vs {high}", got.ci_high);
        assert_eq!(got.resamples, 40);
        assert!((got.observed - (5.0 - 3.0) / 7.0).abs() < 1e-12, "{}", got.observed);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let c = BootstrapConfig::default();
        assert!(matches!(
            paired_bootstrap(&[0, 1], &[0.1], &[0.2, 0.3], auc, &c),
            Err(Error::LengthMismatch { .. })
        ));
        assert!(matches!(paired_bootstrap(&[], &[], &[], auc, &c), Err(Error::Empty { .. })));
        let zero = BootstrapConfig { resamples: 0, ..c };
        assert!(paired_bootstrap(&[0, 1], &[0.1, 0.9], &[0.2, 0.3], auc, &zero).is_err());
        assert!(paired_bootstrap(&[1, 1], &[0.1, 0.9], &[0.2, 0.3], auc, &c).is_err());
    }
}
