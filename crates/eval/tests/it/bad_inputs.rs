//! Bad inputs: each is an error that names the metric and the problem.

use lathe_eval::{
    classification_intervals, classification_slices, mcnemar, regression_slices, BootstrapConfig,
    ClassificationMetrics, Error, EvalReport, RegressionMetrics,
};

fn classes(k: usize) -> Vec<String> {
    (0..k).map(|i| format!("c{i}")).collect()
}

fn message(e: Error) -> String {
    e.to_string()
}

#[test]
fn empty_inputs() {
    let e = ClassificationMetrics::compute(&[], &[], &classes(2)).unwrap_err();
    assert_eq!(message(e), "classification: no samples");
    let e = RegressionMetrics::compute(&[], &[]).unwrap_err();
    assert_eq!(message(e), "regression: no samples");
    assert!(mcnemar(&[], &[], &[]).is_err());
}

#[test]
fn length_and_shape_mismatches() {
    let e = ClassificationMetrics::compute(&[0, 1], &[0.5, 0.5, 0.2], &classes(2)).unwrap_err();
    assert_eq!(message(e), "classification: 2 rows × 2 classes need 4 probabilities, got 3");
    let e = RegressionMetrics::compute(&[1.0, 2.0], &[1.0]).unwrap_err();
    assert_eq!(message(e), "regression: y_true has 2 values but the predictions have 1");
    let e = regression_slices(&["a".to_string()], &[1.0, 2.0], &[1.0, 2.0]).unwrap_err();
    assert_eq!(message(e), "slices: y_true has 2 values but the predictions have 1");
    let e = EvalReport::regression("r", &[1.0], &[1.0])
        .unwrap()
        .with_feature_importance(&["a".to_string()], &[1.0, 2.0])
        .unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { what: "feature_importance", .. }));
    assert!(matches!(mcnemar(&[0, 1], &[0], &[0, 1]), Err(Error::LengthMismatch { .. })));
}

#[test]
fn labels_outside_the_classes_and_too_few_classes() {
    let e =
        ClassificationMetrics::compute(&[0, 3], &[0.5, 0.5, 0.5, 0.5], &classes(2)).unwrap_err();
    assert_eq!(message(e), "classification: label 3 at index 1 is not a class index below 2");
    let e = ClassificationMetrics::compute(&[0], &[1.0], &classes(1)).unwrap_err();
    assert_eq!(message(e), "classification: need at least 2 classes, got 1");
}

#[test]
fn probabilities_outside_0_1_or_rows_not_summing_to_1() {
    let e =
        ClassificationMetrics::compute(&[0, 1], &[0.5, 0.5, -0.1, 1.1], &classes(2)).unwrap_err();
    assert_eq!(
        message(e),
        "classification: probability -0.1 of class 'c0' in row 1 is not in [0, 1]"
    );
    let e = ClassificationMetrics::compute(&[0, 2], &[0.2, 0.3, 0.5, 0.2, 0.3, 0.4], &classes(3))
        .unwrap_err();
    assert_eq!(
        message(e),
        "classification: probabilities of row 1 sum to 0.9, expected 1 (within 1e-6)"
    );
    // Within the tolerance is accepted: float32 models are off by ~1e-7.
    let ok = ClassificationMetrics::compute(&[0, 1], &[0.3, 0.7 + 5e-7, 0.9, 0.1], &classes(2));
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn nan_and_infinite_predictions() {
    let e = ClassificationMetrics::compute(&[0, 1], &[f64::NAN, 0.5, 0.5, 0.5], &classes(2))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidProbability { row: 0, .. }), "{e}");
    let e = RegressionMetrics::compute(&[1.0, 2.0], &[1.0, f64::INFINITY]).unwrap_err();
    assert_eq!(message(e), "regression: y_pred value inf at index 1 is not finite");
    let e = RegressionMetrics::compute(&[f64::NAN], &[1.0]).unwrap_err();
    assert_eq!(message(e), "regression: y_true value NaN at index 0 is not finite");
    let e = lathe_eval::roc_curve(&[0, 1], &[0.1, f64::NEG_INFINITY]).unwrap_err();
    assert!(matches!(e, Error::InvalidScore { index: 1, .. }));
}

#[test]
fn single_class_auc_is_an_error_for_the_function_and_none_in_the_summary() {
    // The function: a clear error naming the metric (scikit-learn warns and returns NaN).
    let e = lathe_eval::roc_auc(&[1, 1, 1], &[0.2, 0.5, 0.9]).unwrap_err();
    assert_eq!(
        message(e),
        "roc_auc: only one class is present in y_true, the ROC curve is not defined"
    );
    // The summary of every metric: AUC is None, the rest is computed.
    let m = ClassificationMetrics::compute(&[1, 1], &[0.2, 0.8, 0.6, 0.4], &classes(2)).unwrap();
    assert_eq!((m.roc_auc, m.accuracy), (None, 0.5));
    assert!(m.pr_auc.is_some(), "average precision is defined with positives only");
    // The report still renders, with no curve to draw.
    let r = EvalReport::classification("one class", &[1, 1], &[0.2, 0.8, 0.6, 0.4], &classes(2))
        .unwrap();
    assert!(r.roc_curves.is_empty());
    assert!(!r.to_html().contains("NaN"));
}

#[test]
fn bootstrap_and_slices_check_their_inputs() {
    let bad = BootstrapConfig { resamples: 0, ..BootstrapConfig::default() };
    let e =
        classification_intervals(&[0, 1], &[0.5, 0.5, 0.5, 0.5], &classes(2), &bad, &mut |_| {})
            .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { what: "bootstrap", .. }), "{e}");
    let e = classification_slices(&["a".to_string()], &[0, 1], &[0.5; 4], &classes(2)).unwrap_err();
    assert!(matches!(e, Error::LengthMismatch { what: "slices", .. }));
}
