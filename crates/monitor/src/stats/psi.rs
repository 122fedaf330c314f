//! Evidently's `psi` test: the population stability index
//! Σ (r − c)·ln(r/c) over the bins of `get_binned_data` with zero filling.

use super::TestResult;

/// PSI of two share vectors (no zeros: the caller fills them).
pub fn psi(reference: &[f64], current: &[f64]) -> TestResult {
    let value: f64 = reference.iter().zip(current).map(|(&r, &c)| (r - c) * (r / c).ln()).sum();
    TestResult { statistic: value, score: value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_shares_have_psi_zero() {
        assert_eq!(psi(&[0.5, 0.5], &[0.5, 0.5]).score, 0.0);
        assert!(psi(&[0.9, 0.1], &[0.5, 0.5]).score > 0.0);
    }
}
