//! lathe's Gbm with its defaults scores within 0.01 of LightGBM Python's
//! defaults (`test_data/gbm_reference.json`, from `make_gbm_reference.py`).

use lathe_train::{Gbm, MemoryRecorder, TabularLearner};
use serde_json::Value;

use crate::fixtures;

const REFERENCE: &str = include_str!("../../test_data/gbm_reference.json");

fn macro_f1(truth: &[usize], pred: &[usize], k: usize) -> f64 {
    let mut total = 0.0;
    for c in 0..k {
        let tp = truth.iter().zip(pred).filter(|(t, p)| **t == c && **p == c).count() as f64;
        let fp = truth.iter().zip(pred).filter(|(t, p)| **t != c && **p == c).count() as f64;
        let fn_ = truth.iter().zip(pred).filter(|(t, p)| **t == c && **p != c).count() as f64;
        total += if tp == 0.0 { 0.0 } else { 2.0 * tp / (2.0 * tp + fp + fn_) };
    }
    total / k as f64
}

#[test]
fn defaults_score_within_001_of_lightgbm_python() {
    let reference: Value = serde_json::from_str(REFERENCE).unwrap();
    for case in fixtures::all() {
        let r = &reference["cases"][case.name];
        let expected = r["value"].as_f64().unwrap();
        let (x, y) = &case.train;
        let (tx, ty) = &case.test;
        assert_eq!(x.rows() as u64, r["train_rows"].as_u64().unwrap());
        let model = Gbm::default().fit(x, y, None, &mut MemoryRecorder::default()).unwrap();
        let p = model.predict(tx).unwrap();
        let (score, tolerance) = match r["metric"].as_str().unwrap() {
            "roc_auc" => {
                let truth: Vec<u8> = ty.values.iter().map(|&v| v as u8).collect();
                let scores: Vec<f64> = (0..p.rows()).map(|i| p.row(i)[1]).collect();
                (lathe_eval::roc_auc(&truth, &scores).unwrap(), 0.01)
            }
            "macro_f1" => {
                let truth: Vec<usize> = ty.values.iter().map(|&v| v as usize).collect();
                (macro_f1(&truth, &p.labels(), ty.classes.len()), 0.01)
            }
            _ => {
                let mse =
                    p.values.iter().zip(&ty.values).map(|(a, b)| (a - b).powi(2)).sum::<f64>()
                        / p.rows() as f64;
                // RMSE compared relatively, as the issue states it.
                (mse.sqrt(), 0.01 * expected)
            }
        };
        assert!(
            (score - expected).abs() <= tolerance,
            "{}: lathe {score} vs LightGBM {expected}",
            case.name
        );
    }
}
