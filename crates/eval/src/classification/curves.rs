//! Threshold curves of a binary scorer: ROC and precision–recall curves,
//! average precision (PR AUC) and the threshold that maximizes F1.
//!
//! All of them walk the same table as scikit-learn's `_binary_clf_curve`:
//! one row per distinct score, from the highest down, with the cumulative
//! counts of positives and negatives scored at or above it. A threshold `t`
//! predicts positive where `score >= t`.

use serde::{Deserialize, Serialize};

use super::binary::{check_finite, check_pair, roc_points_from};
use crate::{Error, Result};

/// Cumulative counts at each distinct score, highest score first.
pub(crate) struct ThresholdCounts {
    /// Negatives scored at or above `thresholds[i]`.
    pub fps: Vec<i64>,
    /// Positives scored at or above `thresholds[i]`.
    pub tps: Vec<i64>,
    /// The distinct scores, descending.
    pub thresholds: Vec<f64>,
}

impl ThresholdCounts {
    /// Positives in all rows.
    pub fn positives(&self) -> i64 {
        self.tps.last().copied().unwrap_or(0)
    }

    /// Negatives in all rows.
    pub fn negatives(&self) -> i64 {
        self.fps.last().copied().unwrap_or(0)
    }
}

/// Scores must be finite and labels 0/1 (checked by the callers).
pub(crate) fn threshold_counts(y_true: &[u8], y_score: &[f64]) -> ThresholdCounts {
    let mut order: Vec<usize> = (0..y_score.len()).collect();
    // Finite scores, so `total_cmp` orders them as NumPy does except for -0.0
    // vs 0.0, which must tie: compare through `partial_cmp`.
    order
        .sort_by(|&a, &b| y_score[b].partial_cmp(&y_score[a]).unwrap_or(std::cmp::Ordering::Equal));
    let mut out = ThresholdCounts { fps: Vec::new(), tps: Vec::new(), thresholds: Vec::new() };
    let (mut fp, mut tp) = (0i64, 0i64);
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] == 1 {
            tp += 1;
        } else {
            fp += 1;
        }
        if order.get(k + 1).is_none_or(|&next| y_score[next] != y_score[i]) {
            out.fps.push(fp);
            out.tps.push(tp);
            out.thresholds.push(y_score[i]);
        }
    }
    out
}

/// Points of a curve, ready to plot: `x[i]`, `y[i]` reached at `thresholds[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Horizontal coordinates (false positive rate, or recall).
    pub x: Vec<f64>,
    /// Vertical coordinates (true positive rate, or precision).
    pub y: Vec<f64>,
    /// The threshold of each point; the curve's starting point has `+inf`
    /// (as in scikit-learn), which JSON holds as `null`.
    #[serde(with = "infinity_as_null")]
    pub thresholds: Vec<f64>,
}

/// JSON has no infinity: `+inf` thresholds travel as `null` and come back.
mod infinity_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let v: Vec<Option<f64>> = values.iter().map(|&t| t.is_finite().then_some(t)).collect();
        v.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v: Vec<Option<f64>> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(|t| t.unwrap_or(f64::INFINITY)).collect())
    }
}

fn checked(what: &'static str, y_true: &[u8], y_score: &[f64]) -> Result<ThresholdCounts> {
    check_pair(what, y_true, y_score.len())?;
    check_finite(what, y_score)?;
    let positives = y_true.iter().filter(|&&t| t == 1).count();
    if positives == 0 || positives == y_true.len() {
        return Err(Error::SingleClass { what });
    }
    Ok(threshold_counts(y_true, y_score))
}

/// The ROC curve (`roc_curve` with `drop_intermediate=True`): false positive
/// rate on `x`, true positive rate on `y`, starting at (0, 0).
pub fn roc_curve(y_true: &[u8], y_score: &[f64]) -> Result<Curve> {
    Ok(roc_curve_from(&checked("roc_curve", y_true, y_score)?))
}

/// The ROC curve from the threshold table; both classes must be present.
pub(crate) fn roc_curve_from(counts: &ThresholdCounts) -> Curve {
    let (fps, tps) = roc_points_from(counts);
    let (fp_all, tp_all) = (fps[fps.len() - 1] as f64, tps[tps.len() - 1] as f64);
    // The kept points are a subsequence of `counts`; find their thresholds by position.
    let mut thresholds = vec![f64::INFINITY];
    let mut j = 0;
    for (&f, &t) in fps.iter().zip(&tps).skip(1) {
        while counts.fps[j] != f || counts.tps[j] != t {
            j += 1;
        }
        thresholds.push(counts.thresholds[j]);
    }
    Curve {
        x: fps.iter().map(|&f| f as f64 / fp_all).collect(),
        y: tps.iter().map(|&t| t as f64 / tp_all).collect(),
        thresholds,
    }
}

/// The precision–recall curve (`precision_recall_curve`): recall on `x`,
/// precision on `y`, one point per distinct score from the highest down,
/// ending at (recall 0, precision 1) as scikit-learn's does.
pub fn precision_recall_curve(y_true: &[u8], y_score: &[f64]) -> Result<Curve> {
    Ok(pr_curve_from(&pr_counts("precision_recall_curve", y_true, y_score)?))
}

