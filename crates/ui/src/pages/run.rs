//! `/runs/{id}`: one run: what it is, where it came from (parent pipeline
//! run, datasets with their digests), what came of it (child runs, model
//! versions registered from it), its metrics as a table and as charts over
//! steps, its artifacts (see `artifacts.rs`), its params and tags.

use std::fmt::Write as _;

use axum::extract::State;
use futures_util::future::try_join_all;
use lathe_core::{LifecycleStage, Run, ViewType};
use lathe_store::{SearchQuery, SearchRuns, Store};

use super::{
    alias_badge, chart_points, history, is_system_tag, status_badge, tag, NOTE_TAG, PARENT_TAG,
};
use crate::{
    chart::{line_chart, Series},
    error::UiResult,
    html::{a, duration, esc, filter_string, kv_table, num_cell, time_el, Link},
    layout::{Nav, Page},
    params::{Params, Segs},
    Arts, Db,
};

/// Most child runs and model versions listed on a run page.
const MAX_LINKED: usize = 100;

/// `GET /runs/{id}`.
pub(crate) async fn show(
    State(store): State<Db>,
    State(artifacts): State<Arts>,
    Segs(segs): Segs,
    params: Params,
) -> UiResult<Page> {
    let id = segs.first().cloned().unwrap_or_default();
    let run = store.get_run(&id).await?;
    let exp = store.get_experiment(&run.info.experiment_id).await?;
    let mut out = String::new();
    if let Some(note) = tag(&run.tags, NOTE_TAG) {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(note));
    }
    overview(&mut out, &run);
    lineage(&mut out, store.as_ref(), &run).await?;
    let histories = metrics(&mut out, store.as_ref(), &run).await?;
    if super::llm::is_finetune(&run) {
        let by_key: Vec<(&str, &[lathe_core::Metric], bool)> =
            histories.iter().map(|(k, h, cut)| (k.as_str(), h.as_slice(), *cut)).collect();
        super::llm::section(&mut out, &run, &by_key);
        super::llm::samples(&mut out, artifacts.as_ref(), &run, params.get("samples")).await?;
    }
    super::artifacts::section(&mut out, artifacts.as_ref(), &run, params.get("path")).await?;

    out.push_str("<section aria-labelledby=\"params\"><h2 id=\"params\">Params</h2>");
    let mut params: Vec<(&str, &str)> =
        run.params.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
    params.sort_unstable();
    kv_table(&mut out, "Params", &params, "No params.");
    out.push_str("</section>");

    out.push_str("<section aria-labelledby=\"tags\"><h2 id=\"tags\">Tags</h2>");
    let mut tags: Vec<(&str, &str)> =
        run.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
    tags.sort_unstable();
    let (system, user): (Vec<_>, Vec<_>) = tags.into_iter().partition(|(k, _)| is_system_tag(k));
    kv_table(&mut out, "Tags", &user, "No tags of your own.");
    if !system.is_empty() {
        let _ = write!(
            out,
            "<details class=\"system-tags\"><summary>System tags: mlflow.*, lathe.* ({})</summary>",
            system.len()
        );
        kv_table(&mut out, "System tags", &system, "");
        out.push_str("</details>");
    }
    out.push_str("</section>");

    let page = Page::new(Nav::Experiments, run.info.run_name.clone(), out)
        .crumb("Experiments", Link::to(&[]))
        .crumb(exp.name.clone(), Link::to(&["experiments", &exp.experiment_id]));
    Ok(page)
}

fn overview(out: &mut String, run: &Run) {
    let info = &run.info;
    out.push_str("<dl class=\"meta\">");
    let _ = write!(out, "<div><dt>Status</dt><dd>{}", status_badge(info.status));
    if info.lifecycle_stage == LifecycleStage::Deleted {
        out.push_str(" <span class=\"badge deleted\">deleted</span>");
    }
    out.push_str("</dd></div>");
    let _ = write!(out, "<div><dt>Run ID</dt><dd><code>{}</code></dd></div>", esc(&info.run_id));
    let _ = write!(out, "<div><dt>Started</dt><dd>{}</dd></div>", time_el(Some(info.start_time)));
    if let Some(end) = info.end_time {
        let _ = write!(
            out,
            "<div><dt>Duration</dt><dd>{}</dd></div>",
            esc(&duration(end - info.start_time))
        );
    }
    let _ = write!(out, "<div><dt>User</dt><dd>{}</dd></div>", esc(&info.user_id));
    if let Some(source) = tag(&run.tags, "mlflow.source.name") {
        let _ = write!(out, "<div><dt>Source</dt><dd>{}</dd></div>", esc(source));
    }
    if let Some(commit) = tag(&run.tags, "mlflow.source.git.commit") {
        let _ = write!(out, "<div><dt>Git commit</dt><dd><code>{}</code></dd></div>", esc(commit));
    }
    let _ = write!(
        out,
        "<div><dt>Artifacts</dt><dd><code>{}</code></dd></div></dl>",
        esc(&info.artifact_uri)
    );
}

