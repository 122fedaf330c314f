//! Binary (breast cancer) and multiclass (penguins) classification metrics,
//! whole and per slice, against scikit-learn.

use lathe_eval::{classification_slices, ClassificationMetrics};
use serde_json::Value;

use super::fixture::{close, close_opt, doc, floats, indices, matrix, num, strings};

/// Checks every metric of `m` against one `expected` object of the fixture.
pub fn check(case: &str, m: &ClassificationMetrics, e: &Value) {
    let what = |name: &str| format!("{case}: {name}");
    close(&what("accuracy"), m.accuracy, num(&e["accuracy"]));
    close(&what("balanced_accuracy"), m.balanced_accuracy, num(&e["balanced_accuracy"]));
    for (name, avg) in [("precision", m.precision), ("recall", m.recall), ("f1", m.f1)] {
        close(&what(&format!("{name}_macro")), avg.macro_avg, num(&e[format!("{name}_macro")]));
        close(&what(&format!("{name}_micro")), avg.micro, num(&e[format!("{name}_micro")]));
        let weighted = format!("{name}_weighted");
        close(&what(&weighted), avg.weighted, num(&e[weighted.as_str()]));
    }
    let per_class = |get: fn(&lathe_eval::ClassMetrics) -> f64| -> Vec<f64> {
        m.per_class.iter().map(get).collect()
    };
    for (name, got) in [
        ("precision", per_class(|c| c.precision)),
        ("recall", per_class(|c| c.recall)),
        ("f1", per_class(|c| c.f1)),
    ] {
        let want = floats(&e[format!("{name}_per_class")]);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            close(&what(&format!("{name} of class {i}")), *g, *w);
        }
    }
    let support: Vec<u64> = m.per_class.iter().map(|c| c.support).collect();
    let want_support: Vec<u64> =
        e["support"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(support, want_support, "{case}: support");
    let confusion: Vec<Vec<u64>> = e["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect())
        .collect();
    assert_eq!(m.confusion, confusion, "{case}: confusion matrix");
    close(&what("log_loss"), m.log_loss, num(&e["log_loss"]));
    close(&what("brier"), m.brier, num(&e["brier"]));
    close_opt(&what("roc_auc"), m.roc_auc, &e["roc_auc_macro"]);
    close_opt(&what("roc_auc_weighted"), m.roc_auc_weighted, &e["roc_auc_weighted"]);
    close_opt(&what("pr_auc"), m.pr_auc, &e["pr_auc"]);
    // Reliability bins and ECE, against calibration_curve's bins.
    let r = &e["reliability"];
    let counts: Vec<u64> = m.calibration.bins.iter().map(|b| b.count).collect();
    let want_counts: Vec<u64> =
        r["counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(counts, want_counts, "{case}: calibration bin counts");
    let filled: Vec<_> = m.calibration.bins.iter().filter(|b| b.count > 0).collect();
    let (fracs, means) = (floats(&r["fraction_positive"]), floats(&r["mean_predicted"]));
    assert_eq!(filled.len(), fracs.len(), "{case}: non-empty bins");
    for (i, (b, (frac, mean))) in filled.iter().zip(fracs.into_iter().zip(means)).enumerate() {
        close(&what(&format!("calibration bin {i} hit rate")), b.hit_rate.unwrap(), frac);
        close(&what(&format!("calibration bin {i} mean")), b.mean_predicted.unwrap(), mean);
    }
    close(&what("ece"), m.calibration.ece, num(&r["ece"]));
    match (&m.best_f1_threshold, e.get("best_f1_threshold")) {
        (Some(b), Some(t)) => {
            assert_eq!(b.threshold, num(t), "{case}: best F1 threshold");
            close(&what("best_f1"), b.f1, num(&e["best_f1"]));
        }
        (None, None) => {}
        (got, want) => panic!("{case}: best F1 threshold {got:?}, reference {want:?}"),
    }
}

fn case(key: &str) -> (Value, Vec<usize>, Vec<f64>, Vec<String>) {
    let c = doc()[key].clone();
    let (y, p, classes) = (indices(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    (c, y, p, classes)
}

#[test]
fn binary_breast_cancer_matches_scikit_learn() {
    let (c, y, p, classes) = case("binary");
    let m = ClassificationMetrics::compute(&y, &p, &classes).unwrap();
    check("breast cancer", &m, &c["expected"]);
    assert_eq!(lathe_eval::predict_classes(&p, 2), indices(&c["expected"]["y_pred"]));
    // The PR curve has one point per distinct score plus the (0, 1) start.
    let p1: Vec<f64> = p.iter().skip(1).step_by(2).copied().collect();
    let y1: Vec<u8> = y.iter().map(|&t| u8::try_from(t).unwrap()).collect();
    let pr = lathe_eval::precision_recall_curve(&y1, &p1).unwrap();
    assert_eq!(pr.x.len() as u64, c["expected"]["pr_curve_points"].as_u64().unwrap());
    // Binary Brier is sklearn's multiclass (summed) Brier halved.
    close("brier vs summed", m.brier * 2.0, num(&c["expected"]["brier_check_sum_over_classes"]));
}

#[test]
fn multiclass_penguins_matches_scikit_learn() {
    let (c, y, p, classes) = case("multiclass");
    assert_eq!(classes.len(), 3);
    let m = ClassificationMetrics::compute(&y, &p, &classes).unwrap();
    check("penguins", &m, &c["expected"]);
    assert_eq!(lathe_eval::predict_classes(&p, 3), indices(&c["expected"]["y_pred"]));
    // The weak model confuses classes, so the check is not of a perfect score.
    assert!(m.accuracy < 0.95 && m.f1.macro_avg < m.f1.micro, "{m:?}");
}

#[test]
fn multiclass_slices_by_sex_match_scikit_learn_on_each_subset() {
    let (c, y, p, classes) = case("multiclass");
    let sex = strings(&c["sex"]);
    let slices = classification_slices(&sex, &y, &p, &classes).unwrap();
    let want = c["slices"].as_array().unwrap();
    assert_eq!(slices.len(), want.len());
    for (s, w) in slices.iter().zip(want) {
        assert_eq!(s.value, w["value"].as_str().unwrap());
        assert_eq!(s.count as u64, w["count"].as_u64().unwrap());
        check(&format!("penguins, sex = {}", s.value), &s.metrics, &w["expected"]);
    }
    assert_eq!(slices.iter().map(|s| s.count).sum::<usize>(), y.len());
}

#[test]
fn a_slice_without_some_class_has_no_auc_but_every_other_metric() {
    let (_, y, p, classes) = case("multiclass");
    // Slice by the true class itself: each slice holds one class only.
    let values: Vec<String> = y.iter().map(|&t| classes[t].clone()).collect();
    for s in classification_slices(&values, &y, &p, &classes).unwrap() {
        assert_eq!(s.metrics.roc_auc, None, "{}", s.value);
        assert_eq!(s.metrics.pr_auc, None, "{}", s.value);
        assert!(s.metrics.accuracy.is_finite() && s.metrics.log_loss.is_finite());
        let named: Vec<&str> = s.metrics.named().iter().map(|(n, _)| *n).collect();
        assert!(!named.contains(&"roc_auc") && named.contains(&"accuracy"), "{named:?}");
    }
}
