//! Production monitoring: `/monitoring` (every model with a prediction log
//! and its firing alerts) and `/models/{name}/monitoring` (one model's
//! windows: drift per feature as a heatmap, prediction drift, performance
//! once labels arrived, serving latency, and its alerts with their history).
//!
//! What is shown is what the monitoring job of `lathe server` stored; the
//! page computes nothing from the raw prediction log.

use std::fmt::Write as _;

use axum::extract::State;
use futures_util::future::try_join_all;
use lathe_store::{AlertDelivery, AlertEpisode, MonitoringWindow};

use super::{
    alias_badge,
    experiments::clip,
    windows::{by_series, default_series, distributions, SeriesKey, View, METRICS},
};
use crate::{
    bins::overlay,
    chart::{line_chart, Series},
    error::{UiError, UiResult},
    heatmap::{heatmap, Row},
    html::{a, esc, num, num_cell, time, time_el, Link},
    layout::{Nav, Page},
    params::{Params, Segs},
    Db,
};

/// Windows drawn in the heatmap and listed in the table: the latest ones.
const RECENT_WINDOWS: usize = 60;
/// Features whose distributions are drawn for the latest window.
const MAX_OVERLAYS: usize = 12;
/// Alert episodes whose webhook deliveries are read (newest first).
const DELIVERIES_FOR: usize = 20;
/// Retrains listed (newest first).
const RETRAINS: usize = 20;

/// `GET /monitoring`.
pub(crate) async fn list(State(store): State<Db>) -> UiResult<Page> {
    let (summary, alerts) =
        tokio::try_join!(store.prediction_log_summary(None), store.list_alerts(None))?;
    let mut out = String::from(
        "<p class=\"muted\">Models that <code>lathe serve</code> has logged predictions for. \
         Windows, drift and alerts are computed by <code>lathe server --config</code>.</p>",
    );
    if summary.is_empty() {
        out.push_str("<p class=\"empty\">No predictions logged yet.</p>");
        return Ok(Page::new(Nav::Monitoring, "Monitoring", out));
    }
    let mut names: Vec<&str> = summary.iter().map(|s| s.model_name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    out.push_str(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Monitored models\">\
         <table class=\"grid-table\"><thead><tr><th scope=\"col\">Model</th>\
         <th scope=\"col\">Versions logged</th><th scope=\"col\" class=\"num\">Predictions</th>\
         <th scope=\"col\" class=\"num\">Labeled</th><th scope=\"col\">Last prediction</th>\
         <th scope=\"col\">Alerts firing</th></tr></thead><tbody>",
    );
    for name in names {
        let rows: Vec<_> = summary.iter().filter(|s| s.model_name == name).collect();
        let versions: Vec<String> = rows
            .iter()
            .map(|s| {
                a(
                    &Link::to(&["models", name, "versions", &s.model_version.to_string()]),
                    &format!("v{}", s.model_version),
                )
            })
            .collect();
        let firing: Vec<String> = alerts
            .iter()
            .filter(|e| e.model_name == name && e.state == "firing")
            .map(|e| format!("<span class=\"badge firing\">{}</span>", esc(&e.rule)))
            .collect();
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td>{}</td><td>{}</td></tr>",
            a(&Link::to(&["models", name, "monitoring"]), name),
            versions.join(" "),
            rows.iter().map(|s| s.rows).sum::<i64>(),
            rows.iter().map(|s| s.labeled).sum::<i64>(),
            time_el(rows.iter().map(|s| s.last_time).max()),
            if firing.is_empty() { "<span class=\"muted\">none</span>".into() } else { firing.join(" ") },
        );
    }
    out.push_str("</tbody></table></div>");
    Ok(Page::new(Nav::Monitoring, "Monitoring", out))
}

