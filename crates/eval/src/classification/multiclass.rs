//! Every classification metric at once, for binary and multiclass targets:
//! true class indices, a row-major `n × k` matrix of class probabilities and
//! the `k` class names.
//!
//! Conventions, all scikit-learn's:
//! - The predicted class is the highest probability (the first on a tie, as
//!   `argmax`); with two classes it is class 1 where `p1 >= 0.5`, as
//!   [`BinaryMetrics`](crate::BinaryMetrics) does.
//! - Precision, recall and F1 use `zero_division=0` and average over all `k`
//!   classes (`labels=range(k)`): macro is the plain mean, weighted weighs
//!   by support, micro pools the counts (and equals accuracy).
//! - Balanced accuracy is the mean recall over the classes present in `y_true`.
//! - ROC AUC: binary, that of `p1`; multiclass, one-vs-rest (`multi_class="ovr"`),
//!   macro and prevalence-weighted. PR AUC is average precision (macro over
//!   classes for multiclass). Both are `None` when a class has no sample in
//!   `y_true`, where scikit-learn raises.
//! - Log loss clips each probability to `[ε, 1 − ε]` (`f64::EPSILON`).
//! - Brier: binary, `brier_score_loss` of `p1`; multiclass, the mean over
//!   classes of the one-vs-rest Brier score, which is scikit-learn's
//!   multiclass `brier_score_loss` (a sum over classes) divided by `k`, so
//!   both kinds stay in `[0, 1]`.
//! - ECE and the reliability bins: see [`calibration`](super::calibration).

use serde::{Deserialize, Serialize};

use super::binary::roc_auc_from;
use super::calibration::{binary_calibration, calibration, Calibration};
use super::curves::{average_precision_from, best_f1_from, threshold_counts, BestThreshold};
use crate::{brier_score, Error, Result};

/// How far a row's probabilities may sum from 1 (models that compute in
/// `f32` are off by about 1e-7).
pub const ROW_SUM_TOLERANCE: f64 = 1e-6;

/// Precision, recall and F1 of one class against the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// `tp / (tp + fp)`, 0 when the class is never predicted.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the class has no sample.
    pub recall: f64,
    /// `2tp / (2tp + fp + fn)`, 0 when undefined.
    pub f1: f64,
    /// Samples of the class in `y_true`.
    pub support: u64,
}

/// The three averages of a per-class metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Averages {
    /// Unweighted mean over classes.
    #[serde(rename = "macro")]
    pub macro_avg: f64,
    /// From the pooled counts of all classes.
    pub micro: f64,
    /// Mean over classes weighted by support.
    pub weighted: f64,
}

/// Every classification metric of one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Class names, in column order.
    pub classes: Vec<String>,
    /// Number of rows.
    pub rows: usize,
    /// Share of rows whose predicted class is right.
    pub accuracy: f64,
    /// Mean recall over the classes present in `y_true`.
    pub balanced_accuracy: f64,
    /// Precision averages.
    pub precision: Averages,
    /// Recall averages.
    pub recall: Averages,
    /// F1 averages.
    pub f1: Averages,
    /// Per-class precision, recall, F1 and support.
    pub per_class: Vec<ClassMetrics>,
    /// ROC AUC (binary) or one-vs-rest macro ROC AUC (multiclass).
    pub roc_auc: Option<f64>,
    /// ROC AUC, one-vs-rest weighted by prevalence (equals `roc_auc` for binary).
    pub roc_auc_weighted: Option<f64>,
    /// Average precision (binary) or its macro mean over classes (multiclass).
    pub pr_auc: Option<f64>,
    /// Mean cross-entropy.
    pub log_loss: f64,
    /// Brier score (multiclass: mean over classes of one-vs-rest).
    pub brier: f64,
    /// Reliability bins and expected calibration error.
    pub calibration: Calibration,
    /// `confusion[t][p]`: rows of true class `t` predicted as class `p`.
    pub confusion: Vec<Vec<u64>>,
    /// Binary only: the threshold on `p1` with the best F1 (None when undefined).
    pub best_f1_threshold: Option<BestThreshold>,
}

