//! Turning two columns into paired counts: one pair per distinct value (the
//! union of both columns' values, sorted), or per Sturges histogram bin.
//! This is Evidently's `get_binned_data`, which `jensenshannon` and `psi` use,
//! and the value counts behind `chisquare` and `z`.

use crate::{CategoricalColumn, Column, NumericColumn};

/// (reference, current) counts per distinct value over the union of both
/// columns' values, in ascending order (numbers by value, categories by code point).
pub(crate) fn level_counts(reference: &Column, current: &Column) -> Vec<(u64, u64)> {
    match (reference, current) {
        (Column::Numerical(r), Column::Numerical(c)) => numeric_levels(r, c),
        (Column::Categorical(r), Column::Categorical(c)) => categorical_levels(r, c),
        // Kinds are checked before any test runs; mixed kinds have no levels.
        _ => Vec::new(),
    }
}

fn numeric_levels(r: &NumericColumn, c: &NumericColumn) -> Vec<(u64, u64)> {
    let (a, b) = (r.value_counts(), c.value_counts());
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&(x, n)), Some(&(y, m))) if x == y => {
                out.push((n, m));
                i += 1;
                j += 1;
            }
            (Some(&(x, n)), Some(&(y, _))) if x < y => {
                out.push((n, 0));
                i += 1;
            }
            (Some(_), Some(&(_, m))) | (None, Some(&(_, m))) => {
                out.push((0, m));
                j += 1;
            }
            (Some(&(_, n)), None) => {
                out.push((n, 0));
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

fn categorical_levels(r: &CategoricalColumn, c: &CategoricalColumn) -> Vec<(u64, u64)> {
    let mut keys: Vec<&String> = r.counts().keys().chain(c.counts().keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .map(|k| (r.counts().get(k).copied().unwrap_or(0), c.counts().get(k).copied().unwrap_or(0)))
        .collect()
}

/// Number of distinct values over both columns (pandas'
/// `concat(...).nunique()`), counted up to `cap`: the test choice only asks
/// whether it is above 1, 2 or 5, so a million-value column stops early.
pub(crate) fn union_unique(reference: &Column, current: &Column, cap: usize) -> usize {
    match (reference, current) {
        (Column::Numerical(r), Column::Numerical(c)) => {
            let (a, b) = (r.sorted(), c.sorted());
            let (mut i, mut j, mut n) = (0, 0, 0);
            while n < cap {
                let v = match (a.get(i), b.get(j)) {
                    (Some(&x), Some(&y)) => x.min(y),
                    (Some(&x), None) => x,
                    (None, Some(&y)) => y,
                    (None, None) => break,
                };
                n += 1;
                i += a[i..].partition_point(|&x| x <= v);
                j += b[j..].partition_point(|&y| y <= v);
            }
            n
        }
        _ => level_counts(reference, current).len().min(cap),
    }
}

/// Counts per bin of `numpy.histogram(x, numpy.histogram_bin_edges(ref + cur, "sturges"))`
/// for both samples (sorted). Bins are [e_i, e_{i+1}), the last one closed.
pub(crate) fn sturges_counts(
    reference: &NumericColumn,
    current: &NumericColumn,
) -> Vec<(u64, u64)> {
    let (r, c) = (reference.sorted(), current.sorted());
    let (Some(&r0), Some(&c0), Some(&r1), Some(&c1)) = (r.first(), c.first(), r.last(), c.last())
    else {
        return Vec::new();
    };
    let edges = sturges_edges(r0.min(c0), r1.max(c1), r.len() + c.len(), {
        reference.is_integer() && current.is_integer()
    });
    let rc = histogram(r, &edges);
    let cc = histogram(c, &edges);
    rc.into_iter().zip(cc).collect()
}

/// NumPy's Sturges bin edges for data spanning [min, max] with `size` values:
/// width ptp/(log₂ size + 1) (at least 1 for integer data), ⌈ptp/width⌉
/// equal bins, edges from `linspace` (start + i·step, last edge exactly max);
/// a zero range becomes [min − 0.5, max + 0.5] with one bin.
pub(crate) fn sturges_edges(min: f64, max: f64, size: usize, integer: bool) -> Vec<f64> {
    let ptp = max - min;
    let (first, last) = if min == max { (min - 0.5, max + 0.5) } else { (min, max) };
    let mut width = ptp / ((size as f64).log2() + 1.0);
    let bins = if width > 0.0 {
        if integer && width < 1.0 {
            width = 1.0;
        }
        ((last - first) / width).ceil().max(1.0) as usize
    } else {
        1
    };
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    if let Some(e) = edges.last_mut() {
        *e = last;
    }
    edges
}

/// Counts of a sorted sample per bin, NumPy's rule for explicit edges.
pub(crate) fn histogram(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    let lower = |e: f64| sorted.partition_point(|&x| x < e);
    let upper = |e: f64| sorted.partition_point(|&x| x <= e);
    let bins = edges.len().saturating_sub(1);
    (0..bins)
        .map(|i| {
            let hi = if i + 1 == bins { upper(edges[i + 1]) } else { lower(edges[i + 1]) };
            (hi - lower(edges[i])) as u64
        })
        .collect()
}

/// Evidently's `get_binned_data`: the share of each sample per bin, with
/// Sturges bins for a numerical column with more than 20 distinct reference
/// values and one bin per distinct value otherwise. With `fill_zeroes`
/// (PSI), an empty bin gets the smallest non-zero share / 10⁶ if that share
/// is ≤ 10⁻⁴, else 10⁻⁴, so that the logarithm stays finite.
pub(crate) fn binned_shares(
    reference: &Column,
    current: &Column,
    fill_zeroes: bool,
) -> (Vec<f64>, Vec<f64>) {
    let counts = match (reference, current) {
        (Column::Numerical(r), Column::Numerical(c)) if r.unique() > 20 => sturges_counts(r, c),
        _ => level_counts(reference, current),
    };
    let (nr, nc) = (reference.len() as f64, current.len() as f64);
    let mut rp: Vec<f64> = counts.iter().map(|&(r, _)| r as f64 / nr).collect();
    let mut cp: Vec<f64> = counts.iter().map(|&(_, c)| c as f64 / nc).collect();
    if fill_zeroes {
        fill(&mut rp);
        fill(&mut cp);
    }
    (rp, cp)
}

fn fill(shares: &mut [f64]) {
    let min = shares.iter().copied().filter(|&s| s != 0.0).fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return;
    }
    let value = if min <= 0.0001 { min / 1e6 } else { 0.0001 };
    for s in shares.iter_mut().filter(|s| **s == 0.0) {
        *s = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_edges_follow_numpy() {
        // numpy.histogram_bin_edges([0, 1, 2, 3, 10], "sturges") -> 4 bins of 2.5.
        assert_eq!(sturges_edges(0.0, 10.0, 5, false), vec![0.0, 2.5, 5.0, 7.5, 10.0]);
        // Integer data: width at least 1.
        assert_eq!(sturges_edges(0.0, 3.0, 1000, true), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(sturges_edges(2.0, 2.0, 10, false), vec![1.5, 2.5]);
    }

    #[test]
    fn the_last_bin_is_closed() {
        assert_eq!(histogram(&[0.0, 1.0, 1.0, 2.0], &[0.0, 1.0, 2.0]), vec![1, 3]);
    }
}
