//! Per-column overrides of a window's drift test, for columns the default
//! binned χ² judges badly: a column with so many rows per window that any
//! tiny change is significant is better judged by a distance (PSI or
//! Jensen–Shannon, on the same bins, drift at distance ≥ threshold as in
//! Evidently), and a noisy column by a stricter significance level.
//!
//! A distance has no p-value, so a column judged by one leaves Holm's
//! correction, which covers the columns that still produce p-values; a
//! column with only a threshold of its own stays in the correction and
//! compares its adjusted p-value with that threshold.

use std::collections::BTreeMap;

use crate::stats::{jensen_shannon, psi};

/// A window test a column may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowMethod {
    /// The default: χ² test of homogeneity on the profile's bins.
    BinnedChisquare,
    /// Population stability index of the bin shares (zero shares filled with 0.0001).
    Psi,
    /// Jensen–Shannon distance (natural log) of the bin shares.
    JensenShannon,
}

impl WindowMethod {
    /// The name used in config files and in the stored verdicts.
    pub fn name(self) -> &'static str {
        match self {
            WindowMethod::BinnedChisquare => "binned_chisquare",
            WindowMethod::Psi => "psi",
            WindowMethod::JensenShannon => "jensenshannon",
        }
    }

    /// Parses [`WindowMethod::name`].
    pub fn from_name(name: &str) -> Option<WindowMethod> {
        [WindowMethod::BinnedChisquare, WindowMethod::Psi, WindowMethod::JensenShannon]
            .into_iter()
            .find(|m| m.name() == name)
    }

    /// Whether the method gives a distance (no p-value).
    pub fn is_distance(self) -> bool {
        !matches!(self, WindowMethod::BinnedChisquare)
    }

    /// Evidently's default threshold of a distance (0.1 for both); `None`
    /// for the χ² test, which uses the window's significance level.
    pub fn default_threshold(self) -> Option<f64> {
        self.is_distance().then_some(0.1)
    }
}

/// The test and threshold of one column, where they differ from the window's.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColumnOverride {
    /// The test; the binned χ² when `None`.
    pub method: Option<WindowMethod>,
    /// The threshold; the method's default when `None`.
    pub threshold: Option<f64>,
}

/// How a window is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOptions {
    /// Significance level of the p-value tests, after Holm's correction.
    pub threshold: f64,
    /// Share of drifted features at which the dataset drifts.
    pub drift_share: f64,
    /// Per-feature overrides, by column name.
    pub columns: BTreeMap<String, ColumnOverride>,
}

impl Default for WindowOptions {
    /// Evidently's 0.05 and 0.5, no override.
    fn default() -> WindowOptions {
        WindowOptions { threshold: 0.05, drift_share: 0.5, columns: BTreeMap::new() }
    }
}

/// The distance between the reference and window counts per bin.
pub(crate) fn distance(method: WindowMethod, bins: &[(String, u64, u64)]) -> f64 {
    let (nr, nc) = bins.iter().fold((0u64, 0u64), |(r, c), (_, rb, cb)| (r + rb, c + cb));
    if nr == 0 || nc == 0 {
        return 0.0;
    }
    let shares = |n: u64, total: u64| n as f64 / total as f64;
    let reference: Vec<f64> = bins.iter().map(|(_, r, _)| shares(*r, nr)).collect();
    let current: Vec<f64> = bins.iter().map(|(_, _, c)| shares(*c, nc)).collect();
    match method {
        WindowMethod::Psi => {
            // Evidently's zero filling, so an empty bin does not make PSI infinite.
            let fill = |v: Vec<f64>| -> Vec<f64> {
                v.into_iter().map(|s| if s == 0.0 { 0.0001 } else { s }).collect()
            };
            psi(&fill(reference), &fill(current)).score
        }
        WindowMethod::JensenShannon => jensen_shannon(&reference, &current).score,
        WindowMethod::BinnedChisquare => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(counts: &[(u64, u64)]) -> Vec<(String, u64, u64)> {
        counts.iter().map(|&(r, c)| (String::new(), r, c)).collect()
    }

    #[test]
    fn distances_on_bin_shares() {
        let same = bins(&[(0, 0), (50, 5), (50, 5), (0, 0)]);
        assert_eq!(distance(WindowMethod::Psi, &same), 0.0);
        assert_eq!(distance(WindowMethod::JensenShannon, &same), 0.0);
        // Shares 0.5/0.5 against 0.9/0.1: Σ (r − c)·ln(r/c).
        let moved = bins(&[(50, 9), (50, 1)]);
        let want = (0.5 - 0.9) * (0.5f64 / 0.9).ln() + (0.5 - 0.1) * (0.5f64 / 0.1).ln();
        assert!((distance(WindowMethod::Psi, &moved) - want).abs() < 1e-12);
        let js = distance(WindowMethod::JensenShannon, &moved);
        assert!(js > 0.1 && js < 1.0, "{js}");
        assert_eq!(distance(WindowMethod::Psi, &bins(&[(10, 0)])), 0.0, "no window values");
    }

    #[test]
    fn names_round_trip() {
        for m in [WindowMethod::BinnedChisquare, WindowMethod::Psi, WindowMethod::JensenShannon] {
            assert_eq!(WindowMethod::from_name(m.name()), Some(m));
        }
        assert_eq!(WindowMethod::from_name("ks"), None);
    }
}
