//! Calibration: the Brier score, reliability bins and the expected
//! calibration error (ECE).
//!
//! Bins are the ten equal-width bins of scikit-learn's
//! `calibration_curve(strategy="uniform")`: edges `i · 0.1` as
//! `np.linspace(0, 1, 11)` computes them, and a probability `p` goes to bin
//! `b` = the number of inner edges `< p` (`np.searchsorted(edges[1:-1], p)`),
//! so the bins are `[0, 0.1], (0.1, 0.2], …, (0.9, 1]`.
//!
//! ECE is `Σ_b (n_b / n) · |hit_rate_b − mean_probability_b|` over the
//! non-empty bins. What "probability" and "hit" mean depends on the task:
//! binary uses the positive-class probability and whether the row is
//! positive (the reliability diagram of `calibration_curve`); multiclass
//! uses the top-label confidence (the highest probability of the row) and
//! whether the top label is right (Guo et al., 2017).

use serde::{Deserialize, Serialize};

use super::binary::{check_pair, check_probabilities};
use crate::{Error, Result};

/// Number of equal-width bins of the reliability diagram and the ECE.
pub const CALIBRATION_BINS: usize = 10;

/// Mean squared difference between the positive-class probability and the
/// 0/1 outcome (`brier_score_loss`).
pub fn brier_score(y_true: &[u8], y_prob: &[f64]) -> Result<f64> {
    const WHAT: &str = "brier_score";
    check_pair(WHAT, y_true, y_prob.len())?;
    check_probabilities(WHAT, y_prob)?;
    let total: f64 =
        y_true.iter().zip(y_prob).map(|(&t, &p)| (f64::from(t) - p) * (f64::from(t) - p)).sum();
    Ok(total / y_true.len() as f64)
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of the bin.
    pub low: f64,
    /// Upper edge of the bin.
    pub high: f64,
    /// Rows whose probability falls in the bin.
    pub count: u64,
    /// Mean predicted probability of those rows (`None` when empty).
    pub mean_predicted: Option<f64>,
    /// Share of those rows whose outcome is a hit (`None` when empty).
    pub hit_rate: Option<f64>,
}

/// The reliability diagram and the ECE computed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The ten bins, empty ones included.
    pub bins: Vec<CalibrationBin>,
    /// Expected calibration error over the non-empty bins.
    pub ece: f64,
}

/// The bin of probability `p` in `[0, 1]`: how many inner edges are `< p`.
fn bin_of(p: f64, edges: &[f64]) -> usize {
    edges[1..CALIBRATION_BINS].iter().filter(|&&e| e < p).count()
}

/// Bins probabilities in `[0, 1]` with their 0/1 outcomes (`hit[i]` true when
/// the event the probability predicts happened).
pub fn calibration(prob: &[f64], hit: &[bool]) -> Result<Calibration> {
    const WHAT: &str = "calibration";
    if prob.len() != hit.len() {
        return Err(Error::LengthMismatch { what: WHAT, expected: hit.len(), got: prob.len() });
    }
    if prob.is_empty() {
        return Err(Error::Empty { what: WHAT });
    }
    check_probabilities(WHAT, prob)?;
    let step = 1.0 / CALIBRATION_BINS as f64;
    let mut edges: Vec<f64> = (0..=CALIBRATION_BINS).map(|i| i as f64 * step).collect();
    edges[CALIBRATION_BINS] = 1.0;
    let mut count = [0u64; CALIBRATION_BINS];
    let (mut sum_p, mut sum_hit) = ([0.0; CALIBRATION_BINS], [0.0; CALIBRATION_BINS]);
    for (&p, &h) in prob.iter().zip(hit) {
        let b = bin_of(p, &edges);
        count[b] += 1;
        sum_p[b] += p;
        sum_hit[b] += f64::from(u8::from(h));
    }
    let n = prob.len() as f64;
    let mut ece = 0.0;
    let bins = (0..CALIBRATION_BINS)
        .map(|b| {
            let c = count[b] as f64;
            let (mean_predicted, hit_rate) = if count[b] == 0 {
                (None, None)
            } else {
                ece += c / n * (sum_hit[b] / c - sum_p[b] / c).abs();
                (Some(sum_p[b] / c), Some(sum_hit[b] / c))
            };
            CalibrationBin {
                low: edges[b],
                high: edges[b + 1],
                count: count[b],
                mean_predicted,
                hit_rate,
            }
        })
        .collect();
    Ok(Calibration { bins, ece })
}

/// Calibration of positive-class probabilities against 0/1 labels.
pub fn binary_calibration(y_true: &[u8], y_prob: &[f64]) -> Result<Calibration> {
    check_pair("calibration", y_true, y_prob.len())?;
    let hit: Vec<bool> = y_true.iter().map(|&t| t == 1).collect();
    calibration(y_prob, &hit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_closed_on_the_right_like_calibration_curve() {
        let c =
            calibration(&[0.0, 0.1, 0.15, 0.95, 1.0], &[false, true, false, true, true]).unwrap();
        let counts: Vec<u64> = c.bins.iter().map(|b| b.count).collect();
        assert_eq!(counts, [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(c.bins[2].mean_predicted, None);
        // |0.5 - 0.05| * 2/5 + |0 - 0.15| * 1/5 + |1 - 0.975| * 2/5
        let want = 0.45 * 0.4 + 0.15 * 0.2 + 0.025 * 0.4;
        assert!((c.ece - want).abs() < 1e-15, "{}", c.ece);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(calibration(&[1.2], &[true]), Err(Error::InvalidScore { .. })));
        assert_eq!(calibration(&[], &[]), Err(Error::Empty { what: "calibration" }));
        assert!(matches!(brier_score(&[0, 1], &[0.5]), Err(Error::LengthMismatch { .. })));
    }
}
