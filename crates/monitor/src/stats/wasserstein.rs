//! Evidently's `wasserstein` test: the Wasserstein-1 distance between the two
//! empirical distributions (`scipy.stats.wasserstein_distance`, the area
//! between the two CDFs), divided by the reference standard deviation
//! (ddof 0) floored at 0.001.
//!
//! Constant reference: its standard deviation is 0, so the floor 0.001 is the
//! divisor; no division by zero, and the distance is reported as Evidently does.

use super::TestResult;

/// The normed distance between two sorted, non-empty samples.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> TestResult {
    let d = wasserstein_distance(reference, current) / std_dev(reference).max(STD_FLOOR);
    TestResult { statistic: d, score: d }
}

/// The floor Evidently puts under the reference standard deviation.
pub const STD_FLOOR: f64 = 0.001;

/// ∫|U(x) − V(x)| dx over the pooled values of two sorted samples: one
/// merge pass; between consecutive pooled values both CDFs are flat.
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut sum = 0.0;
    let mut prev = match (u.first(), v.first()) {
        (Some(&a), Some(&b)) => a.min(b),
        _ => return f64::NAN,
    };
    loop {
        // The next pooled value; i and j count the values consumed, all <= prev.
        let (next, from_u) = match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) if a <= b => (a, true),
            (_, Some(&b)) => (b, false),
            (Some(&a), None) => (a, true),
            (None, None) => break,
        };
        if next > prev {
            sum += (i as f64 / nu - j as f64 / nv).abs() * (next - prev);
            prev = next;
        }
        if from_u {
            i += 1;
        } else {
            j += 1;
        }
    }
    sum
}

/// Population standard deviation (ddof 0), two passes with compensated sums.
pub fn std_dev(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = neumaier(values.iter().copied()) / n;
    (neumaier(values.iter().map(|x| (x - mean) * (x - mean))) / n).sqrt()
}

/// Neumaier's compensated summation.
pub(crate) fn neumaier(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c) = (0.0f64, 0.0f64);
    for x in values {
        let t = sum + x;
        if sum.abs() >= x.abs() {
            c += (sum - t) + x;
        } else {
            c += (x - t) + sum;
        }
        sum = t;
    }
    sum + c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_by_one_standard_deviation_gives_one() {
        let a = [0.0, 2.0];
        let b = [1.0, 3.0];
        assert_eq!(wasserstein_distance(&a, &b), 1.0);
        assert_eq!(wasserstein_normed(&a, &b).score, 1.0);
    }

    #[test]
    fn constant_reference_uses_the_floor() {
        let r = wasserstein_normed(&[5.0, 5.0, 5.0], &[5.0, 5.0, 5.001]);
        assert!((r.score - 1.0 / 3.0).abs() < 1e-9, "{}", r.score);
    }
}
