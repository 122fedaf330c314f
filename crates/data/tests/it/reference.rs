//! The preprocessing equals scikit-learn's on real data (fixtures cut from
//! ../shared/data; values from `test_data/make_reference.py`).

use lathe_data::{read_table, Imputation, PreprocessSpec, Preprocessor, ReadOptions, Scaling};
use serde::Deserialize;

use super::fixture;

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    train: String,
    apply: String,
    target: String,
    imputation: String,
    scaling: String,
    max_features: usize,
    feature_names: Vec<String>,
    values: Vec<Vec<f64>>,
}

#[test]
fn features_equal_scikit_learn_within_1e9() {
    let text = std::fs::read_to_string(fixture("reference.json")).unwrap();
    let reference: Reference = serde_json::from_str(&text).unwrap();
    assert_eq!(reference.cases.len(), 5);
    for case in reference.cases {
        let spec = PreprocessSpec {
            imputation: match case.imputation.as_str() {
                "mean" => Imputation::Mean,
                "median" => Imputation::Median,
                _ => Imputation::MostFrequent,
            },
            scaling: match case.scaling.as_str() {
                "standard" => Scaling::Standard,
                "minmax" => Scaling::MinMax,
                _ => Scaling::Robust,
            },
            max_features: case.max_features,
            ..PreprocessSpec::default()
        };
        let train = read_table(&fixture(&case.train), &ReadOptions::default()).unwrap();
        let apply = read_table(&fixture(&case.apply), &ReadOptions::default()).unwrap();
        let prep = Preprocessor::fit(&train.frame, &case.target, &spec).unwrap();
        assert_eq!(prep.feature_names(), case.feature_names.as_slice(), "{}", case.name);
        let (m, _) = prep.transform(&apply.frame).unwrap();
        assert_eq!(m.rows(), case.values.len(), "{}", case.name);
        let mut worst = 0.0f64;
        for (i, want) in case.values.iter().enumerate() {
            for (j, (got, want)) in m.row(i).iter().zip(want).enumerate() {
                let err = (got - want).abs() / want.abs().max(1.0);
                assert!(
                    err <= 1e-9,
                    "{}: row {i}, feature {}: {got} vs sklearn {want}",
                    case.name,
                    case.feature_names[j]
                );
                worst = worst.max(err);
            }
        }
        eprintln!("{}: {} x {}, worst relative error {worst:e}", case.name, m.rows(), m.cols());
    }
}
