//! A seeded, stratified train/test split.

pub use lathe_core::SplitMix64;

use crate::{Dataset, Error, Result};

/// Row indices of the two parts of a split, each in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows held out for evaluation.
    pub test: Vec<usize>,
}

impl Split {
    /// The two parts as datasets.
    pub fn apply(&self, data: &Dataset) -> Result<(Dataset, Dataset)> {
        Ok((data.subset(&self.train)?, data.subset(&self.test)?))
    }
}

/// Splits rows so each class keeps its share in both parts: within each
/// class, `round(n_class * test_fraction)` rows (at least one, and at least
/// one left for training, when the class has two rows or more) go to the
/// test part, chosen by a shuffle seeded with `seed`. Same labels and seed,
/// same split.
pub fn stratified_split(labels: &[u8], test_fraction: f64, seed: u64) -> Result<Split> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::InvalidParameter {
            name: "test_fraction",
            value: test_fraction.to_string(),
            expected: "a number strictly between 0 and 1",
        });
    }
    if labels.is_empty() {
        return Err(Error::Empty { what: "split" });
    }
    let mut rng = SplitMix64::new(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [0u8, 1] {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut rows);
        let n = rows.len();
        let mut n_test = (n as f64 * test_fraction).round() as usize;
        if n >= 2 {
            n_test = n_test.clamp(1, n - 1);
        }
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(Split { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // First outputs for seed 1234567 from the reference C implementation.
        let mut rng = SplitMix64::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [6_457_827_717_110_365_317, 3_203_168_211_198_807_973, 9_817_491_932_198_370_423]
        );
    }

    #[test]
    fn below_stays_in_range_and_shuffle_is_a_permutation() {
        let mut rng = SplitMix64::new(7);
        assert!((0..1000).all(|_| rng.below(3) < 3));
        let mut v: Vec<u32> = (0..50).collect();
        rng.shuffle(&mut v);
        assert_ne!(v, (0..50).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let labels: Vec<u8> = (0..100).map(|i| u8::from(i % 4 == 0)).collect();
        let s = stratified_split(&labels, 0.2, 42).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (80, 20));
        assert_eq!(s.test.iter().filter(|&&i| labels[i] == 1).count(), 5);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(stratified_split(&labels, 0.2, 42).unwrap(), s);
        assert_ne!(stratified_split(&labels, 0.2, 43).unwrap(), s);
        // A tiny class still lands on both sides.
        let s = stratified_split(&[0, 0, 0, 0, 1, 1], 0.1, 1).unwrap();
        assert_eq!(s.test.iter().filter(|&&i| i >= 4).count(), 1);
        assert!(stratified_split(&labels, 1.0, 1).is_err());
        assert!(stratified_split(&labels, f64::NAN, 1).is_err());
    }
}