/// Parent, children, datasets, registered versions and logged models.
async fn lineage(out: &mut String, store: &dyn Store, run: &Run) -> UiResult<()> {
    let id = &run.info.run_id;
    let children = store
        .search_runs(&SearchRuns {
            experiment_ids: vec![run.info.experiment_id.clone()],
            query: SearchQuery {
                filter: format!("tags.{PARENT_TAG} = {}", filter_string(id)),
                view: ViewType::All,
                max_results: Some(MAX_LINKED as i64),
                order_by: vec!["attributes.start_time ASC".into()],
                page_token: None,
            },
        })
        .await?;
    let versions = store
        .search_model_versions(&SearchQuery {
            filter: format!("run_id = {}", filter_string(id)),
            max_results: Some(MAX_LINKED as i64),
            ..SearchQuery::default()
        })
        .await?;
    out.push_str("<section aria-labelledby=\"lineage\"><h2 id=\"lineage\">Lineage</h2><dl class=\"lineage\">");
    if let Some(parent_id) = tag(&run.tags, PARENT_TAG) {
        let parent = match store.get_run(parent_id).await {
            Ok(p) => a(&Link::to(&["runs", parent_id]), &p.info.run_name),
            Err(lathe_store::StoreError::NotFound(_)) => {
                format!("<code>{}</code> <span class=\"muted\">(not found)</span>", esc(parent_id))
            }
            Err(e) => return Err(e.into()),
        };
        let _ = write!(out, "<div><dt>Parent run</dt><dd>{parent}</dd></div>");
    }
    if !run.inputs.is_empty() {
        out.push_str("<div><dt>Datasets</dt><dd><ul class=\"plain\">");
        for input in &run.inputs {
            let d = &input.dataset;
            let context = tag(&input.tags, "mlflow.data.context")
                .map(|c| format!(" <span class=\"chip\">{}</span>", esc(c)))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li><strong>{}</strong> <span class=\"muted\">digest</span> <code>{}</code> \
                 <span class=\"muted\">source</span> {}{context}",
                esc(&d.name),
                esc(&d.digest),
                esc(&d.source_type),
            );
            if d.schema.is_some() || d.profile.is_some() {
                out.push_str("<details><summary>schema and profile</summary>");
                for text in [&d.profile, &d.schema].into_iter().flatten() {
                    let _ = write!(out, "<pre>{}</pre>", esc(text));
                }
                out.push_str("</details>");
            }
            out.push_str("</li>");
        }
        out.push_str("</ul></dd></div>");
    }
    if !children.items.is_empty() {
        out.push_str("<div><dt>Child runs</dt><dd><ul class=\"plain\">");
        for c in &children.items {
            let _ = write!(
                out,
                "<li>{} {}</li>",
                a(&Link::to(&["runs", &c.info.run_id]), &c.info.run_name),
                status_badge(c.info.status)
            );
        }
        if children.next_page_token.is_some() {
            let _ = write!(out, "<li class=\"muted\">only the first {MAX_LINKED} are listed</li>");
        }
        let ids: Vec<&str> = children.items.iter().map(|c| c.info.run_id.as_str()).collect();
        if ids.len() > 1 {
            let link = Link::to(&["compare"]).q("runs", ids.join(","));
            let _ = write!(out, "<li>{}</li>", a(&link, "Compare the child runs"));
        }
        out.push_str("</ul></dd></div>");
    }
    if !versions.items.is_empty() {
        out.push_str("<div><dt>Registered as</dt><dd><ul class=\"plain\">");
        for v in &versions.items {
            let link = Link::to(&["models", &v.name, "versions", &v.version.to_string()]);
            let aliases: String =
                v.aliases.iter().map(|al| format!(" {}", alias_badge(al))).collect();
            let _ = write!(
                out,
                "<li>{}{aliases}</li>",
                a(&link, &format!("{} v{}", v.name, v.version))
            );
        }
        out.push_str("</ul></dd></div>");
    }
    if !run.outputs.is_empty() {
        out.push_str("<div><dt>Logged models</dt><dd><ul class=\"plain\">");
        for o in &run.outputs {
            let _ = write!(
                out,
                "<li><code>{}</code> <span class=\"muted\">step {}</span></li>",
                esc(&o.model_id),
                o.step
            );
        }
        out.push_str("</ul></dd></div>");
    }
    let empty = tag(&run.tags, PARENT_TAG).is_none()
        && run.inputs.is_empty()
        && children.items.is_empty()
        && versions.items.is_empty()
        && run.outputs.is_empty();
    out.push_str("</dl>");
    if empty {
        out.push_str(
            "<p class=\"muted\">No parent run, datasets, child runs or registered versions recorded.</p>",
        );
    }
    out.push_str("</section>");
    Ok(())
}