/// The precision–recall curve from the threshold table; needs a positive.
pub(crate) fn pr_curve_from(c: &ThresholdCounts) -> Curve {
    let positives = c.tps[c.tps.len() - 1] as f64;
    let mut curve = Curve { x: vec![0.0], y: vec![1.0], thresholds: vec![f64::INFINITY] };
    for i in 0..c.tps.len() {
        curve.x.push(c.tps[i] as f64 / positives);
        curve.y.push(c.tps[i] as f64 / (c.tps[i] + c.fps[i]) as f64);
        curve.thresholds.push(c.thresholds[i]);
    }
    curve
}

/// Precision–recall needs at least one positive (all positives is fine).
fn pr_counts(what: &'static str, y_true: &[u8], y_score: &[f64]) -> Result<ThresholdCounts> {
    check_pair(what, y_true, y_score.len())?;
    check_finite(what, y_score)?;
    if !y_true.contains(&1) {
        return Err(Error::SingleClass { what });
    }
    Ok(threshold_counts(y_true, y_score))
}

/// Average precision, the PR AUC (`average_precision_score`):
/// `Σ (R_i − R_{i−1}) · P_i` over the distinct thresholds, a step-wise area
/// with no interpolation. Needs at least one positive in `y_true`.
pub fn average_precision(y_true: &[u8], y_score: &[f64]) -> Result<f64> {
    Ok(average_precision_from(&pr_counts("average_precision", y_true, y_score)?))
}

/// Average precision from the threshold table; needs a positive.
pub(crate) fn average_precision_from(c: &ThresholdCounts) -> f64 {
    let positives = c.tps[c.tps.len() - 1] as f64;
    let mut previous_recall = 0.0;
    let mut area = 0.0;
    for (&tp, &fp) in c.tps.iter().zip(&c.fps) {
        let recall = tp as f64 / positives;
        area += (recall - previous_recall) * (tp as f64 / (tp + fp) as f64);
        previous_recall = recall;
    }
    area
}

/// The threshold that maximizes F1, and what it achieves there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestThreshold {
    /// Predict positive where `score >= threshold`.
    pub threshold: f64,
    /// F1 at that threshold.
    pub f1: f64,
    /// Precision at that threshold.
    pub precision: f64,
    /// Recall at that threshold.
    pub recall: f64,
}

/// The score threshold with the highest F1, among the distinct scores (the
/// thresholds of `precision_recall_curve`). On a tie the lowest threshold
/// wins, as `np.argmax` over scikit-learn's ascending thresholds picks it.
pub fn best_f1_threshold(y_true: &[u8], y_score: &[f64]) -> Result<BestThreshold> {
    let c = pr_counts("best_f1_threshold", y_true, y_score)?;
    best_f1_from(&c).ok_or(Error::Empty { what: "best_f1_threshold" })
}

/// The best F1 threshold from the threshold table; `None` without positives.
pub(crate) fn best_f1_from(c: &ThresholdCounts) -> Option<BestThreshold> {
    if c.positives() == 0 {
        return None;
    }
    let positives = c.tps[c.tps.len() - 1];
    let mut best: Option<BestThreshold> = None;
    for i in 0..c.tps.len() {
        let (tp, fp) = (c.tps[i], c.fps[i]);
        let f1 = (2 * tp) as f64 / (tp + fp + positives) as f64;
        if best.is_none_or(|b| f1 >= b.f1) {
            best = Some(BestThreshold {
                threshold: c.thresholds[i],
                f1,
                precision: tp as f64 / (tp + fp) as f64,
                recall: tp as f64 / positives as f64,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_curve_matches_scikit_learn_docstring() {
        // roc_curve([1, 1, 2, 2] as 0/1, [0.1, 0.4, 0.35, 0.8])
        let c = roc_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert_eq!(c.x, [0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(c.y, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(c.thresholds[1..], [0.8, 0.4, 0.35, 0.1]);
    }

    #[test]
    fn precision_recall_matches_scikit_learn_docstring() {
        // precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); AP 0.8333…
        let (y, s) = ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]);
        let c = precision_recall_curve(&y, &s).unwrap();
        assert_eq!(c.x, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(c.y[..4], [1.0, 1.0, 0.5, 2.0 / 3.0]);
        assert!((average_precision(&y, &s).unwrap() - 0.8333333333333333).abs() < 1e-15);
        let best = best_f1_threshold(&y, &s).unwrap();
        assert_eq!((best.threshold, best.f1), (0.35, 0.8));
    }

    #[test]
    fn undefined_curves_are_errors() {
        assert_eq!(roc_curve(&[1, 1], &[0.2, 0.3]), Err(Error::SingleClass { what: "roc_curve" }));
        assert_eq!(
            average_precision(&[0, 0], &[0.2, 0.3]),
            Err(Error::SingleClass { what: "average_precision" })
        );
        assert_eq!(average_precision(&[1, 1], &[0.2, 0.3]), Ok(1.0));
        assert!(matches!(
            best_f1_threshold(&[0, 1], &[f64::NAN, 0.3]),
            Err(Error::InvalidScore { index: 0, .. })
        ));
    }
}
