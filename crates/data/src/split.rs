//! Train/test splits and k-fold cross-validation, as row index vectors.
//!
//! Every random choice draws from `lathe_core::SplitMix64`, so a seed gives
//! the same rows on every platform. The test part has `ceil(test_size · n)`
//! rows, as scikit-learn's `train_test_split`; indices are returned sorted.

use lathe_core::SplitMix64;

use crate::{Error, Result};

/// Row indices of a train/test split (both sorted, disjoint, covering all rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

impl Split {
    fn from_test(n: usize, mut test: Vec<usize>) -> Split {
        test.sort_unstable();
        let mut is_test = vec![false; n];
        for &i in &test {
            is_test[i] = true;
        }
        let train = (0..n).filter(|&i| !is_test[i]).collect();
        Split { train, test }
    }
}

fn test_count(n: usize, test_size: f64) -> Result<usize> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::InvalidArgument(format!(
            "test size {test_size}; expected a share strictly between 0 and 1"
        )));
    }
    let k = (test_size * n as f64).ceil() as usize;
    if k == 0 || k >= n {
        return Err(Error::InvalidArgument(format!(
            "test size {test_size} of {n} rows leaves {k} test and {} training rows; expected at least one of each",
            n.saturating_sub(k)
        )));
    }
    Ok(k)
}

/// Uniformly random rows for test.
pub fn random(n: usize, test_size: f64, seed: u64) -> Result<Split> {
    let k = test_count(n, test_size)?;
    let mut idx: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed).shuffle(&mut idx);
    idx.truncate(k);
    Ok(Split::from_test(n, idx))
}

/// Each class gets its proportional share of test rows, within one row
/// (largest-remainder rounding). `labels` are class indices (as in
/// `lathe_core::Target::values`).
pub fn stratified(labels: &[f64], test_size: f64, seed: u64) -> Result<Split> {
    let n = labels.len();
    let k = test_count(n, test_size)?;
    let by_class = class_members(labels);
    let mut rng = SplitMix64::new(seed);
    // Exact quota n_c·k/n, floored, then the leftover rows to the largest remainders.
    let mut quotas: Vec<(usize, u128)> = by_class
        .iter()
        .map(|m| {
            let exact = m.len() as u128 * k as u128;
            ((exact / n as u128) as usize, exact % n as u128)
        })
        .collect();
    let mut left = k - quotas.iter().map(|q| q.0).sum::<usize>();
    let mut order: Vec<usize> = (0..quotas.len()).collect();
    order.sort_by(|&a, &b| quotas[b].1.cmp(&quotas[a].1).then(a.cmp(&b)));
    for c in order {
        if left == 0 {
            break;
        }
        if quotas[c].1 > 0 {
            quotas[c].0 += 1;
            left -= 1;
        }
    }
    let mut test = Vec::with_capacity(k);
    for (members, (q, _)) in by_class.into_iter().zip(quotas) {
        let mut members = members;
        rng.shuffle(&mut members);
        test.extend_from_slice(&members[..q]);
    }
    Ok(Split::from_test(n, test))
}

/// Whole groups go to test (in random order) until it holds at least
/// `ceil(test_size · n)` rows; no group is on both sides.
pub fn group<G: Ord + Clone>(groups: &[G], test_size: f64, seed: u64) -> Result<Split> {
    let n = groups.len();
    let k = test_count(n, test_size)?;
    let mut keys: Vec<G> = groups.to_vec();
    keys.sort();
    keys.dedup();
    if keys.len() < 2 {
        return Err(Error::InvalidArgument(format!(
            "group split needs at least two groups; found {}",
            keys.len()
        )));
    }
    SplitMix64::new(seed).shuffle(&mut keys);
    let mut members: std::collections::BTreeMap<&G, Vec<usize>> = Default::default();
    for (i, g) in groups.iter().enumerate() {
        members.entry(g).or_default().push(i);
    }
    let mut test = Vec::new();
    // The last group always stays in training so both sides are non-empty.
    for g in &keys[..keys.len() - 1] {
        if test.len() >= k {
            break;
        }
        test.extend(members.get(g).map_or(&[][..], Vec::as_slice));
    }
    Ok(Split::from_test(n, test))
}

/// The latest `ceil(test_size · n)` rows by `keys` are test; ties keep
/// file order. Keys are numbers or ISO 8601 strings (which sort in time order).
pub fn time<K: PartialOrd>(keys: &[K], test_size: f64) -> Result<Split> {
    let n = keys.len();
    let k = test_count(n, test_size)?;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| keys[a].partial_cmp(&keys[b]).unwrap_or(std::cmp::Ordering::Equal));
    Ok(Split::from_test(n, idx[n - k..].to_vec()))
}

/// `k` folds of shuffled rows; fold sizes differ by at most one.
pub fn k_fold(n: usize, k: usize, seed: u64) -> Result<Vec<Split>> {
    check_folds(n, k)?;
    let mut idx: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed).shuffle(&mut idx);
    Ok(deal(n, k, &idx))
}

/// `k` folds where each class is spread evenly: per fold, each class count
/// differs by at most one from the others.
pub fn stratified_k_fold(labels: &[f64], k: usize, seed: u64) -> Result<Vec<Split>> {
    let n = labels.len();
    check_folds(n, k)?;
    let mut rng = SplitMix64::new(seed);
    let mut order = Vec::with_capacity(n);
    for mut members in class_members(labels) {
        rng.shuffle(&mut members);
        order.extend(members);
    }
    Ok(deal(n, k, &order))
}

/// `k` folds for `target`: stratified for classifiers, plain for regression.
pub fn folds(target: &lathe_core::Target, k: usize, seed: u64) -> Result<Vec<Split>> {
    if target.kind == lathe_core::TaskKind::Regression {
        k_fold(target.values.len(), k, seed)
    } else {
        stratified_k_fold(&target.values, k, seed)
    }
}

fn check_folds(n: usize, k: usize) -> Result<()> {
    if k < 2 || k > n {
        return Err(Error::InvalidArgument(format!(
            "{k} folds of {n} rows; expected between 2 and the number of rows"
        )));
    }
    Ok(())
}

/// Row `order[j]` goes to fold `j mod k`: round-robin keeps sizes (and,
/// over class-grouped order, class counts) within one.
fn deal(n: usize, k: usize, order: &[usize]) -> Vec<Split> {
    (0..k)
        .map(|f| Split::from_test(n, order.iter().skip(f).step_by(k).copied().collect()))
        .collect()
}

fn class_members(labels: &[f64]) -> Vec<Vec<usize>> {
    let mut classes: Vec<f64> = labels.to_vec();
    classes.sort_by(f64::total_cmp);
    classes.dedup();
    let mut members = vec![Vec::new(); classes.len()];
    for (i, l) in labels.iter().enumerate() {
        if let Ok(c) = classes.binary_search_by(|x| x.total_cmp(l)) {
            members[c].push(i);
        }
    }
    members
}

/// The rows of `frame` at `indices`, in that order.
pub fn take_rows(
    frame: &polars::prelude::DataFrame,
    indices: &[usize],
) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::{IdxCa, IdxSize};
    let idx: Vec<IdxSize> = indices.iter().map(|&i| i as IdxSize).collect();
    frame
        .take(&IdxCa::from_vec("rows".into(), idx))
        .map_err(|e| Error::InvalidArgument(format!("row selection: {e}")))
}

#[cfg(test)]
mod tests;
