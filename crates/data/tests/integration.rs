//! Integration tests of lathe-data: scikit-learn reference values, the
//! frame/row equivalence property, bad inputs, readers and fingerprints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod it;
