//! `lathe eval --compare A B`: two models scored on the same rows, any
//! metric of [`ClassificationMetrics::named`] or [`RegressionMetrics::named`],
//! with a paired bootstrap of the difference `A − B` (same draws and
//! percentile rule as [`paired_bootstrap`](crate::paired_bootstrap)) and,
//! for classifiers, McNemar's test on their predicted classes.

use lathe_core::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::classification::multiclass::{check_classification, predict_classes};
use crate::compare::quantile;
use crate::regression::check_regression;
use crate::{
    mcnemar, BootstrapConfig, ClassificationMetrics, Error, McNemar, PairedDiff, RegressionMetrics,
    Result,
};

/// Two models compared on one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The metric compared.
    pub metric: String,
    /// The metric of model A on all rows.
    pub a: f64,
    /// The metric of model B on all rows.
    pub b: f64,
    /// `A − B` and its paired bootstrap interval.
    pub diff: PairedDiff,
    /// McNemar's test of the predicted classes (classifiers only).
    pub mcnemar: Option<McNemar>,
}

/// The value of `metric` in a `named()` list; `None` when it is undefined there.
fn pick(named: &[(&'static str, f64)], metric: &str) -> Option<f64> {
    named.iter().find(|(n, _)| *n == metric).map(|(_, v)| *v).filter(|v| v.is_finite())
}

/// Paired bootstrap of `score(rows) = (metric of A, metric of B)`.
fn paired<F>(
    n: usize,
    metric: &str,
    config: &BootstrapConfig,
    mut score: F,
) -> Result<(f64, f64, PairedDiff)>
where
    F: FnMut(&[usize]) -> Result<(Option<f64>, Option<f64>)>,
{
    const WHAT: &str = "compare";
    if config.resamples == 0 || !(config.level > 0.0 && config.level < 1.0) {
        return Err(Error::InvalidConfig {
            what: WHAT,
            reason: format!(
                "need at least one resample and a level in (0, 1), got {} and {}",
                config.resamples, config.level
            ),
        });
    }
    let all: Vec<usize> = (0..n).collect();
    let (Some(a), Some(b)) = score(&all)? else {
        return Err(Error::InvalidConfig {
            what: WHAT,
            reason: format!("metric '{metric}' is unknown or not defined on these rows"),
        });
    };
    let mut rng = SplitMix64::new(config.seed);
    let mut rows = vec![0; n];
    let mut diffs = Vec::with_capacity(config.resamples);
    for _ in 0..config.resamples {
        for r in rows.iter_mut() {
            *r = rng.scaled(n);
        }
        if let (Some(x), Some(y)) = score(&rows)? {
            diffs.push(x - y);
        }
    }
    if diffs.is_empty() {
        return Err(Error::InvalidConfig {
            what: WHAT,
            reason: format!("metric '{metric}' is not defined on any resample"),
        });
    }
    diffs.sort_by(f64::total_cmp);
    let alpha = (1.0 - config.level) / 2.0;
    let diff = PairedDiff {
        observed: a - b,
        ci_low: quantile(&diffs, alpha),
        ci_high: quantile(&diffs, 1.0 - alpha),
        resamples: diffs.len(),
        level: config.level,
    };
    Ok((a, b, diff))
}

/// Compares two classifiers' probabilities (`n × k` each) on `metric`, a
/// name from [`ClassificationMetrics::named`] such as `"roc_auc"` or `"f1_macro"`.
pub fn compare_classifiers(
    y_true: &[usize],
    proba_a: &[f64],
    proba_b: &[f64],
    classes: &[String],
    metric: &str,
    config: &BootstrapConfig,
) -> Result<Comparison> {
    check_classification("compare", y_true, proba_a, classes)?;
    check_classification("compare", y_true, proba_b, classes)?;
    let k = classes.len();
    let (mut ys, mut pa, mut pb) = (Vec::new(), Vec::new(), Vec::new());
    let score = |rows: &[usize]| {
        ys.clear();
        pa.clear();
        pb.clear();
        for &i in rows {
            ys.push(y_true[i]);
            pa.extend_from_slice(&proba_a[i * k..(i + 1) * k]);
            pb.extend_from_slice(&proba_b[i * k..(i + 1) * k]);
        }
        let a = ClassificationMetrics::compute(&ys, &pa, classes)?.named();
        let b = ClassificationMetrics::compute(&ys, &pb, classes)?.named();
        Ok((pick(&a, metric), pick(&b, metric)))
    };
    let (a, b, diff) = paired(y_true.len(), metric, config, score)?;
    let test = mcnemar(y_true, &predict_classes(proba_a, k), &predict_classes(proba_b, k))?;
    Ok(Comparison { metric: metric.to_string(), a, b, diff, mcnemar: Some(test) })
}

/// Compares two regressors' predictions on `metric`, a name from
/// [`RegressionMetrics::named`] such as `"rmse"`.
pub fn compare_regressors(
    y_true: &[f64],
    pred_a: &[f64],
    pred_b: &[f64],
    metric: &str,
    config: &BootstrapConfig,
) -> Result<Comparison> {
    check_regression("compare", y_true, pred_a)?;
    check_regression("compare", y_true, pred_b)?;
    let (mut ts, mut pa, mut pb) = (Vec::new(), Vec::new(), Vec::new());
    let score = |rows: &[usize]| {
        ts.clear();
        pa.clear();
        pb.clear();
        for &i in rows {
            ts.push(y_true[i]);
            pa.push(pred_a[i]);
            pb.push(pred_b[i]);
        }
        let a = RegressionMetrics::compute(&ts, &pa)?.named();
        let b = RegressionMetrics::compute(&ts, &pb)?.named();
        Ok((pick(&a, metric), pick(&b, metric)))
    };
    let (a, b, diff) = paired(y_true.len(), metric, config, score)?;
    Ok(Comparison { metric: metric.to_string(), a, b, diff, mcnemar: None })
}
