//! The drift report through the public API: the dataset rule, overrides,
//! the corrected mode, errors, and the JSON shape. (Agreement with Evidently
//! on the generator's data is checked end to end in the cli's suite, and each
//! statistic against SciPy in `src/stats/tests.rs`.)

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lathe_monitor::{
    CategoricalColumn, Column, ColumnPair, ColumnTest, DriftOptions, DriftReport, Error, Method,
    Mode, NumericColumn,
};

fn numeric(values: impl IntoIterator<Item = f64>) -> Column {
    Column::Numerical(NumericColumn::new(values.into_iter().collect(), false))
}

fn categorical(counts: &[(&str, u64)]) -> Column {
    Column::Categorical(CategoricalColumn::from_counts(
        counts.iter().map(|(k, n)| (k.to_string(), *n)),
        0,
    ))
}

fn pair(name: &str, reference: Column, current: Column) -> ColumnPair {
    ColumnPair { name: name.to_string(), reference, current }
}

/// Four columns, two of them shifted.
fn pairs() -> Vec<ColumnPair> {
    let base: Vec<f64> = (0..800).map(|i| ((i * 37) % 101) as f64).collect();
    vec![
        pair("same", numeric(base.clone()), numeric(base.iter().map(|x| x + 0.0))),
        pair("shifted", numeric(base.clone()), numeric(base.iter().map(|x| x + 25.0))),
        pair(
            "colour",
            categorical(&[("red", 400), ("blue", 400)]),
            categorical(&[("red", 395), ("blue", 405)]),
        ),
        pair(
            "size",
            categorical(&[("s", 300), ("m", 300), ("l", 200)]),
            categorical(&[("s", 100), ("m", 300), ("l", 400)]),
        ),
    ]
}

#[test]
fn dataset_drifts_when_half_the_columns_do() {
    let report = DriftReport::compute(pairs(), &DriftOptions::default()).unwrap();
    assert_eq!(report.drifted_columns(), ["shifted", "size"]);
    assert_eq!((report.number_of_drifted_columns, report.drift_share), (2, 0.5));
    assert!(report.dataset_drift);
    let stricter = DriftOptions { drift_share: 0.75, ..DriftOptions::default() };
    assert!(!DriftReport::compute(pairs(), &stricter).unwrap().dataset_drift);
}

#[test]
fn json_has_the_documented_shape_in_column_order() {
    let report = DriftReport::compute(pairs(), &DriftOptions::default()).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    for key in
        ["dataset_drift", "drift_share", "drift_share_threshold", "number_of_columns", "mode"]
    {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }
    let shifted = &json["columns"]["shifted"];
    assert_eq!(shifted["type"], "num");
    assert_eq!(shifted["method"], "ks");
    assert_eq!(shifted["drift"], true);
    assert!(shifted["statistic"].as_f64().unwrap() > 0.2);
    assert_eq!(json["columns"]["colour"]["method"], "z");
    assert_eq!(json["columns"]["size"]["method"], "chisquare");
    let text = serde_json::to_string(&report).unwrap();
    let order: Vec<usize> = ["\"same\"", "\"shifted\"", "\"colour\"", "\"size\""]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "columns out of order: {text}");
}

#[test]
fn overrides_change_the_test_and_threshold() {
    let mut options = DriftOptions::default();
    options
        .tests
        .insert("shifted".into(), ColumnTest { method: Method::Psi, threshold: Some(50.0) });
    options
        .tests
        .insert("size".into(), ColumnTest { method: Method::JensenShannon, threshold: None });
    let report = DriftReport::compute(pairs(), &options).unwrap();
    let shifted = &report.columns[1].1;
    assert_eq!((shifted.method, shifted.threshold, shifted.drift), (Method::Psi, 50.0, false));
    let size = &report.columns[3].1;
    assert_eq!((size.method, size.threshold, size.drift), (Method::JensenShannon, 0.1, true));
}

#[test]
fn corrected_mode_adjusts_p_values_and_keeps_distances() {
    let options = DriftOptions { mode: Mode::Corrected, ..DriftOptions::default() };
    let report = DriftReport::compute(pairs(), &options).unwrap();
    for (name, c) in &report.columns {
        let adjusted = c.adjusted_score.unwrap();
        assert!(adjusted >= c.score, "{name}: adjusted {adjusted} < raw {}", c.score);
    }
    assert_eq!(report.columns[3].1.method, Method::ChiSquareHomogeneity);
    assert_eq!(report.drifted_columns(), ["shifted", "size"]);

    // Distances: nothing to adjust.
    let big: Vec<f64> = (0..5000).map(|i| (i % 97) as f64).collect();
    let report =
        DriftReport::compute(vec![pair("x", numeric(big.clone()), numeric(big))], &options)
            .unwrap();
    let x = &report.columns[0].1;
    assert_eq!((x.method, x.adjusted_score), (Method::Wasserstein, None));
}

#[test]
fn errors_name_the_column() {
    let d = DriftOptions::default();
    let empty = vec![pair("e", numeric([f64::NAN, f64::INFINITY]), numeric([1.0]))];
    assert_eq!(
        DriftReport::compute(empty, &d).unwrap_err(),
        Error::EmptyColumn { column: "e".into(), side: "reference" }
    );
    let mixed = vec![pair("m", numeric([1.0]), categorical(&[("a", 1)]))];
    assert!(matches!(DriftReport::compute(mixed, &d).unwrap_err(), Error::KindMismatch { .. }));
    let mut options = DriftOptions::default();
    options
        .tests
        .insert("colour".into(), ColumnTest { method: Method::Wasserstein, threshold: None });
    assert!(matches!(
        DriftReport::compute(pairs(), &options).unwrap_err(),
        Error::MethodNotApplicable { method: Method::Wasserstein, .. }
    ));
    let mut options = DriftOptions::default();
    options.tests.insert("nope".into(), ColumnTest { method: Method::Ks, threshold: None });
    assert_eq!(
        DriftReport::compute(pairs(), &options).unwrap_err(),
        Error::UnknownColumn("nope".into())
    );
    let mut options = DriftOptions::default();
    options
        .tests
        .insert("same".into(), ColumnTest { method: Method::Ks, threshold: Some(f64::NAN) });
    assert!(matches!(
        DriftReport::compute(pairs(), &options).unwrap_err(),
        Error::InvalidThreshold { .. }
    ));
    assert_eq!(DriftReport::compute(Vec::new(), &d).unwrap_err(), Error::NoColumns);
    let bad_share = DriftOptions { drift_share: 0.0, ..DriftOptions::default() };
    assert_eq!(
        DriftReport::compute(pairs(), &bad_share).unwrap_err(),
        Error::InvalidDriftShare(0.0)
    );
}
