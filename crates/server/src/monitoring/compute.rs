//! One window's verdicts from its logged rows: drift of every feature and
//! of the prediction against the reference profile (`lathe_monitor`), and
//! performance against the labels that arrived ([`super::performance`]),
//! which late labels score again.

use std::collections::BTreeMap;

use lathe_monitor::{window_drift_with, ReferenceProfile, WindowOptions, WindowValues};
use lathe_store::{LoggedPrediction, MonitoringWindow};
use serde_json::{json, Value};

use super::{
    performance::{score, Task},
    WindowSettings,
};

/// Which window of which version.
pub(crate) struct Cut<'a> {
    pub(crate) model: &'a str,
    pub(crate) version: i64,
    pub(crate) kind: &'a str,
    pub(crate) index: i64,
    /// Start and end times.
    pub(crate) span: (i64, i64),
}

pub(crate) fn window(
    cut: &Cut<'_>,
    rows: &[LoggedPrediction],
    profile: Option<&ReferenceProfile>,
    settings: &WindowSettings,
    now: i64,
) -> MonitoringWindow {
    let (features, predictions) = columns(rows);
    let enough = rows.len() as i64 >= settings.min_rows.max(1);
    let drift = match (enough, profile) {
        (false, _) => json!({ "note": format!(
            "{} rows, fewer than the minimum of {}: no verdict", rows.len(), settings.min_rows
        ) }),
        (true, None) => json!({ "note": "the model version has no reference profile" }),
        (true, Some(profile)) => {
            let options = WindowOptions {
                threshold: settings.threshold,
                drift_share: settings.drift_share,
                columns: settings.columns.clone(),
            };
            let d = window_drift_with(profile, &features, Some(&predictions), &options);
            serde_json::to_value(&d).unwrap_or(Value::Null)
        }
    };
    let scored = score(rows, settings.min_rows);
    MonitoringWindow {
        model_name: cut.model.to_string(),
        model_version: cut.version,
        kind: cut.kind.to_string(),
        index: cut.index,
        start_time: cut.span.0,
        end_time: cut.span.1,
        first_seq: rows.first().map_or(0, |r| r.seq),
        last_seq: rows.last().map_or(0, |r| r.seq),
        rows: rows.len() as i64,
        labeled_rows: scored.labeled_rows,
        status: if enough { "ok" } else { "insufficient_data" }.into(),
        drift: drift.to_string(),
        performance: with_latency(scored.performance, rows).to_string(),
        computed_at: now,
        labels_through: scored.labels_through,
    }
}

/// `stored` with its performance part scored again from its rows, as they
/// are now (late labels included); its drift stays as computed.
pub(crate) fn rescored(
    stored: &MonitoringWindow,
    rows: &[LoggedPrediction],
    settings: &WindowSettings,
) -> MonitoringWindow {
    let scored = score(rows, settings.min_rows);
    MonitoringWindow {
        labeled_rows: scored.labeled_rows,
        performance: with_latency(scored.performance, rows).to_string(),
        labels_through: scored.labels_through,
        ..stored.clone()
    }
}

/// Adds the window's serving latency (p50, p99, max, in ms, nearest rank)
/// to its performance, for `latency_p99_above`.
fn with_latency(mut performance: Value, rows: &[LoggedPrediction]) -> Value {
    let mut us: Vec<i64> = rows.iter().map(|r| r.record.latency_us).collect();
    if us.is_empty() {
        return performance;
    }
    us.sort_unstable();
    let rank = |q: f64| us[((q * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1];
    let ms = |v: i64| v as f64 / 1000.0;
    performance["latency_ms"] =
        json!({ "p50": ms(rank(0.5)), "p99": ms(rank(0.99)), "max": ms(us[us.len() - 1]) });
    performance
}

/// The window's columns by name (numbers stay numbers; anything else is a
/// category) and its predictions as the reference profile holds them: a
/// binary classifier's positive-class probability, a regressor's value, a
/// multiclass classifier's predicted class.
fn columns(rows: &[LoggedPrediction]) -> (BTreeMap<String, WindowValues>, WindowValues) {
    let parsed: Vec<serde_json::Map<String, Value>> = rows
        .iter()
        .map(|r| match serde_json::from_str(&r.record.inputs) {
            Ok(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        })
        .collect();
    let mut names: Vec<&String> = parsed.iter().flat_map(|m| m.keys()).collect();
    names.sort();
    names.dedup();
    let mut features = BTreeMap::new();
    for name in names {
        let cells: Vec<Option<&Value>> =
            parsed.iter().map(|m| m.get(name).filter(|v| !v.is_null())).collect();
        let numeric = cells.iter().flatten().all(|v| v.is_number());
        let values = if numeric {
            WindowValues::Numerical(
                cells.iter().map(|v| v.and_then(Value::as_f64).unwrap_or(f64::NAN)).collect(),
            )
        } else {
            WindowValues::Categorical(
                cells
                    .iter()
                    .map(|v| v.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect(),
            )
        };
        features.insert(name.clone(), values);
    }
    let outputs: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r.record.outputs).unwrap_or(Value::Null))
        .collect();
    let predictions = match outputs.iter().find_map(Task::of) {
        Some(Task::Multiclass) => WindowValues::Categorical(
            outputs.iter().map(|o| o["prediction"].as_str().map(str::to_string)).collect(),
        ),
        Some(Task::Regression) => WindowValues::Numerical(
            outputs.iter().map(|o| o["prediction"].as_f64().unwrap_or(f64::NAN)).collect(),
        ),
        Some(Task::Binary) | None => WindowValues::Numerical(
            outputs.iter().map(|o| o["probability"].as_f64().unwrap_or(f64::NAN)).collect(),
        ),
    };
    (features, predictions)
}

#[cfg(test)]
mod tests {
    use lathe_store::PredictionRecord;

    use super::*;

    #[test]
    fn a_window_reports_its_serving_latency_by_nearest_rank() {
        let rows: Vec<LoggedPrediction> = (1..=200)
            .map(|i| LoggedPrediction {
                seq: i,
                record: PredictionRecord {
                    prediction_id: format!("p{i}"),
                    model_name: "m".into(),
                    model_version: 1,
                    timestamp: i,
                    inputs: "{}".into(),
                    outputs: "{}".into(),
                    latency_us: (201 - i) * 1000,
                },
                label: None,
                label_received_at: None,
            })
            .collect();
        let out = with_latency(json!({}), &rows);
        assert_eq!(out["latency_ms"], json!({ "p50": 100.0, "p99": 198.0, "max": 200.0 }));
        assert_eq!(with_latency(json!({}), &[]), json!({}));
    }
}
