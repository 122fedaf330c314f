//! `/experiments/{id}`: an experiment and its runs table: MLflow's filter
//! syntax, sorting by any attribute, param or metric, a column chooser, and
//! server-side pages. Runs can be picked for `/compare`.
//!
//! Without `cols` in the URL the table shows the first [`DEFAULT_COLUMNS`]
//! params and metrics (by name) that the page's runs have; with it, exactly
//! the `params` and `metrics` listed.

use std::{
    collections::{BTreeSet, HashMap},
    fmt::Write as _,
};

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use lathe_core::{Experiment, LifecycleStage, Run, ViewType};
use lathe_store::{search::Entity, Page as ResultPage, SearchQuery, SearchRuns, StoreError};

use super::{
    experiments::clip, is_system_tag, pager, quoted_key, sort_th, status_badge, tag, NOTE_TAG,
    PARENT_TAG,
};
use crate::{
    error::{UiError, UiResult},
    html::{a, duration, esc, full_num, num, time_el, Link},
    layout::{Nav, Page},
    params::{Paging, Params, Segs},
    Db,
};

/// Rows per page unless `max_results` says otherwise.
const PAGE_SIZE: usize = 100;
/// Largest `max_results` the page accepts.
const MAX_PAGE_SIZE: usize = 1000;
/// Params (and, separately, metrics) shown when no columns were chosen.
const DEFAULT_COLUMNS: usize = 12;

/// `GET /experiments/{id}?filter=&order_by=&view=&max_results=&page_token=&cols=1&params=&metrics=`.
pub(crate) async fn show(
    State(store): State<Db>,
    Segs(segs): Segs,
    params: Params,
) -> UiResult<Response> {
    let id = segs.first().cloned().unwrap_or_default();
    let exp = store.get_experiment(&id).await?;
    let filter = params.text("filter").trim().to_string();
    let view_name = params.get("view").unwrap_or("active");
    let view = match view_name {
        "active" => ViewType::ActiveOnly,
        "deleted" => ViewType::DeletedOnly,
        "all" => ViewType::All,
        other => {
            return Err(UiError::BadRequest(format!(
                "Invalid value '{other}' for 'view': expected active, deleted or all"
            )))
        }
    };
    let size = params.page_size("max_results", PAGE_SIZE, MAX_PAGE_SIZE)?;
    let (token, offset) = params.page_token()?;
    let order_by = params.all("order_by");
    let search = SearchRuns {
        experiment_ids: vec![id.clone()],
        query: SearchQuery {
            filter: filter.clone(),
            view,
            max_results: Some(size as i64),
            order_by: order_by.clone(),
            page_token: token,
        },
    };
    // A bad filter or order_by is shown above the form, so it can be fixed in place.
    let (runs, problem) = match store.search_runs(&search).await {
        Ok(page) => (page, None),
        Err(StoreError::InvalidParameter(m)) => {
            (ResultPage { items: Vec::new(), next_page_token: None }, Some(m))
        }
        Err(e) => return Err(e.into()),
    };

    let view = View::new(&exp, &params, &runs.items, &filter, view_name, size, &order_by);
    let mut out = String::new();
    header(&mut out, &exp);
    view.form(&mut out, problem.as_deref());
    if !runs.items.is_empty() {
        view.table(&mut out, &runs.items);
    } else if problem.is_none() {
        out.push_str("<p class=\"empty\">No runs match.</p>");
    }
    out.push_str(&pager(
        &view.base,
        Paging { offset, size },
        runs.items.len(),
        runs.next_page_token.as_deref(),
    ));
    let page =
        Page::new(Nav::Experiments, exp.name.clone(), out).crumb("Experiments", Link::to(&[]));
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((status, page).into_response())
}

