//! The monitoring report of one model as one self-contained HTML page
//! (inline CSS and SVG, no script, no URL): its alerts, the drift share and
//! performance per window over time, every window's per-feature verdicts,
//! and, for the latest window with a verdict, each feature's reference
//! against current distribution on the bins its test used (the plots of
//! `lathe monitor drift --html`). Written by `lathe monitor report` and
//! served by `lathe server` at `GET /monitoring/report?model=NAME`.

use std::{fmt::Write as _, sync::Arc};

use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use lathe_core::html_escape as esc;
use lathe_monitor::html::{categories_svg, STYLE};
use lathe_store::{AlertEpisode, MonitoringWindow, Store};
use serde_json::Value;

const W: f64 = 720.0;
const H: f64 = 200.0;
const PAD: f64 = 36.0;

/// One window's verdicts, read from its stored JSON.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Dataset drift verdict, when the window has one.
    pub dataset_drift: Option<bool>,
    /// Share of drifted features.
    pub drift_share: Option<f64>,
    /// Names of the drifted features.
    pub drifted: Vec<String>,
    /// Prediction drift verdict.
    pub prediction_drift: Option<bool>,
    /// Columns the reference lacks (schema drift).
    pub extra_columns: Vec<String>,
    /// `binary`, `multiclass` or `regression`, once labels arrived.
    pub task: Option<String>,
    /// The headline metrics of the model's task (absent without enough
    /// labels), see [`metric_names`].
    pub metrics: Vec<(&'static str, Option<f64>)>,
    /// The stored drift JSON.
    pub drift: Value,
}

/// The metrics shown for a window's task (its performance's `task`), in
/// order: binary (and windows without labels): accuracy, f1, roc_auc,
/// log_loss; multiclass: accuracy, f1_macro, roc_auc, log_loss; regression:
/// mae, rmse, r2.
pub fn metric_names(task: Option<&str>) -> &'static [&'static str] {
    match task {
        Some("regression") => &["mae", "rmse", "r2"],
        Some("multiclass") => &["accuracy", "f1_macro", "roc_auc", "log_loss"],
        _ => &["accuracy", "f1", "roc_auc", "log_loss"],
    }
}

impl Summary {
    /// The value of one of its metrics, when the window has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.iter().find(|(m, _)| *m == name).and_then(|(_, v)| *v)
    }
}

/// Reads a stored window's verdicts.
pub fn summary(w: &MonitoringWindow) -> Summary {
    let drift: Value = serde_json::from_str(&w.drift).unwrap_or(Value::Null);
    let perf: Value = serde_json::from_str(&w.performance).unwrap_or(Value::Null);
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let drifted = drift["columns"]
        .as_object()
        .map(|c| c.iter().filter(|(_, c)| c["drift"] == true).map(|(n, _)| n.clone()).collect())
        .unwrap_or_default();
    Summary {
        dataset_drift: drift["dataset_drift"].as_bool(),
        drift_share: drift["drift_share"].as_f64(),
        drifted,
        prediction_drift: drift["prediction"]["drift"].as_bool(),
        extra_columns: names(&drift["extra_columns"]),
        task: perf["task"].as_str().map(str::to_string),
        metrics: metric_names(perf["task"].as_str())
            .iter()
            .map(|m| (*m, perf[*m].as_f64()))
            .collect(),
        drift,
    }
}

