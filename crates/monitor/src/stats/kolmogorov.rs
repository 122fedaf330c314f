//! The survival function of the one-sample two-sided Kolmogorov–Smirnov
//! statistic, P(Dₙ ≥ x): what `scipy.stats.kstwo.sf` returns and what
//! `ks_2samp` uses for its asymptotic p-value.
//!
//! The choice of algorithm by (n, x) is Simard & L'Ecuyer's (2011), as in
//! SciPy's `_ksstats.py`: Ruben–Gambino closed forms at the ends, Durbin's
//! matrix (Marsaglia–Tsang–Wang) or Pomeranz's recursion for small n·x²,
//! the Pelz–Good expansion for large n, and twice the one-sided Smirnov
//! tail (Birnbaum–Tingey sum) where the two-sided tail is twice the one-sided.

use super::special::ldexp;

const SCALE_EXP: i64 = 128;
const SQRT_2PI: f64 = 2.506_628_274_631_000_5;
const LN_2PI: f64 = 1.837_877_066_409_345_5;
const PI2: f64 = std::f64::consts::PI * std::f64::consts::PI;
/// exp() of anything below this is 0 in f64 (Cephes' MINLOG).
const MIN_LOG: f64 = -745.133_219_101_941_2;

fn scale() -> f64 {
    2f64.powi(SCALE_EXP as i32)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// P(Dₙ ≥ x) for the two-sided one-sample statistic.
pub(crate) fn kolmogn_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).map(|i| i as f64 * (1.0 / nf) * (2.0 * t - 1.0)).product::<f64>()
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nx2 = t * x;
    if n <= 140 {
        if nx2 <= 0.754693 {
            return clip(1.0 - durbin_cdf(n, x));
        }
        if nx2 <= 4.0 {
            return clip(1.0 - pomeranz_cdf(n, x));
        }
        return clip(2.0 * smirnov_sf(n, x));
    }
    if nx2 >= 370.0 {
        return 0.0;
    }
    if nx2 >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    clip(1.0 - cdf)
}

/// log(n!/nⁿ) by Stirling's series with n·log n taken out first.
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // B_{2j}/(2j)/(2j-1) for j = 8..1, highest power first.
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_6e-3,
        8.417_508_417_508_417e-4,
        -5.952_380_952_380_952e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let rn = 1.0 / n;
    let y = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * y + c);
    n.ln() / 2.0 - n + LN_2PI / 2.0 + rn * poly
}

/// P(Dₙ ≤ d) by Durbin's matrix method (Marsaglia, Tsang & Wang 2003):
/// the k-th diagonal entry of Hⁿ·n!/nⁿ with H of size 2k−1, k = ⌈nd⌉,
/// powers taken by squaring with exponents kept apart to avoid overflow.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;

    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }

    let mut pwr = vec![0.0; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let (mut nn, mut expnt, mut h_expnt) = (n, 0i64, 0i64);
    let big = scale();
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm, m);
        h_expnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > big {
            for x in &mut hm {
                *x /= big;
            }
            h_expnt += SCALE_EXP;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < 1.0 / big {
            p *= big;
            expnt -= SCALE_EXP;
        }
    }
    clip(ldexp(p, expnt))
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for l in 0..m {
            let x = a[i * m + l];
            if x == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += x * b[l * m + j];
            }
        }
    }
    out
}

/// Column range [j1, j2] of row i in Pomeranz's recursion.
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (half, odd) = ((i + 1) / 2, (i + 1) % 2);
        if odd == 0 {
            if half == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// P(Dₙ ≤ x) by Pomeranz's recursion (1974): 2n+1 rows, each the previous
/// row convolved with one of three truncated Poisson weight vectors.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let n = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = usize::try_from(2 * (ll + 1)).unwrap_or(0);
    let mut gpower = vec![1.0; npwrs];
    let mut twogpower = vec![1.0; npwrs];
    let mut onem2gpower = vec![1.0; npwrs];
    let (a, b, c) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * a / m as f64;
        twogpower[m] = twogpower[m - 1] * b / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * c / m as f64;
    }
    let big = scale();
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    if let Some(first) = v1.first_mut() {
        *first = 1.0;
    }
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut expnt = 0i64;
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|x| *x = 0.0);
        let (nj1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let start = k1 - v0s;
            let seg: Vec<f64> = (0..ln2)
                .map(|q| at(&v0, start + q))
                .take_while(Option::is_some)
                .flatten()
                .collect();
            let w: Vec<f64> = pwrs.iter().take(ln2 as usize).copied().collect();
            let conv = convolve(&seg, &w);
            let conv_start = j1 - k1;
            let conv_len = j2 - j1 + 1;
            for q in 0..conv_len.max(0) {
                if let (Some(dst), Some(src)) = (v1.get_mut(q as usize), at(&conv, conv_start + q))
                {
                    *dst = src;
                }
            }
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if max > 0.0 && max < 1.0 / big {
                v1.iter_mut().for_each(|x| *x *= big);
                expnt -= SCALE_EXP;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = at(&v1, n - v1s).unwrap_or(0.0);
    for m in 1..=n {
        if ans.abs() > big {
            ans /= big;
            expnt += SCALE_EXP;
        }
        ans *= m as f64;
    }
    clip(ldexp(ans, expnt))
}

fn at(v: &[f64], i: i64) -> Option<f64> {
    usize::try_from(i).ok().and_then(|i| v.get(i).copied())
}

/// Full discrete convolution, as `numpy.convolve(a, b)`.
fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            out[i + j] += x * y;
        }
    }
    out
}

