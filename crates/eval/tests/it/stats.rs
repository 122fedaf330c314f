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

/// Model B: model A's positive-class probability with deterministic noise.
fn noisy(p: &[f64]) -> Vec<f64> {
    p.chunks_exact(2)
        .enumerate()
        .flat_map(|(i, row)| {
            let q = (row[1] + 0.45 * (i as f64 * 1.7).sin()).clamp(0.0, 1.0);
            [1.0 - q, q]
        })
        .collect()
}

#[test]
fn comparing_classifiers_equals_the_binary_paired_bootstrap_and_adds_mcnemar() {
    let c = &doc()["binary"];
    let (y, a, classes) = (indices(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    let b = noisy(&a);
    let config = BootstrapConfig { resamples: 300, ..BootstrapConfig::default() };
    let got = lathe_eval::compare_classifiers(&y, &a, &b, &classes, "roc_auc", &config).unwrap();
    // The same draws and rule as the binary paired bootstrap the gate uses.
    let y8: Vec<u8> = y.iter().map(|&t| u8::try_from(t).unwrap()).collect();
    let p1 = |m: &[f64]| -> Vec<f64> { m.iter().skip(1).step_by(2).copied().collect() };
    let auc = |y: &[u8], p: &[f64]| lathe_eval::roc_auc(y, p).unwrap_or(f64::NAN);
    let want = lathe_eval::paired_bootstrap(&y8, &p1(&a), &p1(&b), auc, &config).unwrap();
    close("observed", got.diff.observed, want.observed);
    close("low", got.diff.ci_low, want.ci_low);
    close("high", got.diff.ci_high, want.ci_high);
    assert_eq!(got.diff.resamples, want.resamples);
    assert!(got.a > got.b && got.diff.ci_low > 0.0, "{got:?}");
    let m = got.mcnemar.unwrap();
    let pred = |p: &[f64]| lathe_eval::predict_classes(p, 2);
    assert_eq!(m, mcnemar(&y, &pred(&a), &pred(&b)).unwrap());
    // A model against itself: no difference, no discordant rows.
    let same = lathe_eval::compare_classifiers(&y, &a, &a, &classes, "f1_macro", &config).unwrap();
    assert_eq!((same.diff.ci_low, same.diff.ci_high, same.diff.observed), (0.0, 0.0, 0.0));
    assert_eq!(same.mcnemar.unwrap().p_value, 1.0);
}

#[test]
fn comparing_regressors_and_unknown_metrics() {
    let c = &doc()["regression"];
    let (y, a) = (floats(&c["y_true"]), floats(&c["y_pred"]));
    let b: Vec<f64> = a.iter().map(|p| p * 0.5 + 76.0).collect();
    let config = BootstrapConfig { resamples: 200, ..BootstrapConfig::default() };
    let got = lathe_eval::compare_regressors(&y, &a, &b, "rmse", &config).unwrap();
    assert!(got.mcnemar.is_none());
    assert_eq!(got.diff.observed, got.a - got.b);
    assert!(got.diff.ci_low <= got.diff.observed && got.diff.observed <= got.diff.ci_high);
    let e = lathe_eval::compare_regressors(&y, &a, &b, "auc", &config).unwrap_err();
    assert_eq!(e.to_string(), "compare: metric 'auc' is unknown or not defined on these rows");
}

/// Binary resamples are laid out by score before the metrics see them (a
/// speed-up, bootstrap.rs); every interval must equal the one from rows in
/// drawn order, on scores with many ties.
#[test]
fn binary_intervals_equal_those_of_rows_in_drawn_order() {
    let n = 3_000;
    let mut rng = lathe_core::SplitMix64::new(9);
    let y: Vec<usize> = (0..n).map(|_| rng.scaled(2)).collect();
    let proba: Vec<f64> = y
        .iter()
        .flat_map(|&label| {
            // Scores on a grid of 50 values: ties everywhere, informative.
            let p = ((rng.scaled(40) + 10 * label) as f64 / 49.0).clamp(0.0, 1.0);
            [1.0 - p, p]
        })
        .collect();
    let classes = vec!["no".to_string(), "yes".to_string()];
    let config = BootstrapConfig { resamples: 300, level: 0.95, seed: 4 };
    let fast = classification_intervals(&y, &proba, &classes, &config, &mut |_| {}).unwrap();
    let plain = lathe_eval::bootstrap_metrics(
        n,
        &config,
        |rows| {
            let ys: Vec<usize> = rows.iter().map(|&i| y[i]).collect();
            let ps: Vec<f64> =
                rows.iter().flat_map(|&i| [proba[2 * i], proba[2 * i + 1]]).collect();
            Ok(lathe_eval::ClassificationMetrics::compute(&ys, &ps, &classes)?.named())
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(fast.len(), plain.len());
    for (a, b) in fast.iter().zip(&plain) {
        assert_eq!(a.metric, b.metric);
        assert_eq!(a.resamples, b.resamples, "{}", a.metric);
        for (x, z) in [(a.estimate, b.estimate), (a.low, b.low), (a.high, b.high)] {
            assert!((x - z).abs() <= 1e-12 * z.abs().max(1.0), "{}: {x} vs {z}", a.metric);
        }
    }
}
