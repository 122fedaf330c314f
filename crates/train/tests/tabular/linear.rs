//! lathe's Linear reaches scikit-learn's coefficients
//! (`test_data/linear_reference.json`, from `make_linear_reference.py`).

use lathe_core::{FeatureMatrix, Target};
use lathe_train::{Linear, MemoryRecorder, Prediction, TabularLearner, TabularModel};
use serde_json::Value;

use crate::fixtures;

const REFERENCE: &str = include_str!("../../test_data/linear_reference.json");

/// The training rows without missing values (the reference drops them too).
fn complete(name: &str) -> (FeatureMatrix, Target) {
    let (x, y) = fixtures::case(name).train;
    let keep: Vec<usize> =
        (0..x.rows()).filter(|&i| x.row(i).iter().all(|v| v.is_finite())).collect();
    (x.select_rows(&keep), y.select_rows(&keep))
}

fn fit(name: &str, linear: &Linear) -> TabularModel {
    let (x, y) = complete(name);
    linear.fit(&x, &y, None, &mut MemoryRecorder::default()).unwrap()
}

/// Compares weights with scikit-learn's; `raw`: its intercept is on raw
/// features (ridge), where lathe's sits at the feature means.
fn compare(model: &TabularModel, case: &str, tolerance: f64, raw: bool) {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let r = &reference["cases"][case];
    let w = model.linear().unwrap();
    let d = w.n_features();
    let coef: Vec<Vec<f64>> = serde_json::from_value(r["coef"].clone()).unwrap();
    let intercept: Vec<f64> = serde_json::from_value(r["intercept"].clone()).unwrap();
    assert_eq!(coef.len(), w.outputs(), "{case}");
    for (k, row) in coef.iter().enumerate() {
        for (j, &expected) in row.iter().enumerate() {
            let got = w.coef[k * d + j];
            assert!(
                (got - expected).abs() <= tolerance * expected.abs().max(1.0),
                "{case} coef[{k}][{j}]: {got} vs {expected}"
            );
        }
        let shift: f64 = if raw {
            (0..d).map(|j| w.coef[k * d + j] * w.mean[j] / w.scale[j]).sum()
        } else {
            0.0
        };
        let got = w.intercept[k] - shift;
        assert!(
            (got - intercept[k]).abs() <= tolerance * intercept[k].abs().max(1.0),
            "{case} intercept"
        );
    }
}

#[test]
fn ridge_equals_sklearn_ridge() {
    let model = fit("diabetes", &Linear::default());
    compare(&model, "diabetes_ridge", 1e-9, true);
    let (x, _) = complete("diabetes");
    assert!(matches!(model.predict_row(x.row(0)).unwrap(), Prediction::Value(v) if v.is_finite()));
}

#[test]
fn l2_logistic_equals_sklearn_binary_and_multinomial() {
    compare(&fit("breast_cancer", &Linear::default()), "breast_cancer_l2", 1e-6, false);
    let penguins = fit("penguins", &Linear::default());
    compare(&penguins, "penguins_l2", 1e-6, false);
    let (x, _) = complete("penguins");
    let p = penguins.predict(&x).unwrap();
    assert!((p.row(0).iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn l1_logistic_equals_sklearn_saga_and_zeroes_the_same_weights() {
    let model = fit("breast_cancer", &Linear { c: 0.05, l1_ratio: 1.0, ..Linear::default() });
    assert!(model.meta().iterations < Linear::default().max_iter, "converged before the cap");
    compare(&model, "breast_cancer_l1", 1e-4, false);
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    let zeros = |c: &[f64]| c.iter().map(|v| *v == 0.0).collect::<Vec<_>>();
    let expected: Vec<Vec<f64>> =
        serde_json::from_value(reference["cases"]["breast_cancer_l1"]["coef"].clone()).unwrap();
    assert_eq!(zeros(&model.linear().unwrap().coef), zeros(&expected[0]));
}

#[test]
fn linear_refuses_missing_values_and_round_trips() {
    let (x, y) = fixtures::case("penguins").train;
    let err = Linear::default().fit(&x, &y, None, &mut MemoryRecorder::default()).unwrap_err();
    assert!(err.to_string().contains("bill_length_mm"), "{err}");
    let model = fit("penguins", &Linear::default());
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    assert_eq!(TabularModel::load(dir.path()).unwrap(), model);
    let mut row = x.row(0).to_vec();
    row[1] = f64::NAN;
    assert!(model.predict_row(&row).is_err());
}
