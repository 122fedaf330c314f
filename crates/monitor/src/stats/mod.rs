//! The statistics behind each drift test, one module per test, each a
//! re-implementation of what SciPy computes for Evidently (checked against
//! SciPy's values in `test_data/scipy_reference.json`).

pub(crate) mod binning;
pub mod chisquare;
pub(crate) mod jensen_shannon;
pub(crate) mod kolmogorov;
pub mod ks;
pub(crate) mod psi;
pub(crate) mod special;
pub mod wasserstein;
pub mod ztest;

pub use jensen_shannon::jensen_shannon;
pub use psi::psi;

use crate::{Column, Error, Method, Result};

/// What a test computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    /// The test statistic (KS D, χ², z, or the distance itself).
    pub statistic: f64,
    /// What Evidently reports and compares with the threshold: the p-value or the distance.
    pub score: f64,
}

/// Runs `method` on two non-empty columns of the same type.
pub fn run(
    method: Method,
    column: &str,
    reference: &Column,
    current: &Column,
) -> Result<TestResult> {
    if reference.kind() != current.kind() {
        return Err(Error::KindMismatch {
            column: column.to_string(),
            reference: reference.kind(),
            current: current.kind(),
        });
    }
    if !method.applies_to(reference.kind()) {
        return Err(Error::MethodNotApplicable { column: column.to_string(), method });
    }
    Ok(match (method, reference, current) {
        (Method::Ks, Column::Numerical(r), Column::Numerical(c)) => {
            ks::ks_2samp(r.sorted(), c.sorted())
        }
        (Method::Wasserstein, Column::Numerical(r), Column::Numerical(c)) => {
            wasserstein::wasserstein_normed(r.sorted(), c.sorted())
        }
        (Method::ChiSquare, r, c) => chisquare::goodness_of_fit(&binning::level_counts(r, c)),
        (Method::ChiSquareHomogeneity, r, c) => {
            chisquare::homogeneity(&binning::level_counts(r, c))
        }
        (Method::Z, r, c) => ztest::z_test(&binning::level_counts(r, c)),
        (Method::JensenShannon, r, c) => {
            let (p, q) = binning::binned_shares(r, c, false);
            jensen_shannon(&p, &q)
        }
        (Method::Psi, r, c) => {
            let (p, q) = binning::binned_shares(r, c, true);
            psi(&p, &q)
        }
        // Ks and Wasserstein on categorical columns were refused above.
        (Method::Ks | Method::Wasserstein, _, _) => {
            return Err(Error::MethodNotApplicable { column: column.to_string(), method })
        }
    })
}

#[cfg(test)]
mod tests;