/// The experiment's own fields above the table.
fn header(out: &mut String, exp: &Experiment) {
    out.push_str("<dl class=\"meta\">");
    let _ = write!(out, "<div><dt>ID</dt><dd>{}</dd></div>", esc(&exp.experiment_id));
    let _ = write!(out, "<div><dt>Created</dt><dd>{}</dd></div>", time_el(Some(exp.creation_time)));
    let _ = write!(
        out,
        "<div><dt>Artifact location</dt><dd><code>{}</code></dd></div>",
        esc(&exp.artifact_location)
    );
    if exp.lifecycle_stage == LifecycleStage::Deleted {
        out.push_str(
            "<div><dt>State</dt><dd><span class=\"badge deleted\">deleted</span></dd></div>",
        );
    }
    for t in exp.tags.iter().filter(|t| !is_system_tag(&t.key)) {
        let _ = write!(out, "<div><dt>{}</dt><dd>{}</dd></div>", esc(&t.key), esc(&t.value));
    }
    out.push_str("</dl>");
    if let Some(note) = tag(&exp.tags, NOTE_TAG) {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(note));
    }
}

/// What the table shows, decided from the URL and the page's runs.
struct View<'a> {
    exp: &'a Experiment,
    filter: &'a str,
    view_name: &'a str,
    size: usize,
    order_by: &'a [String],
    /// Every param key on the page or chosen, sorted.
    param_keys: Vec<String>,
    /// Every metric key on the page or chosen, sorted.
    metric_keys: Vec<String>,
    params: Vec<String>,
    metrics: Vec<String>,
    /// This page's URL without the page token.
    base: Link,
}

impl<'a> View<'a> {
    fn new(
        exp: &'a Experiment,
        params: &Params,
        runs: &[Run],
        filter: &'a str,
        view_name: &'a str,
        size: usize,
        order_by: &'a [String],
    ) -> View<'a> {
        let explicit = params.has("cols");
        let on_page = |keys: &mut BTreeSet<String>, f: &dyn Fn(&Run) -> Vec<String>| {
            for r in runs {
                keys.extend(f(r));
            }
        };
        let mut param_keys = BTreeSet::new();
        on_page(&mut param_keys, &|r| r.params.iter().map(|p| p.key.clone()).collect());
        let mut metric_keys = BTreeSet::new();
        on_page(&mut metric_keys, &|r| r.metrics.iter().map(|m| m.key.clone()).collect());
        let (chosen_params, chosen_metrics) = if explicit {
            (params.list("params"), params.list("metrics"))
        } else {
            (
                param_keys.iter().take(DEFAULT_COLUMNS).cloned().collect(),
                metric_keys.iter().take(DEFAULT_COLUMNS).cloned().collect(),
            )
        };
        param_keys.extend(chosen_params.iter().cloned());
        metric_keys.extend(chosen_metrics.iter().cloned());

