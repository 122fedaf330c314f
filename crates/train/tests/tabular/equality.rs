//! lathe's tree walker predicts what LightGBM predicts, within 1e-6, for
//! every task, with missing values, for boosting and for random forests.

use lathe_core::{FeatureMatrix, TaskKind};
use lathe_train::{
    ClassWeight, Forest, Gbm, MemoryRecorder, Prediction, TabularLearner, TabularModel,
};
use lightgbm3::{Booster, ImportanceType};

use crate::fixtures::{self, with_nans};

/// LightGBM's predictions of `model`'s own `model.txt`, shaped like lathe's
/// (binary: `[1 - p, p]`).
fn lightgbm_predict(model: &TabularModel, x: &FeatureMatrix) -> Vec<f64> {
    let booster = Booster::from_string(model.model_text().unwrap()).unwrap();
    let raw = booster.predict(x.values(), x.cols() as i32, true).unwrap();
    if model.task() == TaskKind::Binary {
        raw.iter().flat_map(|&p| [1.0 - p, p]).collect()
    } else {
        raw
    }
}

fn assert_same(model: &TabularModel, x: &FeatureMatrix, what: &str) {
    let ours = model.predict(x).unwrap();
    let theirs = lightgbm_predict(model, x);
    assert_eq!(ours.values.len(), theirs.len(), "{what}");
    let worst = ours.values.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-6, "{what}: largest difference {worst}");
    // Each row through the single-row path too.
    for i in 0..x.rows() {
        let row = model.predict_row(x.row(i)).unwrap();
        let expect = ours.row(i);
        match row {
            Prediction::Value(v) => assert_eq!(v, expect[0], "{what} row {i}"),
            Prediction::Class { label, probabilities } => {
                assert_eq!(probabilities, expect, "{what} row {i}");
                assert_eq!(label, ours.labels()[i], "{what} row {i}");
            }
        }
    }
}

#[test]
fn gbm_predictions_equal_lightgbm_on_three_tasks_with_missing_values() {
    for case in fixtures::all() {
        let (x, y) = &case.train;
        let model = Gbm::default().fit(x, y, None, &mut MemoryRecorder::default()).unwrap();
        assert_eq!(
            model.trees().unwrap().iterations(),
            100,
            "{}: no early stopping without valid",
            case.name
        );
        assert_same(&model, &case.test.0, case.name);
        assert_same(&model, &with_nans(&case.test.0), &format!("{} with NaN", case.name));
        assert_same(&model, &with_nans(x), &format!("{} train with NaN", case.name));
    }
}

#[test]
fn forest_averages_its_trees_like_lightgbm() {
    for case in fixtures::all() {
        let (x, y) = &case.train;
        let forest = Forest { num_trees: 30, ..Forest::default() };
        let model = forest.fit(x, y, None, &mut MemoryRecorder::default()).unwrap();
        assert!(model.trees().unwrap().is_average(), "{}: rf models average", case.name);
        assert_same(&model, &with_nans(&case.test.0), &format!("{} forest", case.name));
    }
}

#[test]
fn importance_equals_lightgbm_gain_and_split() {
    let case = fixtures::case("breast_cancer");
    let model = Gbm::default()
        .fit(&case.train.0, &case.train.1, None, &mut MemoryRecorder::default())
        .unwrap();
    let booster = Booster::from_string(model.model_text().unwrap()).unwrap();
    let gain = booster.feature_importance(ImportanceType::Gain).unwrap();
    let split = booster.feature_importance(ImportanceType::Split).unwrap();
    let ours = model.feature_importance();
    assert_eq!(ours.len(), gain.len());
    for (i, f) in ours.iter().enumerate() {
        assert_eq!(f.feature, case.train.0.names()[i]);
        assert_eq!(f.split, split[i], "{}", f.feature);
        assert!(
            (f.gain - gain[i]).abs() <= 1e-9 * gain[i].abs().max(1.0),
            "{}: {} vs {}",
            f.feature,
            f.gain,
            gain[i]
        );
    }
    assert!(ours.iter().any(|f| f.gain > 0.0));
}

#[test]
fn early_stopping_keeps_the_best_round_and_logs_the_curve() {
    for case in fixtures::all() {
        let (x, y) = &case.train;
        let gbm = Gbm {
            num_iterations: 400,
            learning_rate: 0.3,
            early_stopping_rounds: Some(5),
            ..Gbm::default()
        };
        let mut rec = MemoryRecorder::default();
        let model = gbm.fit(x, y, Some((&case.test.0, &case.test.1)), &mut rec).unwrap();
        let key = if y.kind == TaskKind::Regression { "valid_l2" } else { "valid_logloss" };
        let curve = rec.history(key);
        let kept = model.trees().unwrap().iterations();
        assert!(kept < 400, "{}: stopped early ({kept} rounds)", case.name);
        assert_eq!(curve.len(), kept, "{}: one point per kept round", case.name);
        assert_eq!(curve[0].0, 1, "steps are rounds from 1");
        // The kept model ends at the curve's minimum (LightGBM rolled back to it).
        let best = curve.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        assert_eq!(curve[kept - 1].1, best, "{}: last kept round is the best", case.name);
        assert!(rec.params.iter().any(|p| p.key == "valid_rows"));
        assert_same(&model, &case.test.0, case.name);
    }
}

#[test]
fn balanced_class_weights_shift_the_probabilities() {
    let case = fixtures::case("breast_cancer");
    let (x, y) = &case.train;
    let plain = Gbm::default().fit(x, y, None, &mut MemoryRecorder::default()).unwrap();
    let weighted = Gbm { class_weight: ClassWeight::Balanced, ..Gbm::default() }
        .fit(x, y, None, &mut MemoryRecorder::default())
        .unwrap();
    // Balanced weights raise the minority class's mean probability.
    let ones = y.values.iter().filter(|&&v| v == 1.0).count();
    let minority = usize::from(2 * ones < y.values.len());
    let mean = |m: &TabularModel| {
        let p = m.predict(&case.test.0).unwrap();
        (0..p.rows()).map(|i| p.row(i)[minority]).sum::<f64>() / p.rows() as f64
    };
    assert!(mean(&weighted) > mean(&plain), "{} vs {}", mean(&weighted), mean(&plain));
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for case in fixtures::all() {
        let (x, y) = &case.train;
        let model = Gbm { num_iterations: 20, ..Gbm::default() }
            .fit(x, y, None, &mut MemoryRecorder::default())
            .unwrap();
        let path = dir.path().join(case.name);
        model.save(&path).unwrap();
        let back = TabularModel::load(&path).unwrap();
        assert_eq!(back, model);
        assert_eq!(back.predict(&case.test.0).unwrap(), model.predict(&case.test.0).unwrap());
        assert_eq!(back.classes(), y.classes.as_slice());
    }
}
