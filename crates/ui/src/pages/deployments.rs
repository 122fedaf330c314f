//! `/deployments`: what is served and how it is doing, as far as the store
//! knows: for every registered model with a prediction log, the versions
//! that answered (with their aliases), the traffic split between them over
//! the latest hour of traffic, their request rate and serving latency.
//!
//! The store keeps the prediction log and the monitoring windows, not the
//! `lathe serve` processes: which instances run, their canary or shadow
//! settings and their error counts live in each instance's `/metrics`, and
//! the page says so instead of guessing.

use std::{collections::BTreeMap, fmt::Write as _};

use axum::extract::State;
use futures_util::future::try_join_all;
use lathe_core::RegisteredModel;
use lathe_store::{MonitoringWindow, PredictionLogSummary, Store, StoreError};

use super::{alias_badge, windows::View};
use crate::{
    error::UiResult,
    html::{a, esc, num, time_el, Link},
    layout::{Nav, Page},
    Db,
};

/// The span before a model's latest prediction that counts as "recent".
const RECENT_MS: i64 = 3_600_000;
/// Most models read (each costs two store calls, made concurrently).
const MAX_MODELS: usize = 100;

/// What one version did recently, from its monitoring windows.
#[derive(Debug, Clone, Default, PartialEq)]
struct Recent {
    /// Predictions in windows that ended within [`RECENT_MS`] of the model's latest prediction.
    rows: i64,
    /// Earliest start of those windows.
    since: Option<i64>,
    /// Latency of the version's latest window that recorded one.
    latency: Option<(f64, f64)>,
}

/// Each version's recent traffic: one series per version (the kind with the
/// most windows, so overlapping kinds are never added together).
fn recent(windows: &[MonitoringWindow], latest: i64) -> BTreeMap<i64, Recent> {
    let series = super::windows::by_series(windows);
    let mut chosen: BTreeMap<i64, &Vec<&MonitoringWindow>> = BTreeMap::new();
    for (k, ws) in &series {
        let slot = chosen.entry(k.version).or_insert(ws);
        if ws.len() > slot.len() {
            *slot = ws;
        }
    }
    chosen
        .into_iter()
        .map(|(version, ws)| {
            let mut r = Recent::default();
            for w in ws.iter().filter(|w| w.end_time >= latest - RECENT_MS) {
                r.rows += w.rows;
                r.since = Some(r.since.map_or(w.start_time, |s: i64| s.min(w.start_time)));
            }
            r.latency =
                ws.iter().rev().find_map(|w| View::summary(w).latency.map(|l| (l.p50, l.p99)));
            (version, r)
        })
        .collect()
}