        let mut base = Link::to(&["experiments", &exp.experiment_id]).q("filter", filter);
        if view_name != "active" {
            base = base.q("view", view_name);
        }
        if size != PAGE_SIZE {
            base = base.q("max_results", size.to_string());
        }
        for o in order_by {
            base = base.q("order_by", o.clone());
        }
        if explicit {
            base = base
                .q("cols", "1")
                .q("params", chosen_params.join(","))
                .q("metrics", chosen_metrics.join(","));
        }
        View {
            exp,
            filter,
            view_name,
            size,
            order_by,
            param_keys: param_keys.into_iter().collect(),
            metric_keys: metric_keys.into_iter().collect(),
            params: chosen_params,
            metrics: chosen_metrics,
            base,
        }
    }

    /// The search form: filter, lifecycle, page size, and the column chooser.
    fn form(&self, out: &mut String, problem: Option<&str>) {
        let action = Link::to(&["experiments", &self.exp.experiment_id]);
        let _ = write!(
            out,
            "<form class=\"search\" method=\"get\" action=\"{}\" role=\"search\">\
             <label class=\"grow\">Filter <input type=\"text\" name=\"filter\" value=\"{}\" \
             placeholder=\"metrics.rmse &lt; 1 AND params.model = 'gbm' AND tags.stage = 'tuned'\" \
             spellcheck=\"false\"{}></label><label>Runs <select name=\"view\">",
            esc(&action.to_string()),
            esc(self.filter),
            if problem.is_some() {
                " aria-invalid=\"true\" aria-describedby=\"filter-error\""
            } else {
                ""
            }
        );
        for value in ["active", "deleted", "all"] {
            let selected = if value == self.view_name { " selected" } else { "" };
            let _ = write!(out, "<option value=\"{value}\"{selected}>{value}</option>");
        }
        out.push_str("</select></label><label>Per page <select name=\"max_results\">");
        let mut sizes = vec![25, 50, 100, 250, 1000];
        if !sizes.contains(&self.size) {
            sizes.push(self.size);
            sizes.sort_unstable();
        }
        for n in sizes {
            let selected = if n == self.size { " selected" } else { "" };
            let _ = write!(out, "<option value=\"{n}\"{selected}>{n}</option>");
        }
        out.push_str("</select></label>");
        for o in self.order_by {
            let _ = write!(out, "<input type=\"hidden\" name=\"order_by\" value=\"{}\">", esc(o));
        }
        out.push_str("<button type=\"submit\">Search</button>");
        self.chooser(out);
        out.push_str("</form>");
        if let Some(m) = problem {
            let _ = write!(
                out,
                "<div class=\"error\" id=\"filter-error\" role=\"alert\"><p class=\"error-msg\">{}</p>\
                 <p class=\"muted\">Filters are MLflow's search syntax: clauses such as \
                 <code>metrics.acc &gt; 0.9</code>, <code>params.lr = '0.1'</code>, \
                 <code>tags.`my tag` LIKE '%x%'</code>, <code>attributes.status = 'FINISHED'</code> \
                 joined by AND.</p></div>",
                esc(m)
            );
        }
    }

    /// `<details>` with a checkbox per param and metric key; submitting the form applies it.
    fn chooser(&self, out: &mut String) {
        let _ = write!(
            out,
            "<details class=\"columns\"><summary>Columns: {} of {} metrics, {} of {} params</summary>\
             <div class=\"chooser\"><input type=\"hidden\" name=\"cols\" value=\"1\">\
             <label class=\"col-filter\" hidden>Find a key <input type=\"search\" data-col-filter></label>",
            self.metrics.len(),
            self.metric_keys.len(),
            self.params.len(),
            self.param_keys.len(),
        );
        for (legend, name, keys, chosen) in [
            ("Metrics", "metrics", &self.metric_keys, &self.metrics),
            ("Params", "params", &self.param_keys, &self.params),
        ] {
            let _ = write!(out, "<fieldset><legend>{legend}</legend>");
            if keys.is_empty() {
                out.push_str("<p class=\"muted\">none on this page</p>");
            }
            for key in keys {
                let checked = if chosen.contains(key) { " checked" } else { "" };
                let _ = write!(
                    out,
                    "<label class=\"col\"><input type=\"checkbox\" name=\"{name}\" value=\"{}\"{checked}> {}</label>",
                    esc(key),
                    esc(key)
                );
            }
            out.push_str("</fieldset>");
        }
        out.push_str(
            "<p class=\"chooser-actions\"><button type=\"submit\">Apply columns</button> \
             <button type=\"button\" data-cols=\"all\" hidden>All</button> \
             <button type=\"button\" data-cols=\"none\" hidden>None</button></p></div></details>",
        );
    }

    /// The runs table, with a checkbox per run for `/compare`: run columns,
    /// then the chosen metrics, then the chosen params.
    fn table(&self, out: &mut String, runs: &[Run]) {
        let names: HashMap<&str, &str> =
            runs.iter().map(|r| (r.info.run_id.as_str(), r.info.run_name.as_str())).collect();
        out.push_str(
            "<form id=\"compare\" class=\"compare-bar\" method=\"get\" action=\"/compare\">\
             <button type=\"submit\" data-compare>Compare selected runs</button> \
             <span class=\"muted\" data-compare-count></span></form>",
        );
        out.push_str(
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Runs\">\
             <table class=\"grid-table runs\"><thead><tr class=\"groups\">\
             <th scope=\"colgroup\" colspan=\"6\">Run</th>",
        );
        for (label, keys) in [("Metrics", &self.metrics), ("Params", &self.params)] {
            if !keys.is_empty() {
                let _ = write!(
                    out,
                    "<th scope=\"colgroup\" colspan=\"{}\" class=\"group-start\">{label}</th>",
                    keys.len()
                );
            }
        }
        out.push_str("</tr><tr>");
        let e = Entity::Runs;
        let b = &self.base;
        let o = self.order_by;
        out.push_str(
            "<th scope=\"col\" class=\"pick\"><input type=\"checkbox\" data-pick-all \
             aria-label=\"Select every run on this page\" hidden></th>",
        );
        out.push_str(&sort_th(e, b, o, "attributes.run_name", "Name", false, "sticky-1"));
        out.push_str(&sort_th(e, b, o, "attributes.start_time", "Created", true, ""));
        out.push_str("<th scope=\"col\" class=\"num\">Duration</th>");
        out.push_str(&sort_th(e, b, o, "attributes.status", "Status", false, ""));
        out.push_str(&sort_th(e, b, o, "attributes.user_id", "User", false, ""));
        for (i, k) in self.metrics.iter().enumerate() {
            let class = if i == 0 { "num group-start" } else { "num" };
            out.push_str(&sort_th(e, b, o, &quoted_key("metrics", k), k, true, class));
        }
        for (i, k) in self.params.iter().enumerate() {
            let class = if i == 0 { "group-start" } else { "" };
            out.push_str(&sort_th(e, b, o, &quoted_key("params", k), k, false, class));
        }
        out.push_str("</tr></thead><tbody>");
        for run in runs {
            self.row(out, run, &names);
        }
        out.push_str("</tbody></table></div>");
    }

    fn row(&self, out: &mut String, run: &Run, names: &HashMap<&str, &str>) {
        let info = &run.info;
        let link = Link::to(&["runs", &info.run_id]);
        let parent = tag(&run.tags, PARENT_TAG)
            .map(|p| {
                let name = names.get(p).copied().unwrap_or(p);
                format!("<span class=\"child\" title=\"child of {}\">↳ </span>", esc(name))
            })
            .unwrap_or_default();
        let deleted = if info.lifecycle_stage == LifecycleStage::Deleted {
            " <span class=\"badge deleted\">deleted</span>"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td class=\"pick\"><input type=\"checkbox\" form=\"compare\" name=\"runs\" \
             value=\"{}\" aria-label=\"Select {}\"></td>\
             <th scope=\"row\" class=\"sticky-1\">{parent}{}{deleted}</th>\
             <td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td>",
            esc(&info.run_id),
            esc(&info.run_name),
            a(&link, &info.run_name),
            time_el(Some(info.start_time)),
            info.end_time.map(|end| duration(end - info.start_time)).unwrap_or_default(),
            status_badge(info.status),
            esc(&info.user_id),
        );
        for (i, k) in self.metrics.iter().enumerate() {
            let start = if i == 0 { " group-start" } else { "" };
            match run.metrics.iter().find(|m| &m.key == k) {
                Some(m) => {
                    let _ = write!(
                        out,
                        "<td class=\"num{start}\" title=\"{}\">{}</td>",
                        esc(&full_num(m.value)),
                        esc(&num(m.value))
                    );
                }
                None => {
                    let _ = write!(out, "<td class=\"num{start}\"></td>");
                }
            }
        }
        for (i, k) in self.params.iter().enumerate() {
            let class = if i == 0 { " class=\"group-start\"" } else { "" };
            let value = run.params.iter().find(|p| &p.key == k).map_or("", |p| p.value.as_str());
            let _ =
                write!(out, "<td{class} title=\"{}\">{}</td>", esc(value), esc(&clip(value, 40)));
        }
        out.push_str("</tr>");
    }
}
