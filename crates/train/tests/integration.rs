//! lathe-train on the real breast cancer data, against scikit-learn.
//!
//! The data is the CSV the CLI embeds; the reference coefficients were
//! fitted by scikit-learn on the same standardized rows
//! (`test_data/make_reference.py`).

// Test code: a failed unwrap is a failed test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lathe_train::{
    stratified_split, Dataset, Estimator, Learner, LogisticRegression, MajorityClass,
    MemoryRecorder, Model, StandardScaler,
};
use serde_json::Value;

const CSV: &[u8] = include_bytes!("../../cli/data/breast_cancer_wisconsin.csv");
const REFERENCE: &str = include_str!("../test_data/logistic_reference.json");

fn data() -> Dataset {
    Dataset::from_csv(CSV, "diagnosis", "malignant").expect("the embedded CSV reads")
}

fn floats(v: &Value) -> Vec<f64> {
    let items = v.as_array().expect("a JSON array");
    items.iter().map(|x| x.as_f64().expect("a JSON number")).collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn reads_the_embedded_data() {
    let d = data();
    assert_eq!((d.n_rows(), d.n_features()), (569, 30));
    assert_eq!(d.labels().iter().filter(|&&l| l == 1).count(), 212);
    assert_eq!(d.label().negative_class, "benign");
    assert!(d.profile().iter().all(|c| c.missing == 0 && c.count == 569));
}

#[test]
fn logistic_regression_matches_scikit_learn() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let d = data();
    let names: Vec<String> = reference["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(d.feature_names(), names.as_slice());
    let scaler = StandardScaler::fit(&d).unwrap();
    assert!(max_abs_diff(&scaler.means, &floats(&reference["scaler_mean"])) < 1e-9);
    assert!(max_abs_diff(&scaler.scales, &floats(&reference["scaler_scale"])) < 1e-9);

    let l2 = reference["l2"].as_f64().unwrap();
    let learner = LogisticRegression { learning_rate: 0.5, epochs: 4000, l2 };
    let mut rec = MemoryRecorder::default();
    let model = learner.fit(&d, &mut rec).unwrap();
    let Estimator::LogisticRegression { weights, bias, .. } = &model.estimator else {
        panic!("not a logistic model: {}", model.kind());
    };
    let coef = floats(&reference["coef"]);
    let diff = max_abs_diff(weights, &coef);
    assert!(diff < 1e-5, "largest coefficient difference {diff:e}");
    let intercept = reference["intercept"].as_f64().unwrap();
    assert!((bias - intercept).abs() < 1e-5, "bias {bias} vs {intercept}");

    let proba = model.predict_proba(&d).unwrap();
    let first = floats(&reference["first_probabilities"]);
    assert!(max_abs_diff(&proba[..first.len()], &first) < 1e-6);
    let auc = lathe_eval::roc_auc(d.labels(), &proba).unwrap();
    let want_auc = reference["train_roc_auc"].as_f64().unwrap();
    assert!((auc - want_auc).abs() < 1e-9, "auc {auc} vs {want_auc}");
    let loss = lathe_eval::log_loss(d.labels(), &proba).unwrap();
    let want_loss = reference["train_log_loss"].as_f64().unwrap();
    assert!((loss - want_loss).abs() < 1e-7, "log loss {loss} vs {want_loss}");
    // The last logged training loss is the final model's.
    let history = rec.history("train_loss");
    assert_eq!(history.len(), 4001);
    assert!((history[4000].1 - loss).abs() < 1e-12);
}

#[test]
fn training_reports_every_epoch_and_is_deterministic() {
    let d = data();
    let split = stratified_split(d.labels(), 0.2, 42).unwrap();
    assert_eq!(split, stratified_split(d.labels(), 0.2, 42).unwrap());
    let (train, test) = split.apply(&d).unwrap();
    assert_eq!((train.n_rows(), test.n_rows()), (456, 113));
    assert_eq!(test.labels().iter().filter(|&&l| l == 1).count(), 42);

    let learner = LogisticRegression { learning_rate: 0.5, epochs: 50, l2: 0.01 };
    let (mut a, mut b) = (MemoryRecorder::default(), MemoryRecorder::default());
    let first = learner.fit(&train, &mut a).unwrap();
    let second = learner.fit(&train, &mut b).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.to_json().unwrap(), second.to_json().unwrap());

    let history = a.history("train_loss");
    let steps: Vec<i64> = history.iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, (0..=50).collect::<Vec<_>>());
    assert!((history[0].1 - std::f64::consts::LN_2).abs() < 1e-12, "starts at ln 2");
    assert!(history[50].1 < 0.2, "loss falls: {history:?}");
    let params: Vec<(&str, &str)> =
        a.params.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
    for want in [("model", "logistic_regression"), ("epochs", "50"), ("train_rows", "456")] {
        assert!(params.contains(&want), "{want:?} not in {params:?}");
    }

    let round_trip = Model::from_json(&first.to_json().unwrap()).unwrap();
    assert_eq!(round_trip.predict_proba(&test).unwrap(), first.predict_proba(&test).unwrap());
    let auc = lathe_eval::roc_auc(test.labels(), &first.predict_proba(&test).unwrap()).unwrap();
    assert!(auc > 0.95, "held-out auc {auc}");
}

#[test]
fn the_baseline_predicts_the_training_prior() {
    let d = data();
    let (train, test) = stratified_split(d.labels(), 0.2, 42).unwrap().apply(&d).unwrap();
    let mut rec = MemoryRecorder::default();
    let model = MajorityClass.fit(&train, &mut rec).unwrap();
    let p = model.predict_proba(&test).unwrap();
    assert!(p.iter().all(|&x| x == train.positive_share()));
    assert_eq!(lathe_eval::roc_auc(test.labels(), &p).unwrap(), 0.5);
    let prior = train.positive_share();
    let entropy = -(prior * prior.ln() + (1.0 - prior) * (1.0 - prior).ln());
    assert_eq!(rec.history("train_loss").len(), 1);
    assert!((rec.history("train_loss")[0].1 - entropy).abs() < 1e-12);
    assert!(model.predict_proba(&d.subset(&[0]).unwrap()).is_ok());
}
