//! Writes the three report kinds (binary, multiclass, regression) built
//! from the committed fixture into a folder, to look at them in a browser:
//!
//! ```sh
//! cargo run -p lathe-eval --example render_reports -- /tmp/eval-reports
//! chromium --headless --no-sandbox --screenshot=/tmp/binary.png \
//!     --window-size=1200,2400 file:///tmp/eval-reports/binary.html
//! ```

use std::path::PathBuf;

use lathe_eval::{classification_intervals, regression_intervals, BootstrapConfig, EvalReport};
use serde_json::Value;

const REFERENCE: &str = include_str!("../test_data/dataset_reference.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

fn labels(v: &Value) -> Vec<usize> {
    floats(v).into_iter().map(|x| x as usize).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn matrix(v: &Value) -> Vec<f64> {
    v.as_array().map(|rows| rows.iter().flat_map(floats).collect()).unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "eval-reports".into()));
    std::fs::create_dir_all(&dir)?;
    let doc: Value = serde_json::from_str(REFERENCE)?;
    let config = BootstrapConfig { resamples: 500, ..BootstrapConfig::default() };

    let c = &doc["binary"];
    let (y, p, classes) = (labels(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    let features = ["worst_concave_points", "worst_perimeter", "mean_texture", "worst_radius"];
    let names: Vec<String> = features.iter().map(|s| s.to_string()).collect();
    let binary =
        EvalReport::classification("Breast cancer — logistic regression", &y, &p, &classes)?
            .with_intervals(classification_intervals(&y, &p, &classes, &config, &mut |_| {})?)
            .with_feature_importance(&names, &[1.21, 0.93, -0.62, 0.48])?;

    let c = &doc["multiclass"];
    let (y, p, classes) = (labels(&c["y_true"]), matrix(&c["proba"]), strings(&c["classes"]));
    let multiclass =
        EvalReport::classification("Penguins — logistic regression", &y, &p, &classes)?
            .with_intervals(classification_intervals(&y, &p, &classes, &config, &mut |_| {})?)
            .with_classification_slices("sex", &strings(&c["sex"]), &y, &p, &classes)?;

    let c = &doc["regression"];
    let (y, p) = (floats(&c["y_true"]), floats(&c["y_pred"]));
    let names: Vec<String> =
        ["bmi", "s5", "bp", "s1", "sex"].iter().map(|s| s.to_string()).collect();
    let regression = EvalReport::regression("Diabetes — linear regression", &y, &p)?
        .with_intervals(regression_intervals(&y, &p, &config, &mut |_| {})?)
        .with_regression_slices("sex", &strings(&c["sex"]), &y, &p)?
        .with_feature_importance(&names, &[5.6, 4.8, 2.9, -1.7, -1.2])?;

    for (name, report) in
        [("binary", binary), ("multiclass", multiclass), ("regression", regression)]
    {
        std::fs::write(dir.join(format!("{name}.html")), report.to_html())?;
        std::fs::write(dir.join(format!("{name}.json")), report.to_json()?)?;
    }
    Ok(())
}
