//! Evidently's two-proportion z-test: the share of values other than the
//! first category (in sorted order) in reference vs current, pooled
//! variance, two-sided p-value `2·(1 − Φ(|z|))` exactly as Evidently writes it.

use super::{special::ndtr, TestResult};

/// The z-test on (reference, current) counts per category, categories sorted.
///
/// Both columns holding the same single value: Evidently's special case,
/// p-value 1 (the statistic is reported as 0). The pooled variance can only
/// be 0 in that case, so there is no division by zero otherwise.
pub fn z_test(levels: &[(u64, u64)]) -> TestResult {
    if levels.len() < 2 {
        return TestResult { statistic: 0.0, score: 1.0 };
    }
    let n1: u64 = levels.iter().map(|l| l.0).sum();
    let n2: u64 = levels.iter().map(|l| l.1).sum();
    let (first_ref, first_cur) = levels[0];
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p1 = (n1 - first_ref) as f64 / n1f;
    let p2 = (n2 - first_cur) as f64 / n2f;
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    TestResult { statistic: z, score: 2.0 * (1.0 - ndtr(z.abs())) }
}