/// `GET /models/{name}/monitoring?version=&kind=`.
pub(crate) async fn show(
    State(store): State<Db>,
    Segs(segs): Segs,
    params: Params,
) -> UiResult<Page> {
    let name = segs.first().cloned().unwrap_or_default();
    let version = match params.get("version") {
        None => None,
        Some(text) => Some(text.parse::<i64>().ok().filter(|v| *v >= 1).ok_or_else(|| {
            UiError::BadRequest(format!(
                "Invalid value '{text}' for 'version': expected a whole number from 1"
            ))
        })?),
    };
    let model = store.get_registered_model(&name).await?;
    let (windows, alerts, summary) = tokio::try_join!(
        store.list_windows(&name, None),
        store.list_alerts(Some(&name)),
        store.prediction_log_summary(Some(&name)),
    )?;
    let series = by_series(&windows);
    let chosen = match (version, params.get("kind")) {
        (None, None) => default_series(&series).cloned(),
        (v, kind) => {
            let found = series.keys().find(|k| {
                v.is_none_or(|v| k.version == v) && kind.is_none_or(|kind| k.kind == kind)
            });
            Some(found.cloned().ok_or_else(|| {
                UiError::NotFound(format!(
                    "Model '{name}' has no monitoring windows{}{}",
                    v.map(|v| format!(" for version {v}")).unwrap_or_default(),
                    params.get("kind").map(|k| format!(" of kind '{k}'")).unwrap_or_default(),
                ))
            })?)
        }
    };

    let mut out = String::new();
    out.push_str("<dl class=\"meta\">");
    if !model.aliases.is_empty() {
        let aliases: Vec<String> =
            model.aliases.iter().map(|(al, v)| format!("{} → v{v}", alias_badge(al))).collect();
        let _ = write!(out, "<div><dt>Aliases</dt><dd>{}</dd></div>", aliases.join(" "));
    }
    for s in &summary {
        let _ = write!(
            out,
            "<div><dt>v{} logged</dt><dd>{} predictions, {} labeled, last {}</dd></div>",
            s.model_version,
            s.rows,
            s.labeled,
            time_el(Some(s.last_time))
        );
    }
    if summary.is_empty() {
        out.push_str("<div><dt>Prediction log</dt><dd>empty</dd></div>");
    }
    out.push_str("</dl>");

    match chosen.as_ref().and_then(|k| series.get(k).map(|ws| (k, ws))) {
        None => out.push_str(
            "<p class=\"empty\">No monitoring windows yet: <code>lathe server --config</code> \
             computes them from the prediction log that <code>lathe serve</code> writes.</p>",
        ),
        Some((key, ws)) => {
            series_nav(&mut out, &name, &series, key);
            // Every feature's verdict only for the windows the heatmap and table show.
            let full_from = ws.len().saturating_sub(RECENT_WINDOWS);
            let views: Vec<View<'_>> = ws
                .iter()
                .enumerate()
                .map(|(i, w)| if i >= full_from { View::of(w) } else { View::summary(w) })
                .collect();
            window_sections(&mut out, key, &views);
        }
    }
    alert_section(&mut out, store.as_ref(), &alerts).await?;
    retrain_section(&mut out, store.as_ref(), &name).await?;

    Ok(Page::new(Nav::Monitoring, format!("{} · monitoring", model.name), out)
        .crumb("Models", Link::to(&["models"]))
        .crumb(model.name.clone(), Link::to(&["models", &model.name])))
}

/// Links to every series of windows (version × kind), the shown one marked.
fn series_nav(
    out: &mut String,
    name: &str,
    series: &std::collections::BTreeMap<SeriesKey, Vec<&MonitoringWindow>>,
    shown: &SeriesKey,
) {
    out.push_str("<nav class=\"toolbar\" aria-label=\"Window series\"><span class=\"muted\">Windows of</span>");
    for (k, ws) in series {
        let link = Link::to(&["models", name, "monitoring"])
            .q("version", k.version.to_string())
            .q("kind", k.kind.clone());
        let current = if k == shown {
            " aria-current=\"true\" class=\"chip current\""
        } else {
            " class=\"chip\""
        };
        let _ = write!(
            out,
            " <a href=\"{}\"{current}>v{} · {} ({} windows)</a>",
            esc(&link.to_string()),
            k.version,
            esc(&k.kind),
            ws.len()
        );
    }
    out.push_str("</nav>");
}

