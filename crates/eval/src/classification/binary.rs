//! Binary classification at a threshold: labels are 0/1 (`1` is the positive class),
//! probabilities are those of the positive class.
//!
//! Each function follows scikit-learn's definition, including its edge
//! cases: `zero_division=0.0` for precision, recall and F1, probabilities
//! clipped to `[eps, 1 - eps]` in [`log_loss`], and ROC AUC computed from the
//! ROC curve with one point per distinct score, so tied scores count half.

use super::curves::{threshold_counts, ThresholdCounts};
use crate::{Error, Result};

/// The four cells of a binary confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Predicted 1, truly 1.
    pub true_positives: u64,
    /// Predicted 1, truly 0.
    pub false_positives: u64,
    /// Predicted 0, truly 0.
    pub true_negatives: u64,
    /// Predicted 0, truly 1.
    pub false_negatives: u64,
}

impl Confusion {
    /// Number of samples counted.
    pub fn total(&self) -> u64 {
        self.true_positives + self.false_positives + self.true_negatives + self.false_negatives
    }

    /// Share of correct predictions.
    pub fn accuracy(&self) -> f64 {
        ratio(self.true_positives + self.true_negatives, self.total())
    }

    /// `tp / (tp + fp)`; 0 when nothing is predicted positive.
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }

    /// `tp / (tp + fn)`; 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }

    /// Harmonic mean of precision and recall, `2tp / (2tp + fp + fn)`; 0 when undefined.
    pub fn f1(&self) -> f64 {
        let actual = self.true_positives + self.false_negatives;
        let predicted = self.true_positives + self.false_positives;
        ratio(2 * self.true_positives, actual + predicted)
    }
}

/// `num / den` as scikit-learn's `zero_division=0.0` reads it.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Counts the confusion matrix of predicted labels against true labels.
pub fn confusion(y_true: &[u8], y_pred: &[u8]) -> Result<Confusion> {
    const WHAT: &str = "confusion";
    check_pair(WHAT, y_true, y_pred.len())?;
    check_labels(WHAT, y_pred)?;
    let mut c = Confusion::default();
    for (&t, &p) in y_true.iter().zip(y_pred) {
        match (t, p) {
            (1, 1) => c.true_positives += 1,
            (0, 1) => c.false_positives += 1,
            (0, _) => c.true_negatives += 1,
            _ => c.false_negatives += 1,
        }
    }
    Ok(c)
}

/// Share of predicted labels equal to the true ones (`accuracy_score`).
pub fn accuracy(y_true: &[u8], y_pred: &[u8]) -> Result<f64> {
    Ok(confusion(y_true, y_pred)?.accuracy())
}

/// Precision of the positive class (`precision_score`, `zero_division=0.0`).
pub fn precision(y_true: &[u8], y_pred: &[u8]) -> Result<f64> {
    Ok(confusion(y_true, y_pred)?.precision())
}

/// Recall of the positive class (`recall_score`, `zero_division=0.0`).
pub fn recall(y_true: &[u8], y_pred: &[u8]) -> Result<f64> {
    Ok(confusion(y_true, y_pred)?.recall())
}

/// F1 of the positive class (`f1_score`, `zero_division=0.0`).
pub fn f1(y_true: &[u8], y_pred: &[u8]) -> Result<f64> {
    Ok(confusion(y_true, y_pred)?.f1())
}

/// Mean cross-entropy of positive-class probabilities (`log_loss` with
/// `labels=[0, 1]`).
///
/// As scikit-learn does, each class probability (`p` and `1 - p`) is clipped to
/// `[f64::EPSILON, 1 - f64::EPSILON]` before the logarithm, so a confident
/// mistake costs about 36.04 instead of infinity. Probabilities outside
/// `[0, 1]` are an error.
pub fn log_loss(y_true: &[u8], y_prob: &[f64]) -> Result<f64> {
    const WHAT: &str = "log_loss";
    check_pair(WHAT, y_true, y_prob.len())?;
    check_probabilities(WHAT, y_prob)?;
    let clip = |p: f64| p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
    let total: f64 = y_true
        .iter()
        .zip(y_prob)
        .map(|(&t, &p)| if t == 1 { -clip(p).ln() } else { -clip(1.0 - p).ln() })
        .sum();
    Ok(total / y_true.len() as f64)
}

/// Area under the ROC curve of scores for the positive class (`roc_auc_score`).
///
/// The curve has one point per distinct score (samples with tied scores move
/// together, so a tie between a positive and a negative counts one half),
/// collinear points are dropped as `roc_curve(drop_intermediate=True)` does,
/// and the area is the trapezoidal sum. Scores may be any finite numbers.
/// With only one class in `y_true` the curve is undefined: scikit-learn
/// warns and returns NaN, this returns [`Error::SingleClass`].
pub fn roc_auc(y_true: &[u8], y_score: &[f64]) -> Result<f64> {
    const WHAT: &str = "roc_auc";
    check_pair(WHAT, y_true, y_score.len())?;
    check_finite(WHAT, y_score)?;
    let positives = y_true.iter().filter(|&&t| t == 1).count();
    if positives == 0 || positives == y_true.len() {
        return Err(Error::SingleClass { what: WHAT });
    }
    Ok(roc_auc_from(&threshold_counts(y_true, y_score)))
}

