//! The validation metric after every boosting round, computed from the
//! fitted trees in pure Rust.
//!
//! LightGBM's Rust bindings train all rounds in one call (rolling back to
//! the best round when stopping early) and expose no per-round callback, so
//! the curve is rebuilt afterwards: one pass over the validation rows per
//! round, accumulating raw scores exactly as prediction does.

use crate::trees::TreeEnsemble;

/// Metric name (as logged, after `valid_`) for a task's objective.
pub(crate) fn metric_name(classifier: bool) -> &'static str {
    if classifier {
        "logloss"
    } else {
        "l2"
    }
}

/// LightGBM clips probabilities to `[1e-15, 1 - 1e-15]` in its log losses.
const EPS: f64 = 1e-15;

/// The metric after each round `1..=iterations`: mean log loss for
/// classifiers (`y` holds class indices), mean squared error for regression.
///
/// `x` is row-major with `ensemble.n_features()` columns.
pub(crate) fn staged_metric(
    ensemble: &TreeEnsemble,
    x: &[f64],
    y: &[f64],
    classifier: bool,
) -> Vec<f64> {
    let d = ensemble.n_features();
    let k = ensemble.outputs();
    let n = y.len();
    let mut raw = vec![0.0; n * k];
    let mut scratch = vec![0.0; k];
    let mut curve = Vec::with_capacity(ensemble.iterations());
    for it in 0..ensemble.iterations() {
        let scale = if ensemble.is_average() { 1.0 / (it + 1) as f64 } else { 1.0 };
        let mut total = 0.0;
        for (i, &target) in y.iter().enumerate() {
            let acc = &mut raw[i * k..(i + 1) * k];
            ensemble.add_iteration(it, &x[i * d..(i + 1) * d], acc);
            scratch.iter_mut().zip(acc.iter()).for_each(|(s, a)| *s = a * scale);
            ensemble.transform(&mut scratch);
            total += if !classifier {
                (scratch[0] - target).powi(2)
            } else if k == 1 {
                let p = scratch[0].clamp(EPS, 1.0 - EPS);
                if target > 0.5 {
                    -p.ln()
                } else {
                    -(1.0 - p).ln()
                }
            } else {
                -scratch[target as usize].clamp(EPS, 1.0 - EPS).ln()
            };
        }
        curve.push(total / n as f64);
    }
    curve
}