/// P(Dₙ ≤ x) by the Pelz–Good (1976) expansion in powers of 1/√n, each term
/// rewritten with Jacobi theta identities so that it converges for small z = x√n.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -PI2 / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let pi4 = PI2 * PI2;
    let pi6 = pi4 * PI2;
    let (k1a, k1b) = (-z2, PI2 / 4.0);
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * PI2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = PI2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);

    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / std::f64::consts::PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs =
            [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
        for (kv, c) in k.iter_mut().zip(coeffs) {
            *kv = *kv * qpower + c;
        }
    }
    let den = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (kv, d) in k.iter_mut().zip(den) {
        *kv = *kv * q * SQRT_2PI / d;
    }
    let q2 = (-PI2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let ks2 = (kk * kk) as f64;
        let qp = q2.powf(ks2);
        let kspi = std::f64::consts::PI * kk as f64;
        k2extra += ks2 * qp;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * PI2 * SQRT_2PI / (-36.0 * z3);
    k[3] += k3extra * PI2 * SQRT_2PI / (216.0 * z6);
    k.iter().enumerate().map(|(i, kv)| kv / nf.powf(i as f64 / 2.0)).sum()
}

/// P(Dₙ⁺ ≥ x), the one-sided Smirnov tail, by the Birnbaum–Tingey sum
/// x·Σ_{v=0}^{⌊n(1−x)⌋} C(n,v)(x+v/n)^(v−1)(1−x−v/n)^(n−v), whose terms are
/// all positive; each is formed as a logarithm and the sum taken with a
/// running maximum, so nothing overflows.
pub(crate) fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let nx = nf * x;
    let nxfl = nx.floor();
    if nxfl == 0.0 || (nxfl == 1.0 && nx == nxfl) {
        return 1.0 - x * (1.0 + x).powf(nf - 1.0);
    }
    if -2.0 * nf * x * x < MIN_LOG {
        return 0.0;
    }
    if nxfl >= nf - 1.0 {
        return (1.0 - x).powf(nf);
    }
    if n > 1_000_000 {
        // SciPy's approximation for very large n: e^(-(6nx+1)^2 / 18n).
        return (-(6.0 * nx + 1.0).powi(2) / 18.0 / nf).exp();
    }
    let last = ((nf * (1.0 - x)).floor() as u64).min(n);
    let mut log_binom = 0.0f64;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0f64;
    for v in 0..=last {
        if v > 0 {
            log_binom += ((n - v + 1) as f64).ln() - (v as f64).ln();
        }
        let vf = v as f64;
        let tail = (nf - vf) / nf - x;
        if tail <= 0.0 {
            continue;
        }
        let lt = log_binom + (vf - 1.0) * (x + vf / nf).ln() + (nf - vf) * tail.ln();
        if lt > max {
            sum = sum * (max - lt).exp() + 1.0;
            max = lt;
        } else {
            sum += (lt - max).exp();
        }
    }
    if sum == 0.0 {
        return 0.0;
    }
    (x.ln() + max + sum.ln()).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smirnov_small_cases_match_closed_forms() {
        // n = 2: P(D+ >= x) = 1 - x(1+x) for x <= 1/2 ... and (1-x)^2 for x >= 1/2.
        assert!((smirnov_sf(2, 0.3) - (1.0 - 0.3 * 1.3)).abs() < 1e-15);
        assert!((smirnov_sf(2, 0.7) - 0.09).abs() < 1e-15);
    }

    #[test]
    fn the_two_sided_tail_is_monotone() {
        let mut last = 1.0;
        for i in 1..100 {
            let p = kolmogn_sf(300, i as f64 / 200.0);
            assert!(p <= last + 1e-12, "x={} p={p} last={last}", i as f64 / 200.0);
            last = p;
        }
    }
}
