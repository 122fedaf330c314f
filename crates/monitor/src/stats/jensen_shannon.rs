//! Evidently's `jensenshannon` test: `scipy.spatial.distance.jensenshannon`
//! (natural log) of the two samples' shares per bin, without zero filling.

use super::TestResult;

/// √((KL(p‖m) + KL(q‖m))/2) with m = (p+q)/2, after normalising p and q.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> TestResult {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    let mut left = 0.0;
    let mut right = 0.0;
    for (&pi, &qi) in p.iter().zip(q) {
        let (pi, qi) = (pi / sp, qi / sq);
        let m = (pi + qi) / 2.0;
        left += rel_entr(pi, m);
        right += rel_entr(qi, m);
    }
    // Rounding can leave a tiny negative sum for identical inputs; the distance is then 0.
    let d = ((left + right) / 2.0).max(0.0).sqrt();
    TestResult { statistic: d, score: d }
}

/// x·ln(x/y), with 0·ln(0/y) = 0, evaluated as SciPy's `rel_entr` does:
/// through `ln_1p((x − y)/y)` when x/y is within (1/2, 2), where ln(x/y)
/// would lose digits, and as ln x − ln y when x/y under- or overflows.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 || y <= 0.0 {
        return if x == 0.0 && y >= 0.0 { 0.0 } else { f64::INFINITY };
    }
    let ratio = x / y;
    if 0.5 < ratio && ratio < 2.0 {
        x * ((x - y) / y).ln_1p()
    } else if f64::MIN_POSITIVE < ratio && ratio < f64::INFINITY {
        x * ratio.ln()
    } else {
        x * (x.ln() - y.ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_distributions_are_at_sqrt_ln2() {
        let d = jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]).score;
        assert!((d - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
        assert_eq!(jensen_shannon(&[0.3, 0.7], &[0.3, 0.7]).score, 0.0);
    }
}