/// The page for `model`'s `windows` (of kind `kind`, dataset drift at
/// `drift_share`) and `alerts`.
pub fn render(
    model: &str,
    kind: &str,
    drift_share: f64,
    windows: &[MonitoringWindow],
    alerts: &[AlertEpisode],
) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Monitoring: {name}</title><style>{STYLE}\
         svg .line{{fill:none;stroke-width:1.6}}svg .dot.bad{{fill:var(--bad)}}svg .dot{{fill:var(--ref)}}\
         svg .thr{{stroke:var(--bad);stroke-dasharray:4 3}}.key.muted{{background:var(--muted)}}</style></head><body>\
         <h1>Monitoring: {name}</h1><div class=\"muted\">{} windows of {} &middot; generated {}</div>",
        windows.len(),
        esc(kind),
        esc(&lathe_core::format_utc(lathe_core::now_millis())),
        name = esc(model),
    );
    html.push_str("<h2>Alerts</h2>");
    if alerts.is_empty() {
        html.push_str("<p class=\"muted\">No alert has fired.</p>");
    } else {
        html.push_str("<table><tr><th>rule</th><th>state</th><th>fired</th><th>resolved</th></tr>");
        for a in alerts {
            let _ = write!(
                html,
                "<tr><td>{}</td><td><span class=\"badge {}\">{}</span></td><td>{}</td><td>{}</td></tr>",
                esc(&a.rule),
                if a.state == "firing" { "drift" } else { "ok" },
                esc(&a.state),
                esc(&lathe_core::format_utc(a.fired_at)),
                a.resolved_at.map_or_else(|| "-".into(), |t| esc(&lathe_core::format_utc(t)).to_string()),
            );
        }
        html.push_str("</table>");
    }
    let summaries: Vec<_> = windows.iter().map(summary).collect();
    let labels: Vec<String> =
        windows.iter().map(|w| format!("v{} #{}", w.model_version, w.index)).collect();
    html.push_str("<h2>Drift share per window</h2>");
    let share: Vec<Option<f64>> = summaries.iter().map(|s| s.drift_share).collect();
    let bad: Vec<bool> = summaries.iter().map(|s| s.dataset_drift == Some(true)).collect();
    line_chart(&mut html, &labels, &[("drift share", "ref", &share)], &bad, Some(drift_share));
    html.push_str("<h2>Performance per window</h2><p class=\"muted\">From the labels joined when the window was last scored (late labels rescore it).</p>");
    // The latest scored window's task names the lines; a window of another
    // task (an older version) shows no point on them.
    let names = metric_names(summaries.iter().rev().find_map(|s| s.task.as_deref()));
    let series: Vec<(&str, Vec<Option<f64>>)> = names
        .iter()
        .take(3)
        .map(|name| {
            let values = summaries.iter().map(|s| s.metric(name)).collect();
            (*name, values)
        })
        .collect();
    let lines: Vec<(&str, &str, &Vec<Option<f64>>)> = series
        .iter()
        .zip(["ref", "cur", "muted"])
        .map(|((name, values), class)| (*name, class, values))
        .collect();
    line_chart(&mut html, &labels, &lines, &[], None);
    verdict_table(&mut html, windows, &summaries);
    if let Some((w, s)) =
        windows.iter().zip(&summaries).rev().find(|(_, s)| s.dataset_drift.is_some())
    {
        let _ = write!(
            html,
            "<h2>Latest window: v{} #{}</h2><p class=\"muted\">Share of each sample per bin of the test\
             <span class=\"key ref\"></span>reference<span class=\"key cur\"></span>current</p><div class=\"grid\">",
            w.model_version, w.index
        );
        let columns = s.drift["columns"].as_object().cloned().unwrap_or_default();
        let prediction = s
            .drift
            .get("prediction")
            .filter(|p| !p.is_null())
            .map(|p| ("prediction".to_string(), p.clone()));
        for (name, c) in columns.into_iter().chain(prediction) {
            figure(&mut html, &name, &c);
        }
        html.push_str("</div>");
    }
    html.push_str("</body></html>\n");
    html.push_str("</body></html>\n");
    html
}

#[derive(Clone)]
struct ReportState {
    store: Arc<dyn Store>,
    kind: String,
    drift_share: f64,
}

#[derive(serde::Deserialize)]
struct ReportQuery {
    model: String,
}

/// `GET /monitoring/report?model=NAME`: the report of the windows the
/// monitoring job has stored (of kind `kind`).
pub fn router(store: Arc<dyn Store>, kind: String, drift_share: f64) -> Router {
    Router::new().route("/monitoring/report", get(report)).with_state(ReportState {
        store,
        kind,
        drift_share,
    })
}

async fn report(
    State(state): State<ReportState>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return (StatusCode::BAD_REQUEST, "expected ?model=NAME").into_response();
    };
    let windows = state.store.list_windows(&q.model, None).await;
    let alerts = state.store.list_alerts(Some(&q.model)).await;
    match (windows, alerts) {
        (Ok(windows), Ok(alerts)) => {
            let windows: Vec<_> = windows.into_iter().filter(|w| w.kind == state.kind).collect();
            let page = render(&q.model, &state.kind, state.drift_share, &windows, &alerts);
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!("monitoring report: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the monitoring data").into_response()
        }
    }
}

