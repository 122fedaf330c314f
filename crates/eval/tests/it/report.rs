//! Each report kind renders, with every plot present, finite coordinates,
//! no external resource, and a JSON form that reads back to the same value.

use lathe_eval::report::Task;
use lathe_eval::{classification_intervals, regression_intervals, BootstrapConfig, EvalReport};

use super::fixture::{doc, floats, indices, matrix, strings};

fn quick() -> BootstrapConfig {
    BootstrapConfig { resamples: 50, ..BootstrapConfig::default() }
}

/// Every `data-plot` of the page, in order.
fn plots(html: &str) -> Vec<String> {
    html.split("data-plot=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

/// Checks what every report page must satisfy.
fn check_page(html: &str, want_plots: &[&str]) {
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>"));
    assert_eq!(plots(html), want_plots);
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    for bad in ["NaN", "inf", "http://", "https://", "<script", "src=", "@import"] {
        assert!(!html.contains(bad), "the page contains {bad:?}");
    }
    // Every number in a coordinate attribute parses and is finite.
    for attr in [" x=\"", " y=\"", " cx=\"", " cy=\"", " width=\"", " height=\"", " points=\""] {
        for chunk in html.split(attr).skip(1) {
            let value = &chunk[..chunk.find('"').unwrap()];
            for n in value.split([' ', ',']).filter(|s| !s.is_empty()) {
                let v: f64 = n.parse().unwrap_or_else(|_| panic!("{attr}{value}: not a number"));
                assert!(v.is_finite(), "{attr}{value}");
            }
        }
    }
}

fn round_trips(report: &EvalReport) {
    let json = report.to_json().unwrap();
    let back: EvalReport = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, report);
}

#[test]
fn binary_report_has_every_plot_and_intervals() {
    let c = &doc()["binary"];
    let (y, p, classes) = (indices(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    let intervals = classification_intervals(&y, &p, &classes, &quick(), &mut |_| {}).unwrap();
    let names: Vec<String> = (0..30).map(|i| format!("feature_{i}")).collect();
    let values: Vec<f64> = (0..30).map(|i| f64::from(i) - 10.0).collect();
    let report = EvalReport::classification("breast cancer <logistic>", &y, &p, &classes)
        .unwrap()
        .with_intervals(intervals)
        .with_feature_importance(&names, &values)
        .unwrap();
    assert_eq!(report.task, Task::Binary);
    assert_eq!(report.roc_curves.len(), 1);
    assert_eq!(report.feature_importance[0].feature, "feature_29");
    let html = report.to_html();
    check_page(&html, &["roc", "pr", "calibration", "confusion", "importance"]);
    assert!(html.contains("breast cancer &lt;logistic&gt;"), "the title is escaped");
    assert!(html.contains("95% interval") && html.contains("top 20 of 30"));
    round_trips(&report);
}

#[test]
fn multiclass_report_has_one_curve_per_class_and_slices() {
    let c = &doc()["multiclass"];
    let (y, p, classes) = (indices(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    let report = EvalReport::classification("penguins", &y, &p, &classes)
        .unwrap()
        .with_classification_slices("sex", &strings(&c["sex"]), &y, &p, &classes)
        .unwrap();
    assert_eq!(report.task, Task::Multiclass);
    assert_eq!(report.roc_curves.len(), 3);
    assert_eq!(report.pr_curves.len(), 3);
    let html = report.to_html();
    check_page(&html, &["roc", "pr", "calibration", "confusion"]);
    for class in &classes {
        assert!(html.contains(class.as_str()), "{class} is named");
    }
    assert!(html.contains("Slices by sex") && html.contains("female"));
    assert_eq!(html.matches("<polyline").count(), 3 + 3 + 1);
    round_trips(&report);
}

#[test]
fn regression_report_has_residual_plots() {
    let c = &doc()["regression"];
    let (y, p) = (floats(&c["y_true"]), floats(&c["y_pred"]));
    let intervals = regression_intervals(&y, &p, &quick(), &mut |_| {}).unwrap();
    let report = EvalReport::regression("diabetes", &y, &p)
        .unwrap()
        .with_intervals(intervals)
        .with_regression_slices("sex", &strings(&c["sex"]), &y, &p)
        .unwrap()
        .with_feature_importance(&["bmi".to_string(), "s5".to_string()], &[0.6, 0.3])
        .unwrap();
    assert_eq!(report.task, Task::Regression);
    let res = report.residuals.as_ref().unwrap();
    assert_eq!(res.histogram_counts.iter().sum::<u64>(), 111);
    assert_eq!(res.predicted.len(), 111);
    let html = report.to_html();
    check_page(&html, &["residuals", "residual-histogram", "importance"]);
    assert_eq!(html.matches("<circle").count(), 111);
    round_trips(&report);
}

#[test]
fn large_inputs_are_thinned_for_plotting_but_not_for_metrics() {
    let n = 10_000;
    let y: Vec<f64> = (0..n).map(|i| f64::from(i % 97)).collect();
    let p: Vec<f64> = (0..n).map(|i| f64::from(i % 89)).collect();
    let report = EvalReport::regression("big", &y, &p).unwrap();
    let res = report.residuals.as_ref().unwrap();
    assert_eq!(res.predicted.len(), lathe_eval::report::MAX_SCATTER_POINTS);
    assert_eq!(res.histogram_counts.iter().sum::<u64>(), 10_000);
    assert_eq!(report.regression.unwrap().rows, 10_000);
    let yc: Vec<usize> = (0..n).map(|i| usize::from(i % 3 == 0)).collect();
    let pc: Vec<f64> = (0..n)
        .flat_map(|i| {
            let q = f64::from(i % 1000) / 1000.0;
            [1.0 - q, q]
        })
        .collect();
    let classes = ["no", "yes"].map(String::from);
    let report = EvalReport::classification("big", &yc, &pc, &classes).unwrap();
    assert!(report.roc_curves[0].curve.x.len() <= lathe_eval::report::MAX_CURVE_POINTS);
    check_page(&report.to_html(), &["roc", "pr", "calibration", "confusion"]);
}

/// A run that keeps what it is given, to see what a report logs.
#[derive(Default)]
struct Run {
    metrics: Vec<lathe_core::Metric>,
    artifacts: Vec<(String, Vec<u8>)>,
    /// Refuse artifacts, as a full disk would.
    refuse: bool,
}

impl lathe_core::RunRecorder for Run {
    type Error = std::io::Error;
    fn log_params(&mut self, _: &[lathe_core::Param]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn log_metrics(&mut self, metrics: &[lathe_core::Metric]) -> Result<(), Self::Error> {
        self.metrics.extend_from_slice(metrics);
        Ok(())
    }
    fn set_tags(&mut self, _: &[lathe_core::Tag]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn log_inputs(&mut self, _: &[lathe_core::DatasetInput]) -> Result<(), Self::Error> {
        Ok(())
    }
    fn log_artifact(&mut self, path: &str, bytes: &[u8]) -> Result<(), Self::Error> {
        if self.refuse {
            return Err(std::io::Error::other("no space left on device"));
        }
        self.artifacts.push((path.to_string(), bytes.to_vec()));
        Ok(())
    }
}

#[test]
fn a_report_logs_its_metrics_intervals_slices_and_files_to_the_run() {
    let c = &doc()["multiclass"];
    let (y, p, classes) = (indices(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    let intervals = classification_intervals(&y, &p, &classes, &quick(), &mut |_| {}).unwrap();
    let report = EvalReport::classification("penguins", &y, &p, &classes)
        .unwrap()
        .with_intervals(intervals)
        .with_classification_slices("sex", &strings(&c["sex"]), &y, &p, &classes)
        .unwrap();
    let mut run = Run::default();
    report.log_to(&mut run, 1_700_000_000_000).unwrap();
    let value = |key: &str| run.metrics.iter().find(|m| m.key == key).map(|m| m.value);
    let m = report.classification.as_ref().unwrap();
    assert_eq!(value("f1_macro"), Some(m.f1.macro_avg));
    assert_eq!(value("roc_auc"), m.roc_auc);
    assert!(value("accuracy_ci_low").unwrap() <= m.accuracy);
    assert_eq!(value("slice/sex/female/count"), Some(48.0));
    let female = &report.classification_slices[0].metrics;
    assert_eq!(value("slice/sex/female/accuracy"), Some(female.accuracy));
    let allowed = |c: char| c.is_alphanumeric() || "_-. /:".contains(c);
    assert!(run.metrics.iter().all(|m| m.key.chars().all(allowed) && m.timestamp > 0));
    let paths: Vec<&str> = run.artifacts.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["eval/report.html", "eval/report.json"]);
    let json: EvalReport = serde_json::from_slice(&run.artifacts[1].1).unwrap();
    assert_eq!(json, report);
    let mut full = Run { refuse: true, ..Run::default() };
    let e = report.log_to(&mut full, 1).unwrap_err();
    assert_eq!(e.to_string(), "logging the evaluation to the run: no space left on device");
}