/// Checks shapes, labels and probabilities; what every multiclass entry point needs.
pub fn check_classification(
    what: &'static str,
    y_true: &[usize],
    proba: &[f64],
    classes: &[String],
) -> Result<()> {
    let k = classes.len();
    if k < 2 {
        return Err(Error::InvalidConfig {
            what,
            reason: format!("need at least 2 classes, got {k}"),
        });
    }
    if y_true.is_empty() {
        return Err(Error::Empty { what });
    }
    if proba.len() != y_true.len() * k {
        return Err(Error::Shape { what, rows: y_true.len(), classes: k, got: proba.len() });
    }
    if let Some((index, &value)) = y_true.iter().enumerate().find(|(_, &t)| t >= k) {
        return Err(Error::LabelOutOfRange { what, index, value, classes: k });
    }
    for (row, probs) in proba.chunks_exact(k).enumerate() {
        if let Some((c, &value)) = probs.iter().enumerate().find(|(_, p)| !(0.0..=1.0).contains(*p))
        {
            return Err(Error::InvalidProbability { what, row, class: classes[c].clone(), value });
        }
        let sum: f64 = probs.iter().sum();
        if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
            return Err(Error::RowSum { what, row, sum, tolerance: ROW_SUM_TOLERANCE });
        }
    }
    Ok(())
}

/// Predicted class of each row of a checked `n × k` matrix (see the module doc).
pub fn predict_classes(proba: &[f64], k: usize) -> Vec<usize> {
    proba
        .chunks_exact(k)
        .map(|row| {
            if k == 2 {
                usize::from(row[1] >= 0.5)
            } else {
                let mut best = 0;
                for (c, &p) in row.iter().enumerate() {
                    if p > row[best] {
                        best = c;
                    }
                }
                best
            }
        })
        .collect()
}

/// An `n × 2` matrix from positive-class probabilities: rows `[1 − p, p]`.
pub fn binary_proba_matrix(y_prob: &[f64]) -> Vec<f64> {
    y_prob.iter().flat_map(|&p| [1.0 - p, p]).collect()
}

/// Counts `confusion[true][predicted]`.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], k: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; k]; k];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        m[t][p] += 1;
    }
    m
}