fn figure(html: &mut String, name: &str, c: &Value) {
    let drift = c["drift"] == true;
    let _ = write!(
        html,
        "<figure><figcaption><span class=\"name\">{}</span><span><span class=\"muted\">p={}</span> \
         <span class=\"badge {}\">{}</span></span></figcaption>",
        esc(name),
        c["adjusted_score"].as_f64().map_or_else(|| "-".into(), |p| format!("{p:.3}")),
        if drift { "drift" } else { "ok" },
        if drift { "DRIFT" } else { "OK" },
    );
    let bins: Vec<(String, f64, f64)> = c["bins"]
        .as_array()
        .map(|b| {
            let (mut rn, mut cn) = (0.0, 0.0);
            let raw: Vec<(String, f64, f64)> = b
                .iter()
                .filter_map(|x| Some((x[0].as_str()?.to_string(), x[1].as_f64()?, x[2].as_f64()?)))
                .inspect(|(_, r, c)| {
                    rn += r;
                    cn += c;
                })
                .collect();
            raw.into_iter().map(|(k, r, c)| (k, r / rn.max(1.0), c / cn.max(1.0))).collect()
        })
        .unwrap_or_default();
    categories_svg(html, name, &bins, None);
    if let Some(notes) = c["notes"].as_array().filter(|n| !n.is_empty()) {
        html.push_str("<ul class=\"notes muted\">");
        for n in notes.iter().filter_map(Value::as_str) {
            let _ = write!(html, "<li>{}</li>", esc(n));
        }
        html.push_str("</ul>");
    }
    html.push_str("</figure>");
}

fn verdict_table(
    html: &mut String,
    windows: &[lathe_store::MonitoringWindow],
    summaries: &[Summary],
) {
    let mut features: Vec<String> = summaries
        .iter()
        .flat_map(|s| {
            s.drift["columns"]
                .as_object()
                .map(|c| c.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .collect();
    features.sort();
    features.dedup();
    html.push_str(
        "<h2>Verdicts per window</h2><table><tr><th>window</th><th>rows</th><th>status</th>",
    );
    for f in &features {
        let _ = write!(html, "<th>{}</th>", esc(f));
    }
    html.push_str("<th>prediction</th><th>schema</th></tr>");
    for (w, s) in windows.iter().zip(summaries) {
        let _ = write!(
            html,
            "<tr><td>v{} #{}</td><td class=\"n\">{}</td><td>{}</td>",
            w.model_version,
            w.index,
            w.rows,
            esc(&w.status)
        );
        let cell = |c: &Value| match c["drift"].as_bool() {
            Some(d) => format!(
                "<td><span class=\"badge {}\">{:.3}</span></td>",
                if d { "drift" } else { "ok" },
                c["adjusted_score"].as_f64().unwrap_or(f64::NAN)
            ),
            None => "<td class=\"muted\">-</td>".into(),
        };
        for f in &features {
            html.push_str(&cell(&s.drift["columns"][f.as_str()]));
        }
        html.push_str(&cell(&s.drift["prediction"]));
        let _ = write!(html, "<td>{}</td></tr>", esc(&s.extra_columns.join(", ")));
    }
    html.push_str("</table>");
}

/// One SVG line per series over the windows; `bad[i]` marks point i red.
fn line_chart(
    html: &mut String,
    labels: &[String],
    series: &[(&str, &str, &Vec<Option<f64>>)],
    bad: &[bool],
    threshold: Option<f64>,
) {
    if labels.is_empty() {
        html.push_str("<p class=\"muted\">No window yet.</p>");
        return;
    }
    let n = labels.len();
    let x = |i: usize| PAD + if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 } * (W - 2.0 * PAD);
    let y = |v: f64| H - PAD + 8.0 - v.clamp(0.0, 1.0) * (H - PAD - 8.0);
    let _ = write!(html, "<svg viewBox=\"0 0 {W} {H}\" role=\"img\">");
    for t in [0.0, 0.5, 1.0] {
        let _ = write!(
            html,
            "<line class=\"axis\" x1=\"{PAD}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text x=\"4\" y=\"{:.1}\">{t}</text>",
            W - PAD,
            y(t) + 3.0,
            y = y(t)
        );
    }
    if let Some(t) = threshold {
        let _ = write!(
            html,
            "<line class=\"thr\" x1=\"{PAD}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>",
            W - PAD,
            y = y(t)
        );
    }
    let step = (n / 12).max(1);
    for (i, l) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            html,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            H - 6.0,
            esc(l)
        );
    }
    for (name, class, values) in series {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        let colour = match *class {
            "ref" => "var(--ref)",
            "cur" => "var(--cur)",
            _ => "var(--muted)",
        };
        let _ = write!(html, "<polyline class=\"line\" style=\"stroke:{colour}\" points=\"{}\"><title>{}</title></polyline>", points.join(" "), esc(name));
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let cls = if bad.get(i) == Some(&true) { "dot bad" } else { "dot" };
                let _ = write!(html, "<circle class=\"{cls}\" style=\"fill:{colour}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{} {}: {v:.3}</title></circle>", x(i), y(*v), esc(&labels[i]), esc(name));
            }
        }
    }
    html.push_str("</svg>");
    if series.len() > 1 {
        html.push_str("<p class=\"muted\">");
        for (name, class, _) in series {
            let _ = write!(html, "<span class=\"key {class}\"></span>{}", esc(name));
        }
        html.push_str("</p>");
    }
}