/// `GET /deployments`.
pub(crate) async fn list(State(store): State<Db>) -> UiResult<Page> {
    let summary = store.prediction_log_summary(None).await?;
    let mut names: Vec<&str> = summary.iter().map(|s| s.model_name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let cut = names.len() > MAX_MODELS;
    names.truncate(MAX_MODELS);
    let loaded = try_join_all(names.iter().map(|n| load(store.as_ref(), n))).await?;

    let mut out = String::from(
        "<p class=\"note\">Read from the prediction log that <code>lathe serve</code> writes and the \
         windows the monitoring job computes. The store does not record which <code>lathe serve</code> \
         instances run, their canary or shadow settings, or failed requests: each instance reports \
         those on its own <code>/metrics</code> (<code>lathe_serve_requests_total</code>, \
         <code>lathe_serve_errors_total</code>). A shadow challenger's predictions are logged too, \
         so its share counts requests it scored rather than answered.</p>",
    );
    if names.is_empty() {
        out.push_str("<p class=\"empty\">No predictions logged yet: nothing has been served.</p>");
        return Ok(Page::new(Nav::Deployments, "Deployments", out));
    }
    for (name, (model, windows)) in names.iter().zip(&loaded) {
        let versions: Vec<&PredictionLogSummary> =
            summary.iter().filter(|s| s.model_name == *name).collect();
        model_section(&mut out, name, model.as_ref(), &versions, windows);
    }
    if cut {
        let _ = write!(out, "<p class=\"muted\">Only the first {MAX_MODELS} models are shown.</p>");
    }
    Ok(Page::new(Nav::Deployments, "Deployments", out))
}

/// A model's registry entry (absent when it was deleted since) and its windows.
async fn load(
    store: &dyn Store,
    name: &str,
) -> UiResult<(Option<RegisteredModel>, Vec<MonitoringWindow>)> {
    let (model, windows) =
        tokio::join!(store.get_registered_model(name), store.list_windows(name, None));
    let model = match model {
        Ok(m) => Some(m),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    Ok((model, windows?))
}

fn model_section(
    out: &mut String,
    name: &str,
    model: Option<&RegisteredModel>,
    versions: &[&PredictionLogSummary],
    windows: &[MonitoringWindow],
) {
    let latest = versions.iter().map(|s| s.last_time).max().unwrap_or(0);
    let recent = recent(windows, latest);
    let total: i64 = recent.values().map(|r| r.rows).sum();
    let since = recent.values().filter(|r| r.rows > 0).filter_map(|r| r.since).min();
    let span_s = since.map(|s| ((latest - s) as f64 / 1000.0).max(1.0));
    let _ = write!(
        out,
        "<section class=\"deployment\" aria-label=\"{0}\"><h2>{1}</h2><p class=\"muted\">{2} · {3} · \
         last prediction {4}</p>",
        esc(name),
        match model {
            Some(_) => a(&Link::to(&["models", name]), name),
            None => format!("{} <span class=\"muted\">(no longer registered)</span>", esc(name)),
        },
        a(&Link::to(&["models", name, "monitoring"]), "monitoring"),
        if windows.is_empty() {
            "no monitoring windows yet, so no recent split or latency".to_string()
        } else {
            format!("recent = windows ending in the hour before {}", lathe_core::format_utc(latest))
        },
        time_el(Some(latest)),
    );
    out.push_str(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Versions served\">\
         <table class=\"grid-table\"><thead><tr><th scope=\"col\" class=\"num\">Version</th>\
         <th scope=\"col\">Aliases</th><th scope=\"col\">Traffic split (recent)</th>\
         <th scope=\"col\" class=\"num\">Requests/min (recent)</th>\
         <th scope=\"col\" class=\"num\">p50 ms</th><th scope=\"col\" class=\"num\">p99 ms</th>\
         <th scope=\"col\" class=\"num\">Predictions logged</th><th scope=\"col\" class=\"num\">Labeled</th>\
         <th scope=\"col\">First</th><th scope=\"col\">Last</th></tr></thead><tbody>",
    );
    for s in versions {
        let aliases: Vec<String> = model
            .map(|m| {
                m.aliases
                    .iter()
                    .filter(|(_, v)| *v == s.model_version)
                    .map(|(al, _)| alias_badge(al))
                    .collect()
            })
            .unwrap_or_default();
        let r = recent.get(&s.model_version);
        let split = match r {
            Some(r) if total > 0 => {
                let share = r.rows as f64 / total as f64;
                format!(
                    "<svg class=\"bar\" viewBox=\"0 0 100 8\" width=\"100\" height=\"8\" aria-hidden=\"true\">\
                     <rect class=\"bar-bg\" width=\"100\" height=\"8\"/>\
                     <rect class=\"bar-fill\" width=\"{:.1}\" height=\"8\"/></svg> \
                     {:.1}% <span class=\"muted\">({} of {total})</span>",
                    share * 100.0,
                    share * 100.0,
                    r.rows
                )
            }
            _ => "<span class=\"muted\">no recent window</span>".into(),
        };
        let rate = match (r, span_s) {
            (Some(r), Some(span)) if r.rows > 0 => num(r.rows as f64 / span * 60.0),
            _ => String::new(),
        };
        let (p50, p99) = r
            .and_then(|r| r.latency)
            .map_or((String::new(), String::new()), |(p50, p99)| (num(p50), num(p99)));
        let _ = write!(
            out,
            "<tr><th scope=\"row\" class=\"num\">{}</th><td>{}</td><td class=\"split\">{split}</td><td class=\"num\">{rate}</td>\
             <td class=\"num\">{p50}</td><td class=\"num\">{p99}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            a(
                &Link::to(&["models", name, "versions", &s.model_version.to_string()]),
                &format!("v{}", s.model_version)
            ),
            aliases.join(" "),
            s.rows,
            s.labeled,
            time_el(Some(s.first_time)),
            time_el(Some(s.last_time)),
        );
    }
    out.push_str("</tbody></table></div></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(
        version: i64,
        kind: &str,
        index: i64,
        span: (i64, i64),
        rows: i64,
    ) -> MonitoringWindow {
        MonitoringWindow {
            model_version: version,
            kind: kind.into(),
            index,
            start_time: span.0,
            end_time: span.1,
            rows,
            performance: format!(r#"{{"latency_ms":{{"p50":{index}.5,"p99":9}}}}"#),
            ..MonitoringWindow::default()
        }
    }

    #[test]
    fn recent_traffic_counts_one_series_per_version_within_the_hour() {
        let h = RECENT_MS;
        let ws = vec![
            // v1: an old window (out of the hour) and a recent one.
            window(1, "count:100", 0, (0, 10), 100),
            window(1, "count:100", 1, (5 * h, 6 * h), 90),
            // v1's time windows cover the same rows: never added to the counts.
            window(1, "time:3600000", 0, (5 * h, 6 * h), 90),
            window(2, "count:100", 0, (5 * h + 10, 6 * h - 5), 10),
        ];
        let r = recent(&ws, 6 * h);
        assert_eq!(r[&1].rows, 90);
        assert_eq!(r[&1].since, Some(5 * h));
        assert_eq!(r[&1].latency, Some((1.5, 9.0)));
        assert_eq!(r[&2].rows, 10);
        assert_eq!(r[&2].latency, Some((0.5, 9.0)));
    }
}
