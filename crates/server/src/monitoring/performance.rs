//! A window's performance from the labels that arrived. The task comes
//! from what `lathe serve` logged for each prediction (a binary
//! classifier's positive-class probability, a multiclass classifier's
//! probability per class, a regressor's value), and the metrics from
//! `lathe_eval`, whose definitions are checked against scikit-learn:
//! binary: accuracy, precision, recall, F1, ROC-AUC, log loss; multiclass:
//! accuracy, macro F1, log loss, one-vs-rest ROC-AUC; regression: MAE,
//! RMSE, R².

use lathe_store::LoggedPrediction;
use serde_json::{json, Value};

/// The performance part of a window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    /// Metrics, label delay and notes, JSON.
    pub(crate) performance: Value,
    /// Rows with a label.
    pub(crate) labeled_rows: i64,
    /// Newest label arrival among them (0 when none).
    pub(crate) labels_through: i64,
}

/// What a model predicts, as its logged output shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Task {
    /// `{"probability", "positive_class"}`.
    Binary,
    /// `{"probabilities": {class: p}}` without a positive class.
    Multiclass,
    /// `{"prediction": number}`.
    Regression,
}

impl Task {
    pub(crate) fn of(outputs: &Value) -> Option<Task> {
        if outputs["positive_class"].is_string() {
            Some(Task::Binary)
        } else if outputs["probabilities"].is_object() {
            Some(Task::Multiclass)
        } else if outputs["prediction"].is_number() {
            Some(Task::Regression)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }
}

/// A stored label (JSON) as a class name: strings as they are, anything
/// else as its JSON text, so a class named `1` matches the label `1`.
fn class_of(label: &str) -> Option<String> {
    let l: Value = serde_json::from_str(label).ok()?;
    Some(l.as_str().map_or_else(|| l.to_string(), str::to_string))
}

/// A stored label as a regression target: a JSON number, or a string that
/// holds one (CSV labels arrive as text).
fn value_of(label: &str) -> Option<f64> {
    let l: Value = serde_json::from_str(label).ok()?;
    let v = match &l {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    v.is_finite().then_some(v)
}

/// The labeled rows of one task, ready for `lathe_eval`.
enum Truth {
    Binary { y: Vec<u8>, p: Vec<f64> },
    Multiclass { classes: Vec<String>, y: Vec<usize>, p: Vec<f64> },
    Regression { y: Vec<f64>, p: Vec<f64> },
}

impl Truth {
    fn new(task: Task, classes: Vec<String>) -> Truth {
        match task {
            Task::Binary => Truth::Binary { y: Vec::new(), p: Vec::new() },
            Task::Multiclass => Truth::Multiclass { classes, y: Vec::new(), p: Vec::new() },
            Task::Regression => Truth::Regression { y: Vec::new(), p: Vec::new() },
        }
    }

    /// Adds a row; `false` when its output or label does not fit the task
    /// (a missing probability, a label that is not a class or a number).
    fn push(&mut self, outputs: &Value, label: &str) -> bool {
        match self {
            Truth::Binary { y, p } => {
                let prob = outputs["probability"].as_f64().filter(|v| v.is_finite());
                let positive = outputs["positive_class"].as_str();
                let (Some(prob), Some(positive), Some(class)) = (prob, positive, class_of(label))
                else {
                    return false;
                };
                y.push(u8::from(class == positive));
                p.push(prob);
            }
            Truth::Multiclass { classes, y, p } => {
                let Some(class) = class_of(label) else { return false };
                let Some(t) = classes.iter().position(|c| *c == class) else { return false };
                let row: Option<Vec<f64>> = classes
                    .iter()
                    .map(|c| {
                        outputs["probabilities"][c.as_str()].as_f64().filter(|v| v.is_finite())
                    })
                    .collect();
                let Some(row) = row else { return false };
                y.push(t);
                p.extend(row);
            }
            Truth::Regression { y, p } => {
                let pred = outputs["prediction"].as_f64().filter(|v| v.is_finite());
                let (Some(pred), Some(value)) = (pred, value_of(label)) else { return false };
                y.push(value);
                p.push(pred);
            }
        }
        true
    }

    /// `(name, value)` of each metric, or why there are none.
    fn metrics(&self) -> Result<Vec<(&'static str, f64)>, String> {
        let err = |e: lathe_eval::Error| e.to_string();
        match self {
            Truth::Binary { y, p } => {
                let m = lathe_eval::BinaryMetrics::compute(y, p, 0.5).map_err(err)?;
                Ok(m.named().to_vec())
            }
            Truth::Multiclass { classes, y, p } => {
                let m = lathe_eval::ClassificationMetrics::compute(y, p, classes).map_err(err)?;
                let mut out = vec![
                    ("accuracy", m.accuracy),
                    ("f1_macro", m.f1.macro_avg),
                    ("log_loss", m.log_loss),
                ];
                // Undefined when a class has no labeled row in the window.
                out.extend(m.roc_auc.map(|auc| ("roc_auc", auc)));
                Ok(out)
            }
            Truth::Regression { y, p } => {
                let m = lathe_eval::RegressionMetrics::compute(y, p).map_err(err)?;
                Ok(vec![("mae", m.mae), ("rmse", m.rmse), ("r2", m.r2)])
            }
        }
    }
}

/// Scores the labeled rows of a window, with the delay between prediction
/// and label; no metrics below `min_rows` usable labeled rows.
pub(crate) fn score(rows: &[LoggedPrediction], min_rows: i64) -> Scored {
    let labeled: Vec<(&LoggedPrediction, &str, Value)> = rows
        .iter()
        .filter_map(|r| {
            let label = r.label.as_deref()?;
            Some((r, label, serde_json::from_str(&r.record.outputs).unwrap_or(Value::Null)))
        })
        .collect();
    let labels_through =
        labeled.iter().filter_map(|(r, _, _)| r.label_received_at).max().unwrap_or(0);
    let task = labeled.iter().find_map(|(_, _, o)| Task::of(o));
    let mut truth = task.map(|task| {
        // The classes of a multiclass model, in the order its output lists them.
        let classes = labeled
            .iter()
            .find_map(|(_, _, o)| o["probabilities"].as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        Truth::new(task, classes)
    });
    let mut delays = Vec::new();
    for (r, label, outputs) in &labeled {
        if Task::of(outputs) != task {
            continue;
        }
        if truth.as_mut().is_some_and(|t| t.push(outputs, label)) {
            delays.extend(r.label_received_at.map(|at| at - r.record.timestamp));
        }
    }
    let usable = delays.len();
    delays.sort_unstable();
    let delay = (!delays.is_empty())
        .then(|| json!({ "median": delays[delays.len() / 2], "max": delays[delays.len() - 1] }));
    let mut out = json!({ "labeled": usable, "label_delay_ms": delay });
    if let Some(task) = task {
        out["task"] = json!(task.name());
    }
    let scored =
        |performance| Scored { performance, labeled_rows: labeled.len() as i64, labels_through };
    let Some(truth) = truth.filter(|_| usable as i64 >= min_rows.max(1)) else {
        out["note"] = json!(format!(
            "{usable} labeled rows, fewer than the minimum of {min_rows}: no metrics"
        ));
        return scored(out);
    };
    match truth.metrics() {
        Ok(metrics) => {
            for (name, value) in metrics {
                out[name] = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
            }
        }
        // One class only among a binary window's labels: ROC-AUC is undefined.
        Err(e) => out["note"] = json!(e),
    }
    scored(out)
}

#[cfg(test)]
mod tests {
    use lathe_store::PredictionRecord;

    use super::*;

    fn row(i: i64, outputs: Value, label: Option<Value>) -> LoggedPrediction {
        LoggedPrediction {
            seq: i,
            record: PredictionRecord {
                prediction_id: format!("p{i}"),
                timestamp: 1_000 * i,
                outputs: outputs.to_string(),
                ..PredictionRecord::default()
            },
            label_received_at: label.as_ref().map(|_| 1_000 * i + 500),
            label: label.map(|l| l.to_string()),
        }
    }

    #[test]
    fn regression_windows_score_mae_rmse_and_r2_on_numeric_labels() {
        let preds = [1.0, 2.0, 3.0, 4.0];
        let truth = [json!(1.5), json!("2"), json!(2.0), json!(5)];
        let mut rows: Vec<_> = preds
            .iter()
            .zip(&truth)
            .enumerate()
            .map(|(i, (p, t))| row(i as i64, json!({ "prediction": p }), Some(t.clone())))
            .collect();
        rows.push(row(9, json!({ "prediction": 9.0 }), None));
        rows.push(row(10, json!({ "prediction": 9.0 }), Some(json!("n/a"))));
        let s = score(&rows, 1);
        let y = [1.5, 2.0, 2.0, 5.0];
        let want = lathe_eval::RegressionMetrics::compute(&y, &preds).unwrap();
        assert_eq!(s.performance["task"], "regression");
        assert_eq!(s.performance["labeled"], 4, "a label that is no number is not scored");
        assert_eq!(s.performance["mae"], json!(want.mae));
        assert_eq!(s.performance["rmse"], json!(want.rmse));
        assert_eq!(s.performance["r2"], json!(want.r2));
        assert_eq!((s.labeled_rows, s.labels_through), (5, 10_500));
    }

    #[test]
    fn multiclass_windows_score_accuracy_and_macro_f1_by_class_name() {
        let out = |a: f64, b: f64, c: f64| json!({ "prediction": "x", "probabilities": { "ant": a, "bee": b, "cat": c } });
        let rows = vec![
            row(1, out(0.7, 0.2, 0.1), Some(json!("ant"))),
            row(2, out(0.1, 0.8, 0.1), Some(json!("cat"))),
            row(3, out(0.2, 0.2, 0.6), Some(json!("cat"))),
            row(4, out(0.3, 0.4, 0.3), Some(json!("bee"))),
            row(5, out(0.3, 0.4, 0.3), Some(json!("dog"))),
        ];
        let s = score(&rows, 1);
        let classes = ["ant", "bee", "cat"].map(String::from);
        let proba = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6, 0.3, 0.4, 0.3];
        let want =
            lathe_eval::ClassificationMetrics::compute(&[0, 2, 2, 1], &proba, &classes).unwrap();
        assert_eq!(s.performance["task"], "multiclass");
        assert_eq!(s.performance["labeled"], 4, "an unknown class is not scored");
        assert_eq!(s.performance["accuracy"], json!(0.75));
        assert_eq!(s.performance["f1_macro"], json!(want.f1.macro_avg));
        assert_eq!(s.performance["log_loss"], json!(want.log_loss));
        assert_eq!(s.performance["roc_auc"], json!(want.roc_auc.unwrap()));
    }

    #[test]
    fn too_few_labels_give_a_note_and_no_metrics() {
        let rows = vec![row(1, json!({ "prediction": 1.0 }), Some(json!(1.0)))];
        let s = score(&rows, 2);
        assert!(s.performance["note"].as_str().unwrap().contains("fewer than the minimum"));
        assert!(s.performance.get("mae").is_none());
        let none = score(&[row(1, json!({ "prediction": 1.0 }), None)], 1);
        assert_eq!((none.labeled_rows, none.labels_through), (0, 0));
        assert!(none.performance.get("task").is_none());
    }
}
