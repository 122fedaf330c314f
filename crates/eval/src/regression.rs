//! Regression metrics, each as scikit-learn defines it: MAE, RMSE, R²,
//! MAPE and median absolute error.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Every regression metric of one set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Number of rows.
    pub rows: usize,
    /// Mean absolute error (`mean_absolute_error`).
    pub mae: f64,
    /// Root of the mean squared error (`root_mean_squared_error`).
    pub rmse: f64,
    /// Coefficient of determination (`r2_score`): `1 − SS_res / SS_tot`.
    /// With a constant `y_true` (SS_tot = 0) it is 1 for perfect predictions
    /// and 0 otherwise, scikit-learn's `force_finite=True`.
    pub r2: f64,
    /// Mean absolute percentage error (`mean_absolute_percentage_error`):
    /// `mean(|y − ŷ| / max(|y|, ε))` with `ε = f64::EPSILON`, a fraction (not ×100).
    pub mape: f64,
    /// Median of `|y − ŷ|` (`median_absolute_error`), the mean of the two
    /// middle values for an even count.
    pub median_absolute_error: f64,
}

/// Checks lengths, emptiness and finiteness of a regression pair.
pub fn check_regression(what: &'static str, y_true: &[f64], y_pred: &[f64]) -> Result<()> {
    if y_true.len() != y_pred.len() {
        return Err(Error::LengthMismatch { what, expected: y_true.len(), got: y_pred.len() });
    }
    if y_true.is_empty() {
        return Err(Error::Empty { what });
    }
    for (field, values) in [("y_true", y_true), ("y_pred", y_pred)] {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NotFinite { what, field, index, value });
        }
    }
    Ok(())
}

/// Median of non-empty values (reordered in place), by selection: linear
/// time instead of a full sort.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    let (lower, &mut upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + upper) / 2.0
    }
}

impl RegressionMetrics {
    /// Computes every metric; both slices must be finite and equally long.
    pub fn compute(y_true: &[f64], y_pred: &[f64]) -> Result<RegressionMetrics> {
        check_regression("regression", y_true, y_pred)?;
        let n = y_true.len() as f64;
        let mut abs: Vec<f64> = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs()).collect();
        let mae = abs.iter().sum::<f64>() / n;
        let ss_res: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p)).sum();
        let mean = y_true.iter().sum::<f64>() / n;
        let ss_tot: f64 = y_true.iter().map(|t| (t - mean) * (t - mean)).sum();
        let r2 = if ss_tot != 0.0 {
            1.0 - ss_res / ss_tot
        } else if ss_res == 0.0 {
            1.0
        } else {
            0.0
        };
        let mape = y_true
            .iter()
            .zip(y_pred)
            .map(|(t, p)| (t - p).abs() / t.abs().max(f64::EPSILON))
            .sum::<f64>()
            / n;
        Ok(RegressionMetrics {
            rows: y_true.len(),
            mae,
            rmse: (ss_res / n).sqrt(),
            r2,
            mape,
            median_absolute_error: median(&mut abs),
        })
    }

    /// `(name, value)` pairs, names as logged to a run.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("mae", self.mae),
            ("rmse", self.rmse),
            ("r2", self.r2),
            ("mape", self.mape),
            ("median_absolute_error", self.median_absolute_error),
        ]
    }
}
