//! Regression metrics (diabetes, LinearRegression) against scikit-learn.

use lathe_eval::{regression_slices, RegressionMetrics};
use serde_json::Value;

use super::fixture::{close, doc, floats, num, strings};

fn check(case: &str, m: &RegressionMetrics, e: &Value) {
    for (name, value) in m.named() {
        close(&format!("{case}: {name}"), value, num(&e[name]));
    }
}

#[test]
fn diabetes_matches_scikit_learn() {
    let c = &doc()["regression"];
    let m = RegressionMetrics::compute(&floats(&c["y_true"]), &floats(&c["y_pred"])).unwrap();
    check("diabetes", &m, &c["expected"]);
    assert_eq!(m.rows, 111);
}

#[test]
fn slices_by_sex_match_scikit_learn_on_each_subset() {
    let c = &doc()["regression"];
    let (y, p) = (floats(&c["y_true"]), floats(&c["y_pred"]));
    let slices = regression_slices(&strings(&c["sex"]), &y, &p).unwrap();
    let want = c["slices"].as_array().unwrap();
    assert_eq!(slices.len(), want.len());
    for (s, w) in slices.iter().zip(want) {
        assert_eq!(
            (s.value.as_str(), s.count as u64),
            (w["value"].as_str().unwrap(), w["count"].as_u64().unwrap())
        );
        check(&format!("diabetes, sex = {}", s.value), &s.metrics, &w["expected"]);
    }
}

#[test]
fn mape_divides_a_zero_target_by_epsilon_as_scikit_learn() {
    let c = &doc()["regression"]["mape_with_zero"];
    let m = RegressionMetrics::compute(&floats(&c["y_true"]), &floats(&c["y_pred"])).unwrap();
    close("mape with a zero target", m.mape, num(&c["mape"]));
    assert!(m.mape > 1e14, "0.5 / eps dominates: {}", m.mape);
}

#[test]
fn r2_of_a_constant_target_is_forced_finite() {
    let c = &doc()["regression"]["constant_target"];
    let y = floats(&c["y_true"]);
    let m = RegressionMetrics::compute(&y, &floats(&c["y_pred"])).unwrap();
    assert_eq!(m.r2, num(&c["r2"]));
    assert_eq!(RegressionMetrics::compute(&y, &y).unwrap().r2, num(&c["r2_perfect"]));
}

#[test]
fn median_absolute_error_of_an_even_count_averages_the_middle_pair() {
    let m = RegressionMetrics::compute(&[1.0, 2.0, 3.0, 4.0], &[1.5, 2.0, 4.0, 0.0]).unwrap();
    // |errors| = 0.5, 0, 1, 4 → median (0.5 + 1) / 2
    assert_eq!(m.median_absolute_error, 0.75);
}
