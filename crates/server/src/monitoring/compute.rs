//! One window's verdicts from its logged rows: drift of every feature and
//! of the prediction against the reference profile (`lathe_monitor`), and
//! performance against the labels that arrived (`lathe_eval`).

use std::collections::BTreeMap;

use lathe_monitor::{window_drift, ReferenceProfile, WindowValues};
use lathe_store::{LoggedPrediction, MonitoringWindow};
use serde_json::{json, Value};

use super::WindowSettings;

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
    let (features, predictions, scored) = columns(rows);
    let labeled = scored.iter().filter(|s| s.label.is_some()).count();
    let enough = rows.len() as i64 >= settings.min_rows.max(1);
    let drift = match (enough, profile) {
        (false, _) => json!({ "note": format!(
            "{} rows, fewer than the minimum of {}: no verdict", rows.len(), settings.min_rows
        ) }),
        (true, None) => json!({ "note": "the model version has no reference profile" }),
        (true, Some(profile)) => {
            let d = window_drift(
                profile,
                &features,
                Some(&predictions),
                settings.threshold,
                settings.drift_share,
            );
            serde_json::to_value(&d).unwrap_or(Value::Null)
        }
    };
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
        labeled_rows: labeled as i64,
        status: if enough { "ok" } else { "insufficient_data" }.into(),
        drift: drift.to_string(),
        performance: with_latency(performance(&scored, settings.min_rows), rows).to_string(),
        computed_at: now,
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

/// What a row contributes to performance.
struct Scored {
    probability: f64,
    /// Whether the label is the positive class.
    label: Option<bool>,
    delay_ms: Option<i64>,
}

/// The window's columns by name (numbers stay numbers; anything else is a
/// category), its predicted probabilities, and the scored rows.
fn columns(
    rows: &[LoggedPrediction],
) -> (BTreeMap<String, WindowValues>, WindowValues, Vec<Scored>) {
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
    let mut probabilities = Vec::with_capacity(rows.len());
    let mut scored = Vec::with_capacity(rows.len());
    for r in rows {
        let outputs: Value = serde_json::from_str(&r.record.outputs).unwrap_or(Value::Null);
        let probability = outputs["probability"].as_f64().unwrap_or(f64::NAN);
        probabilities.push(probability);
        let positive = outputs["positive_class"].as_str();
        let label = r.label.as_deref().and_then(|l| {
            let l: Value = serde_json::from_str(l).ok()?;
            Some(l.as_str().map_or_else(|| l.to_string(), str::to_string))
        });
        scored.push(Scored {
            probability,
            label: label.zip(positive).map(|(l, p)| l == p),
            delay_ms: r.label_received_at.map(|at| at - r.record.timestamp),
        });
    }
    (features, WindowValues::Numerical(probabilities), scored)
}

/// Accuracy, F1, ROC-AUC and log loss of the labeled rows (`lathe_eval`),
/// with the delay between prediction and label.
fn performance(scored: &[Scored], min_rows: i64) -> Value {
    let labeled: Vec<&Scored> =
        scored.iter().filter(|s| s.label.is_some() && s.probability.is_finite()).collect();
    let mut delays: Vec<i64> = labeled.iter().filter_map(|s| s.delay_ms).collect();
    delays.sort_unstable();
    let delay = (!delays.is_empty())
        .then(|| json!({ "median": delays[delays.len() / 2], "max": delays[delays.len() - 1] }));
    let mut out = json!({ "labeled": labeled.len(), "label_delay_ms": delay });
    if (labeled.len() as i64) < min_rows.max(1) {
        out["note"] = json!(format!(
            "{} labeled rows, fewer than the minimum of {min_rows}: no metrics",
            labeled.len()
        ));
        return out;
    }
    let y_true: Vec<u8> = labeled.iter().map(|s| u8::from(s.label == Some(true))).collect();
    let y_prob: Vec<f64> = labeled.iter().map(|s| s.probability).collect();
    match lathe_eval::BinaryMetrics::compute(&y_true, &y_prob, 0.5) {
        Ok(m) => {
            for (name, value) in m.named() {
                out[name] = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
            }
        }
        // One class only among the labels: ROC-AUC is undefined.
        Err(e) => out["note"] = json!(e.to_string()),
    }
    out
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
