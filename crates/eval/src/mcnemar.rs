//! McNemar's test: do two classifiers scored on the same rows make errors
//! at different rates? Only the discordant rows count: `b` where A is right
//! and B wrong, `c` where A is wrong and B right.
//!
//! As statsmodels' `mcnemar` computes it: with fewer than
//! [`EXACT_BELOW`] discordant rows, the exact two-sided binomial test
//! (`p = min(1, 2 · P[X ≤ min(b, c)])`, `X ~ Bin(b + c, 1/2)`, statistic
//! `min(b, c)`); otherwise the chi-squared statistic with continuity
//! correction `(|b − c| − 1)² / (b + c)` on one degree of freedom.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Discordant counts below this use the exact binomial test.
pub const EXACT_BELOW: u64 = 25;

/// The outcome of McNemar's test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Rows where A is right and B wrong.
    pub a_only_right: u64,
    /// Rows where A is wrong and B right.
    pub b_only_right: u64,
    /// Whether the exact binomial test was used.
    pub exact: bool,
    /// `min(b, c)` (exact) or the corrected chi-squared statistic.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// McNemar's test from the two discordant counts.
pub fn mcnemar_from_counts(b: u64, c: u64) -> McNemar {
    let n = b + c;
    let (exact, statistic, p_value) = if n < EXACT_BELOW {
        let k = b.min(c);
        // n < 25: every C(n, i) and 2^n is exact in f64.
        let mut coef = 1.0;
        let mut tail = 0.0;
        for i in 0..=k {
            if i > 0 {
                coef = coef * (n - i + 1) as f64 / i as f64;
            }
            tail += coef;
        }
        (true, k as f64, (2.0 * tail / 2f64.powi(n as i32)).min(1.0))
    } else {
        let d = b.abs_diff(c) as f64 - 1.0;
        let stat = d * d / n as f64;
        // Chi-squared with one degree of freedom: P[X > s] = erfc(sqrt(s / 2)).
        (false, stat, libm::erfc((stat / 2.0).sqrt()))
    };
    McNemar { a_only_right: b, b_only_right: c, exact, statistic, p_value }
}

/// McNemar's test of two classifiers' predicted classes against the truth.
pub fn mcnemar(y_true: &[usize], pred_a: &[usize], pred_b: &[usize]) -> Result<McNemar> {
    const WHAT: &str = "mcnemar";
    for got in [pred_a.len(), pred_b.len()] {
        if got != y_true.len() {
            return Err(Error::LengthMismatch { what: WHAT, expected: y_true.len(), got });
        }
    }
    if y_true.is_empty() {
        return Err(Error::Empty { what: WHAT });
    }
    let (mut b, mut c) = (0, 0);
    for ((t, a), p) in y_true.iter().zip(pred_a).zip(pred_b) {
        match (a == t, p == t) {
            (true, false) => b += 1,
            (false, true) => c += 1,
            _ => {}
        }
    }
    Ok(mcnemar_from_counts(b, c))
}
