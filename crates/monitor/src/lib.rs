//! Drift statistics of lathe: is the current data distributed like the reference?
//!
//! One test per column, chosen, thresholded and judged as Evidently 0.7's
//! `DataDriftPreset` does by default ([`select`]): Kolmogorov–Smirnov,
//! chi-squared and the two-proportion z-test (p-values) for a reference of at
//! most 1,000 rows; the Wasserstein distance normed by the reference standard
//! deviation and the Jensen–Shannon distance above; PSI on request. The
//! dataset drifts when at least half of the columns do. Every statistic is a
//! re-implementation of what SciPy computes for Evidently, checked against
//! SciPy's values (`test_data/`), and against Evidently's own results on the
//! generator's data in the cli's end-to-end suite.
//!
//! [`Mode::Corrected`] goes beyond Evidently where it is weak on small data:
//! the two-sample chi-squared test instead of a goodness-of-fit to the
//! reference proportions, and Benjamini–Hochberg over the p-value tests.
//!
//! Columns come from the caller ([`Column`]: numbers sorted, categories
//! counted, NaN and ±inf dropped); this crate reads no files.
//!
//! ```
//! use lathe_monitor::{CategoricalColumn, Column, ColumnPair, DriftOptions, DriftReport, Method, NumericColumn};
//!
//! let reference: Vec<f64> = (0..500).map(|i| (i % 100) as f64).collect();
//! let current: Vec<f64> = (0..500).map(|i| (i % 100) as f64 + 30.0).collect();
//! let colours = |red: usize| {
//!     let v: Vec<&str> = (0..500).map(|i| if i < red { "red" } else { "blue" }).collect();
//!     Column::Categorical(CategoricalColumn::from_values(v.into_iter().map(Some)))
//! };
//! let pairs = vec![
//!     ColumnPair {
//!         name: "x".into(),
//!         reference: Column::Numerical(NumericColumn::new(reference, true)),
//!         current: Column::Numerical(NumericColumn::new(current, true)),
//!     },
//!     ColumnPair { name: "colour".into(), reference: colours(250), current: colours(240) },
//! ];
//! let report = DriftReport::compute(pairs, &DriftOptions::default()).unwrap();
//! let (x, colour) = (&report.columns[0].1, &report.columns[1].1);
//! assert_eq!((x.method, x.drift), (Method::Ks, true));
//! assert_eq!((colour.method, colour.drift), (Method::Z, false));
//! assert!(report.dataset_drift); // 1 of 2 columns: share 0.5 >= 0.5
//! ```

mod column;
mod correction;
mod error;
pub mod html;
mod method;
pub mod profile;
mod report;
pub mod select;
pub mod stats;
pub mod window;
pub mod window_override;

pub use column::{CategoricalColumn, Column, ColumnKind, NumericColumn};
pub use correction::benjamini_hochberg;
pub use error::{Error, Result};
pub use method::{Method, ScoreKind};
pub use profile::{ProfileOptions, ProfileValues, ReferenceProfile};
pub use report::{
    test_column, ColumnDrift, ColumnPair, ColumnTest, DriftOptions, DriftReport, Mode,
};
pub use window::{window_drift, window_drift_with, WindowColumnDrift, WindowDrift, WindowValues};
pub use window_override::{ColumnOverride, WindowMethod, WindowOptions};
