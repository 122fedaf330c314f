//! Bad input to the tree learners and models: each refused with a message
//! that names the row, column or file and what was expected.

use lathe_core::{FeatureMatrix, Target, TaskKind};
use lathe_train::{Gbm, MemoryRecorder, TabularLearner, TabularModel};

use crate::fixtures;

fn fit_err(x: &FeatureMatrix, y: &Target, valid: Option<(&FeatureMatrix, &Target)>) -> String {
    let mut rec = MemoryRecorder::default();
    let err = Gbm::default().fit(x, y, valid, &mut rec).map(|_| ()).unwrap_err().to_string();
    assert!(rec.params.is_empty(), "nothing logged before the checks pass: {err}");
    err
}

#[test]
fn infinite_values_and_bad_targets_are_refused_before_training() {
    let (x, y) = fixtures::case("diabetes").train;
    let mut values = x.values().to_vec();
    values[3 * x.cols() + 2] = f64::INFINITY;
    let bad = FeatureMatrix::new(x.names().to_vec(), values).unwrap();
    let err = fit_err(&bad, &y, None);
    assert!(err.contains("row 3") && err.contains("'bmi'") && err.contains("inf"), "{err}");

    let one_class = Target {
        kind: TaskKind::Binary,
        classes: vec!["a".into()],
        values: vec![0.0; x.rows()],
        ..y.clone()
    };
    assert!(fit_err(&x, &one_class, None).contains("binary target with 1 classes"));
    let out_of_range = Target {
        kind: TaskKind::Multiclass,
        classes: vec!["a".into(), "b".into(), "c".into()],
        values: vec![3.0; x.rows()],
        ..y.clone()
    };
    assert!(fit_err(&x, &out_of_range, None).contains("class index 3"));
    let short = Target { values: vec![1.0; 5], ..y.clone() };
    assert!(fit_err(&x, &short, None).contains("5 target values"));
}

#[test]
fn validation_and_prediction_columns_must_be_the_models() {
    let case = fixtures::case("diabetes");
    let (x, y) = &case.train;
    let mut names = x.names().to_vec();
    names[0] = "age_years".into();
    let renamed = FeatureMatrix::new(names, case.test.0.values().to_vec()).unwrap();
    let err = fit_err(x, y, Some((&renamed, &case.test.1)));
    assert!(err.contains("\"age\"") && err.contains("\"age_years\""), "{err}");

    let model = Gbm { num_iterations: 5, ..Gbm::default() }
        .fit(x, y, None, &mut MemoryRecorder::default())
        .unwrap();
    let err = model.predict(&renamed).unwrap_err().to_string();
    assert!(err.contains("lacks [\"age\"]") && err.contains("[\"age_years\"]"), "{err}");
    let err = model.predict_row(&[1.0, 2.0]).unwrap_err().to_string();
    assert!(err.contains("a row of 2 values for a model of 10 features"), "{err}");
}

#[test]
fn a_damaged_model_directory_names_the_file() {
    let case = fixtures::case("breast_cancer");
    let model = Gbm { num_iterations: 3, ..Gbm::default() }
        .fit(&case.train.0, &case.train.1, None, &mut MemoryRecorder::default())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let meta = dir.path().join("lathe_model.json");
    let text = std::fs::read_to_string(&meta).unwrap().replace("\"binary\"", "\"multiclass\"");
    std::fs::write(&meta, text).unwrap();
    let err = TabularModel::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("lathe_model.json") && err.contains("2 classes for a Multiclass task"),
        "{err}"
    );
    std::fs::remove_file(dir.path().join("model.txt")).unwrap();
    let err = TabularModel::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("linear.json"), "{err}");
}
