//! lathe-eval against scikit-learn and statsmodels on models trained on the
//! shared datasets (`test_data/dataset_reference.json`, made by
//! `test_data/make_dataset_reference.py`), the report's structure, and bad inputs.

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it {
    pub mod bad_inputs;
    pub mod classification;
    pub mod fixture;
    pub mod regression;
    pub mod report;
    pub mod stats;
}
