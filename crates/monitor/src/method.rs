//! The drift tests by name: what each one scores, its default threshold and
//! its verdict rule, as Evidently 0.7 defines them
//! (`evidently/legacy/calculations/stattests/*.py`).

use crate::ColumnKind;

/// A drift test. Serialized with Evidently's names (`ks`, `chisquare`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Two-sample Kolmogorov–Smirnov test; score is the p-value.
    Ks,
    /// Evidently's chi-squared goodness of fit of the current counts against
    /// the reference proportions; score is the p-value.
    #[serde(rename = "chisquare")]
    ChiSquare,
    /// Two-proportion z-test (first category vs the rest); score is the p-value.
    Z,
    /// Wasserstein-1 distance divided by the reference standard deviation; score is the distance.
    Wasserstein,
    /// Jensen–Shannon distance (natural log); score is the distance.
    #[serde(rename = "jensenshannon")]
    JensenShannon,
    /// Population stability index; score is the index.
    Psi,
    /// lathe's addition: the chi-squared test of homogeneity of the 2×k table
    /// (reference and current as two samples, no continuity correction);
    /// score is the p-value. Used by the `corrected` mode.
    #[serde(rename = "chisquare_homogeneity")]
    ChiSquareHomogeneity,
}

/// What a test's score is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreKind {
    /// A p-value: small means drift.
    PValue,
    /// A distance: large means drift.
    Distance,
}

impl Method {
    /// Every test, in a fixed order.
    pub const ALL: [Method; 7] = [
        Method::Ks,
        Method::ChiSquare,
        Method::Z,
        Method::Wasserstein,
        Method::JensenShannon,
        Method::Psi,
        Method::ChiSquareHomogeneity,
    ];

    /// The name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ks => "ks",
            Method::ChiSquare => "chisquare",
            Method::Z => "z",
            Method::Wasserstein => "wasserstein",
            Method::JensenShannon => "jensenshannon",
            Method::Psi => "psi",
            Method::ChiSquareHomogeneity => "chisquare_homogeneity",
        }
    }

    /// What the score is.
    pub fn score_kind(self) -> ScoreKind {
        match self {
            Method::Ks | Method::ChiSquare | Method::Z | Method::ChiSquareHomogeneity => {
                ScoreKind::PValue
            }
            Method::Wasserstein | Method::JensenShannon | Method::Psi => ScoreKind::Distance,
        }
    }

    /// Evidently's default threshold: 0.05 for p-values, 0.1 for distances.
    pub fn default_threshold(self) -> f64 {
        match self.score_kind() {
            ScoreKind::PValue => 0.05,
            ScoreKind::Distance => 0.1,
        }
    }

    /// The verdict rule, exactly as Evidently writes it: KS drifts when
    /// `p <= threshold`, chi-squared and z when `p < threshold`, distances
    /// when `distance >= threshold`.
    pub fn drifted(self, score: f64, threshold: f64) -> bool {
        match self {
            Method::Ks => score <= threshold,
            Method::ChiSquare | Method::Z | Method::ChiSquareHomogeneity => score < threshold,
            Method::Wasserstein | Method::JensenShannon | Method::Psi => score >= threshold,
        }
    }

    /// Whether the test can run on a column of this type. KS and Wasserstein
    /// need an order on the values; the others compare frequencies.
    pub fn applies_to(self, kind: ColumnKind) -> bool {
        !matches!((self, kind), (Method::Ks | Method::Wasserstein, ColumnKind::Categorical))
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Method {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| crate::Error::UnknownMethod(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::json!(m.name()));
        }
        assert!("kolmogorov".parse::<Method>().is_err());
    }

    #[test]
    fn verdict_rules_follow_evidently_at_the_boundary() {
        assert!(Method::Ks.drifted(0.05, 0.05));
        assert!(!Method::ChiSquare.drifted(0.05, 0.05));
        assert!(!Method::Z.drifted(0.05, 0.05));
        assert!(Method::Wasserstein.drifted(0.1, 0.1));
        assert!(Method::JensenShannon.drifted(0.1, 0.1));
        assert!(Method::Psi.drifted(0.1, 0.1));
    }
}
