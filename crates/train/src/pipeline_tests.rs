//! The pipeline saved and loaded whole, and one JSON row scored exactly as
//! the same row inside a frame.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use lathe_data::{encode_target, read_table, split, PreprocessSpec, ReadOptions};
use polars::prelude::{AnyValue, DataFrame};

use super::*;
use crate::{AnyLearner, NoopRecorder, TabularLearner};

fn info() -> MlmodelInfo<'static> {
    MlmodelInfo {
        artifact_path: "model",
        run_id: "r1",
        model_uuid: "u1",
        utc_time_created: "2024-01-02 03:04:05.000000",
        lathe_version: "0.1.0",
    }
}

/// Penguins (species; categorical island and sex, missing values) fitted on 70% of rows.
fn fitted() -> (FittedPipeline, DataFrame) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/penguins_raw.csv");
    let table = read_table(&path, &ReadOptions::default()).unwrap();
    let target = encode_target(&table.frame, "species", None).unwrap();
    let rows = split::stratified(&target.values, 0.3, 7).unwrap();
    let train = split::take_rows(&table.frame, &rows.train).unwrap();
    let test = split::take_rows(&table.frame, &rows.test).unwrap();
    let prep = Preprocessor::fit(&train, "species", &PreprocessSpec::default()).unwrap();
    let (x, _) = prep.transform(&train).unwrap();
    let learner = AnyLearner::new("gbm", &[("num_iterations".into(), "20".into())]).unwrap();
    let model = learner.fit(&x, &target.select_rows(&rows.train), None, &mut NoopRecorder).unwrap();
    (FittedPipeline::new(prep, model, &train).unwrap(), test)
}

fn json_row(frame: &DataFrame, i: usize) -> serde_json::Map<String, serde_json::Value> {
    frame
        .columns()
        .iter()
        .map(|c| {
            let v = c.get(i).unwrap();
            let json = match v {
                AnyValue::Null => serde_json::Value::Null,
                ref other => json_value(other),
            };
            (c.name().to_string(), json)
        })
        .collect()
}

#[test]
fn a_json_row_scores_as_the_same_row_in_a_frame() {
    let (pipeline, test) = fitted();
    let (batch, report) = pipeline.predict_frame(&test).unwrap();
    assert_eq!(batch.rows(), test.height());
    assert_eq!(report.rows, test.height());
    let mut with_missing = 0;
    for i in 0..test.height() {
        let row = json_row(&test, i);
        with_missing += usize::from(row.values().any(serde_json::Value::is_null));
        match pipeline.predict_row(&row).unwrap() {
            Prediction::Class { probabilities, .. } => assert_eq!(probabilities, batch.row(i)),
            Prediction::Value(v) => assert!(v.is_nan(), "a classifier predicted the value {v}"),
        }
    }
    assert!(with_missing > 0, "the test rows should include missing values");
}

#[test]
fn saved_directory_loads_back_equal_with_an_mlflow_description() {
    let (pipeline, test) = fitted();
    let dir = tempfile::tempdir().unwrap();
    pipeline.save(dir.path(), &info()).unwrap();
    let loaded = FittedPipeline::load(dir.path()).unwrap();
    assert_eq!(loaded, pipeline);
    assert_eq!(loaded.predict_frame(&test).unwrap(), pipeline.predict_frame(&test).unwrap());

    let mlmodel = std::fs::read_to_string(dir.path().join(MLMODEL_FILE)).unwrap();
    assert!(mlmodel.contains("  lathe_tabular:\n    classes: [Adelie, Chinstrap, Gentoo]\n"));
    assert!(mlmodel.contains("    preprocess: preprocess.json\n    task: multiclass\n"));
    assert!(!mlmodel.contains("python_function"));
    assert!(mlmodel.contains(
        "saved_input_example_info:\n  artifact_path: input_example.json\n  pandas_orient: split\n"
    ));
    let inputs: Vec<(&str, &str)> =
        pipeline.inputs().iter().map(|c| (c.name.as_str(), c.mlflow_type.as_str())).collect();
    assert_eq!(
        inputs,
        [
            ("island", "string"),
            ("bill_length_mm", "double"),
            ("bill_depth_mm", "double"),
            // Whole numbers, and none missing among these training rows.
            ("flipper_length_mm", "long"),
            ("body_mass_g", "long"),
            ("sex", "string"),
            ("year", "long"),
        ]
    );
    assert!(pipeline.signature_outputs_json().contains(r#""name": "proba_Gentoo""#));

    let example: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(INPUT_EXAMPLE_FILE)).unwrap())
            .unwrap();
    assert_eq!(example["columns"][0], "island");
    assert_eq!(example["data"].as_array().map(Vec::len), Some(2));
    // Every example row scores: it is a valid request.
    let cols = example["columns"].as_array().unwrap();
    for row in example["data"].as_array().unwrap() {
        let obj = cols
            .iter()
            .zip(row.as_array().unwrap())
            .map(|(c, v)| (c.as_str().unwrap().to_string(), v.clone()))
            .collect();
        assert!(matches!(loaded.predict_row(&obj), Ok(Prediction::Class { .. })));
    }
}

#[test]
fn a_preprocessing_from_another_model_is_refused() {
    let (pipeline, _) = fitted();
    let dir = tempfile::tempdir().unwrap();
    pipeline.save(dir.path(), &info()).unwrap();
    let meta = std::fs::read_to_string(dir.path().join(META_FILE)).unwrap();
    let fewer = meta.replacen("\"island=Biscoe\",", "", 1);
    assert_ne!(meta, fewer);
    std::fs::write(dir.path().join(META_FILE), fewer).unwrap();
    let err = FittedPipeline::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("feature"), "{err}");
}
