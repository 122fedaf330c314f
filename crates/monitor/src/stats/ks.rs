//! Two-sample Kolmogorov–Smirnov test, two-sided, as `scipy.stats.ks_2samp`
//! with `method="auto"` computes it: the exact p-value when both samples have
//! at most 10,000 values, else the asymptotic one from the one-sample
//! two-sided distribution at n = round(n₁n₂/(n₁+n₂)).
//!
//! Exact p-values follow Hodges (1958): for equal sizes the closed form with
//! alternating terms, evaluated Horner-style; otherwise the lattice-path
//! recursion for 1 − P(inside), which stays in [0, 1] (Viehmann 2021).

use super::{kolmogorov, TestResult};

/// Above this many values in either sample, `auto` switches to the asymptotic p-value.
const MAX_EXACT_N: usize = 10_000;

/// KS statistic and p-value of two sorted, non-empty samples.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> TestResult {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return TestResult { statistic: f64::NAN, score: f64::NAN };
    }
    let mut d = statistic(a, b);
    let mut p = None;
    if n1.max(n2) <= MAX_EXACT_N {
        let g = gcd(n1, n2);
        let lcm = (n1 / g) as f64 * n2 as f64;
        let h = (d * lcm).round_ties_even();
        d = h / lcm;
        // lcm <= 10^8 here, so h is an exact small integer.
        let h = h as u64;
        p = if h == 0 {
            Some(1.0)
        } else if n1 == n2 {
            Some(prob_outside_square(n1 as u64, h))
        } else {
            outer_prob_inside(n1 as u64, n2 as u64, g as u64, h)
        }
        .filter(|p| (0.0..=1.0).contains(p));
    }
    let p = p.unwrap_or_else(|| {
        let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
        let en = (m * n / (m + n)).round_ties_even();
        kolmogorov::kolmogn_sf(en as u64, d)
    });
    TestResult { statistic: d, score: p.clamp(0.0, 1.0) }
}

/// max |F₁ − F₂| over the pooled values, with SciPy's tie handling
/// (empirical CDFs evaluated with `searchsorted(side="right")`).
fn statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&x| x <= v) {
            i += 1;
        }
        while b.get(j).is_some_and(|&y| y <= v) {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        max = max.max(diff);
        min = min.min(diff);
    }
    let min_s = (-min).clamp(0.0, 1.0);
    if min_s > max {
        min_s
    } else {
        max
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D ≥ h/n) for two samples of size n: 2·Σ(−1)^(k+1) C(2n, n−kh)/C(2n, n),
/// each ratio formed as a product of h factors and nested as
/// 2·A₀(1 − A₁(1 − A₂(…))) to avoid cancellation.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as i64, h as i64);
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// 1 − (paths from (0,0) to (m,n) staying strictly inside |x/m − y/n| < h/lcm)
/// / C(m+n, n), computed column by column on a sliding window, each entry
/// kept as a proportion. `None` if the window logic ever leaves its buffer
/// (then the caller falls back to the asymptotic p-value, as SciPy does on failure).
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let (mg, ng) = (m / g, n / g);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1);
    let mut a = vec![1.0f64; usize::try_from(len_a).ok()?];
    for x in a.iter_mut().take(usize::try_from(maxj).ok()?) {
        *x = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((((ng * i - h) as f64 / mg as f64).floor() as i64) + 1).max(0).min(n);
        maxj = (((ng * i + h) as f64 / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return Some(1.0);
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let prev = *a.get(usize::try_from(jj + minj - lastminj).ok()?)?;
            val = (prev * i as f64 + val * j as f64) / (i + j) as f64;
            *a.get_mut(usize::try_from(jj).ok()?)? = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = usize::try_from(maxj - minj).ok()?;
            let end = usize::try_from(maxj - minj + (lastlen - curlen)).ok()?.min(a.len());
            for x in a.iter_mut().take(end).skip(start) {
                *x = 1.0;
            }
        }
    }
    a.get(usize::try_from(maxj - minj - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_have_p_one() {
        let a = [1.0, 2.0, 3.0];
        let r = ks_2samp(&a, &a);
        assert_eq!((r.statistic, r.score), (0.0, 1.0));
    }

    #[test]
    fn disjoint_samples_have_d_one() {
        let r = ks_2samp(&[1.0, 2.0], &[3.0, 4.0, 5.0]);
        assert_eq!(r.statistic, 1.0);
        // Exact: only 2 of the C(5,2) = 10 orderings separate the samples completely.
        assert!((r.score - 0.2).abs() < 1e-15, "{}", r.score);
    }
}
