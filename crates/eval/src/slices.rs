//! Per-slice metrics: rows grouped by the value of a slice column (a
//! country, a device, a customer segment), each group evaluated on its own,
//! so a model that is good on average but bad for one group shows it.

use serde::{Deserialize, Serialize};

use crate::classification::multiclass::{check_classification, ClassificationMetrics};
use crate::regression::{check_regression, RegressionMetrics};
use crate::{Error, Result};

/// The metrics of the rows that share one slice value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice<M> {
    /// The slice column's value.
    pub value: String,
    /// Rows in the slice.
    pub count: usize,
    /// The slice's metrics.
    pub metrics: M,
}

/// Row indices grouped by value, groups in ascending order of value.
pub fn group_rows(values: &[String]) -> Vec<(String, Vec<usize>)> {
    let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, v) in values.iter().enumerate() {
        groups.entry(v.as_str()).or_default().push(i);
    }
    groups.into_iter().map(|(v, rows)| (v.to_string(), rows)).collect()
}

fn check_slice_column(what: &'static str, values: &[String], rows: usize) -> Result<()> {
    if values.len() != rows {
        return Err(Error::LengthMismatch { what, expected: rows, got: values.len() });
    }
    Ok(())
}

/// Classification metrics per value of `slice_values` (one value per row).
/// A slice that lacks a class still gets every metric, with the undefined
/// ones (`roc_auc`, `pr_auc`) as `None`.
pub fn classification_slices(
    slice_values: &[String],
    y_true: &[usize],
    proba: &[f64],
    classes: &[String],
) -> Result<Vec<Slice<ClassificationMetrics>>> {
    const WHAT: &str = "slices";
    check_classification(WHAT, y_true, proba, classes)?;
    check_slice_column(WHAT, slice_values, y_true.len())?;
    let k = classes.len();
    group_rows(slice_values)
        .into_iter()
        .map(|(value, rows)| {
            let ys: Vec<usize> = rows.iter().map(|&i| y_true[i]).collect();
            let ps: Vec<f64> =
                rows.iter().flat_map(|&i| proba[i * k..(i + 1) * k].iter().copied()).collect();
            let metrics = ClassificationMetrics::compute(&ys, &ps, classes)?;
            Ok(Slice { value, count: rows.len(), metrics })
        })
        .collect()
}

/// Regression metrics per value of `slice_values` (one value per row).
pub fn regression_slices(
    slice_values: &[String],
    y_true: &[f64],
    y_pred: &[f64],
) -> Result<Vec<Slice<RegressionMetrics>>> {
    const WHAT: &str = "slices";
    check_regression(WHAT, y_true, y_pred)?;
    check_slice_column(WHAT, slice_values, y_true.len())?;
    group_rows(slice_values)
        .into_iter()
        .map(|(value, rows)| {
            let ts: Vec<f64> = rows.iter().map(|&i| y_true[i]).collect();
            let ps: Vec<f64> = rows.iter().map(|&i| y_pred[i]).collect();
            let metrics = RegressionMetrics::compute(&ts, &ps)?;
            Ok(Slice { value, count: rows.len(), metrics })
        })
        .collect()
}
