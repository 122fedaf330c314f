//! Bootstrap intervals on lathe's own draws, recomputed by scikit-learn and
//! `np.percentile`; McNemar's test against statsmodels.

use lathe_eval::{
    classification_intervals, mcnemar, mcnemar_from_counts, regression_intervals, BootstrapConfig,
    Interval,
};
use serde_json::Value;

use super::fixture::{close, doc, floats, indices, matrix, num, strings};

fn config(b: &Value) -> BootstrapConfig {
    BootstrapConfig {
        resamples: usize::try_from(b["resamples"].as_u64().unwrap()).unwrap(),
        level: num(&b["level"]),
        seed: b["seed"].as_u64().unwrap(),
    }
}

fn check(what: &str, intervals: &[Interval], want: &Value) {
    let got = intervals.iter().find(|i| i.metric == what).unwrap();
    close(&format!("{what} low"), got.low, num(&want["low"]));
    close(&format!("{what} high"), got.high, num(&want["high"]));
    assert_eq!(got.resamples as u64, want["resamples"].as_u64().unwrap(), "{what}");
    assert!(got.low <= got.estimate && got.estimate <= got.high, "{got:?}");
}

#[test]
fn classification_intervals_match_the_same_draws_in_scikit_learn() {
    let c = &doc()["binary"];
    let b = &c["bootstrap"];
    let mut calls = 0;
    let intervals = classification_intervals(
        &indices(&c["y_true"]),
        &matrix(&c["proba"]),
        &strings(&c["classes"]),
        &config(b),
        &mut |done| calls = done,
    )
    .unwrap();
    assert_eq!(calls, 200, "progress reaches the last resample");
    check("accuracy", &intervals, &b["accuracy"]);
    check("roc_auc", &intervals, &b["roc_auc"]);
    // Every metric gets an interval.
    for name in ["f1_macro", "log_loss", "brier_score", "ece", "pr_auc", "balanced_accuracy"] {
        assert!(intervals.iter().any(|i| i.metric == name), "{name} missing");
    }
}

#[test]
fn regression_intervals_match_the_same_draws_in_scikit_learn() {
    let c = &doc()["regression"];
    let b = &c["bootstrap"];
    let intervals =
        regression_intervals(&floats(&c["y_true"]), &floats(&c["y_pred"]), &config(b), &mut |_| {})
            .unwrap();
    check("rmse", &intervals, &b["rmse"]);
    assert_eq!(intervals.len(), 5);
    assert!(intervals.iter().all(|i| i.level == 0.9));
}

#[test]
fn mcnemar_matches_statsmodels_on_tables_exact_and_chi_squared() {
    for t in doc()["mcnemar_tables"].as_array().unwrap() {
        let (b, c) = (t["b"].as_u64().unwrap(), t["c"].as_u64().unwrap());
        let got = mcnemar_from_counts(b, c);
        let what = format!("mcnemar b={b} c={c}");
        assert_eq!(got.exact, t["exact"].as_bool().unwrap(), "{what}");
        close(&format!("{what} statistic"), got.statistic, num(&t["statistic"]));
        close(&format!("{what} p-value"), got.p_value, num(&t["pvalue"]));
    }
}

#[test]
fn mcnemar_of_two_models_on_breast_cancer_matches_statsmodels() {
    let c = &doc()["binary"];
    let m = &c["mcnemar_models"];
    let got =
        mcnemar(&indices(&c["y_true"]), &indices(&m["pred_a"]), &indices(&m["pred_b"])).unwrap();
    assert_eq!(
        (got.a_only_right, got.b_only_right),
        (m["b"].as_u64().unwrap(), m["c"].as_u64().unwrap())
    );
    close("mcnemar p-value", got.p_value, num(&m["pvalue"]));
    // Swapping the models swaps the counts, not the p-value.
    let swapped =
        mcnemar(&indices(&c["y_true"]), &indices(&m["pred_b"]), &indices(&m["pred_a"])).unwrap();
    assert_eq!(swapped.p_value, got.p_value);
    assert_eq!(swapped.a_only_right, got.b_only_right);
}
