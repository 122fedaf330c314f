//! Chi-squared tests on category counts.
//!
//! [`goodness_of_fit`] is Evidently's `chisquare` test: `scipy.stats.chisquare`
//! of the current counts against the reference counts rescaled to the current
//! size. It treats the reference proportions as exact, which ignores the
//! reference's own sampling noise (at equal sizes the statistic is about twice
//! what it should be) and gives an infinite statistic (p = 0) for a category
//! that only the current data has. [`homogeneity`] is the two-sample test
//! (`scipy.stats.chi2_contingency` on the 2×k table, no continuity
//! correction) that the `corrected` mode uses instead.

use super::{special::chi2_sf, TestResult};

/// Evidently's chi-squared test; `levels` holds (reference, current) counts per category.
///
/// One category only: the statistic is 0 and, where SciPy would return NaN
/// (zero degrees of freedom), the p-value is 1: nothing can have drifted.
pub fn goodness_of_fit(levels: &[(u64, u64)]) -> TestResult {
    let n_ref: u64 = levels.iter().map(|l| l.0).sum();
    let n_cur: u64 = levels.iter().map(|l| l.1).sum();
    let k_norm = n_cur as f64 / n_ref as f64;
    let mut stat = 0.0;
    for &(r, c) in levels {
        let expected = r as f64 * k_norm;
        let d = c as f64 - expected;
        // expected = 0 with c > 0 gives +inf, exactly as NumPy does.
        stat += d * d / expected;
    }
    finish(stat, levels.len())
}

/// Chi-squared test of homogeneity of the 2×k table of counts.
///
/// One category only: statistic 0 and p-value 1, as for [`goodness_of_fit`].
pub fn homogeneity(levels: &[(u64, u64)]) -> TestResult {
    let n_ref: u64 = levels.iter().map(|l| l.0).sum();
    let n_cur: u64 = levels.iter().map(|l| l.1).sum();
    let total = (n_ref + n_cur) as f64;
    let mut stat = 0.0;
    for &(r, c) in levels {
        let col = (r + c) as f64;
        for (observed, row) in [(r, n_ref), (c, n_cur)] {
            let expected = row as f64 * col / total;
            let d = observed as f64 - expected;
            stat += d * d / expected;
        }
    }
    finish(stat, levels.len())
}

fn finish(stat: f64, k: usize) -> TestResult {
    if k < 2 {
        return TestResult { statistic: 0.0, score: 1.0 };
    }
    TestResult { statistic: stat, score: chi2_sf((k - 1) as f64, stat) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_unseen_in_reference_gives_p_zero_as_in_evidently() {
        let r = goodness_of_fit(&[(10, 5), (10, 10), (0, 5)]);
        assert_eq!(r.statistic, f64::INFINITY);
        assert_eq!(r.score, 0.0);
        let h = homogeneity(&[(10, 5), (10, 10), (0, 5)]);
        assert!(h.statistic.is_finite() && h.score > 0.0);
    }

    #[test]
    fn one_category_is_no_drift() {
        assert_eq!(goodness_of_fit(&[(7, 3)]), TestResult { statistic: 0.0, score: 1.0 });
        assert_eq!(homogeneity(&[(7, 3)]), TestResult { statistic: 0.0, score: 1.0 });
    }
}