/// The heatmap, the charts over windows and the table of the latest windows.
fn window_sections(out: &mut String, key: &SeriesKey, views: &[View<'_>]) {
    let recent = &views[views.len().saturating_sub(RECENT_WINDOWS)..];
    let cut_note = if recent.len() < views.len() {
        format!(" (the latest {} of {})", recent.len(), views.len())
    } else {
        String::new()
    };
    out.push_str("<section aria-labelledby=\"drift\"><h2 id=\"drift\">Drift</h2>");
    let mut features: Vec<&str> =
        recent.iter().flat_map(|v| v.columns.keys().map(String::as_str)).collect();
    features.sort_unstable();
    features.dedup();
    if features.is_empty() && recent.iter().all(|v| v.prediction.is_none()) {
        let why = recent.iter().rev().flat_map(|v| v.notes.first()).next();
        let _ = write!(
            out,
            "<p class=\"muted\">No drift verdicts in these windows{}.</p>",
            why.map(|w| format!(": {}", esc(w))).unwrap_or_default()
        );
    } else {
        let columns: Vec<String> = recent.iter().map(|v| v.w.index.to_string()).collect();
        let rows: Vec<Row> = features
            .iter()
            .map(|f| Row {
                label: (*f).to_string(),
                cells: recent.iter().map(|v| v.columns.get(*f).map(|c| (c.p, c.drift))).collect(),
            })
            .collect();
        let prediction = Row {
            label: "prediction".into(),
            cells: recent.iter().map(|v| v.prediction.as_ref().map(|c| (c.p, c.drift))).collect(),
        };
        let has_prediction = prediction.cells.iter().any(Option::is_some);
        heatmap(
            out,
            &format!("Drift per feature and window, v{} {}{cut_note}", key.version, key.kind),
            &columns,
            &rows,
            has_prediction.then_some(&prediction),
        );
    }
    out.push_str("<div class=\"charts\">");
    let over = |f: &dyn Fn(&View<'_>) -> Option<f64>| -> Vec<(f64, f64)> {
        let pts: Vec<(f64, f64)> =
            views.iter().filter_map(|v| Some((v.w.index as f64, f(v)?))).collect();
        crate::lttb::lttb(&pts, crate::MAX_CHART_POINTS)
    };
    line_chart(
        out,
        "Share of drifted features",
        "",
        "window",
        &[Series { label: "drift share".into(), points: over(&|v| v.drift_share) }],
    );
    line_chart(
        out,
        "Prediction drift (p-value)",
        "",
        "window",
        &[Series {
            label: "prediction p".into(),
            points: over(&|v| v.prediction.as_ref().map(|p| p.p)),
        }],
    );
    out.push_str("</div>");
    overlays(out, recent);
    out.push_str("</section>");

    out.push_str(
        "<section aria-labelledby=\"performance\"><h2 id=\"performance\">Performance after feedback</h2>\
         <div class=\"charts\">",
    );
    let perf: Vec<Series> = METRICS
        .iter()
        .enumerate()
        .filter(|(_, m)| **m != "log_loss")
        .map(|(i, m)| Series { label: (*m).to_string(), points: over(&|v| v.metrics[i]) })
        .collect();
    if perf.iter().all(|s| s.points.is_empty()) {
        out.push_str(
            "<p class=\"muted\">No window has enough labeled predictions for metrics yet \
             (labels arrive on <code>POST /feedback</code> of <code>lathe serve</code>).</p>",
        );
    } else {
        line_chart(out, "Metrics on labeled predictions", "", "window", &perf);
    }
    let latency = [
        Series { label: "p50 ms".into(), points: over(&|v| v.latency.map(|l| l.p50)) },
        Series { label: "p99 ms".into(), points: over(&|v| v.latency.map(|l| l.p99)) },
    ];
    line_chart(out, "Serving latency", "milliseconds per request", "window", &latency);
    out.push_str("</div></section>");

    let _ = write!(
        out,
        "<section aria-labelledby=\"windows\"><h2 id=\"windows\">Windows{}</h2>\
         <div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Windows\">\
         <table class=\"grid-table\"><thead><tr><th scope=\"col\" class=\"num\">Window</th>\
         <th scope=\"col\">Span</th><th scope=\"col\" class=\"num\">Rows</th>\
         <th scope=\"col\" class=\"num\">Labeled</th><th scope=\"col\" class=\"num\">Drift share</th>\
         <th scope=\"col\">Drifted features</th><th scope=\"col\">Prediction drift</th>",
        esc(&cut_note)
    );
    for m in METRICS {
        let _ = write!(out, "<th scope=\"col\" class=\"num\">{m}</th>");
    }
    out.push_str(
        "<th scope=\"col\" class=\"num\">p50 ms</th><th scope=\"col\" class=\"num\">p99 ms</th>",
    );
    let noted = recent.iter().any(|v| !v.notes.is_empty());
    if noted {
        out.push_str("<th scope=\"col\">Note</th>");
    }
    out.push_str("</tr></thead><tbody>");
    let opt = |v: Option<f64>| v.map_or_else(|| "<td></td>".to_string(), num_cell);
    for v in recent.iter().rev() {
        let dataset = if v.dataset_drift == Some(true) {
            "<span class=\"badge firing\" title=\"the share of drifted features reached the threshold\">dataset drift</span> "
        } else {
            ""
        };
        let drifted: Vec<String> = v
            .columns
            .iter()
            .filter(|(_, c)| c.drift)
            .map(|(n, c)| {
                format!(
                    "<span class=\"badge drifted\" title=\"{} p = {}\">{}</span>",
                    esc(&c.method),
                    num(c.p),
                    esc(n)
                )
            })
            .collect();
        let prediction = match &v.prediction {
            Some(p) if p.drift => {
                format!("<span class=\"badge drifted\">drifted</span> p&nbsp;=&nbsp;{}", num(p.p))
            }
            Some(p) => format!("no, p&nbsp;=&nbsp;{}", num(p.p)),
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\" class=\"num\">{}</th><td class=\"nowrap\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td>{}<td>{dataset}{}</td><td class=\"nowrap\">{prediction}</td>",
            v.w.index,
            span(v.w.start_time, v.w.end_time),
            v.w.rows,
            v.w.labeled_rows,
            opt(v.drift_share),
            drifted.join(" "),
        );
        for m in v.metrics {
            out.push_str(&opt(m));
        }
        out.push_str(&opt(v.latency.map(|l| l.p50)));
        out.push_str(&opt(v.latency.map(|l| l.p99)));
        if noted {
            let note = v.notes.join("; ");
            let _ = write!(
                out,
                "<td class=\"clip\" title=\"{}\">{}</td>",
                esc(&note),
                esc(&clip(&note, 80))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div></section>");
}

/// The reference against the latest of `views` with bins, per feature (drifted first).
fn overlays(out: &mut String, views: &[View<'_>]) {
    let Some((w, found)) =
        views.iter().rev().map(|v| (v.w, distributions(v.w))).find(|(_, d)| !d.is_empty())
    else {
        return;
    };
    let _ = write!(
        out,
        "<h3>Distributions in window {}</h3><p class=\"muted\">Share of rows per bin of each \
         feature's test: the reference profile against the latest window with a verdict{}.</p>\
         <div class=\"charts small\">",
        w.index,
        if found.len() > MAX_OVERLAYS {
            format!("; the first {MAX_OVERLAYS} of {} features, drifted ones first", found.len())
        } else {
            String::new()
        }
    );
    for d in found.iter().take(MAX_OVERLAYS) {
        overlay(out, &d.name, if d.drifted { "drifted" } else { "" }, &d.bins);
    }
    out.push_str("</div>");
}

/// A window's time span: its start, and its end without the date when it is the same day.
fn span(start: i64, end: i64) -> String {
    let (from, to) = (time(start), time(end));
    let to_short = match (from.split_once(' '), to.split_once(' ')) {
        (Some((day_a, _)), Some((day_b, clock))) if day_a == day_b => clock.to_string(),
        _ => to.clone(),
    };
    format!(
        "<time datetime=\"{}Z\">{}</time> – <time datetime=\"{}Z\" title=\"{}\">{}</time>",
        from.replace(' ', "T"),
        esc(&from),
        to.replace(' ', "T"),
        esc(&to),
        esc(&to_short)
    )
}

/// Every alert episode of the model, newest first, with the webhook
/// deliveries of the newest [`DELIVERIES_FOR`].
async fn alert_section(
    out: &mut String,
    store: &dyn lathe_store::Store,
    alerts: &[AlertEpisode],
) -> UiResult<()> {
    out.push_str("<section aria-labelledby=\"alerts\"><h2 id=\"alerts\">Alerts</h2>");
    if alerts.is_empty() {
        out.push_str("<p class=\"muted\">No alert has fired for this model.</p></section>");
        return Ok(());
    }
    let newest = &alerts[..alerts.len().min(DELIVERIES_FOR)];
    let deliveries: Vec<Vec<AlertDelivery>> =
        try_join_all(newest.iter().map(|e| store.list_alert_deliveries(&e.episode_id))).await?;
    out.push_str(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Alerts\">\
         <table class=\"grid-table\"><thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">State</th>\
         <th scope=\"col\">Fired</th><th scope=\"col\">Resolved</th><th scope=\"col\">Detail</th>\
         <th scope=\"col\">Deliveries</th></tr></thead><tbody>",
    );
    for (i, e) in alerts.iter().enumerate() {
        let state = if e.state == "firing" { "firing" } else { "resolved" };
        let sent: Vec<String> = deliveries
            .get(i)
            .into_iter()
            .flatten()
            .map(|d| {
                format!(
                    "<li>{} → <code>{}</code>: <span class=\"badge delivery-{}\">{}</span> \
                     after {} attempt{} {}{}</li>",
                    esc(&d.event),
                    esc(&d.target),
                    if d.status == "delivered" { "ok" } else { "failed" },
                    esc(&d.status),
                    d.attempts,
                    if d.attempts == 1 { "" } else { "s" },
                    time_el(Some(d.at)),
                    if d.error.is_empty() {
                        String::new()
                    } else {
                        format!(" <span class=\"muted\">{}</span>", esc(&d.error))
                    },
                )
            })
            .collect();
        let sent = if i >= newest.len() {
            "<span class=\"muted\">not read (older episode)</span>".to_string()
        } else if sent.is_empty() {
            "<span class=\"muted\">none</span>".to_string()
        } else {
            format!("<ul class=\"plain\">{}</ul>", sent.join(""))
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><code>{}</code></th><td><span class=\"badge {state}\">{}</span></td>\
             <td>{}</td><td>{}</td><td class=\"clip\" title=\"{}\"><code>{}</code></td><td>{sent}</td></tr>",
            esc(&e.rule),
            esc(&e.state),
            time_el(Some(e.fired_at)),
            time_el(e.resolved_at),
            esc(&e.detail),
            esc(&clip(&e.detail, 120)),
        );
    }
    out.push_str("</tbody></table></div></section>");
    Ok(())
}

/// The pipeline runs that alerts triggered for this model (`lathe run`'s
/// retrain, tagged `lathe.trigger*`) and what the gate decided in each.
async fn retrain_section(
    out: &mut String,
    store: &dyn lathe_store::Store,
    name: &str,
) -> UiResult<()> {
    use lathe_store::{SearchQuery, SearchRuns};
    let experiments = store
        .search_experiments(&SearchQuery { max_results: Some(1000), ..SearchQuery::default() })
        .await?;
    // The model name is matched here rather than in the filter, so no name
    // needs quoting inside the search grammar.
    let search = SearchRuns {
        experiment_ids: experiments.items.iter().map(|e| e.experiment_id.clone()).collect(),
        query: SearchQuery {
            filter: "tags.lathe.trigger = 'alert'".into(),
            max_results: Some(1000),
            order_by: vec!["attributes.start_time DESC".into()],
            ..SearchQuery::default()
        },
    };
    let runs = if search.experiment_ids.is_empty() {
        Vec::new()
    } else {
        store.search_runs(&search).await?.items
    };
    let tag = |r: &lathe_core::Run, key: &str| {
        r.tags.iter().find(|t| t.key == key).map(|t| t.value.clone()).unwrap_or_default()
    };
    let mine: Vec<&lathe_core::Run> =
        runs.iter().filter(|r| tag(r, "lathe.trigger.model") == name).take(RETRAINS).collect();
    out.push_str("<section aria-labelledby=\"retrains\"><h2 id=\"retrains\">Retraining</h2>");
    if mine.is_empty() {
        out.push_str(
            "<p class=\"muted\">No retrain yet: an alert rule with <code>trigger = \"retrain\"</code> \
             in <code>lathe.toml</code> reruns the project's pipeline when it fires.</p></section>",
        );
        return Ok(());
    }
    let promote_ids: Vec<String> = mine
        .iter()
        .map(|r| tag(r, "lathe.pipeline.step.promote").rsplit(' ').next().unwrap_or("").to_string())
        .collect();
    let promotes =
        futures_util::future::join_all(promote_ids.iter().map(|id| store.get_run(id))).await;
    out.push_str(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Retraining\">\
         <table class=\"grid-table\"><thead><tr><th scope=\"col\">Started</th><th scope=\"col\">Alert</th>\
         <th scope=\"col\">Rows added</th><th scope=\"col\">Pipeline run</th><th scope=\"col\">Gate</th>\
         </tr></thead><tbody>",
    );
    for (r, promote) in mine.iter().zip(promotes) {
        let gate = match promote {
            Ok(p) => {
                let decision = tag(&p, "lathe.gate.decision");
                let class = if decision == "promoted" { "ok" } else { "failed" };
                format!(
                    "<span class=\"badge delivery-{class}\">{}</span> {}",
                    esc(&decision),
                    esc(&tag(&p, "lathe.gate.reason"))
                )
            }
            Err(_) => "<span class=\"muted\">no promote step</span>".to_string(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td><td>{gate}</td></tr>",
            time_el(Some(r.info.start_time)),
            esc(&tag(r, "lathe.trigger.rule")),
            esc(&tag(r, "lathe.trigger.production_rows")),
            a(&Link::to(&["runs", &r.info.run_id]), &r.info.run_name),
        );
    }
    out.push_str("</tbody></table></div></section>");
    Ok(())
}
