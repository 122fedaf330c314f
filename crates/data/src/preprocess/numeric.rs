//! Numeric columns: imputation, an optional missing indicator, scaling.
//!
//! The arithmetic follows scikit-learn's `SimpleImputer` then
//! `StandardScaler` / `MinMaxScaler` / `RobustScaler`: statistics are taken
//! after imputation, a zero spread scales by 1, quantiles interpolate
//! linearly (numpy's default).

use serde::{Deserialize, Serialize};

use super::spec::{Imputation, Scaling};

/// A fitted numeric column: `((x or fill) - center) / scale`, then `1.0`
/// in the indicator when the value was missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumericStep {
    pub fill: f64,
    pub indicator: bool,
    pub center: f64,
    pub scale: f64,
}

impl NumericStep {
    /// Fits on the training values (`None` = missing; at least one present).
    pub fn fit(
        values: &[Option<f64>],
        imputation: &Imputation,
        scaling: Scaling,
        indicators: bool,
    ) -> NumericStep {
        let mut present: Vec<f64> = values.iter().flatten().copied().collect();
        let missing = present.len() < values.len();
        // The median needs only its two middle values; sorting a large
        // column for them dominated fitting. The mean keeps its sorted
        // summation order, so its bits do not change.
        if !matches!(imputation, Imputation::Median) {
            present.sort_by(f64::total_cmp);
        }
        let fill = match imputation {
            Imputation::Mean => mean(&present),
            Imputation::Median => median(&mut present),
            Imputation::MostFrequent => most_frequent(&present),
            Imputation::Constant(c) => *c,
        };
        let imputed: Vec<f64> = values.iter().map(|v| v.unwrap_or(fill)).collect();
        let (center, scale) = match scaling {
            Scaling::None => (0.0, 1.0),
            Scaling::Standard => {
                let m = mean(&imputed);
                let var =
                    imputed.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / imputed.len() as f64;
                (m, nonzero(var.sqrt()))
            }
            Scaling::MinMax => {
                let lo = imputed.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = imputed.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo, nonzero(hi - lo))
            }
            Scaling::Robust => {
                let mut sorted = imputed.clone();
                sorted.sort_by(f64::total_cmp);
                let iqr = quantile(&sorted, 0.75) - quantile(&sorted, 0.25);
                (quantile(&sorted, 0.5), nonzero(iqr))
            }
        };
        NumericStep { fill, indicator: indicators && missing, center, scale }
    }

    /// Number of output features.
    pub fn width(&self) -> usize {
        1 + usize::from(self.indicator)
    }

    /// Writes this value's features into `out` (`width()` long).
    pub fn apply(&self, value: Option<f64>, out: &mut [f64]) {
        out[0] = (value.unwrap_or(self.fill) - self.center) / self.scale;
        if self.indicator {
            out[1] = if value.is_none() { 1.0 } else { 0.0 };
        }
    }
}

/// scikit-learn's `_handle_zeros_in_scale`: a spread under 10·ε scales by 1.
fn nonzero(spread: f64) -> f64 {
    if spread < 10.0 * f64::EPSILON {
        1.0
    } else {
        spread
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// numpy's linear-interpolation quantile of sorted values.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    lerp(sorted[lo], sorted[hi], pos - lo as f64)
}

/// `quantile(sorted, 0.5)` of unsorted values (reordered): the two middle
/// values by selection, so the same bits without a sort.
fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = 0.5 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let (_, a, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    // The next value in order is the least of those above (none when n = 1).
    let b = above.iter().copied().min_by(f64::total_cmp).unwrap_or(a);
    lerp(a, b, pos - lo as f64)
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    // numpy's _lerp: exact at both ends.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// The most common value; the smallest among ties (scikit-learn's choice).
fn most_frequent(sorted: &[f64]) -> f64 {
    let mut best = (0usize, f64::NAN);
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        if j - i > best.0 {
            best = (j - i, sorted[i]);
        }
        i = j;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imputes_then_scales() {
        let v = [Some(1.0), None, Some(3.0), Some(3.0)];
        let s = NumericStep::fit(&v, &Imputation::Median, Scaling::Standard, true);
        assert_eq!((s.fill, s.indicator), (3.0, true));
        let mut out = [0.0; 2];
        s.apply(None, &mut out);
        assert_eq!(out[1], 1.0);
        assert!((out[0] - (3.0 - 2.5) / (0.75f64).sqrt()).abs() < 1e-15);
        let s = NumericStep::fit(&v, &Imputation::MostFrequent, Scaling::MinMax, false);
        assert_eq!((s.fill, s.center, s.scale, s.width()), (3.0, 1.0, 2.0, 1));
        let s = NumericStep::fit(&[Some(5.0), Some(5.0)], &Imputation::Mean, Scaling::Robust, true);
        assert_eq!((s.center, s.scale, s.indicator), (5.0, 1.0, false));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.25), 1.75);
    }

    #[test]
    fn median_by_selection_equals_the_sorted_quantile() {
        let mut state = 7u64;
        for n in [1, 2, 3, 4, 5, 10, 101, 1000] {
            let mut v: Vec<f64> = (0..n)
                .map(|_| {
                    state =
                        state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    // Few distinct values, so ties straddle the middle.
                    ((state >> 33) % 7) as f64 * 0.1 - 0.3
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(median(&mut v).to_bits(), quantile(&sorted, 0.5).to_bits(), "n = {n}");
        }
        assert!(median(&mut []).is_nan());
    }
}
