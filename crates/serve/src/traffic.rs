//! Traffic policies between a served model and a challenger version of it:
//! a **canary** answers a share of the requests, a **shadow** scores every
//! request beside the served version and is never returned. Both keep their
//! own per-version counters in `/metrics`, so the two are comparable.
//!
//! Which requests a canary takes is decided from the prediction id (a
//! random UUID): uniform, independent of the client's request pattern, and
//! reproducible for a given id when a prediction is looked up later.

use std::{fmt, str::FromStr, sync::Arc};

use sha2::{Digest, Sha256};

use crate::{watch::Current, LoadedModel};

/// How a challenger takes traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Policy {
    /// Answers this share (0 < share ≤ 1) of the model's requests.
    Canary {
        /// Share of requests, e.g. 0.1 for 10%.
        share: f64,
    },
    /// Scores every request; its answer is counted and logged, never returned.
    Shadow,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::Canary { share } => write!(f, "canary {}%", share * 100.0),
            Policy::Shadow => f.write_str("shadow"),
        }
    }
}

/// A challenger version and its policy.
#[derive(Debug, Clone)]
pub struct Challenger {
    /// The challenger, a version of a served model.
    pub model: LoadedModel,
    /// How it takes traffic.
    pub policy: Policy,
}

/// Who answers one request, and who shadows it.
#[derive(Debug)]
pub(crate) struct Routed {
    pub(crate) answer: Arc<Current>,
    pub(crate) shadow: Option<Arc<Current>>,
}

/// Whether the canary with `share` takes the request with id `id`.
pub(crate) fn takes(share: f64, id: &str) -> bool {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The top 53 bits as a uniform number in [0, 1).
    let u = (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
    u < share
}

/// `--canary URI=PERCENT`: a challenger's model URI and its share.
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySpec {
    /// `models:/NAME@ALIAS` or `models:/NAME/VERSION`.
    pub uri: String,
    /// Share of requests, in (0, 1].
    pub share: f64,
}

impl FromStr for CanarySpec {
    type Err = String;

    fn from_str(s: &str) -> Result<CanarySpec, String> {
        let expected = "expected URI=PERCENT, e.g. models:/churn@challenger=10%";
        let (uri, share) = s.rsplit_once('=').ok_or_else(|| format!("'{s}': {expected}"))?;
        let percent = share.trim().strip_suffix('%').unwrap_or(share.trim());
        let value: f64 =
            percent.parse().map_err(|_| format!("'{share}' is not a percentage; {expected}"))?;
        if !(value > 0.0 && value <= 100.0) {
            return Err(format!("canary share {value}% must be above 0% and at most 100%"));
        }
        if uri.is_empty() {
            return Err(format!("'{s}': no model URI; {expected}"));
        }
        Ok(CanarySpec { uri: uri.to_string(), share: value / 100.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_specs_parse_or_say_what_is_expected() {
        let spec: CanarySpec =
            "models:/churn@challenger=10%".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec, CanarySpec { uri: "models:/churn@challenger".into(), share: 0.1 });
        let spec: CanarySpec = "models:/churn/3=2.5".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(spec.share, 0.025);
        for (bad, want) in [
            ("models:/churn@challenger", "expected URI=PERCENT"),
            ("models:/churn@c=ten%", "not a percentage"),
            ("models:/churn@c=0%", "above 0%"),
            ("models:/churn@c=150%", "at most 100%"),
            ("=5%", "no model URI"),
        ] {
            let err = bad.parse::<CanarySpec>().unwrap_err();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    #[test]
    fn a_canary_takes_its_share_of_random_ids() {
        let n = 20_000;
        let taken = (0..n).filter(|_| takes(0.1, &lathe_core::new_id())).count();
        // 0.1 ± 5 standard deviations (0.0021 each at n = 20,000).
        let share = taken as f64 / f64::from(n);
        assert!((share - 0.1).abs() < 0.0106, "{share}");
        assert!((0..1000).all(|i| takes(1.0, &i.to_string())));
    }
}
