//! Evidently 0.7's default test per column
//! (`legacy/calculations/stattests/registry.py::_get_default_stattest`),
//! decided from the reference row count (after dropping NaN/±inf) and the
//! number of distinct values over reference and current together:
//!
//! | reference rows | numerical, > 5 distinct | numerical, ≤ 5 distinct | categorical |
//! |---|---|---|---|
//! | ≤ 1000 | `ks` | `chisquare`; `z` if ≤ 2 distinct | `chisquare`; `z` if ≤ 2 distinct |
//! | > 1000 | `wasserstein` | `jensenshannon` | `jensenshannon` |
//!
//! The `corrected` mode makes the same choice but swaps Evidently's
//! goodness-of-fit `chisquare` for the two-sample `chisquare_homogeneity`.

use crate::{ColumnKind, Method, Mode};

/// Above this many reference rows Evidently switches from p-value tests to distances.
pub const SMALL_REFERENCE_ROWS: usize = 1000;

/// The default test for a column.
pub fn default_method(
    kind: ColumnKind,
    reference_rows: usize,
    distinct_values: usize,
    mode: Mode,
) -> Method {
    let method = if reference_rows <= SMALL_REFERENCE_ROWS {
        match kind {
            ColumnKind::Numerical if distinct_values > 5 => Method::Ks,
            _ if distinct_values > 2 => Method::ChiSquare,
            _ => Method::Z,
        }
    } else {
        match kind {
            ColumnKind::Numerical if distinct_values > 5 => Method::Wasserstein,
            _ => Method::JensenShannon,
        }
    };
    match (mode, method) {
        (Mode::Corrected, Method::ChiSquare) => Method::ChiSquareHomogeneity,
        _ => method,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnKind::{Categorical as Cat, Numerical as Num};

    #[test]
    fn follows_evidentlys_table() {
        let e = Mode::Evidently;
        assert_eq!(default_method(Num, 1000, 2000, e), Method::Ks);
        assert_eq!(default_method(Num, 1000, 4, e), Method::ChiSquare);
        assert_eq!(default_method(Num, 1000, 2, e), Method::Z);
        assert_eq!(default_method(Cat, 1000, 50, e), Method::ChiSquare);
        assert_eq!(default_method(Cat, 1000, 2, e), Method::Z);
        assert_eq!(default_method(Num, 1001, 6, e), Method::Wasserstein);
        assert_eq!(default_method(Num, 1001, 5, e), Method::JensenShannon);
        assert_eq!(default_method(Cat, 100_000, 2, e), Method::JensenShannon);
        assert_eq!(default_method(Cat, 10, 3, Mode::Corrected), Method::ChiSquareHomogeneity);
        assert_eq!(default_method(Cat, 10, 2, Mode::Corrected), Method::Z);
    }
}
