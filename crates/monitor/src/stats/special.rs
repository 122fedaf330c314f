//! The two special functions the p-values need, in the form SciPy evaluates
//! them: the chi-squared survival function (`chdtrc`) and the standard normal
//! CDF (`ndtr`, Cephes' branch on |x| < 1/√2).

use statrs::function::gamma;

/// `P(X > x)` for X ~ χ²(df): the regularized upper incomplete gamma
/// function Q(df/2, x/2). `x <= 0` gives 1 and `x = inf` gives 0, as SciPy.
pub(crate) fn chi2_sf(df: f64, x: f64) -> f64 {
    if x.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    gamma::checked_gamma_ur(df / 2.0, x / 2.0).unwrap_or(f64::NAN)
}

/// Φ(a), the standard normal CDF, with Cephes' split: `0.5 + 0.5 erf(x)` near
/// 0, `0.5 erfc(|x|)` (reflected for a > 0) in the tails, where x = a/√2.
/// Keeping SciPy's form matters for the z-test, which computes `1 - Φ(|z|)`.
pub(crate) fn ndtr(a: f64) -> f64 {
    if a.is_nan() {
        return f64::NAN;
    }
    let x = a * std::f64::consts::FRAC_1_SQRT_2;
    let z = x.abs();
    if z < std::f64::consts::FRAC_1_SQRT_2 {
        0.5 + 0.5 * libm::erf(x)
    } else {
        let y = 0.5 * libm::erfc(z);
        if x > 0.0 {
            1.0 - y
        } else {
            y
        }
    }
}

/// `x · 2^e` without overflowing on the way (for the scaled recursions).
pub(crate) fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    // |e| <= 1000 here.
    x * 2f64.powi(e as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_those_of_scipy() {
        assert_eq!(chi2_sf(3.0, 0.0), 1.0);
        assert_eq!(chi2_sf(3.0, f64::INFINITY), 0.0);
        assert_eq!(ndtr(0.0), 0.5);
        assert_eq!(ldexp(1.0, -1074), f64::from_bits(1));
        assert_eq!(ldexp(0.75, 3), 6.0);
    }
}
