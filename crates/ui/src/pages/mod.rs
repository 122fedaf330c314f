//! The pages, one module per resource, and the pieces they share: sortable
//! column headers, pagers, search forms, status badges, tag helpers.

pub(crate) mod artifacts;
pub(crate) mod compare;
pub(crate) mod deployments;
pub(crate) mod experiment;
pub(crate) mod experiments;
pub(crate) mod llm;
pub(crate) mod models;
pub(crate) mod monitoring;
pub(crate) mod run;
pub(crate) mod windows;

use std::fmt::Write as _;

use lathe_core::{Metric, RunStatus, Tag};
use lathe_store::{
    search::{parse_order_by, Entity},
    Store,
};

use crate::{
    error::UiResult,
    html::{esc, Link},
    params::Paging,
};

/// MLflow's tag holding a run's parent.
pub(crate) const PARENT_TAG: &str = "mlflow.parentRunId";
/// MLflow's tag holding a description (experiments and runs).
pub(crate) const NOTE_TAG: &str = "mlflow.note.content";
/// Most points of one metric history read for a chart (40 pages of 25,000).
pub(crate) const MAX_HISTORY_POINTS: usize = 1_000_000;

/// The value of tag `key`.
pub(crate) fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
}

/// Whether a tag is MLflow's or lathe's bookkeeping rather than the user's.
pub(crate) fn is_system_tag(key: &str) -> bool {
    key.starts_with("mlflow.") || key.starts_with("lathe.")
}

/// `<span class="badge status-…">FINISHED</span>`.
pub(crate) fn status_badge(status: RunStatus) -> String {
    format!(
        "<span class=\"badge status-{}\">{}</span>",
        status.as_str().to_ascii_lowercase(),
        status.as_str()
    )
}

/// `<span class="badge alias">@alias</span>`.
pub(crate) fn alias_badge(alias: &str) -> String {
    format!("<span class=\"badge alias\">@{}</span>", esc(alias))
}

/// A search key as MLflow writes it: `metrics.`name``.
pub(crate) fn quoted_key(prefix: &str, name: &str) -> String {
    format!("{prefix}.`{name}`")
}

/// A `<th>` whose link sorts by `expr`, toggling direction when it is the
/// current first ordering; `aria-sort` says how the column is sorted now.
pub(crate) fn sort_th(
    entity: Entity,
    base: &Link,
    current: &[String],
    expr: &str,
    label: &str,
    desc_first: bool,
    class: &str,
) -> String {
    let parsed = parse_order_by(entity, expr).ok();
    let now = current
        .first()
        .and_then(|c| parse_order_by(entity, c).ok())
        .filter(|c| parsed.as_ref().is_some_and(|p| p.key == c.key));
    let (sort, arrow, next_desc) = match now {
        Some(o) if o.ascending => ("ascending", " ▲", true),
        Some(_) => ("descending", " ▼", false),
        None => ("none", "", desc_first),
    };
    let link = base
        .clone()
        .without("page_token")
        .set("order_by", format!("{expr} {}", if next_desc { "DESC" } else { "ASC" }));
    let aria = if sort == "none" { String::new() } else { format!(" aria-sort=\"{sort}\"") };
    format!(
        "<th scope=\"col\" class=\"{class}\"{aria}><a href=\"{}\">{}{arrow}</a></th>",
        esc(&link.to_string()),
        esc(label)
    )
}

/// Links to the previous and next pages of a search, and which rows are shown.
pub(crate) fn pager(base: &Link, paging: Paging, shown: usize, next: Option<&str>) -> String {
    if shown == 0 && paging.offset == 0 {
        return String::new();
    }
    let mut out = String::from("<nav class=\"pager\" aria-label=\"Pages\">");
    let first = paging.offset + 1;
    let last = paging.offset + shown as u64;
    if shown == 0 {
        out.push_str("<span class=\"muted\">no rows</span>");
    } else {
        let _ = write!(out, "<span class=\"muted\">rows {first}–{last}</span>");
    }
    if let Some(prev) = paging.prev_token() {
        let link = base.clone().set("page_token", prev);
        let _ = write!(out, " <a rel=\"prev\" href=\"{}\">← Previous</a>", esc(&link.to_string()));
    }
    if let Some(next) = next {
        let link = base.clone().set("page_token", next);
        let _ = write!(out, " <a rel=\"next\" href=\"{}\">Next →</a>", esc(&link.to_string()));
    }
    out.push_str("</nav>");
    out
}

/// A filter combined from the visitor's MLflow filter and an extra clause.
pub(crate) fn and_filter(filter: &str, extra: Option<String>) -> String {
    match (filter.trim(), extra) {
        ("", Some(e)) => e,
        (f, Some(e)) => format!("{f} AND {e}"),
        (f, None) => f.to_string(),
    }
}

/// The whole history of one metric, up to [`MAX_HISTORY_POINTS`]; the flag
/// says whether it was cut there.
///
/// One read rather than MLflow's pages of 25,000: the UI talks to the SQL
/// store directly (not through the REST limits), and each further page
/// would re-walk the points before its offset.
pub(crate) async fn history(
    store: &dyn Store,
    run_id: &str,
    key: &str,
) -> UiResult<(Vec<Metric>, bool)> {
    let page = store.get_metric_history(run_id, key, Some(MAX_HISTORY_POINTS as i64), None).await?;
    Ok((page.items, page.next_page_token.is_some()))
}

/// `(step, value)` pairs of a history, downsampled for a chart, with a note
/// saying how many points are drawn when not all are.
pub(crate) fn chart_points(history: &[Metric], cut: bool) -> (Vec<(f64, f64)>, String) {
    let finite: Vec<(f64, f64)> =
        history.iter().filter(|m| m.value.is_finite()).map(|m| (m.step as f64, m.value)).collect();
    let skipped = history.len() - finite.len();
    let points = crate::lttb::lttb(&finite, crate::MAX_CHART_POINTS);
    let mut notes = Vec::new();
    if points.len() < finite.len() || cut {
        notes.push(format!(
            "{} of {}{} points drawn (LTTB)",
            points.len(),
            history.len(),
            if cut { "+" } else { "" }
        ));
    }
    if skipped > 0 {
        notes.push(format!("{skipped} non-finite left out"));
    }
    (points, notes.join(", "))
}