/// ROC AUC from the threshold table; both classes must be present.
pub(crate) fn roc_auc_from(counts: &ThresholdCounts) -> f64 {
    let (fps, tps) = roc_points_from(counts);
    let (fp_all, tp_all) = (fps[fps.len() - 1] as f64, tps[tps.len() - 1] as f64);
    fps.windows(2)
        .zip(tps.windows(2))
        .map(|(f, t)| {
            let dx = f[1] as f64 / fp_all - f[0] as f64 / fp_all;
            dx * (t[1] as f64 / tp_all + t[0] as f64 / tp_all) / 2.0
        })
        .sum()
}

/// Cumulative false and true positive counts at each distinct score, from
/// the highest down, after dropping collinear points, starting at (0, 0).
pub(crate) fn roc_points_from(counts: &ThresholdCounts) -> (Vec<i64>, Vec<i64>) {
    let (mut fps, mut tps) = (counts.fps.clone(), counts.tps.clone());
    if fps.len() > 2 {
        let n = fps.len();
        let keep: Vec<usize> = (0..n)
            .filter(|&i| {
                i == 0
                    || i == n - 1
                    || fps[i + 1] - 2 * fps[i] + fps[i - 1] != 0
                    || tps[i + 1] - 2 * tps[i] + tps[i - 1] != 0
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
    }
    fps.insert(0, 0);
    tps.insert(0, 0);
    (fps, tps)
}

/// Labels from positive-class probabilities: 1 where `p >= threshold`.
pub fn predict_labels(y_prob: &[f64], threshold: f64) -> Vec<u8> {
    y_prob.iter().map(|&p| u8::from(p >= threshold)).collect()
}

/// Every binary metric of one set of predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryMetrics {
    /// Counts at the threshold.
    pub confusion: Confusion,
    /// Share correct at the threshold.
    pub accuracy: f64,
    /// Precision at the threshold.
    pub precision: f64,
    /// Recall at the threshold.
    pub recall: f64,
    /// F1 at the threshold.
    pub f1: f64,
    /// Mean cross-entropy of the probabilities.
    pub log_loss: f64,
    /// Area under the ROC curve of the probabilities.
    pub roc_auc: f64,
}

impl BinaryMetrics {
    /// Computes all metrics; labels are `p >= threshold`.
    pub fn compute(y_true: &[u8], y_prob: &[f64], threshold: f64) -> Result<BinaryMetrics> {
        let y_pred = predict_labels(y_prob, threshold);
        let confusion = confusion(y_true, &y_pred)?;
        Ok(BinaryMetrics {
            accuracy: confusion.accuracy(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            log_loss: log_loss(y_true, y_prob)?,
            roc_auc: roc_auc(y_true, y_prob)?,
            confusion,
        })
    }

    /// `(name, value)` pairs, names as MLflow's evaluator logs them.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("accuracy", self.accuracy),
            ("precision", self.precision),
            ("recall", self.recall),
            ("f1", self.f1),
            ("log_loss", self.log_loss),
            ("roc_auc", self.roc_auc),
        ]
    }
}

pub(crate) fn check_pair(what: &'static str, y_true: &[u8], got: usize) -> Result<()> {
    if y_true.len() != got {
        return Err(Error::LengthMismatch { what, expected: y_true.len(), got });
    }
    if y_true.is_empty() {
        return Err(Error::Empty { what });
    }
    check_labels(what, y_true)
}

pub(crate) fn check_labels(what: &'static str, labels: &[u8]) -> Result<()> {
    match labels.iter().enumerate().find(|(_, &l)| l > 1) {
        Some((index, &value)) => Err(Error::InvalidLabel { what, index, value }),
        None => Ok(()),
    }
}

pub(crate) fn check_finite(what: &'static str, y_score: &[f64]) -> Result<()> {
    match y_score.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        Some((index, &value)) => {
            Err(Error::InvalidScore { what, index, value, expected: "finite" })
        }
        None => Ok(()),
    }
}

pub(crate) fn check_probabilities(what: &'static str, y_prob: &[f64]) -> Result<()> {
    match y_prob.iter().enumerate().find(|(_, p)| !(0.0..=1.0).contains(*p)) {
        Some((index, &value)) => {
            Err(Error::InvalidScore { what, index, value, expected: "a probability in [0, 1]" })
        }
        None => Ok(()),
    }
}