/// ROC AUC and average precision of one class against the rest from one
/// sort (`None` where the class or its complement is absent), and the table.
fn areas(y: &[u8], p: &[f64]) -> (Option<f64>, Option<f64>, super::curves::ThresholdCounts) {
    let counts = threshold_counts(y, p);
    let auc = (counts.positives() > 0 && counts.negatives() > 0).then(|| roc_auc_from(&counts));
    let ap = (counts.positives() > 0).then(|| average_precision_from(&counts));
    (auc, ap, counts)
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl ClassificationMetrics {
    /// Computes every metric; `proba` is row-major `y_true.len() × classes.len()`.
    pub fn compute(
        y_true: &[usize],
        proba: &[f64],
        classes: &[String],
    ) -> Result<ClassificationMetrics> {
        const WHAT: &str = "classification";
        check_classification(WHAT, y_true, proba, classes)?;
        let (n, k) = (y_true.len(), classes.len());
        let y_pred = predict_classes(proba, k);
        let confusion = confusion_matrix(y_true, &y_pred, k);
        let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
        let support: Vec<u64> = confusion.iter().map(|row| row.iter().sum()).collect();
        let predicted: Vec<u64> =
            (0..k).map(|c| confusion.iter().map(|row| row[c]).sum()).collect();
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = confusion[c][c];
                ClassMetrics {
                    class: classes[c].clone(),
                    precision: ratio(tp, predicted[c]),
                    recall: ratio(tp, support[c]),
                    f1: ratio(2 * tp, support[c] + predicted[c]),
                    support: support[c],
                }
            })
            .collect();
        let average = |get: fn(&ClassMetrics) -> f64| Averages {
            macro_avg: per_class.iter().map(get).sum::<f64>() / k as f64,
            micro: ratio(correct, n as u64),
            weighted: per_class.iter().map(|m| get(m) * m.support as f64).sum::<f64>() / n as f64,
        };
        let present: Vec<&ClassMetrics> = per_class.iter().filter(|m| m.support > 0).collect();
        let balanced_accuracy =
            present.iter().map(|m| m.recall).sum::<f64>() / present.len() as f64;
        let clip = |p: f64| p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        let log_loss =
            y_true.iter().enumerate().map(|(i, &t)| -clip(proba[i * k + t]).ln()).sum::<f64>()
                / n as f64;
        let column = |c: usize| -> Vec<f64> { proba.iter().skip(c).step_by(k).copied().collect() };
        let is_class = |c: usize| -> Vec<u8> { y_true.iter().map(|&t| u8::from(t == c)).collect() };
        let (roc_auc, roc_auc_weighted, pr_auc, brier, calibration, best) = if k == 2 {
            let (y, p) = (is_class(1), column(1));
            let (auc, ap, counts) = areas(&y, &p);
            (auc, auc, ap, brier_score(&y, &p)?, binary_calibration(&y, &p)?, best_f1_from(&counts))
        } else {
            let mut aucs = Vec::with_capacity(k);
            let mut aps = Vec::with_capacity(k);
            let mut brier = 0.0;
            for c in 0..k {
                let (y, p) = (is_class(c), column(c));
                let (auc, ap, _) = areas(&y, &p);
                aucs.push(auc);
                aps.push(ap);
                brier += brier_score(&y, &p)? / k as f64;
            }
            let aucs: Option<Vec<f64>> = aucs.into_iter().collect();
            let aps: Option<Vec<f64>> = aps.into_iter().collect();
            let macro_auc = aucs.as_ref().map(|a| a.iter().sum::<f64>() / k as f64);
            let weighted_auc = aucs.as_ref().map(|a| {
                a.iter().zip(&support).map(|(v, &s)| v * s as f64).sum::<f64>() / n as f64
            });
            let conf: Vec<f64> = proba
                .chunks_exact(k)
                .map(|row| row.iter().copied().fold(f64::NEG_INFINITY, f64::max))
                .collect();
            let hit: Vec<bool> = y_true.iter().zip(&y_pred).map(|(t, p)| t == p).collect();
            (
                macro_auc,
                weighted_auc,
                aps.map(|a| a.iter().sum::<f64>() / k as f64),
                brier,
                calibration(&conf, &hit)?,
                None,
            )
        };
        Ok(ClassificationMetrics {
            classes: classes.to_vec(),
            rows: n,
            accuracy: ratio(correct, n as u64),
            balanced_accuracy,
            precision: average(|m| m.precision),
            recall: average(|m| m.recall),
            f1: average(|m| m.f1),
            per_class,
            roc_auc,
            roc_auc_weighted,
            pr_auc,
            log_loss,
            brier,
            calibration,
            confusion,
            best_f1_threshold: best,
        })
    }

    /// The scalar metrics as `(name, value)`, names as logged to a run;
    /// undefined ones (`None`) are left out.
    pub fn named(&self) -> Vec<(&'static str, f64)> {
        let mut out = vec![
            ("accuracy", self.accuracy),
            ("balanced_accuracy", self.balanced_accuracy),
            ("precision_macro", self.precision.macro_avg),
            ("recall_macro", self.recall.macro_avg),
            ("f1_macro", self.f1.macro_avg),
            ("precision_micro", self.precision.micro),
            ("recall_micro", self.recall.micro),
            ("f1_micro", self.f1.micro),
            ("precision_weighted", self.precision.weighted),
            ("recall_weighted", self.recall.weighted),
            ("f1_weighted", self.f1.weighted),
            ("log_loss", self.log_loss),
            ("brier_score", self.brier),
            ("ece", self.calibration.ece),
        ];
        let optional = [
            ("roc_auc", self.roc_auc),
            ("roc_auc_weighted", self.roc_auc_weighted),
            ("pr_auc", self.pr_auc),
            ("best_f1_threshold", self.best_f1_threshold.map(|b| b.threshold)),
            ("best_f1", self.best_f1_threshold.map(|b| b.f1)),
        ];
        out.extend(optional.into_iter().filter_map(|(name, v)| v.map(|v| (name, v))));
        out
    }
}
