//! Checks every metric against scikit-learn's values on the committed fixture.

use serde_json::Value;

use super::*;

const REFERENCE: &str = include_str!("../test_data/binary_reference.json");
const TOLERANCE: f64 = 1e-12;

struct Case {
    name: String,
    y_true: Vec<u8>,
    y_prob: Vec<f64>,
    y_pred: Vec<u8>,
    expected: Value,
}

fn cases() -> Vec<Case> {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            y_true: ints(&c["y_true"]),
            y_prob: c["y_prob"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect(),
            y_pred: ints(&c["y_pred"]),
            expected: c["expected"].clone(),
        })
        .collect()
}

fn ints(v: &Value) -> Vec<u8> {
    v.as_array().unwrap().iter().map(|x| u8::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

fn check(case: &Case, metric: &str, got: f64) {
    let want = case.expected[metric].as_f64().unwrap();
    assert!(
        (got - want).abs() <= TOLERANCE * want.abs().max(1.0),
        "{}: {metric} = {got:e}, scikit-learn says {want:e}",
        case.name
    );
}

#[test]
fn fixture_covers_ties_clipping_and_degenerate_cases() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    for needed in ["ties_across_classes", "all_scores_tied", "hard_zeros_and_ones_are_clipped"] {
        assert!(names.iter().any(|n| n == needed), "{needed} missing from {names:?}");
    }
}

#[test]
fn labels_at_threshold_match_the_fixture() {
    for case in cases() {
        assert_eq!(predict_labels(&case.y_prob, 0.5), case.y_pred, "{}", case.name);
    }
}

#[test]
fn confusion_counts_match_scikit_learn() {
    for case in cases() {
        let c = confusion(&case.y_true, &case.y_pred).unwrap();
        let e = &case.expected;
        let want = [&e["tp"], &e["fp"], &e["tn"], &e["fn"]].map(|v| v.as_u64().unwrap());
        let got = [c.true_positives, c.false_positives, c.true_negatives, c.false_negatives];
        assert_eq!(got, want, "{}", case.name);
    }
}

#[test]
fn label_metrics_match_scikit_learn() {
    for case in cases() {
        check(&case, "accuracy", accuracy(&case.y_true, &case.y_pred).unwrap());
        check(&case, "precision", precision(&case.y_true, &case.y_pred).unwrap());
        check(&case, "recall", recall(&case.y_true, &case.y_pred).unwrap());
        check(&case, "f1", f1(&case.y_true, &case.y_pred).unwrap());
    }
}

#[test]
fn log_loss_matches_scikit_learn_including_clipping() {
    for case in cases() {
        check(&case, "log_loss", log_loss(&case.y_true, &case.y_prob).unwrap());
    }
}

#[test]
fn roc_auc_matches_scikit_learn_including_ties() {
    for case in cases() {
        let got = roc_auc(&case.y_true, &case.y_prob);
        if case.expected["roc_auc"].is_null() {
            assert_eq!(got, Err(Error::SingleClass { what: "roc_auc" }), "{}", case.name);
        } else {
            check(&case, "roc_auc", got.unwrap());
        }
    }
}

#[test]
fn all_metrics_at_once_agree_with_the_single_functions() {
    for case in cases().into_iter().filter(|c| !c.expected["roc_auc"].is_null()) {
        let m = BinaryMetrics::compute(&case.y_true, &case.y_prob, 0.5).unwrap();
        for (name, value) in m.named() {
            check(&case, name, value);
        }
    }
}

#[test]
fn bad_inputs_are_errors_that_name_the_problem() {
    assert_eq!(
        accuracy(&[0, 1], &[0]),
        Err(Error::LengthMismatch { what: "confusion", expected: 2, got: 1 })
    );
    assert_eq!(roc_auc(&[], &[]), Err(Error::Empty { what: "roc_auc" }));
    assert_eq!(
        f1(&[0, 2], &[0, 1]),
        Err(Error::InvalidLabel { what: "confusion", index: 1, value: 2 })
    );
    let err = log_loss(&[0, 1], &[0.5, 1.5]).unwrap_err();
    assert_eq!(err.to_string(), "log_loss: value 1.5 at index 1 is not a probability in [0, 1]");
    assert!(matches!(log_loss(&[0], &[f64::NAN]), Err(Error::InvalidScore { index: 0, .. })));
    assert!(matches!(roc_auc(&[0, 1], &[0.1, f64::INFINITY]), Err(Error::InvalidScore { .. })));
}

#[test]
fn roc_auc_is_rank_based_so_any_finite_scores_work() {
    let y = [0, 1, 0, 1];
    let probs = roc_auc(&y, &[0.1, 0.7, 0.3, 0.9]).unwrap();
    let logits = roc_auc(&y, &[-2.0, 0.8, -0.8, 2.2]).unwrap();
    assert_eq!(probs, 1.0);
    assert_eq!(logits, probs);
    // -0.0 and 0.0 are the same score: a tie between a positive and a negative.
    assert_eq!(roc_auc(&[0, 1], &[-0.0, 0.0]).unwrap(), 0.5);
}