/// Every metric's history by key (and whether it was cut there).
type Histories = Vec<(String, Vec<lathe_core::Metric>, bool)>;

/// The latest value of every metric, and a chart for each with more than one
/// point; gives back the histories it read, for the fine-tuning section.
async fn metrics(out: &mut String, store: &dyn Store, run: &Run) -> UiResult<Histories> {
    let mut latest: Vec<_> = run.metrics.iter().collect();
    latest.sort_by(|a, b| a.key.cmp(&b.key));
    out.push_str("<section aria-labelledby=\"metrics\"><h2 id=\"metrics\">Metrics</h2>");
    if latest.is_empty() {
        out.push_str("<p class=\"muted\">No metrics.</p></section>");
        return Ok(Vec::new());
    }
    let histories =
        try_join_all(latest.iter().map(|m| history(store, &run.info.run_id, &m.key))).await?;
    out.push_str(
        "<div class=\"scroll fit\" tabindex=\"0\" role=\"region\" aria-label=\"Metrics\">\
         <table class=\"grid-table metrics\"><thead><tr><th scope=\"col\">Metric</th>\
         <th scope=\"col\" class=\"num\">Latest</th><th scope=\"col\" class=\"num\">Step</th>\
         <th scope=\"col\" class=\"num\">Min</th><th scope=\"col\" class=\"num\">Max</th>\
         <th scope=\"col\" class=\"num\">Points</th></tr></thead><tbody>",
    );
    for (m, (h, cut)) in latest.iter().zip(&histories) {
        let finite = h.iter().map(|p| p.value).filter(|v| v.is_finite());
        let min = finite.clone().fold(f64::INFINITY, f64::min);
        let max = finite.fold(f64::NEG_INFINITY, f64::max);
        let (min, max) = if min.is_finite() {
            (num_cell(min), num_cell(max))
        } else {
            ("<td></td>".to_string(), "<td></td>".to_string())
        };
        let chart = if h.len() > 1 {
            format!(" <a class=\"muted\" href=\"#chart-{}\">chart</a>", esc(&anchor(&m.key)))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}{chart}</th>{}<td class=\"num\">{}</td>{min}{max}<td class=\"num\">{}{}</td></tr>",
            esc(&m.key),
            num_cell(m.value),
            m.step,
            h.len(),
            if *cut { "+" } else { "" }
        );
    }
    out.push_str("</tbody></table></div>");
    let charted: Vec<_> = latest.iter().zip(&histories).filter(|(_, (h, _))| h.len() > 1).collect();
    if !charted.is_empty() {
        out.push_str("<div class=\"charts\">");
        for (m, (h, cut)) in charted {
            let (points, note) = chart_points(h, *cut);
            let _ = write!(out, "<div class=\"chart-cell\" id=\"chart-{}\">", esc(&anchor(&m.key)));
            line_chart(out, &m.key, &note, "step", &[Series { label: m.key.clone(), points }]);
            out.push_str("</div>");
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
    Ok(latest.iter().zip(histories).map(|(m, (h, cut))| (m.key.clone(), h, cut)).collect())
}

/// A fragment id for a metric key (letters, digits, `-` and `_` kept, the rest `_`).
fn anchor(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}
