//! Categorical (and boolean) columns: one-hot with a frequency cap and an
//! `unknown` bucket, or ordinal codes.
//!
//! The cap follows scikit-learn's `OneHotEncoder(max_categories=k,
//! handle_unknown="infrequent_if_exist")`: when a column has more than `k`
//! labels, the `k - 1` most frequent keep their own feature (ties keep the
//! lexicographically later label, as sklearn's stable sort does) and the
//! rest share the bucket. Unlike sklearn the bucket always exists, and
//! labels never seen in training land in it too (and are counted). Missing
//! is a label of its own, sorted after all others.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A fitted one-hot encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OneHotStep {
    /// Labels with their own feature, sorted.
    pub categories: Vec<String>,
    /// Whether missing has its own feature (after `categories`).
    pub missing: bool,
    /// Labels seen in training that share the bucket, sorted.
    pub infrequent: Vec<String>,
    /// Whether missing was seen in training but shares the bucket.
    pub missing_infrequent: bool,
}

impl OneHotStep {
    /// Fits on the training labels with how many rows hold each (a label
    /// may come more than once; its counts add up).
    pub fn fit<'a>(
        labels: impl IntoIterator<Item = (Option<&'a str>, usize)>,
        max_categories: usize,
    ) -> OneHotStep {
        let mut counts: HashMap<Option<&str>, usize> = HashMap::new();
        for (l, n) in labels {
            *counts.entry(l).or_default() += n;
        }
        // Sorted labels, missing last (sklearn's order), then a stable
        // sort by count ascending: the first ones are the infrequent.
        let mut order: Vec<(Option<&str>, usize)> = counts.into_iter().collect();
        order.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.cmp(y),
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let n_infrequent = if order.len() > max_categories.max(1) {
            order.len() - (max_categories.max(2) - 1)
        } else {
            0
        };
        let mut by_count = order.clone();
        by_count.sort_by_key(|e| e.1);
        let rare: Vec<Option<&str>> = by_count[..n_infrequent].iter().map(|e| e.0).collect();
        let mut step = OneHotStep {
            categories: Vec::new(),
            missing: false,
            infrequent: Vec::new(),
            missing_infrequent: false,
        };
        for (label, _) in order {
            let is_rare = rare.contains(&label);
            match (label, is_rare) {
                (Some(l), false) => step.categories.push(l.to_string()),
                (Some(l), true) => step.infrequent.push(l.to_string()),
                (None, false) => step.missing = true,
                (None, true) => step.missing_infrequent = true,
            }
        }
        step
    }

    pub fn width(&self) -> usize {
        self.categories.len() + usize::from(self.missing) + 1
    }

    pub fn feature_names(&self, column: &str) -> Vec<String> {
        let mut names: Vec<String> =
            self.categories.iter().map(|c| format!("{column}={c}")).collect();
        if self.missing {
            names.push(format!("{column}=<missing>"));
        }
        names.push(format!("{column}__unknown"));
        names
    }

    /// Writes the one-hot features; returns whether the label was unseen in training.
    pub fn apply(&self, label: Option<&str>, out: &mut [f64]) -> bool {
        out.iter_mut().for_each(|v| *v = 0.0);
        let bucket = self.width() - 1;
        match label {
            Some(l) => match self.categories.binary_search_by(|c| c.as_str().cmp(l)) {
                Ok(i) => {
                    out[i] = 1.0;
                    false
                }
                Err(_) => {
                    out[bucket] = 1.0;
                    self.infrequent.binary_search_by(|c| c.as_str().cmp(l)).is_err()
                }
            },
            None if self.missing => {
                out[self.categories.len()] = 1.0;
                false
            }
            None => {
                out[bucket] = 1.0;
                !self.missing_infrequent
            }
        }
    }
}

/// A fitted ordinal encoding: the label's rank among the sorted training
/// labels (missing ranks last when seen); unseen labels get `-1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OrdinalStep {
    pub categories: Vec<String>,
    pub missing: bool,
}

impl OrdinalStep {
    pub fn fit<'a>(labels: impl IntoIterator<Item = Option<&'a str>>) -> OrdinalStep {
        let mut categories = Vec::new();
        let mut missing = false;
        for l in labels {
            match l {
                Some(l) => categories.push(l.to_string()),
                None => missing = true,
            }
        }
        categories.sort();
        categories.dedup();
        OrdinalStep { categories, missing }
    }

    /// Writes the code; returns whether the label was unseen in training.
    pub fn apply(&self, label: Option<&str>, out: &mut [f64]) -> bool {
        let code = match label {
            Some(l) => self.categories.binary_search_by(|c| c.as_str().cmp(l)).ok(),
            None => self.missing.then_some(self.categories.len()),
        };
        out[0] = code.map_or(-1.0, |c| c as f64);
        code.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One label per row; "-" is missing.
    fn labels<'a>(spec: &'a [(&'a str, usize)]) -> impl Iterator<Item = Option<&'a str>> + 'a {
        spec.iter().flat_map(|(l, n)| std::iter::repeat_n((*l != "-").then_some(*l), *n))
    }

    #[test]
    fn cap_keeps_the_most_frequent_and_buckets_the_rest() {
        let l = [("a", 5), ("b", 1), ("c", 1), ("d", 3), ("-", 2)];
        let s = OneHotStep::fit(labels(&l).map(|l| (l, 1)), 3);
        // Two keep their feature (a, d); ties b/c/missing → all rare.
        assert_eq!(s.categories, vec!["a", "d"]);
        assert_eq!((s.missing, s.missing_infrequent), (false, true));
        assert_eq!(s.feature_names("x"), vec!["x=a", "x=d", "x__unknown"]);
        let mut out = [0.0; 3];
        assert!(!s.apply(Some("d"), &mut out));
        assert_eq!(out, [0.0, 1.0, 0.0]);
        assert!(!s.apply(Some("b"), &mut out));
        assert_eq!(out, [0.0, 0.0, 1.0]);
        assert!(s.apply(Some("zzz"), &mut out));
        assert!(!s.apply(None, &mut out));
        let s = OneHotStep::fit(labels(&l).map(|l| (l, 1)), 20);
        // Counted labels fit as the same labels one row at a time.
        assert_eq!(OneHotStep::fit(l.iter().map(|(l, n)| ((*l != "-").then_some(*l), *n)), 20), s);
        assert_eq!((s.categories.len(), s.missing, s.width()), (4, true, 6));
    }

    #[test]
    fn ordinal_codes() {
        let s = OrdinalStep::fit(labels(&[("b", 1), ("a", 2), ("-", 1)]));
        let mut out = [0.0];
        assert!(!s.apply(Some("b"), &mut out));
        assert_eq!(out[0], 1.0);
        assert!(!s.apply(None, &mut out));
        assert_eq!(out[0], 2.0);
        assert!(s.apply(Some("c"), &mut out));
        assert_eq!(out[0], -1.0);
    }
}
