//! Benjamini–Hochberg adjustment of p-values, for the `corrected` mode: with
//! one test per column, Evidently's per-column p < 0.05 flags about one
//! column in twenty on unchanged data; controlling the false discovery rate
//! at the same level keeps the real shifts and drops most of those.

/// BH-adjusted p-values, in the input order: for the i-th smallest of m,
/// min over j ≥ i of m·p₍ⱼ₎/j, capped at 1. A test rejects at level α
/// exactly when its adjusted p-value is ≤ α. NaN stays NaN and is not counted.
pub fn benjamini_hochberg(pvalues: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..pvalues.len()).filter(|&i| !pvalues[i].is_nan()).collect();
    order.sort_by(|&a, &b| pvalues[a].total_cmp(&pvalues[b]));
    let m = order.len() as f64;
    let mut adjusted = vec![f64::NAN; pvalues.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(pvalues[i] * m / (rank + 1) as f64);
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_textbook_example() {
        // statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]
        let p = [0.01, 0.04, 0.03, 0.005];
        let q = benjamini_hochberg(&p);
        let want = [0.02, 0.04, 0.04, 0.02];
        for (g, w) in q.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{q:?}");
        }
        assert!(benjamini_hochberg(&[f64::NAN, 0.5])[0].is_nan());
        assert_eq!(benjamini_hochberg(&[0.9, 0.95]), vec![0.95, 0.95]);
    }
}
